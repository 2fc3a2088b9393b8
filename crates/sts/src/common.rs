//! What several operations share: AWS's errors, session tags and policies, and issuing credentials.

use coffer_model::context::RequestContext;
use coffer_model::sensitive::Sensitive;
use coffer_model::sts::{AssumedRoleUser, Credentials, PolicyDescriptorType, StsError, Tag};
use coffer_model::types::Timestamp;
use coffer_model::AwsError;
use coffer_policy::{Policy, PolicyKind};
use coffer_store::StoreError;

use crate::sessions::{self, FoundSession, SessionDoc};
use crate::StsService;

pub(crate) fn access_denied(message: impl Into<String>) -> StsError {
    StsError::Other(AwsError::new(403, "AccessDenied", message))
}

pub(crate) fn invalid_parameter(message: impl Into<String>) -> StsError {
    StsError::Other(AwsError::new(400, "InvalidParameterValue", message))
}

pub(crate) fn not_authorized(
    ctx: &RequestContext,
    action: &str,
    resource: Option<&str>,
) -> StsError {
    access_denied(coffer_policy::access_denied(
        &ctx.principal.arn,
        action,
        resource,
        coffer_policy::DenyReason::Implicit(coffer_policy::PolicyType::IdentityBased),
    ))
}

pub(crate) fn store_failed(e: StoreError) -> StsError {
    tracing::error!(error = %e, "STS storage access failed");
    StsError::Other(AwsError::new(
        503,
        "ServiceUnavailable",
        "The service is unavailable. Please try again later.",
    ))
}

pub(crate) fn is_temporary(ctx: &RequestContext) -> bool {
    ctx.principal
        .access_key_id
        .starts_with(sessions::TEMPORARY_KEY_PREFIX)
}

/// The session behind the caller's temporary credentials, if it signed with any.
pub(crate) async fn caller_session(
    svc: &StsService,
    ctx: &RequestContext,
) -> Result<Option<SessionDoc>, StsError> {
    if !is_temporary(ctx) {
        return Ok(None);
    }
    let key = ctx.principal.access_key_id.clone();
    let found: Option<FoundSession> = svc
        .store
        .read(move |txn| sessions::find(txn, &key))
        .await
        .map_err(store_failed)?;
    Ok(found.map(|f| f.doc))
}

/// AWS's checks on session tags: keys unique ignoring case, transitive keys among the tags.
pub(crate) fn validate_tags(
    tags: &[Tag],
    transitive: &[String],
) -> Result<Vec<(String, String)>, StsError> {
    let mut seen = std::collections::HashSet::new();
    for tag in tags {
        if !seen.insert(tag.key.to_lowercase()) {
            return Err(invalid_parameter(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
            ));
        }
    }
    for key in transitive {
        if !seen.contains(&key.to_lowercase()) {
            return Err(invalid_parameter(
                "The specified transitive tag key must be included in the requested tags.",
            ));
        }
    }
    Ok(tags
        .iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect())
}

/// Session policies as given: the inline document (validated) and the managed policy ARNs.
#[derive(Debug)]
pub(crate) struct SessionPolicies {
    pub inline: Vec<String>,
    pub arns: Vec<String>,
}

pub(crate) fn session_policies(
    policy: Option<&str>,
    arns: Option<&[PolicyDescriptorType]>,
) -> Result<SessionPolicies, StsError> {
    let mut inline = Vec::new();
    if let Some(doc) = policy {
        Policy::parse(doc, PolicyKind::Session)
            .map_err(|e| StsError::malformed_policy_document(e.message().to_string()))?;
        inline.push(doc.to_string());
    }
    let mut out = Vec::new();
    for descriptor in arns.unwrap_or_default() {
        let Some(arn) = descriptor.arn.as_deref() else {
            continue;
        };
        if !is_policy_arn(arn) {
            return Err(invalid_parameter(format!(
                "The policy {arn} does not exist or is not attachable."
            )));
        }
        out.push(arn.to_string());
    }
    Ok(SessionPolicies { inline, arns: out })
}

fn is_policy_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "iam"
        && parts[5].starts_with("policy/")
        && parts[5].len() > "policy/".len()
}

/// Space AWS packs session policies and tags into; the size is reported as a percentage of it.
const PACKED_BUDGET: usize = 4096;

