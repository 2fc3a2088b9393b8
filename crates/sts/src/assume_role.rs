//! `AssumeRole`: a role session for a user or another role session (role chaining). The trust
//! policy and the caller's permissions were checked by the authorizer before this runs.

use coffer_model::context::RequestContext;
use coffer_model::sts::*;

use crate::access::parse_role_arn;
use crate::common::*;
use crate::sessions::SessionKind;
use crate::StsService;

pub(crate) const DEFAULT_DURATION: i32 = 3600;
/// Role chaining limits a session to one hour whatever the role allows.
pub(crate) const CHAINED_MAX_DURATION: i32 = 3600;

pub(crate) async fn assume_role(
    svc: &StsService,
    ctx: &RequestContext,
    input: AssumeRoleRequest,
) -> Result<AssumeRoleResponse, StsError> {
    let principal = &ctx.principal;
    // Root callers were refused before authorization (`StsService::access`); in --dev, where
    // every caller is root and nothing is enforced, they may assume roles.
    let denied = || not_authorized(ctx, "sts:AssumeRole", Some(&input.role_arn));
    let role_arn = parse_role_arn(&input.role_arn)
        .map_err(StsError::Other)?
        .ok_or_else(denied)?;
    let caller = caller_session(svc, ctx).await?;
    if caller
        .as_ref()
        .is_some_and(|s| s.kind == SessionKind::FederatedUser)
    {
        return Err(access_denied(
            "Cannot call AssumeRole with session credentials",
        ));
    }
    let chained = caller
        .as_ref()
        .is_some_and(|s| s.kind == SessionKind::AssumedRole);

    let (account, name) = (role_arn.account.clone(), role_arn.name.clone());
    let role = svc
        .store
        .read(move |txn| coffer_iam::roles::find(txn, &account, &name))
        .await
        .map_err(store_failed)?
        .filter(|r| r.path == role_arn.path)
        .ok_or_else(denied)?;

    let duration = input.duration_seconds.unwrap_or(DEFAULT_DURATION);
    if chained && duration > CHAINED_MAX_DURATION {
        return Err(StsError::validation(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        ));
    }
    if duration > role.max_session_duration {
        return Err(StsError::validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }

    let requested_transitive = input.transitive_tag_keys.clone().unwrap_or_default();
    let mut tags = validate_tags(
        input.tags.as_deref().unwrap_or_default(),
        &requested_transitive,
    )?;
    let mut transitive: Vec<String> = requested_transitive;
    if let Some(caller) = &caller {
        // Transitive tags of the calling session pass to the new one and cannot be overridden.
        let inherited: Vec<&(String, String)> = caller
            .tags
            .iter()
            .filter(|(k, _)| {
                caller
                    .transitive_tag_keys
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(k))
            })
            .collect();
        for (k, _) in &tags {
            if inherited.iter().any(|(ik, _)| ik.eq_ignore_ascii_case(k)) {
                return Err(invalid_parameter(
                    "One of the specified transitive tag keys can't be set because it conflicts with a transitive tag key from the calling session.",
                ));
            }
        }
        for (k, v) in inherited {
            tags.push((k.clone(), v.clone()));
            if !transitive.iter().any(|t| t.eq_ignore_ascii_case(k)) {
                transitive.push(k.clone());
            }
        }
    }
    let policies = session_policies(input.policy.as_deref(), input.policy_arns.as_deref())?;
    let request_tags: Vec<(String, String)> = input
        .tags
        .iter()
        .flatten()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect();
    let packed = packed_size(&policies, &request_tags)?;
    let mfa = check_mfa(
        svc,
        ctx,
        input.serial_number.as_deref(),
        input.token_code.as_deref(),
    )
    .await?;

    let source_identity = match (
        caller.as_ref().and_then(|c| c.source_identity.clone()),
        input.source_identity.clone(),
    ) {
        (Some(inherited), Some(asked)) if inherited != asked => {
            return Err(access_denied(format!(
                "User: {} is not authorized to perform: sts:SetSourceIdentity on resource: {} because the source identity cannot be changed once set.",
                principal.arn, input.role_arn
            )))
        }
        (Some(inherited), _) => Some(inherited),
        (None, asked) => asked,
    };

    let passed_any =
        !policies.inline.is_empty() || !policies.arns.is_empty() || !request_tags.is_empty();
    let mut doc = role_session(
        ctx,
        &role_arn.account,
        &role,
        &input.role_session_name,
        i64::from(duration),
        principal.arn.clone(),
    );
    doc.session_policies = policies.inline;
    doc.policy_arns = policies.arns;
    doc.tags = tags;
    doc.transitive_tag_keys = transitive;
    doc.source_identity = source_identity.clone();
    doc.mfa_authenticated_at_millis =
        mfa.or_else(|| caller.as_ref().and_then(|c| c.mfa_authenticated_at_millis));
    doc.chained = chained;
    let assumed_role_user = assumed_role_user(&doc);
    let credentials = issue(svc, doc).await?;
    Ok(AssumeRoleResponse {
        credentials: Some(credentials),
        assumed_role_user: Some(assumed_role_user),
        packed_policy_size: passed_any.then_some(packed),
        source_identity,
    })
}
