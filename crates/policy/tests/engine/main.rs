//! The engine's table-driven and property tests (one test binary for the crate).

mod conditions;
mod evaluation;
mod malformed;
mod properties;
mod simulator;
mod variables;

use coffer_policy::{AttachedPolicy, Policy, PolicyKind, PolicySource};

pub const ACCOUNT: &str = "111122223333";
pub const OTHER_ACCOUNT: &str = "444455556666";

pub fn parse(json: &str, kind: PolicyKind) -> Policy {
    match Policy::parse(json, kind) {
        Ok(p) => p,
        Err(e) => panic!("policy should parse, got {e}: {json}"),
    }
}

pub fn identity(json: &str) -> AttachedPolicy {
    AttachedPolicy::new(
        "identity",
        PolicySource::UserManaged,
        parse(json, PolicyKind::Identity),
    )
}

pub fn resource(json: &str) -> AttachedPolicy {
    AttachedPolicy::new(
        "resource",
        PolicySource::Resource,
        parse(json, PolicyKind::Resource),
    )
}

pub fn trust(json: &str) -> AttachedPolicy {
    AttachedPolicy::new(
        "trust",
        PolicySource::Resource,
        parse(json, PolicyKind::Trust),
    )
}

pub fn boundary(json: &str) -> AttachedPolicy {
    AttachedPolicy::new(
        "boundary",
        PolicySource::UserManaged,
        parse(json, PolicyKind::PermissionsBoundary),
    )
}

pub fn session(json: &str) -> AttachedPolicy {
    AttachedPolicy::new(
        "session",
        PolicySource::None,
        parse(json, PolicyKind::Session),
    )
}

/// A one-statement 2012-10-17 policy.
pub fn statement(body: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{body}]}}"#)
}
