//! The pieces of the `coffer` binary that its tests reuse: the services it serves, the first-start
//! bootstrap of the root account, and `coffer policy lint`.

pub mod audit_trail;
#[cfg(test)]
mod authorization_table;
pub mod authorizer;
pub mod bootstrap;
pub mod clock;
pub mod config;
pub mod data_dir;
pub mod denial_explanation;
pub mod directory;
pub mod iam_access;
pub mod observability;
pub mod policy_cache;
pub mod policy_lint;
pub mod probe;
pub mod restore;
pub mod services;
pub mod startup;
