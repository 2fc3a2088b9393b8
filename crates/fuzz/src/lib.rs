//! Fuzz targets for the parsers that read attacker-supplied bytes: the AWS Query form decoder,
//! the JSON 1.1 decoder with the model's validation, SigV4/SigV2 parsing and verification, the
//! IAM policy parser and evaluator, the Query XML encoder, and the SAML response verifier of
//! `AssumeRoleWithSAML`.
//!
//! Each target is a function from arbitrary bytes to `()` that panics when a property fails, so
//! the same code runs under two drivers:
//! - `fuzz/` (cargo-fuzz, libFuzzer, nightly): coverage-guided, for long sessions;
//! - [`driver`] (stable): the seed corpus in `fuzz/corpus/<target>/`, the crash regressions in
//!   `fuzz/regressions/<target>/`, then a bounded number of deterministic mutations. This is what
//!   `cargo test` and CI run.
//!
//! A target never panics for malformed input: a panic means either a crash in the code under
//! test or a broken property (a round trip that does not hold, a nondeterministic decision, an
//! error that is not a client error).

pub mod driver;
mod http_text;
pub mod json_input;
mod operations;
pub mod policy;
mod query_encode;
pub mod query_form;
pub mod saml_response;
mod sensitive;
pub mod sigv;
mod split;
pub mod xml_output;

/// One fuzz target: its name (the directory names under `fuzz/`) and its entry point.
#[derive(Clone, Copy)]
pub struct Target {
    pub name: &'static str,
    pub run: fn(&[u8]),
}

/// Every target, in the order CI runs them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "query_form",
        run: query_form::run,
    },
    Target {
        name: "json_input",
        run: json_input::run,
    },
    Target {
        name: "sigv",
        run: sigv::run,
    },
    Target {
        name: "policy",
        run: policy::run,
    },
    Target {
        name: "xml_output",
        run: xml_output::run,
    },
    Target {
        name: "saml_response",
        run: saml_response::run,
    },
];

/// The target called `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().copied().find(|t| t.name == name)
}
