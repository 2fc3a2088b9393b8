#![no_main]
// Properties and input format: crates/fuzz/src/saml_response.rs.
libfuzzer_sys::fuzz_target!(|data: &[u8]| coffer_fuzz::saml_response::run(data));
