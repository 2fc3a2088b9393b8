//! Authorization runs on every request outside `--dev`, after the caller is known and the input is
//! valid, before the operation. It fails closed: an `Authorizer` must allow a request explicitly.

use coffer_model::context::RequestContext;
use coffer_model::{AwsError, Protocol};
use futures_util::future::BoxFuture;

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
    Denied(String),
    /// The decision could not be made (storage unavailable): the request fails closed with this error.
    Failed(AwsError),
}

impl Denial {
    pub fn to_aws(&self, protocol: Protocol) -> AwsError {
        match (self, protocol) {
            (Denial::Denied(m), Protocol::Query) => AwsError::new(403, "AccessDenied", m.clone()),
            (Denial::Denied(m), Protocol::Json) => {
                AwsError::new(400, "AccessDeniedException", m.clone())
            }
            (Denial::Failed(e), _) => e.clone(),
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
