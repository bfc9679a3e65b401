//! `memcpy`, `memmove`, `memcmp` and `bcmp` for the musl build on x86-64, in place of musl's.
//!
//! The program copies and compares tens of thousands of short strings per pod (a `check`
//! copies ~16,000 times and compares ~20,000 times, 6 bytes on average). musl's `memcpy` starts
//! a `rep movsq` for every one of them (11 % of a `check`'s samples against 2.6 % for glibc's),
//! and its `memcmp` compares a byte per loop (docs/performance.md, "Eleventh pass"). Here a
//! copy of up to 64 bytes is a few unaligned loads and stores (all loads first, so it is also
//! a correct `memmove`), a longer one a `rep movsb`; a comparison takes 8 bytes per step.
//!
//! The statically linked program takes these definitions instead of libc.a's; `memmove` is
//! defined too, as musl's own jumps into its `memcpy`'s object (which would bring a second
//! `memcpy`). No loop here copies or compares bytes one by one, which the compiler could turn
//! back into a call of the function being defined.

use std::arch::asm;
use std::ptr::{read_unaligned as load, write_unaligned as store};

/// Copies `n` bytes from `src` to `dest`; the regions may overlap if `n` ≤ 64, or if `dest`
/// is below `src` (a forward copy).
///
/// # Safety
/// `src` is readable and `dest` writable for `n` bytes.
#[inline(always)]
unsafe fn copy_forward(dest: *mut u8, src: *const u8, n: usize) {
    unsafe {
        match n {
            0 => {}
            1..=3 => {
                let (first, middle, last) = (*src, *src.add(n / 2), *src.add(n - 1));
                *dest = first;
                *dest.add(n / 2) = middle;
                *dest.add(n - 1) = last;
            }
            4..=7 => {
                let (head, tail) = (load(src.cast::<u32>()), load(src.add(n - 4).cast::<u32>()));
                store(dest.cast::<u32>(), head);
                store(dest.add(n - 4).cast::<u32>(), tail);
            }
            8..=16 => {
                let (head, tail) = (load(src.cast::<u64>()), load(src.add(n - 8).cast::<u64>()));
                store(dest.cast::<u64>(), head);
                store(dest.add(n - 8).cast::<u64>(), tail);
            }
            17..=32 => {
                let head = load(src.cast::<u128>());
                let tail = load(src.add(n - 16).cast::<u128>());
                store(dest.cast::<u128>(), head);
                store(dest.add(n - 16).cast::<u128>(), tail);
            }
            33..=64 => {
                let a = load(src.cast::<u128>());
                let b = load(src.add(16).cast::<u128>());
                let c = load(src.add(n - 32).cast::<u128>());
                let d = load(src.add(n - 16).cast::<u128>());
                store(dest.cast::<u128>(), a);
                store(dest.add(16).cast::<u128>(), b);
                store(dest.add(n - 32).cast::<u128>(), c);
                store(dest.add(n - 16).cast::<u128>(), d);
            }
            // Byte by byte in order as far as the program can tell (an overlap with `dest`
            // below `src` is copied correctly); the processor moves whole lines.
            _ => asm!(
                "rep movsb",
                inout("rcx") n => _,
                inout("rdi") dest => _,
                inout("rsi") src => _,
                options(nostack, preserves_flags)
            ),
        }
    }
}

/// Copies `n` bytes from `src` to `dest`, which overlap with `dest` above `src`.
///
/// # Safety
/// As [`copy_forward`].
unsafe fn copy_backward(dest: *mut u8, src: *const u8, n: usize) {
    if n <= 64 {
        return unsafe { copy_forward(dest, src, n) };
    }
    // The direction flag set, `rep movsb` copies from the last byte down (and is cleared
    // again: the ABI requires it clear at every call).
    unsafe {
        asm!(
            "std",
            "rep movsb",
            "cld",
            inout("rcx") n => _,
            inout("rdi") dest.add(n - 1) => _,
            inout("rsi") src.add(n - 1) => _,
            options(nostack)
        )
    }
}

