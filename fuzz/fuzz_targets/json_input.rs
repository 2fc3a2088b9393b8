#![no_main]
// Properties and input format: crates/fuzz/src/json_input.rs.
libfuzzer_sys::fuzz_target!(|data: &[u8]| coffer_fuzz::json_input::run(data));
