//! Coffer's authorization, in one crate: what decides whether a request may proceed.
//!
//! - [`authorizer`]: [`PolicyAuthorizer`], the one decision place. It implements
//!   `coffer_model::access::Authorizer` (every signed request, asked by the server) and
//!   `coffer_model::access::TrustAuthorizer` (the trust policy of a role assumed with a web
//!   identity token or a SAML assertion, asked by STS), so that `AssumeRole`,
//!   `AssumeRoleWithWebIdentity` and `AssumeRoleWithSAML` are decided by the same function: the
//!   caller's session rules, the identity, boundary, session, resource and trust policies, the
//!   actions AWS authorizes alongside (`sts:TagSession`, `sts:SetSourceIdentity`), and AWS's
//!   denial messages.
//! - [`policy_cache`]: compiled policies kept per caller and per document between requests.
//! - [`iam_access`]: the resource ARN and condition keys of each IAM operation, from AWS's Service
//!   Authorization Reference (Secrets Manager and STS resolve their own resources:
//!   `SecretsManagerService::access`, `StsService::access`).
//! - [`denial_explanation`]: the encoded explanation `serve --explain-denials` appends.
//!
//! # Dependencies point one way
//!
//! ```text
//! coffer (binary: wiring) ──> coffer-server (HTTP) ──────────────┐
//!        │                                                       v
//!        └──────────────> coffer-authz ──> coffer-sts ──> coffer-iam ──> coffer-policy, coffer-store
//!                                     └──> coffer-iam             └──────> coffer-model (access.rs)
//! ```
//!
//! The services never depend on this crate: they describe a request with
//! `coffer_model::access::AccessRequest` and, where they must ask (STS's federated trust, Secrets
//! Manager's per-secret reads of batch calls), receive a trait object at construction.
//!
//! # Why the policy loader stays in `coffer-iam`
//!
//! `coffer_iam::authorization::{held_policies, user_policies, role_policies, …}` turns stored
//! permissions into compiled policies. Enforcement here uses it, and so do IAM's own
//! `SimulatePrincipalPolicy`, `GetContextKeysForPrincipalPolicy` and the access reports, which
//! must evaluate exactly what is enforced. Moving the loader here would make `coffer-iam` depend on
//! this crate, which depends on `coffer-iam`: a cycle. Injecting it into `IamService` as a trait
//! object would only hide that the loader reads IAM's own tables in IAM's storage format, which
//! `coffer-iam` owns. So the one loader lives beside the documents it reads, and both the enforcer
//! and the simulator call it (see `docs/architecture.md`).

pub mod authorizer;
pub mod denial_explanation;
pub mod iam_access;
pub mod policy_cache;

#[cfg(test)]
mod authorization_table;

pub use authorizer::PolicyAuthorizer;
