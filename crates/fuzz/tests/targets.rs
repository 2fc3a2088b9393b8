//! The bounded run of every fuzz target that `cargo test` (and so CI) does: the seed corpus,
//! the crash regressions, then a fixed number of mutations from a fixed seed. Deterministic:
//! the same inputs run every time.
//!
//! `COFFER_FUZZ_MUTATIONS=N` runs N mutations per target instead (and `COFFER_FUZZ_SEED=S` picks
//! another sequence) for a longer session on stable; `COFFER_FUZZ_CORPUS=DIR` also replays
//! `DIR/<target>/*`, e.g. a corpus a `cargo fuzz` session grew, with this build's overflow checks.
//! Coverage-guided sessions use `cargo fuzz` (fuzz/README.md).

use coffer_fuzz::{driver, target};

/// About 1–4 s per target in a debug build on one core (15 s for the first five).
const DEFAULT_MUTATIONS: usize = 20_000;
const DEFAULT_SEED: u64 = 0x00c0_ffee;

fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    Some(
        text.parse()
            .unwrap_or_else(|_| panic!("{name}={text} is not a number")),
    )
}

fn run(name: &str) {
    let mutations = env_number("COFFER_FUZZ_MUTATIONS").map_or(DEFAULT_MUTATIONS, |n| n as usize);
    let seed = env_number("COFFER_FUZZ_SEED").unwrap_or(DEFAULT_SEED);
    let extra = std::env::var_os("COFFER_FUZZ_CORPUS").map(std::path::PathBuf::from);
    let summary = driver::run(
        target(name).expect("known target"),
        seed,
        mutations,
        extra.as_deref(),
    );
    eprintln!("{name}: {summary:?}");
    assert!(summary.seeds > 0);
}

#[test]
fn query_form() {
    run("query_form");
}

#[test]
fn json_input() {
    run("json_input");
}

#[test]
fn sigv() {
    run("sigv");
}

#[test]
fn policy() {
    run("policy");
}

#[test]
fn xml_output() {
    run("xml_output");
}

#[test]
fn saml_response() {
    run("saml_response");
}

#[test]
fn every_target_has_a_test_and_a_cargo_fuzz_target() {
    let tested = [
        "query_form",
        "json_input",
        "sigv",
        "policy",
        "xml_output",
        "saml_response",
    ];
    let names: Vec<&str> = coffer_fuzz::TARGETS.iter().map(|t| t.name).collect();
    assert_eq!(names, tested);
    for name in names {
        let path = driver::fuzz_dir()
            .join("fuzz_targets")
            .join(format!("{name}.rs"));
        assert!(path.is_file(), "missing {}", path.display());
    }
}
