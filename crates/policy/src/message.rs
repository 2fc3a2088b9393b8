//! AWS's `AccessDenied` message, which names the policy type that denied or failed to allow:
//! `User: arn:aws:iam::111122223333:user/alice is not authorized to perform:
//! secretsmanager:GetSecretValue on resource: arn:... because no identity-based policy allows
//! the secretsmanager:GetSecretValue action`.

use crate::evaluate::PolicyType;

/// Why a request was denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DenyReason {
    /// A `Deny` statement in a policy of this type applied.
    Explicit(PolicyType),
    /// No policy of this type allowed the request, and one had to.
    Implicit(PolicyType),
}

impl PolicyType {
    /// The policy type as the message names it, without an article.
    pub fn phrase(self) -> &'static str {
        match self {
            PolicyType::IdentityBased => "identity-based policy",
            PolicyType::ResourceBased => "resource-based policy",
            PolicyType::PermissionsBoundary => "permissions boundary",
            PolicyType::SessionPolicy => "session policy",
            // AWS names a trust policy's explicit deny as a resource-based policy's.
            PolicyType::TrustPolicy => "resource-based policy",
        }
    }

    fn article(self) -> &'static str {
        match self {
            PolicyType::IdentityBased => "an",
            _ => "a",
        }
    }
}

impl DenyReason {
    /// The end of the message: `with an explicit deny in a resource-based policy` or
    /// `because no permissions boundary allows the <action> action`.
    pub fn suffix(self, action: &str) -> String {
        match self {
            DenyReason::Explicit(t) => {
                format!("with an explicit deny in {} {}", t.article(), t.phrase())
            }
            // A trust policy that does not allow the caller: AWS's message ends at the resource.
            DenyReason::Implicit(PolicyType::TrustPolicy) => String::new(),
            DenyReason::Implicit(t) => {
                format!("because no {} allows the {action} action", t.phrase())
            }
        }
    }
}

/// The whole message. Requests without a resource leave out the `on resource:` part, as AWS does.
pub fn access_denied(
    principal_arn: &str,
    action: &str,
    resource: Option<&str>,
    reason: DenyReason,
) -> String {
    let suffix = reason.suffix(action);
    let sep = if suffix.is_empty() { "" } else { " " };
    match resource {
        Some(resource) => {
            format!("User: {principal_arn} is not authorized to perform: {action} on resource: {resource}{sep}{suffix}")
        }
        None => {
            format!("User: {principal_arn} is not authorized to perform: {action}{sep}{suffix}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let user = "arn:aws:iam::111122223333:user/alice";
        let action = "secretsmanager:GetSecretValue";
        let secret = "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf";
        let cases = [
            (
                DenyReason::Implicit(PolicyType::IdentityBased),
                "because no identity-based policy allows the secretsmanager:GetSecretValue action",
            ),
            (
                DenyReason::Implicit(PolicyType::ResourceBased),
                "because no resource-based policy allows the secretsmanager:GetSecretValue action",
            ),
            (
                DenyReason::Implicit(PolicyType::PermissionsBoundary),
                "because no permissions boundary allows the secretsmanager:GetSecretValue action",
            ),
            (
                DenyReason::Implicit(PolicyType::SessionPolicy),
                "because no session policy allows the secretsmanager:GetSecretValue action",
            ),
            (
                DenyReason::Explicit(PolicyType::IdentityBased),
                "with an explicit deny in an identity-based policy",
            ),
            (
                DenyReason::Explicit(PolicyType::ResourceBased),
                "with an explicit deny in a resource-based policy",
            ),
            (
                DenyReason::Explicit(PolicyType::PermissionsBoundary),
                "with an explicit deny in a permissions boundary",
            ),
            (
                DenyReason::Explicit(PolicyType::SessionPolicy),
                "with an explicit deny in a session policy",
            ),
        ];
        for (reason, suffix) in cases {
            assert_eq!(
                access_denied(user, action, Some(secret), reason),
                format!("User: {user} is not authorized to perform: {action} on resource: {secret} {suffix}")
            );
        }
        assert_eq!(
            access_denied(user, "secretsmanager:ListSecrets", None, DenyReason::Implicit(PolicyType::IdentityBased)),
            "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: secretsmanager:ListSecrets because no identity-based policy allows the secretsmanager:ListSecrets action"
        );
    }
}
