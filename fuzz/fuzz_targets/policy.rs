#![no_main]
// Properties and input format: crates/fuzz/src/policy.rs.
libfuzzer_sys::fuzz_target!(|data: &[u8]| coffer_fuzz::policy::run(data));
