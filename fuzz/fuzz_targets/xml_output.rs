#![no_main]
// Properties and input format: crates/fuzz/src/xml_output.rs.
libfuzzer_sys::fuzz_target!(|data: &[u8]| coffer_fuzz::xml_output::run(data));
