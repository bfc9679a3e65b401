//! Fuzz target `escape_systemd_json`: see `prose_compile_fuzz::escape_systemd_json` (fuzz/src/lib.rs) for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| prose_compile_fuzz::escape_systemd_json(data));
