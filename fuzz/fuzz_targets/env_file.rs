//! Fuzz target `env_file`: see `prose_compile_fuzz::env_file` (fuzz/src/lib.rs) for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| prose_compile_fuzz::env_file(data));
