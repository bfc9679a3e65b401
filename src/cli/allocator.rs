//! The musl build's memory allocator: dlmalloc, behind the standard library's mutex.
//!
//! musl's own allocator hands memory back to the kernel eagerly, so a `check` faulted in 462
//! pages instead of 273 and ran ~50 % longer than the glibc build. dlmalloc (Rust's port of
//! the allocator glibc's descends from) keeps its pages, but its ready-made global allocator
//! locks a pthread mutex, whose unlock alone was 9 % of a `check`'s instructions under musl;
//! the standard library's mutex takes and releases a free lock with one atomic operation each
//! (docs/performance.md, "Tenth pass").

use std::alloc::{GlobalAlloc, Layout};
use std::sync::{Mutex, MutexGuard, PoisonError};

use dlmalloc::Dlmalloc;

pub struct Allocator(Mutex<Dlmalloc>);

impl Allocator {
    pub const fn new() -> Self {
        Self(Mutex::new(Dlmalloc::new()))
    }

    /// The heap, locked. The lock cannot be left poisoned (a panic aborts the release
    /// build, and none of dlmalloc's calls panics); it is taken either way.
    fn heap(&self) -> MutexGuard<'_, Dlmalloc> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

// SAFETY: each call forwards to dlmalloc with the layout the caller gave, under the lock, as
// dlmalloc's own global allocator does.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { self.heap().malloc(layout.size(), layout.align()) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { self.heap().free(ptr, layout.size(), layout.align()) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe { self.heap().calloc(layout.size(), layout.align()) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        unsafe {
            self.heap()
                .realloc(ptr, layout.size(), layout.align(), new_size)
        }
    }
}
