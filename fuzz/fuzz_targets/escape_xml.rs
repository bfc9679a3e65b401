//! Fuzz target `escape_xml`: see `prose_compile_fuzz::escape_xml` (fuzz/src/lib.rs) for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| prose_compile_fuzz::escape_xml(data));
