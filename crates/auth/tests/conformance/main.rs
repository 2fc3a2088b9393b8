//! Conformance of the verifier with the SigV4/SigV2 vectors in `testdata/`, malformed input, and fuzzing.

mod botocore;
mod checks;
mod fuzz;
mod malformed;
mod negative;
mod sigv2;
mod suite;
mod support;
