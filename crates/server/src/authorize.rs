//! Authorization runs on every request outside `--dev`, after the caller is known and the input is
//! valid, before the operation. It fails closed: an `Authorizer` must allow a request explicitly.
//! The decision itself is `coffer-authz`'s; the request and the trait are `coffer_model::access`'s,
//! so that the services and the authorizer share them without depending on this HTTP crate.

pub use coffer_model::access::{
    AccessRequest, Authorizer, Denial, DenialReason, PolicyClass, RefusalLabel, RoleTrust,
    RESTRICTED_CREDENTIALS,
};

/// Operations AWS answers without any permission.
pub const UNAUTHORIZED_ACTIONS: &[&str] = &["sts:GetCallerIdentity"];
