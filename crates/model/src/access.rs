//! What a request asks permission for: the one description of a request that each service
//! builds for its operations (it alone can resolve its resources) and the authorizer decides on.
//! Services describe; they do not decide.

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
