//! The pieces of the `coffer` binary that its tests reuse: the services it serves (wired to the
//! authorizer of `coffer-authz`), the first-start bootstrap of the root account, and
//! `coffer policy lint`.

pub mod audit_trail;
pub mod bootstrap;
pub mod clock;
pub mod config;
pub mod data_dir;
pub mod directory;
pub mod log_format;
pub mod log_writer;
pub mod observability;
pub mod policy_lint;
pub mod probe;
pub mod restore;
pub mod services;
pub mod startup;