/// AWS compresses session policies and tags into the token and reports the share of the space they
/// use. Coffer keeps them in the store instead, so the figure is the minified JSON size against a
/// fixed budget: comparable in scale (0 with nothing passed, over 100 rejected), not in exact value.
pub(crate) fn packed_size(
    policies: &SessionPolicies,
    tags: &[(String, String)],
) -> Result<i32, StsError> {
    let mut bytes = 0;
    for doc in &policies.inline {
        bytes += serde_json::from_str::<serde_json::Value>(doc)
            .map(|v| v.to_string().len())
            .unwrap_or(doc.len());
    }
    bytes += policies.arns.iter().map(|a| a.len()).sum::<usize>();
    bytes += tags
        .iter()
        .map(|(k, v)| k.len() + v.len() + 2)
        .sum::<usize>();
    let percent = (bytes * 100).div_ceil(PACKED_BUDGET);
    if percent > 100 {
        return Err(StsError::packed_policy_too_large(format!(
            "Packed policy consumes {percent}% of allotted space, please use smaller policy for assumed role."
        )));
    }
    Ok(percent as i32)
}

fn mfa_failed() -> StsError {
    access_denied("MultiFactorAuthentication failed with invalid MFA one time pass code. ")
}

fn mfa_unverifiable() -> StsError {
    access_denied("MultiFactorAuthentication failed, unable to validate MFA code.")
}

/// Verifies `TokenCode` for the device `SerialNumber`, which must be one of the calling IAM user's
/// (the code is then used up). Returns when it was verified.
pub(crate) async fn verify_mfa(
    svc: &StsService,
    ctx: &RequestContext,
    serial: Option<&str>,
    code: Option<&str>,
) -> Result<Option<i64>, StsError> {
    let (serial, code) = match (serial, code) {
        (None, None) => return Ok(None),
        (Some(serial), Some(code)) => (serial.to_string(), code.to_string()),
        _ => return Err(mfa_unverifiable()),
    };
    let principal = &ctx.principal;
    let caller_user = (principal.kind == coffer_model::context::PrincipalKind::User).then(|| {
        principal
            .arn
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string()
    });
    let account = principal.account_id.clone();
    let now_secs = ctx.now_millis.div_euclid(1000);
    // A code of someone else's device is refused without using it up: the transaction is
    // abandoned (`Err`) so the code's use is not recorded.
    enum Outcome {
        Store(StoreError),
        Refused(StsError),
    }
    impl From<StoreError> for Outcome {
        fn from(e: StoreError) -> Self {
            Outcome::Store(e)
        }
    }
    let verified = svc
        .store
        .write(move |txn| {
            match coffer_iam::mfa::verify_mfa_code(txn, &account, &serial, &code, now_secs)? {
                coffer_iam::mfa::MfaCheck::Valid { user_name }
                    if caller_user
                        .as_deref()
                        .is_some_and(|u| u.eq_ignore_ascii_case(&user_name)) =>
                {
                    Ok(())
                }
                coffer_iam::mfa::MfaCheck::Invalid => Err(Outcome::Refused(mfa_failed())),
                _ => Err(Outcome::Refused(mfa_unverifiable())),
            }
        })
        .await;
    match verified {
        Ok(()) => Ok(Some(ctx.now_millis)),
        Err(Outcome::Refused(e)) => Err(e),
        Err(Outcome::Store(e)) => Err(store_failed(e)),
    }
}

/// The MFA verification of this request: done while its access was worked out (the request
/// context carries it), or now (in --dev, where nothing is authorized).
pub(crate) async fn check_mfa(
    svc: &StsService,
    ctx: &RequestContext,
    serial: Option<&str>,
    code: Option<&str>,
) -> Result<Option<i64>, StsError> {
    if serial.is_none() && code.is_none() {
        return Ok(None);
    }
    match ctx.mfa_authenticated_at_millis {
        Some(at) => Ok(Some(at)),
        None => verify_mfa(svc, ctx, serial, code).await,
    }
}

/// New credentials stored for `doc` (whose expiry decides `Expiration`).
pub(crate) async fn issue(svc: &StsService, doc: SessionDoc) -> Result<Credentials, StsError> {
    let (key_id, secret, token) = sessions::new_credentials();
    let expires = doc.expires_at_millis;
    let (k, s, t) = (key_id.clone(), secret.clone(), token.clone());
    svc.store
        .write(move |txn| sessions::insert(txn, &k, &s, &t, &doc))
        .await
        .map_err(store_failed)?;
    Ok(Credentials {
        access_key_id: key_id,
        secret_access_key: Sensitive::new(secret),
        session_token: Sensitive::new(token),
        expiration: Timestamp::from_secs(expires.div_euclid(1000)),
    })
}

