//! The musl build's memory allocator: dlmalloc behind the standard library's mutex, with a
//! small cache of freed blocks per thread in front of it.
//!
//! musl's own allocator hands memory back to the kernel eagerly, so a `check` faulted in 462
//! pages instead of 273 and ran ~50 % longer than the glibc build. dlmalloc (Rust's port of
//! the allocator glibc's descends from) keeps its pages, but its ready-made global allocator
//! locks a pthread mutex, whose unlock alone was 9 % of a `check`'s instructions under musl;
//! the standard library's mutex takes and releases a free lock with one atomic operation each.
//! Even so, dlmalloc and its lock were a fifth of a `check`'s instructions (~15,000 small
//! blocks allocated and freed): a freed small block now waits in its thread's cache for the
//! next request of its size, which takes it without the lock or dlmalloc
//! (docs/performance.md, "Tenth pass" and "Eleventh pass"). mimalloc, which caches the same
//! way, costs more at start than it saves on a process this short.
//!
//! dlmalloc takes its memory from [`Pages`], which faults each new region in at once.
//! There is one heap per process: every `Allocator` value (a unit) allocates from it.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::ptr;
use std::sync::{Mutex, MutexGuard, PoisonError};

use dlmalloc::Dlmalloc;

/// The heap every thread allocates from, and returns to what its cache does not keep.
static HEAP: Mutex<Dlmalloc<Pages>> = Mutex::new(Dlmalloc::new_with_allocator(Pages));

/// The memory dlmalloc asks the system for: anonymous private mappings, as dlmalloc's own
/// (which the crate does not export), each one of up to `POPULATED` bytes faulted in when it is
/// mapped, in one system call instead of a page fault per page as it is first touched (the
/// heap grows 64 KiB at a time and every page of it is used).
struct Pages;

const POPULATED: usize = 256 << 10;

// SAFETY: regions come from `mmap` and go back with `munmap`/`mremap`, whole or in part, as
// the trait asks; a new mapping is zeroed by the kernel.
unsafe impl dlmalloc::Allocator for Pages {
    fn alloc(&self, size: usize) -> (*mut u8, usize, u32) {
        let flags = libc::MAP_ANONYMOUS | libc::MAP_PRIVATE;
        // SAFETY: a new anonymous mapping, at an address the kernel picks.
        let addr = unsafe {
            libc::mmap(
                ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                -1,
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            return (ptr::null_mut(), 0, 0);
        }
        if size <= POPULATED {
            // SAFETY: the mapping just made. A kernel without it (before Linux 5.14) refuses
            // the advice: the pages then fault in as they are touched.
            unsafe { libc::madvise(addr, size, libc::MADV_POPULATE_WRITE) };
        }
        (addr.cast(), size, 0)
    }

    fn remap(&self, ptr: *mut u8, old: usize, new: usize, can_move: bool) -> *mut u8 {
        let flags = if can_move { libc::MREMAP_MAYMOVE } else { 0 };
        // SAFETY: `ptr` is a mapping of `old` bytes that `alloc` made.
        let moved = unsafe { libc::mremap(ptr.cast(), old, new, flags) };
        if moved == libc::MAP_FAILED {
            ptr::null_mut()
        } else {
            moved.cast()
        }
    }

    fn free_part(&self, ptr: *mut u8, old: usize, new: usize) -> bool {
        // SAFETY: the tail of a mapping of `old` bytes that `alloc` made.
        unsafe { libc::munmap(ptr.add(new).cast(), old - new) == 0 }
    }

    fn free(&self, ptr: *mut u8, size: usize) -> bool {
        // SAFETY: a mapping of `size` bytes that `alloc` made.
        unsafe { libc::munmap(ptr.cast(), size) == 0 }
    }

    fn can_release_part(&self, _flags: u32) -> bool {
        true
    }

    fn allocates_zeros(&self) -> bool {
        true
    }

    fn page_size(&self) -> usize {
        // As dlmalloc's own.
        4096
    }
}

/// Cached blocks are sized in steps of `GRAIN` (dlmalloc's own alignment) up to `LARGEST`:
/// a request of `size` bytes takes a block of `size` rounded up to the step, so every block of
/// a class is large enough for any request of that class.
const GRAIN: usize = 16;
const LARGEST: usize = 1024;
const CLASSES: usize = LARGEST / GRAIN;
/// What a thread keeps per class. Blocks a thread still keeps when it exits are not reused
/// (the cache has no destructor, which would allocate while the thread ends): at most
/// `CLASSES * KEPT_PER_CLASS` = 1 MiB per thread, and a command starts at most one worker
/// per core. A pod's work holds hundreds of blocks of a class at once and frees them
/// together: with 4 KiB per class, most of them went back to the locked heap and the next
/// pod took them from it again (a 100-pod `check`: 54 ms instead of 63, docs/performance.md,
/// "Fifteenth pass"); a one-pod `check` populates the same 7 regions either way.
const KEPT_PER_CLASS: usize = 16384;

/// How many blocks a thread keeps per class (a table: a division per free cost more than the
/// rest of it).
const KEPT: [u16; CLASSES] = {
    let mut kept = [0; CLASSES];
    let mut class = 0;
    while class < CLASSES {
        kept[class] = (KEPT_PER_CLASS / block_size(class)) as u16;
        class += 1;
    }
    kept
};

/// A thread's freed blocks, one list per class, linked through each block's first word.
struct Cache {
    heads: [Cell<*mut u8>; CLASSES],
    counts: [Cell<u16>; CLASSES],
}

thread_local! {
    // Constant and without a destructor: reaching it is an offset from the thread pointer.
    static CACHE: Cache = const {
        Cache {
            heads: [const { Cell::new(ptr::null_mut()) }; CLASSES],
            counts: [const { Cell::new(0) }; CLASSES],
        }
    };
}

impl Cache {
    /// A kept block of `class`, if there is one.
    fn take(&self, class: usize) -> Option<*mut u8> {
        let block = self.heads[class].get();
        if block.is_null() {
            return None;
        }
        // SAFETY: a listed block is a free block of at least GRAIN bytes whose first word
        // `keep` set to the next one.
        let next = unsafe { block.cast::<*mut u8>().read() };
        self.heads[class].set(next);
        self.counts[class].set(self.counts[class].get() - 1);
        Some(block)
    }