/// The sign of the first difference of `a` and `b` over `n` bytes (`memcmp`).
///
/// # Safety
/// `a` and `b` are readable for `n` bytes.
#[inline(always)]
unsafe fn compare(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut at = 0;
    while at + 8 <= n {
        let (x, y) = unsafe { (load(a.add(at).cast::<u64>()), load(b.add(at).cast::<u64>())) };
        if x != y {
            // In memory order: the first byte the most significant.
            return if x.to_be() < y.to_be() { -1 } else { 1 };
        }
        at += 8;
    }
    if at == n {
        return 0;
    }
    // The last 1 to 7 bytes, gathered into one number each, the first the most significant.
    let (mut x, mut y) = (0u64, 0u64);
    while at < n {
        unsafe {
            x = (x << 8) | u64::from(*a.add(at));
            y = (y << 8) | u64::from(*b.add(at));
        }
        at += 1;
    }
    i32::from(x > y) - i32::from(x < y)
}

#[cfg(target_env = "musl")]
mod exported {
    use super::{compare, copy_backward, copy_forward};

    /// # Safety
    /// C's `memcpy`.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
        unsafe { copy_forward(dest, src, n) };
        dest
    }

    /// # Safety
    /// C's `memmove`.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
        // `dest` at or below `src`, or past its end: copying forward reads every byte before
        // it is overwritten.
        if (dest as usize).wrapping_sub(src as usize) >= n {
            unsafe { copy_forward(dest, src, n) }
        } else {
            unsafe { copy_backward(dest, src, n) }
        }
        dest
    }

    /// # Safety
    /// C's `memcmp`.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
        unsafe { compare(a, b, n) }
    }

    /// # Safety
    /// C's `bcmp` (zero if equal), which Rust calls to compare for equality.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
        unsafe { compare(a, b, n) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes that differ at every place (a 251-cycle: no period divides the sizes tested).
    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| ((i * 7 + usize::from(seed)) % 251) as u8)
            .collect()
    }

    #[test]
    fn copies_every_size_and_alignment() {
        for n in 0..=300 {
            for (from, to) in [(0, 0), (1, 0), (0, 3), (5, 11), (15, 1), (8, 8)] {
                let src = pattern(n + from, n as u8);
                let mut dest = vec![0xEE; n + to + 8];
                unsafe { copy_forward(dest.as_mut_ptr().add(to), src.as_ptr().add(from), n) };
                assert_eq!(
                    &dest[to..to + n],
                    &src[from..],
                    "n {n}, from {from}, to {to}"
                );
                assert!(dest[..to].iter().chain(&dest[to + n..]).all(|&b| b == 0xEE));
            }
        }
    }

    /// `memmove`'s two directions, as `copy_within` (the reference) moves.
    #[test]
    fn overlapping_moves_keep_every_byte() {
        for n in 0..=200 {
            for shift in [1, 2, 7, 8, 15, 16, 33, 64, 65, 100] {
                let start = pattern(n + shift, shift as u8);
                // Down (dest below src): forward.
                let mut moved = start.clone();
                let mut expected = start.clone();
                expected.copy_within(shift..shift + n, 0);
                unsafe { copy_forward(moved.as_mut_ptr(), moved.as_ptr().add(shift), n) };
                assert_eq!(moved, expected, "down: n {n}, shift {shift}");
                // Up (dest above src): backward.
                let mut moved = start.clone();
                let mut expected = start;
                expected.copy_within(0..n, shift);
                unsafe { copy_backward(moved.as_mut_ptr().add(shift), moved.as_ptr(), n) };
                assert_eq!(moved, expected, "up: n {n}, shift {shift}");
            }
        }
    }

    #[test]
    fn compares_as_slices_order() {
        for n in 0..=70 {
            let a = pattern(n + 3, 1);
            for offset in [0, 3] {
                let a = &a[offset..offset + n];
                assert_eq!(unsafe { compare(a.as_ptr(), a.to_vec().as_ptr(), n) }, 0);
                for at in 0..n {
                    for delta in [1u8, 0x80, 0xFF] {
                        let mut b = a.to_vec();
                        b[at] = b[at].wrapping_add(delta);
                        let expected = a.cmp(&b[..]) as i32;
                        assert_eq!(
                            unsafe { compare(a.as_ptr(), b.as_ptr(), n) },
                            expected,
                            "n {n}, at {at}, delta {delta}"
                        );
                        assert_eq!(unsafe { compare(b.as_ptr(), a.as_ptr(), n) }, -expected);
                    }
                }
            }
        }
    }
}