/// A new session of `role` named `session_name`, lasting `duration_secs` from now, on behalf of
/// `source_arn`: its ARN (`assumed-role/<role>/<session>`, without the role's path, as AWS writes
/// it), its id (`<role id>:<session>`) and its times; no policies, tags or MFA until the caller
/// sets them. `AssumeRole`, `AssumeRoleWithWebIdentity` and `AssumeRoleWithSAML` all start here.
pub(crate) fn role_session(
    ctx: &RequestContext,
    account: &str,
    role: &coffer_iam::roles::RoleDoc,
    session_name: &str,
    duration_secs: i64,
    source_arn: String,
) -> SessionDoc {
    let (issued, expires) = expiry(ctx, duration_secs);
    SessionDoc {
        kind: sessions::SessionKind::AssumedRole,
        account_id: account.to_string(),
        arn: format!(
            "arn:aws:sts::{account}:assumed-role/{}/{session_name}",
            role.name
        ),
        user_id: format!("{}:{session_name}", role.role_id),
        issued_at_millis: issued,
        expires_at_millis: expires,
        role: Some(sessions::SessionRole {
            name: role.name.clone(),
            path: role.path.clone(),
            role_id: role.role_id.clone(),
        }),
        user_name: None,
        source_user_id: None,
        source_arn: Some(source_arn),
        session_policies: Vec::new(),
        policy_arns: Vec::new(),
        tags: Vec::new(),
        transitive_tag_keys: Vec::new(),
        source_identity: None,
        mfa_authenticated_at_millis: None,
        chained: false,
    }
}

/// The `AssumedRoleUser` of a role session's response.
pub(crate) fn assumed_role_user(doc: &SessionDoc) -> AssumedRoleUser {
    AssumedRoleUser {
        assumed_role_id: doc.user_id.clone(),
        arn: doc.arn.clone(),
    }
}

/// Whole seconds: `Expiration` has second precision, so the stored expiry matches what clients see.
pub(crate) fn expiry(ctx: &RequestContext, duration_secs: i64) -> (i64, i64) {
    let issued = ctx.now_millis.div_euclid(1000) * 1000;
    (issued, issued + duration_secs * 1000)
}

/// The condition keys AWS's Service Authorization Reference lists for STS operation `name`.
#[cfg(test)]
pub(crate) fn reference_condition_keys(name: &str) -> &'static [&'static str] {
    coffer_model::sts::SERVICE
        .operations
        .iter()
        .find(|op| op.name == name)
        .unwrap_or_else(|| panic!("the reference has no {name}"))
        .authorization
        .condition_keys
}

/// The values supplied for condition key `key`, if it is.
#[cfg(test)]
pub(crate) fn key_values<'a>(keys: &'a [(String, Vec<String>)], key: &str) -> Option<&'a [String]> {
    keys.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(k: &str, v: &str) -> Tag {
        Tag {
            key: k.into(),
            value: v.into(),
        }
    }

    #[test]
    fn tags_follow_aws_rules() {
        let err = validate_tags(&[tag("Team", "a"), tag("team", "b")], &[]).unwrap_err();
        assert!(err
            .message()
            .unwrap()
            .starts_with("Duplicate tag keys found"));
        let err = validate_tags(&[tag("Team", "a")], &["Project".into()]).unwrap_err();
        assert_eq!(
            err.message(),
            Some("The specified transitive tag key must be included in the requested tags.")
        );
        let ok = validate_tags(&[tag("Team", "a")], &["team".into()]).unwrap();
        assert_eq!(ok, vec![("Team".to_string(), "a".to_string())]);
    }

    #[test]
    fn session_policies_are_validated_and_sized() {
        let err = session_policies(Some("{not json"), None).unwrap_err();
        assert!(matches!(err, StsError::MalformedPolicyDocument(_)));
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
        let p = session_policies(Some(doc), None).unwrap();
        let size = packed_size(&p, &[]).unwrap();
        assert!(size > 0 && size < 10, "{size}");
        let none = session_policies(None, None).unwrap();
        assert_eq!(packed_size(&none, &[]).unwrap(), 0);
        let big: Vec<(String, String)> = (0..50)
            .map(|i| (format!("k{i:0>100}"), "v".repeat(256)))
            .collect();
        assert!(matches!(
            packed_size(&none, &big),
            Err(StsError::PackedPolicyTooLarge(_))
        ));
        let bad = [PolicyDescriptorType {
            arn: Some("arn:aws:iam::123456789012:role/x".into()),
        }];
        assert!(session_policies(None, Some(&bad)).is_err());
    }
}
