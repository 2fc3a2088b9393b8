//! The pieces of the `coffer` binary that its tests reuse: the services it serves and the first-start
//! bootstrap of the root account.

pub mod authorizer;
pub mod bootstrap;
pub mod clock;
pub mod data_dir;
pub mod directory;
pub mod iam_access;
pub mod policy_cache;
pub mod restore;
pub mod services;
