//! What an STS request asks permission for, before the operation runs: for `AssumeRole`, the
//! role's trust policy (which must always allow, see `coffer_policy::evaluate`) and the `sts:`
//! and tag condition keys AWS supplies.

use coffer_model::access::{AccessRequest, RoleTrust};
use coffer_model::context::{PrincipalKind, RequestContext};
use coffer_model::AwsError;
use serde_json::Value;

use crate::common::{access_denied, store_failed, verify_mfa};
use crate::StsService;

/// A role ARN's parts: account, path (`/` or `/a/b/`) and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoleArn {
    pub account: String,
    pub path: String,
    pub name: String,
}

/// `Ok(None)`: a well-formed ARN that is not a role of an account (AWS then denies access);
/// `Err`: AWS's `ValidationError` for an ARN that does not parse.
pub(crate) fn parse_role_arn(arn: &str) -> Result<Option<RoleArn>, AwsError> {
    let invalid = || AwsError::new(400, "ValidationError", format!("{arn} is invalid"));
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[1].is_empty() || parts[2].is_empty() {
        return Err(invalid());
    }
    if parts[5].is_empty() {
        return Err(invalid());
    }
    let account = parts[4];
    let Some(path_and_name) = parts[5].strip_prefix("role/") else {
        return Ok(None);
    };
    if parts[2] != "iam" || account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let (path, name) = match path_and_name.rsplit_once('/') {
        Some((path, name)) => (format!("/{path}/"), name),
        None => ("/".to_string(), path_and_name),
    };
    if name.is_empty() {
        return Ok(None);
    }
    Ok(Some(RoleArn {
        account: account.to_string(),
        path,
        name: name.to_string(),
    }))
}

