//! Coffer's AWS shapes: the runtime schema, the request context, the wire-level error, and
//! (generated from `data/aws-models/` by `cargo run -p coffer-codegen`) the shapes, errors and
//! operation tables of each service.
//!
//! Each service sits behind the cargo feature of its name (`sts`, `secretsmanager`, `iam`; all on by
//! default): `coffer_model::sts::{Sts, dispatch, StsError, SERVICE, GetCallerIdentityRequest, …}`.

pub mod access;
pub mod codec;
pub mod context;
pub mod error;
pub mod pagination;
pub mod schema;
mod schema_base;
pub mod sensitive;
pub mod types;

mod generated;

#[cfg(feature = "iam")]
pub use generated::iam;
#[cfg(feature = "secretsmanager")]
pub use generated::secretsmanager;
#[cfg(feature = "sts")]
pub use generated::sts;

pub use error::{AwsError, Protocol};
pub use sensitive::Sensitive;
pub use types::{Blob, Timestamp};
