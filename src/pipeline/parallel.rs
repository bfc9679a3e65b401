//! One work queue over every core: what `build`, `check` and `audit` share to run pods.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

/// `work` applied to every item on all cores; results in the items' order. `progress` is
/// called after each item with the number done so far.
pub fn map_in_order<T: Sync, R: Send>(
    items: &[T],
    progress: &(dyn Fn(usize) + Sync),
    work: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let mut results = Vec::with_capacity(items.len());
    for_each_in_order(items, progress, work, |result| results.push(result));
    results
}

/// `work` applied to every item on all cores, each result handed to `consume` on the calling
/// thread in the items' order as soon as it and those before it are done. At most a few
/// results per core wait to be consumed (a worker does not run ahead of the consumer by more
/// than that), so a run over thousands of pods holds a handful of reports, not all of them.
pub fn for_each_in_order<T: Sync, R: Send>(
    items: &[T],
    progress: &(dyn Fn(usize) + Sync),
    work: impl Fn(&T) -> R + Sync,
    mut consume: impl FnMut(R),
) {
    // One item needs no worker, nor the cgroup files `available_parallelism` reads.
    let threads = match items.len() {
        0 | 1 => 1,
        n => std::thread::available_parallelism().map_or(1, |cores| cores.get().min(n)),
    };
    if threads == 1 {
        // One pod (or one core): no worker thread, whose start and malloc arena would cost
        // more than the pod.
        for (i, item) in items.iter().enumerate() {
            let result = work(item);
            progress(i + 1);
            consume(result);
        }
        return;
    }
    // How far ahead of the consumer the workers may be.
    let window = 4 * threads;
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    struct Shared<R> {
        slots: std::collections::BTreeMap<usize, R>,
        consumed: usize,
    }
    let shared = Mutex::new(Shared {
        slots: std::collections::BTreeMap::new(),
        consumed: 0,
    });
    let ready = Condvar::new();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(item) = items.get(i) else { break };
                    // Wait until the consumer is close enough.
                    if let Ok(mut state) = shared.lock() {
                        while i >= state.consumed + window {
                            state = match ready.wait(state) {
                                Ok(state) => state,
                                Err(_) => return,
                            };
                        }
                    }
                    let result = work(item);
                    if let Ok(mut state) = shared.lock() {
                        state.slots.insert(i, result);
                    }
                    ready.notify_all();
                    progress(done.fetch_add(1, Ordering::SeqCst) + 1);
                }
            });
        }
        // The consumer: this thread, in order.
        for i in 0..items.len() {
            let result = {
                let Ok(mut state) = shared.lock() else { return };
                loop {
                    if let Some(result) = state.slots.remove(&i) {
                        state.consumed = i + 1;
                        break result;
                    }
                    state = match ready.wait(state) {
                        Ok(state) => state,
                        Err(_) => return,
                    };
                }
            };
            ready.notify_all();
            consume(result);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_order_and_workers_stay_close_to_the_consumer() {
        let items: Vec<usize> = (0..500).collect();
        let in_flight = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let mut seen = Vec::new();
        for_each_in_order(
            &items,
            &|_| {},
            |i| {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                *i * 2
            },
            |r| {
                seen.push(r);
                in_flight.fetch_sub(1, Ordering::SeqCst);
            },
        );
        assert_eq!(seen, (0..500).map(|i| i * 2).collect::<Vec<_>>());
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        // Items started and not yet consumed: never more than the window (plus the one being
        // handed over).
        assert!(most.load(Ordering::SeqCst) <= 4 * threads + 1, "{most:?}");
        assert_eq!(map_in_order(&items, &|_| {}, |i| *i), items);
    }
}
