//! Fuzz target `escape_yaml`: see `prose_compile_fuzz::escape_yaml` (fuzz/src/lib.rs) for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| prose_compile_fuzz::escape_yaml(data));
