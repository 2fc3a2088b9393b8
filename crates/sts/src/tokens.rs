//! `GetSessionToken` and `GetFederationToken`: temporary credentials for an IAM user (or the root
//! user) called with its long-term keys.

use coffer_model::context::{PrincipalKind, RequestContext};
use coffer_model::sts::*;

use crate::common::*;
use crate::sessions::{SessionDoc, SessionKind};
use crate::StsService;

const DEFAULT_DURATION: i32 = 43_200;
/// Credentials obtained with the root user's keys last at most an hour; AWS shortens longer requests.
const ROOT_MAX_DURATION: i32 = 3600;

fn user_name(arn: &str) -> Option<String> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let rest = resource.strip_prefix("user/")?;
    rest.rsplit('/').next().map(str::to_string)
}

fn duration(ctx: &RequestContext, asked: Option<i32>) -> i64 {
    let d = asked.unwrap_or(DEFAULT_DURATION);
    let d = if ctx.principal.kind == PrincipalKind::Root {
        d.min(ROOT_MAX_DURATION)
    } else {
        d
    };
    i64::from(d)
}

pub(crate) async fn get_session_token(
    svc: &StsService,
    ctx: &RequestContext,
    input: GetSessionTokenRequest,
) -> Result<GetSessionTokenResponse, StsError> {
    if is_temporary(ctx) {
        return Err(access_denied(
            "Cannot call GetSessionToken with session credentials",
        ));
    }
    let mfa = check_mfa(
        svc,
        ctx,
        input.serial_number.as_deref(),
        input.token_code.as_deref(),
    )
    .await?;
    let principal = &ctx.principal;
    let (issued, expires) = expiry(ctx, duration(ctx, input.duration_seconds));
    let doc = SessionDoc {
        kind: SessionKind::SessionToken,
        account_id: principal.account_id.clone(),
        arn: principal.arn.clone(),
        user_id: principal.user_id.clone(),
        issued_at_millis: issued,
        expires_at_millis: expires,
        role: None,
        user_name: user_name(&principal.arn),
        source_arn: None,
        source_user_id: user_name(&principal.arn).map(|_| principal.user_id.clone()),
        session_policies: Vec::new(),
        policy_arns: Vec::new(),
        tags: Vec::new(),
        transitive_tag_keys: Vec::new(),
        source_identity: None,
        mfa_authenticated_at_millis: mfa,
        chained: false,
    };
    Ok(GetSessionTokenResponse {
        credentials: Some(issue(svc, doc).await?),
    })
}

pub(crate) async fn get_federation_token(
    svc: &StsService,
    ctx: &RequestContext,
    input: GetFederationTokenRequest,
) -> Result<GetFederationTokenResponse, StsError> {
    if is_temporary(ctx) {
        return Err(access_denied(
            "Cannot call GetFederationToken with session credentials",
        ));
    }
    let principal = &ctx.principal;
    let tags = validate_tags(input.tags.as_deref().unwrap_or_default(), &[])?;
    let policies = session_policies(input.policy.as_deref(), input.policy_arns.as_deref())?;
    let packed = packed_size(&policies, &tags)?;
    let account = principal.account_id.clone();
    let arn = format!("arn:aws:sts::{account}:federated-user/{}", input.name);
    let id = format!("{account}:{}", input.name);
    let (issued, expires) = expiry(ctx, duration(ctx, input.duration_seconds));
    let doc = SessionDoc {
        kind: SessionKind::FederatedUser,
        account_id: account,
        arn: arn.clone(),
        user_id: id.clone(),
        issued_at_millis: issued,
        expires_at_millis: expires,
        role: None,
        user_name: user_name(&principal.arn),
        source_arn: Some(principal.arn.clone()),
        source_user_id: user_name(&principal.arn).map(|_| principal.user_id.clone()),
        session_policies: policies.inline,
        policy_arns: policies.arns,
        tags,
        transitive_tag_keys: Vec::new(),
        source_identity: None,
        mfa_authenticated_at_millis: None,
        chained: false,
    };
    Ok(GetFederationTokenResponse {
        credentials: Some(issue(svc, doc).await?),
        federated_user: Some(FederatedUser {
            federated_user_id: id,
            arn,
        }),
        packed_policy_size: Some(packed),
    })
}
