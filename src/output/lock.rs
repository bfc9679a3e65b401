//! One build of a tree at a time: an advisory lock (`flock`, through rustix) on the tree's root
//! directory itself.
//!
//! The lock is on the directory, not on a file in the work directory: the work directory is
//! emptied and removed by builds (only the input record, `record`, stays in it), and a lock
//! file that is removed and recreated would let two builds each hold "the" lock on a
//! different inode. The root is what both builds name, and it stays.
//! A build (`write`) holds it exclusively from before it reads the manifest until after it has
//! written the manifest and the input record; `build --check`, `diff` (`plan`) and the
//! up-to-date check of the input record hold it shared, so they never
//! compare against a tree in the middle of being written. A killed build's lock goes with its
//! process.

use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use rustix::fs::{FlockOperation, flock};
use rustix::io::Errno;

use super::write::{WriteError, io_error};

/// How long a build waits for another build of the same tree before giving up (exit 2).
pub const DEFAULT_WAIT: Duration = Duration::from_secs(10);

/// A held lock on a tree; released when dropped (or when the process ends, however it ends).
#[derive(Debug)]
pub struct TreeLock {
    _dir: File,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Writing the tree: one holder.
    Exclusive,
    /// Reading it to compare: any number of holders, no writer.
    Shared,
}

/// Locks the existing directory `root`, waiting up to `wait` for another holder to finish.
pub fn lock(root: &Path, access: Access, wait: Duration) -> Result<TreeLock, WriteError> {
    // O_NOFOLLOW: the root was checked not to be a link; it cannot become one in between.
    let dir = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(root)
        .map_err(|e| io_error(root, e))?;
    lock_dir(dir.as_fd(), root, access, wait)?;
    Ok(TreeLock { _dir: dir })
}

/// Locks the open directory `dir` (the root of the tree at `root`), waiting up to `wait`; the
/// lock lasts as long as the descriptor.
pub(super) fn lock_dir(
    dir: BorrowedFd<'_>,
    root: &Path,
    access: Access,
    wait: Duration,
) -> Result<(), WriteError> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(2);
    let operation = match access {
        Access::Exclusive => FlockOperation::NonBlockingLockExclusive,
        Access::Shared => FlockOperation::NonBlockingLockShared,
    };
    loop {
        match flock(dir, operation) {
            Ok(()) => return Ok(()),
            Err(Errno::WOULDBLOCK) if started.elapsed() < wait => {
                std::thread::sleep(pause.min(wait.saturating_sub(started.elapsed())));
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            Err(Errno::WOULDBLOCK) => {
                return Err(WriteError::Locked {
                    path: root.to_owned(),
                    waited: wait,
                });
            }
            Err(Errno::INTR) => {}
            Err(e) => return Err(io_error(root, e.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_exclusive_holder_waits_then_gives_up() {
        let dir = tempfile::tempdir().unwrap();
        let first = lock(dir.path(), Access::Exclusive, Duration::ZERO).expect("free");
        let started = Instant::now();
        match lock(dir.path(), Access::Exclusive, Duration::from_millis(200)) {
            Err(WriteError::Locked { .. }) => {}
            other => panic!("expected Locked, got {other:?}"),
        }
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert!(lock(dir.path(), Access::Shared, Duration::ZERO).is_err());
        drop(first);
        let shared = lock(dir.path(), Access::Shared, Duration::ZERO).expect("free again");
        let _also = lock(dir.path(), Access::Shared, Duration::ZERO).expect("shared twice");
        assert!(lock(dir.path(), Access::Exclusive, Duration::ZERO).is_err());
        drop(shared);
    }
}
