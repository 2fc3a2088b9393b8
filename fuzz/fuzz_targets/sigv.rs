#![no_main]
// Properties and input format: crates/fuzz/src/sigv.rs.
libfuzzer_sys::fuzz_target!(|data: &[u8]| coffer_fuzz::sigv::run(data));
