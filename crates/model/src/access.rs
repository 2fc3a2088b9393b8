//! What a request asks permission for: the one description of a request that each service
//! builds for its operations (it alone can resolve its resources) and the authorizer decides on.
//! Services describe; they do not decide.
//!
//! The traits that decide ([`Authorizer`], [`TrustAuthorizer`]) are defined here, beside the
//! request, so that the server and the services can call the one implementation (in
//! `coffer-authz`) without depending on it: dependencies point from the binary to the authorizer
//! to the services, never back.

use std::future::Future;
use std::pin::Pin;

use crate::context::RequestContext;
use crate::{AwsError, Protocol};

/// A boxed future, as the decision traits return (the same type as `futures_util`'s `BoxFuture`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a request asks permission for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRequest {
    /// `service:Operation`, e.g. `secretsmanager:GetSecretValue`.
    pub action: String,
    /// The resource ARN, when the operation names one.
    pub resource: Option<String>,
    /// Service condition keys the operation supplies (`secretsmanager:ResourceTag/k`,
    /// `aws:TagKeys`, ...), each with its values.
    pub conditions: Vec<(String, Vec<String>)>,
    /// The resource's own policy (a secret's resource policy), as stored.
    pub resource_policy: Option<String>,
    /// Set when the request assumes a role: the role's trust policy must allow it, whatever
    /// else does.
    pub role_trust: Option<RoleTrust>,
    /// An MFA code sent with the request, verified while its access was worked out: the pipeline
    /// puts it into the request context for the authorizer and the operation.
    pub mfa_authenticated_at_millis: Option<i64>,
}

/// The trust policy of a role being assumed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleTrust {
    /// The document as stored; `None` when the role does not exist, which no policy can allow.
    pub document: Option<String>,
}

impl AccessRequest {
    /// The values the request supplies for condition key `key`.
    pub fn condition(&self, key: &str) -> Option<&[String]> {
        self.conditions
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, values)| values.as_slice())
    }

    pub fn new(action: String, resource: Option<String>) -> Self {
        AccessRequest {
            action,
            resource,
            conditions: Vec::new(),
            resource_policy: None,
            role_trust: None,
            mfa_authenticated_at_millis: None,
        }
    }
}

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

/// Decides whether the caller of `ctx` may do what `request` describes; the server asks it before
/// every signed request outside `--dev`.
pub trait Authorizer: Send + Sync {
    fn authorize<'a>(
        &'a self,
        ctx: &'a RequestContext,
        request: &'a AccessRequest,
    ) -> BoxFuture<'a, Result<(), Denial>>;
}

/// A caller that an identity provider vouches for (`AssumeRoleWithWebIdentity`,
/// `AssumeRoleWithSAML`), once STS has verified its token or assertion. The provider is the
/// principal a trust policy names (`"Principal": {"Federated": "<provider ARN>"}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederatedCaller {
    /// The IAM OIDC or SAML provider's ARN.
    pub provider_arn: String,
    /// The provider's (and the role's) account.
    pub account_id: String,
    /// Whom the provider vouches for: the token's `sub`, the assertion's `NameID`.
    pub subject: String,
}

/// Decides whether a role's trust policy lets a federated caller assume it. STS receives it at
/// construction and the server's authorizer implements it, so that trust for `AssumeRole`, web
/// identity and SAML is decided by one function with one set of rules (principals bound to unique
/// ids, explicit denies, `sts:TagSession` / `sts:SetSourceIdentity` for session tags and a source
/// identity, explained denials).
pub trait TrustAuthorizer: Send + Sync {
    /// `request` names the role (`resource`), its trust policy (`role_trust`, required) and the
    /// condition keys of the verified token or assertion. A denial's message is AWS's for
    /// federated calls (`Not authorized to perform sts:AssumeRoleWithSAML`).
    fn authorize_federated<'a>(
        &'a self,
        ctx: &'a RequestContext,
        caller: &'a FederatedCaller,
        request: &'a AccessRequest,
    ) -> BoxFuture<'a, Result<(), Denial>>;
}
