#![no_main]
// Properties and input format: crates/fuzz/src/query_form.rs.
libfuzzer_sys::fuzz_target!(|data: &[u8]| coffer_fuzz::query_form::run(data));