fn strings(input: &Value, name: &str) -> Vec<String> {
    input
        .get(name)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn tag_conditions(input: &Value, conditions: &mut Vec<(String, Vec<String>)>) {
    let Some(tags) = input.get("Tags").and_then(Value::as_array) else {
        return;
    };
    let mut keys = Vec::new();
    for tag in tags {
        let (Some(k), Some(v)) = (
            tag.get("Key").and_then(Value::as_str),
            tag.get("Value").and_then(Value::as_str),
        ) else {
            continue;
        };
        conditions.push((format!("aws:RequestTag/{k}"), vec![v.to_string()]));
        keys.push(k.to_string());
    }
    if !keys.is_empty() {
        conditions.push(("aws:TagKeys".to_string(), keys));
    }
}

impl StsService {
    /// Verifies an MFA code passed with the request now, so that the trust policy sees
    /// `aws:MultiFactorAuthPresent`; a wrong code is refused before anything else. The time of
    /// the verification goes into the request context (see `RequestContext`), where the operation
    /// finds it.
    async fn mfa_access(
        &self,
        ctx: &RequestContext,
        input: &Value,
        access: &mut AccessRequest,
    ) -> Result<(), AwsError> {
        let field = |name: &str| input.get(name).and_then(Value::as_str);
        if let Some(at) = verify_mfa(self, ctx, field("SerialNumber"), field("TokenCode")).await? {
            access.mfa_authenticated_at_millis = Some(at);
            access
                .conditions
                .push(("aws:MultiFactorAuthPresent".into(), vec!["true".into()]));
            access
                .conditions
                .push(("aws:MultiFactorAuthAge".into(), vec!["0".into()]));
        }
        Ok(())
    }

    /// The access request for operation `op` with decoded input `input`.
    pub async fn access(
        &self,
        ctx: &RequestContext,
        op: &str,
        input: &Value,
    ) -> Result<AccessRequest, AwsError> {
        let field = |name: &str| input.get(name).and_then(Value::as_str).map(str::to_string);
        let mut access = AccessRequest::new(format!("sts:{op}"), None);
        match op {
            "AssumeRole" => {
                if ctx.principal.kind == PrincipalKind::Root {
                    return Err(access_denied("Roles may not be assumed by root accounts.").into());
                }
                let arn = field("RoleArn").unwrap_or_default();
                access.resource = Some(arn.clone());
                // The role's trust policy must allow; a role that does not exist has none.
                access.role_trust = Some(RoleTrust { document: None });
                if let Some(role) = parse_role_arn(&arn)? {
                    let found = self
                        .store
                        .read(move |txn| {
                            match coffer_iam::roles::find(txn, &role.account, &role.name)? {
                                Some(found) if found.path == role.path => {
                                    let trust = found.trust_policy(txn)?.into_owned();
                                    Ok(Some((trust, found.tags)))
                                }
                                _ => Ok(None),
                            }
                        })
                        .await
                        .map_err(|e| AwsError::from(store_failed(e)))?;
                    if let Some((trust, tags)) = found {
                        access.role_trust = Some(RoleTrust {
                            document: Some(trust),
                        });
                        // The role's tags: identity policies may grant assuming roles by tag.
                        for tag in tags {
                            let value = vec![tag.value];
                            access
                                .conditions
                                .push((format!("aws:ResourceTag/{}", tag.key), value.clone()));
                            access
                                .conditions
                                .push((format!("iam:ResourceTag/{}", tag.key), value));
                        }
                    }
                }
                if let Some(session) = field("RoleSessionName") {
                    access
                        .conditions
                        .push(("sts:RoleSessionName".into(), vec![session]));
                }
                if let Some(external) = field("ExternalId") {
                    access
                        .conditions
                        .push(("sts:ExternalId".into(), vec![external]));
                }
                if let Some(source) = field("SourceIdentity") {
                    access
                        .conditions
                        .push(("sts:SourceIdentity".into(), vec![source]));
                }
                let transitive = strings(input, "TransitiveTagKeys");
                if !transitive.is_empty() {
                    access
                        .conditions
                        .push(("sts:TransitiveTagKeys".into(), transitive));
                }
                tag_conditions(input, &mut access.conditions);
                self.mfa_access(ctx, input, &mut access).await?;
            }
            // Unsigned: the operation has the role's trust policy decided once it has verified the
            // token or assertion (`crate::federated`); the request still names the role it is
            // about, as the reference says.
            "AssumeRoleWithWebIdentity" | "AssumeRoleWithSAML" => {
                access.resource = field("RoleArn");
            }
            "AssumeRoot" => {
                access.resource =
                    field("TargetPrincipal").map(|target| crate::unavailable::target_root(&target));
            }
            "GetSessionToken" => {
                self.mfa_access(ctx, input, &mut access).await?;
            }
            "GetFederationToken" => {
                let name = field("Name").unwrap_or_default();
                access.resource = Some(format!(
                    "arn:aws:sts::{}:federated-user/{name}",
                    ctx.principal.account_id
                ));
                tag_conditions(input, &mut access.conditions);
            }
            _ => {}
        }
        Ok(access)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_parse_as_aws_validates_them() {
        for bad in [
            "nothing-valid-in-here",
            "arn::b:::something/test-role",
            "arn:a::::something/test-role",
            "arn:a:::something/test-role",
            "arn:a:a::aaaaaaaaaa:",
        ] {
            let e = parse_role_arn(bad).unwrap_err();
            assert_eq!(e.code, "ValidationError");
            assert_eq!(
                e.message.as_deref(),
                Some(format!("{bad} is invalid").as_str())
            );
        }
        assert_eq!(
            parse_role_arn("arn:aws:iam::123456789012:role/a/b/Deploy").unwrap(),
            Some(RoleArn {
                account: "123456789012".into(),
                path: "/a/b/".into(),
                name: "Deploy".into()
            })
        );
        assert_eq!(
            parse_role_arn("arn:aws:iam::123456789012:role/Deploy")
                .unwrap()
                .unwrap()
                .path,
            "/"
        );
        assert_eq!(
            parse_role_arn("arn:aws:iam::123456789012:user/alice").unwrap(),
            None
        );
    }
}
