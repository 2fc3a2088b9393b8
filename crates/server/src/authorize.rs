//! Authorization runs on every request outside `--dev`, after the caller is known and the input is
//! valid, before the operation. It fails closed: an `Authorizer` must allow a request explicitly.

use coffer_model::context::RequestContext;
use coffer_model::{AwsError, Protocol};
use futures_util::future::BoxFuture;

pub use coffer_model::access::{AccessRequest, RoleTrust};

/// Why a request may not proceed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// The policies deny it; the message is AWS's `User: … is not authorized to perform: …`.
    Denied {
        message: String,
        reason: DenialReason,
    },
    /// Refused by a rule no policy changes (what temporary credentials may call), with AWS's
    /// error for it.
    Restricted(AwsError),
    /// The decision could not be made (storage unavailable): the request fails closed with this error.
    Failed(AwsError),
}

/// The kind of policy a denial names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyClass {
    Identity,
    Resource,
    PermissionsBoundary,
    Session,
    Trust,
}

/// Why the policies denied a request, for metrics: which kind of policy denied it explicitly or
/// failed to allow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DenialReason {
    /// A `Deny` statement of this kind of policy applied.
    ExplicitDeny(PolicyClass),
    /// No policy of this kind allowed the request, and one had to.
    NotAllowed(PolicyClass),
}

impl DenialReason {
    /// The `reason` label of `coffer_authorization_denials_total`.
    pub fn label(self) -> &'static str {
        use PolicyClass::*;
        match self {
            DenialReason::ExplicitDeny(Identity) => "explicit_deny_identity_policy",
            DenialReason::ExplicitDeny(Resource) => "explicit_deny_resource_policy",
            DenialReason::ExplicitDeny(PermissionsBoundary) => "explicit_deny_permissions_boundary",
            DenialReason::ExplicitDeny(Session) => "explicit_deny_session_policy",
            DenialReason::ExplicitDeny(Trust) => "explicit_deny_trust_policy",
            DenialReason::NotAllowed(Identity) => "no_allow_identity_policy",
            DenialReason::NotAllowed(Resource) => "no_allow_resource_policy",
            DenialReason::NotAllowed(PermissionsBoundary) => "no_allow_permissions_boundary",
            DenialReason::NotAllowed(Session) => "no_allow_session_policy",
            DenialReason::NotAllowed(Trust) => "no_allow_trust_policy",
        }
    }
}

/// The label of denials by [`Denial::Restricted`].
pub const RESTRICTED_CREDENTIALS: &str = "temporary_credentials_restriction";

/// A reason label that covers both kinds of refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalLabel {
    Policy(DenialReason),
    Restricted,
}

impl RefusalLabel {
    pub fn label(self) -> &'static str {
        match self {
            RefusalLabel::Policy(reason) => reason.label(),
            RefusalLabel::Restricted => RESTRICTED_CREDENTIALS,
        }
    }
}

impl Denial {
    pub fn to_aws(&self, protocol: Protocol) -> AwsError {
        match (self, protocol) {
            (Denial::Denied { message, .. }, Protocol::Query) => {
                AwsError::new(403, "AccessDenied", message.clone())
            }
            (Denial::Denied { message, .. }, Protocol::Json) => {
                AwsError::new(400, "AccessDeniedException", message.clone())
            }
            (Denial::Restricted(e), _) | (Denial::Failed(e), _) => e.clone(),
        }
    }

    /// Why the request was refused; `None` when no decision was made ([`Denial::Failed`]).
    pub fn reason(&self) -> Option<RefusalLabel> {
        match self {
            Denial::Denied { reason, .. } => Some(RefusalLabel::Policy(*reason)),
            Denial::Restricted(_) => Some(RefusalLabel::Restricted),
            Denial::Failed(_) => None,
        }
    }
}

pub trait Authorizer: Send + Sync {
    fn authorize<'a>(
        &'a self,
        ctx: &'a RequestContext,
        request: &'a AccessRequest,
    ) -> BoxFuture<'a, Result<(), Denial>>;
}

/// Operations AWS answers without any permission.
pub const UNAUTHORIZED_ACTIONS: &[&str] = &["sts:GetCallerIdentity"];
