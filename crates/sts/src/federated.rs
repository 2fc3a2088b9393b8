//! What `AssumeRoleWithWebIdentity` and `AssumeRoleWithSAML` share once the token or assertion is
//! verified: the role's trust decision, asked of the server's authorizer (the same function that
//! decides `AssumeRole`), and the role session they issue.

use coffer_iam::roles::RoleDoc;
use coffer_model::access::{AccessRequest, Denial, FederatedCaller, RoleTrust};
use coffer_model::context::RequestContext;
use coffer_model::sts::*;
use coffer_store::{StoreError, Txn};

use crate::assume_role::DEFAULT_DURATION;
use crate::common::*;
use crate::StsService;

/// The role a federated request names, with its trust policy as it is evaluated now (principals
/// deleted or re-created since it was saved stand as their old unique ids, as for `AssumeRole`).
pub(crate) struct TrustedRole {
    pub role: RoleDoc,
    pub trust_policy: String,
}

/// The role `name` of `account`, if it exists, with its effective trust policy.
pub(crate) fn find_role(
    txn: &mut dyn Txn,
    account: &str,
    name: &str,
) -> Result<Option<TrustedRole>, StoreError> {
    let Some(role) = coffer_iam::roles::find(txn, account, name)? else {
        return Ok(None);
    };
    let trust_policy = role.trust_policy(txn)?.into_owned();
    Ok(Some(TrustedRole { role, trust_policy }))
}

/// A federated `AssumeRoleWith…` request once STS has verified the token or assertion: the role
/// it names, the caller the identity provider vouches for, and the session it asks for.
pub(crate) struct FederatedAssumeRole<'a> {
    /// `sts:AssumeRoleWithWebIdentity` or `sts:AssumeRoleWithSAML`.
    pub action: &'static str,
    /// As the request gives it (the resource the trust decision is about).
    pub role_arn: &'a str,
    pub role: TrustedRole,
    pub caller: FederatedCaller,
    /// The condition keys the token or assertion supplies (`<provider>:sub`, `saml:*`, …); the
    /// keys every federated request supplies are added by [`assume_role_federated`].
    pub provider_keys: Vec<(String, Vec<String>)>,
    pub session_name: String,
    /// `DurationSeconds` as requested (an hour when absent).
    pub duration_seconds: Option<i32>,
    /// SAML's `SessionNotOnOrAfter`: the session ends then at the latest.
    pub not_on_or_after_millis: Option<i64>,
    pub policy: Option<&'a str>,
    pub policy_arns: Option<&'a [PolicyDescriptorType]>,
    pub tags: Vec<(String, String)>,
    pub transitive_tag_keys: Vec<String>,
    pub source_identity: Option<String>,
}

/// What the response of a federated `AssumeRoleWith…` carries about the session it issued.
pub(crate) struct IssuedSession {
    pub credentials: Credentials,
    pub assumed_role_user: AssumedRoleUser,
    /// Set when session policies or tags were passed.
    pub packed_policy_size: Option<i32>,
}

/// Asks the authorizer whether the role's trust policy lets the caller in — session tags and a
/// source identity need `sts:TagSession` / `sts:SetSourceIdentity` there too — then checks the
/// duration against the role's maximum, validates the session policies, stores the session and
/// returns its credentials.
pub(crate) async fn assume_role_federated(
    svc: &StsService,
    ctx: &RequestContext,
    request: FederatedAssumeRole<'_>,
) -> Result<IssuedSession, StsError> {
    let mut access = AccessRequest::new(
        request.action.to_string(),
        Some(request.role_arn.to_string()),
    );
    access.conditions = trust_conditions(&request);
    access.role_trust = Some(RoleTrust {
        document: Some(request.role.trust_policy),
    });
    svc.trust
        .authorize_federated(ctx, &request.caller, &access)
        .await
        .map_err(|denial| match denial {
            Denial::Denied { message, .. } => access_denied(message),
            Denial::Restricted(e) | Denial::Failed(e) => StsError::Other(e),
        })?;

    let role = &request.role.role;
    let mut duration = i64::from(request.duration_seconds.unwrap_or(DEFAULT_DURATION));
    if duration > i64::from(role.max_session_duration) {
        return Err(StsError::validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }
    // AWS: the session lasts DurationSeconds "or until the time specified in the SAML
    // authentication response's SessionNotOnOrAfter value, whichever is shorter".
    if let Some(end) = request.not_on_or_after_millis {
        duration = duration.min((end - ctx.now_millis).div_euclid(1000)).max(1);
    }
    let policies = session_policies(request.policy, request.policy_arns)?;
    let packed = packed_size(&policies, &request.tags)?;
    let passed_any =
        !policies.inline.is_empty() || !policies.arns.is_empty() || !request.tags.is_empty();
    let mut doc = role_session(
        ctx,
        &request.caller.account_id,
        role,
        &request.session_name,
        duration,
        request.caller.provider_arn.clone(),
    );
    doc.session_policies = policies.inline;
    doc.policy_arns = policies.arns;
    doc.tags = request.tags;
    doc.transitive_tag_keys = request.transitive_tag_keys;
    doc.source_identity = request.source_identity;
    let assumed_role_user = assumed_role_user(&doc);
    let credentials = issue(svc, doc).await?;
    Ok(IssuedSession {
        credentials,
        assumed_role_user,
        packed_policy_size: passed_any.then_some(packed),
    })
}

/// The condition keys of a federated request: the provider's, then those AWS supplies for every
/// `AssumeRoleWith…` (the provider, the session name, the source identity, session tags).
fn trust_conditions(request: &FederatedAssumeRole<'_>) -> Vec<(String, Vec<String>)> {
    let one = |key: &str, value: &str| (key.to_string(), vec![value.to_string()]);
    let mut conditions = request.provider_keys.clone();
    conditions.push(one("aws:FederatedProvider", &request.caller.provider_arn));
    conditions.push(one("sts:RoleSessionName", &request.session_name));
    if let Some(source) = &request.source_identity {
        conditions.push(one("sts:SourceIdentity", source));
    }
    for (key, value) in &request.tags {
        conditions.push(one(&format!("aws:RequestTag/{key}"), value));
    }
    if !request.tags.is_empty() {
        conditions.push((
            "aws:TagKeys".to_string(),
            request.tags.iter().map(|(k, _)| k.clone()).collect(),
        ));
    }
    if !request.transitive_tag_keys.is_empty() {
        conditions.push((
            "sts:TransitiveTagKeys".to_string(),
            request.transitive_tag_keys.clone(),
        ));
    }
    conditions
}
