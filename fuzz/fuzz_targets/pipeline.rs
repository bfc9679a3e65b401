//! Fuzz target `pipeline`: see `prose_compile_fuzz::pipeline` (fuzz/src/lib.rs) for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| prose_compile_fuzz::pipeline(data));
