//! Whom an operation applies to when `UserName` is left out: the calling user, or for the root
//! user the account itself. Other principals (role sessions, federated users) must name a user.

use coffer_model::context::{PrincipalKind, RequestContext};
use coffer_model::iam::IamError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Subject {
    Root,
    User(String),
}

impl Subject {
    pub fn user_name(&self) -> Option<&str> {
        match self {
            Subject::Root => None,
            Subject::User(name) => Some(name),
        }
    }
}

/// `arn:aws:iam::<acct>:user/<path><name>` → `<name>`.
pub(crate) fn user_name_from_arn(arn: &str) -> Option<&str> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let rest = resource.strip_prefix("user/")?;
    rest.rsplit('/').next().filter(|n| !n.is_empty())
}

pub(crate) fn subject(
    ctx: &RequestContext,
    user_name: Option<String>,
) -> Result<Subject, IamError> {
    if let Some(name) = user_name {
        return Ok(Subject::User(name));
    }
    let principal = &ctx.principal;
    match principal.kind {
        PrincipalKind::Root => Ok(Subject::Root),
        PrincipalKind::User => user_name_from_arn(&principal.arn)
            .map(|n| Subject::User(n.to_string()))
            .ok_or_else(non_user),
        _ => Err(non_user()),
    }
}

/// The user a request names, or the calling user; roots and roles must name one.
pub(crate) fn named_user(
    ctx: &RequestContext,
    user_name: Option<String>,
) -> Result<String, IamError> {
    subject(ctx, user_name)?
        .user_name()
        .map(str::to_string)
        .ok_or_else(non_user)
}

fn non_user() -> IamError {
    IamError::validation("Must specify userName when calling with non-User credentials")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_come_from_arns() {
        assert_eq!(
            user_name_from_arn("arn:aws:iam::123456789012:user/a/b/alice"),
            Some("alice")
        );
        assert_eq!(
            user_name_from_arn("arn:aws:iam::123456789012:user/bob"),
            Some("bob")
        );
        assert_eq!(user_name_from_arn("arn:aws:iam::123456789012:root"), None);
    }
}