    /// Keeps `block` (free, of `class`) unless the class is full.
    fn keep(&self, class: usize, block: *mut u8) -> bool {
        let count = self.counts[class].get();
        if count >= KEPT[class] {
            return false;
        }
        // SAFETY: the caller gave up the block, which is at least GRAIN bytes and aligned to
        // GRAIN: its first word can hold the link.
        unsafe { block.cast::<*mut u8>().write(self.heads[class].get()) };
        self.heads[class].set(block);
        self.counts[class].set(count + 1);
        true
    }
}

/// The cache's class for `layout`, if its blocks fit it.
fn class_of(layout: Layout) -> Option<usize> {
    (layout.align() <= GRAIN && layout.size() <= LARGEST)
        .then(|| layout.size().max(1).div_ceil(GRAIN) - 1)
}

const fn block_size(class: usize) -> usize {
    (class + 1) * GRAIN
}

/// A block of `class` this thread keeps, if any (none while the thread is ending).
fn cached(class: usize) -> Option<*mut u8> {
    CACHE.try_with(|cache| cache.take(class)).ok().flatten()
}

fn heap() -> MutexGuard<'static, Dlmalloc<Pages>> {
    // The lock cannot be left poisoned (a panic aborts the release build, and none of
    // dlmalloc's calls panics); it is taken either way.
    HEAP.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The allocator (`#[global_allocator]` of the musl build).
pub struct Allocator;

// SAFETY: a block of a class is a dlmalloc block of at least that class's size, whether it
// comes from the cache or from dlmalloc (every request of a class asks dlmalloc for the whole
// class, realloc included); every other request goes to dlmalloc as given, under the lock.
// dlmalloc's `c_*` calls take and free any block of the natural alignment (GRAIN) without
// its size.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match class_of(layout) {
            Some(class) => match cached(class) {
                Some(block) => block,
                None => unsafe { heap().c_malloc(block_size(class)) },
            },
            None => unsafe { heap().malloc(layout.size(), layout.align()) },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match class_of(layout) {
            Some(class) => {
                if !CACHE
                    .try_with(|cache| cache.keep(class, ptr))
                    .unwrap_or(false)
                {
                    unsafe { heap().c_free(ptr) }
                }
            }
            None => unsafe { heap().free(ptr, layout.size(), layout.align()) },
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match class_of(layout) {
            Some(class) => match cached(class) {
                Some(block) => {
                    // SAFETY: the block holds at least `layout.size()` bytes.
                    unsafe { ptr::write_bytes(block, 0, layout.size()) };
                    block
                }
                None => unsafe { heap().calloc(block_size(class), GRAIN) },
            },
            None => unsafe { heap().calloc(layout.size(), layout.align()) },
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() > GRAIN {
            return unsafe { heap().realloc(ptr, layout.size(), layout.align(), new_size) };
        }
        // SAFETY: `GlobalAlloc::realloc`'s contract: `new_size`, rounded up to `layout.align()`,
        // does not overflow.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (class_of(layout), class_of(new_layout)) {
            // The block is already the whole class.
            (Some(old), Some(new)) if old == new => ptr,
            // From one class to another: a new block and a freed one, both through the cache.
            // Through the locked heap, every step of a growing string or vector took the lock
            // twice and never fed the cache the blocks it left behind: a 100-pod `check` took
            // the heap's lock ~2,500 times per pod, and its two workers waited on each other
            // (docs/performance.md, "Fifteenth pass").
            (Some(_), Some(new)) => {
                let block = match cached(new) {
                    Some(block) => block,
                    None => unsafe { heap().c_malloc(block_size(new)) },
                };
                if !block.is_null() {
                    // SAFETY: both blocks hold at least the bytes copied, and are distinct.
                    unsafe {
                        ptr::copy_nonoverlapping(ptr, block, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                }
                block
            }
            // A block that lands in a class is given the whole class.
            (_, new) => unsafe { heap().c_realloc(ptr, new.map_or(new_size, block_size)) },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    /// Fills a block with a pattern of its own; `holds` checks it is still there.
    fn fill(block: *mut u8, size: usize, seed: u8) {
        for i in 0..size {
            unsafe { block.add(i).write(seed.wrapping_add(i as u8)) };
        }
    }

    fn holds(block: *mut u8, size: usize, seed: u8) -> bool {
        (0..size).all(|i| unsafe { block.add(i).read() } == seed.wrapping_add(i as u8))
    }

    fn cached(class: usize) -> usize {
        CACHE.with(|cache| usize::from(cache.counts[class].get()))
    }

    #[test]
    fn classes_round_up_to_the_grain_and_stop_at_the_largest() {
        assert_eq!(class_of(layout(1, 1)), Some(0));
        assert_eq!(class_of(layout(16, 8)), Some(0));
        assert_eq!(class_of(layout(17, 8)), Some(1));
        assert_eq!(class_of(layout(1024, 16)), Some(CLASSES - 1));
        assert_eq!(class_of(layout(1025, 8)), None);
        assert_eq!(
            class_of(layout(64, 32)),
            None,
            "an alignment above the grain"
        );
        assert_eq!(block_size(class_of(layout(17, 8)).unwrap()), 32);
    }

    /// Live blocks of every size and alignment never overlap, and a freed block comes back
    /// for the next request of its class.
    #[test]
    fn live_blocks_keep_their_contents_and_freed_ones_are_reused() {
        let shapes: Vec<Layout> = (1..=1100)
            .step_by(7)
            .flat_map(|size| [1, 8, 16, 64].map(|align| layout(size, align)))
            .collect();
        let blocks: Vec<*mut u8> = shapes
            .iter()
            .map(|&l| unsafe { Allocator.alloc(l) })
            .collect();
        for (i, (&block, l)) in blocks.iter().zip(&shapes).enumerate() {
            assert!(!block.is_null());
            assert_eq!(block as usize % l.align(), 0, "{l:?}");
            fill(block, l.size(), i as u8);
        }
        for (i, (&block, l)) in blocks.iter().zip(&shapes).enumerate() {
            assert!(holds(block, l.size(), i as u8), "{l:?}");
        }
        let small = layout(40, 8);
        let first = unsafe { Allocator.alloc(small) };
        unsafe { Allocator.dealloc(first, small) };
        assert_eq!(
            unsafe { Allocator.alloc(small) },
            first,
            "taken from the cache"
        );
        unsafe { Allocator.dealloc(first, small) };
        for (&block, &l) in blocks.iter().zip(&shapes) {
            unsafe { Allocator.dealloc(block, l) };
        }
    }

    #[test]
    fn a_recycled_block_is_zeroed_when_asked() {
        let l = layout(100, 8);
        let block = unsafe { Allocator.alloc(l) };
        fill(block, l.size(), 0xAB);
        unsafe { Allocator.dealloc(block, l) };
        let zeroed = unsafe { Allocator.alloc_zeroed(l) };
        assert_eq!(zeroed, block, "taken from the cache");
        assert!((0..l.size()).all(|i| unsafe { zeroed.add(i).read() } == 0));
        unsafe { Allocator.dealloc(zeroed, l) };
    }

    /// Growing and shrinking keep the contents, within a class, across classes, and to and
    /// from the sizes the cache does not keep; a block that came back is of its new class.
    #[test]
    fn realloc_keeps_the_contents_in_and_out_of_the_classes() {
        // Blocks past `POPULATED` grow the heap by regions `Pages` maps without faulting them in.
        let sizes = [
            1, 15, 16, 17, 100, 1024, 1025, 5000, 300_000, 3_000_000, 5_000_000, 300, 40, 2,
        ];
        let mut l = layout(sizes[0], 8);
        let mut block = unsafe { Allocator.alloc(l) };
        fill(block, l.size(), 7);
        for &size in &sizes[1..] {
            block = unsafe { Allocator.realloc(block, l, size) };
            assert!(!block.is_null());
            assert!(
                holds(block, l.size().min(size), 7),
                "{} -> {size}",
                l.size()
            );
            l = layout(size, 8);
            fill(block, size, 7);
        }
        unsafe { Allocator.dealloc(block, l) };
        // Reused for a request of the full class: it must hold all of it.
        let class_size = layout(block_size(class_of(l).unwrap()), 8);
        let again = unsafe { Allocator.alloc(class_size) };
        fill(again, class_size.size(), 9);
        assert!(holds(again, class_size.size(), 9));
        unsafe { Allocator.dealloc(again, class_size) };
    }

    /// A block that grows from one class to the next is taken from the cache, and the one it
    /// leaves goes back to the cache.
    #[test]
    fn realloc_across_classes_goes_through_the_cache() {
        let (small, large) = (layout(20, 8), layout(200, 8));
        let spare = unsafe { Allocator.alloc(large) };
        unsafe { Allocator.dealloc(spare, large) };
        let primed = unsafe { Allocator.alloc(small) };
        unsafe { Allocator.dealloc(primed, small) };
        let (small_class, large_class) = (class_of(small).unwrap(), class_of(large).unwrap());
        let before = (cached(small_class), cached(large_class));
        let block = unsafe { Allocator.alloc(small) };
        fill(block, small.size(), 3);
        let grown = unsafe { Allocator.realloc(block, small, large.size()) };
        assert_eq!(grown, spare, "the cached block of the new class");
        assert!(holds(grown, small.size(), 3));
        assert_eq!(cached(large_class), before.1 - 1);
        assert_eq!(cached(small_class), before.0, "the old block kept again");
        unsafe { Allocator.dealloc(grown, large) };
    }

    #[test]
    fn a_full_class_returns_blocks_to_the_heap() {
        let l = layout(512, 8);
        let class = class_of(l).unwrap();
        let blocks: Vec<*mut u8> = (0..100).map(|_| unsafe { Allocator.alloc(l) }).collect();
        for &block in &blocks {
            unsafe { Allocator.dealloc(block, l) };
        }
        assert_eq!(cached(class), KEPT_PER_CLASS / 512);
        assert_eq!((KEPT[0], KEPT[CLASSES - 1]), (1024, 16));
    }

    /// Blocks allocated on one thread and freed on another (as a build's workers hand their
    /// pods to the main thread) stay whole.
    #[test]
    fn blocks_cross_threads() {
        let (send, receive) = std::sync::mpsc::channel::<(usize, usize, u8)>();
        let producers: Vec<_> = (0..2u8)
            .map(|t| {
                let send = send.clone();
                std::thread::spawn(move || {
                    for i in 0..2000usize {
                        let size = 1 + (i * 37 + usize::from(t) * 11) % 1500;
                        let block = unsafe { Allocator.alloc(layout(size, 8)) };
                        let seed = (i as u8) ^ t;
                        fill(block, size, seed);
                        send.send((block as usize, size, seed)).unwrap();
                        // Churn of its own, through the thread's cache.
                        let own = unsafe { Allocator.alloc(layout(size / 2 + 1, 8)) };
                        fill(own, size / 2 + 1, seed);
                        assert!(holds(own, size / 2 + 1, seed));
                        unsafe { Allocator.dealloc(own, layout(size / 2 + 1, 8)) };
                    }
                })
            })
            .collect();
        drop(send);
        for (block, size, seed) in receive {
            let block = block as *mut u8;
            assert!(holds(block, size, seed));
            unsafe { Allocator.dealloc(block, layout(size, 8)) };
        }
        for producer in producers {
            producer.join().unwrap();
        }
    }
}
