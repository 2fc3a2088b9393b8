//! coffer-policy: IAM policy documents and AWS's evaluation logic, with no I/O.
//!
//! - [`Policy::parse`] validates a JSON document as IAM does (with IAM's
//!   `MalformedPolicyDocument` messages) and compiles it once into matchers.
//! - [`Request`] carries the caller, action, resource and context keys.
//! - [`evaluate`] decides a request against a [`PolicySet`] and says why, including the
//!   statements that decided and the text of AWS's `AccessDenied` message.
//! - [`public_grants`] says which statements of a resource-based policy grant public access
//!   (Secrets Manager's `BlockPublicPolicy`).
//! - [`lint::lint`] reports what IAM Access Analyzer's policy validation reports (unknown
//!   actions and condition keys, resource ARNs no action can use, public grants) from AWS
//!   reference data the caller supplies.

mod condition;
mod context;
mod document;
mod error;
mod evaluate;
pub mod limits;
pub mod lint;
mod matching;
mod message;
mod variables;

pub use context::{Context, ContextKeyType, ContextValue, Principal, PrincipalType, Request};
pub use document::{
    public_grants, ConditionText, Effect, Grant, ParseOptions, Policy, PolicyKind, Position,
    PublicGrant, Statement, Version,
};
pub use error::MalformedPolicy;
pub use evaluate::{
    evaluate, explain, AttachedPolicy, Decision, EvalDecision, MatchedStatement, PolicySet,
    PolicySource, PolicyType, UnmetStatement,
};
pub use message::{access_denied, DenyReason};
