//! The `coffer` crate's end-to-end tests, one test binary: each module used to be a binary of its
//! own, and each of those linked the AWS SDK for Rust again.
//!
//! - `audit`, `authentication`, `explain_denials`, `secretsmanager`: the real binary over HTTPS (see `support`), called with
//!   aws-sdk-rust;
//! - `iam_reports`, `inactive_keys`, `rate_limits`, `sts_sessions`: a server inside the test process (see
//!   `in_process`), with a key directory and a clock the test controls.

mod audit;
mod authentication;
mod explain_denials;
mod iam_reports;
mod in_process;
mod inactive_keys;
mod rate_limits;
mod secretsmanager;
mod sts_sessions;
mod support;
