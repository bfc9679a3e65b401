//! Fuzz target `templates`: see `prose_compile_fuzz::templates` (fuzz/src/lib.rs) for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| prose_compile_fuzz::templates(data));
