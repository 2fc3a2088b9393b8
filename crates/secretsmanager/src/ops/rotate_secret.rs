//! RotateSecret and CancelRotateSecret.

use std::sync::Arc;

use coffer_model::context::RequestContext;
use coffer_model::secretsmanager::{
    CancelRotateSecretRequest, CancelRotateSecretResponse, RotateSecretRequest,
    RotateSecretResponse, SecretsManagerError,
};
use coffer_model::{AwsError, Sensitive};
use coffer_store::Store;

use crate::builtin_rotation::{is_builtin, BuiltinRotator};
use crate::common::{new_uuid, random_suffix, scope_of};
use crate::error::{marked_for_deletion, Fail, OpResult};
use crate::lookup::{parse_secret_id, require, SecretRef};
use crate::rotation::{
    InvokeError, Report, RotationEvent, RotationInvoker, RotationOutcome, STEPS,
};
use crate::schedule::{self, HOUR_MS};
use crate::state::{save, Scope, AWSCURRENT, AWSPENDING};

const RETRY_MS: i64 = HOUR_MS;

fn cannot_invoke() -> SecretsManagerError {
    SecretsManagerError::Other(AwsError::new(
        400,
        "AccessDeniedException",
        "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants access to the principal secretsmanager.amazonaws.com.",
    ))
}

pub(crate) async fn rotate(
    store: &Store,
    invoker: Option<&Arc<dyn RotationInvoker>>,
    report: Report<'_>,
    ctx: &RequestContext,
    input: RotateSecretRequest,
) -> OpResult<RotateSecretResponse> {
    let scope = scope_of(ctx, &input.secret_id);
    let secret = parse_secret_id(&input.secret_id, &scope)?;
    let token = input.client_request_token.clone().ok_or_else(|| {
        SecretsManagerError::invalid_parameter(
            "You must provide a ClientRequestToken value. We recommend a UUID-type value.",
        )
    })?;
    if let Some(r) = &input.rotation_rules {
        schedule::parse(r)?;
    }
    let now = ctx.now_millis;
    let given_lambda = input.rotation_lambda_arn.clone();
    let s = scope.clone();
    let sref = secret.clone();
    let tok = token.clone();
    let (arn, name, lambda) = store
        .read(move |txn| {
            let doc = require(txn, &s, &sref, now)?;
            if doc.primary_region.is_some() {
                return Err(Fail::Aws(crate::replication::replica_read_only()));
            }
            if doc.is_deleted() {
                return Err(Fail::Aws(marked_for_deletion()));
            }
            let lambda = given_lambda
                .clone()
                .or_else(|| doc.rotation.lambda_arn.clone());
            let Some(lambda) = lambda else {
                return Err(Fail::Aws(SecretsManagerError::invalid_request(
                    "No Lambda rotation function ARN is associated with this secret.",
                )));
            };
            if let Some(p) = doc.version_with_stage(AWSPENDING) {
                if !p.stages.iter().any(|st| st == AWSCURRENT) && p.id != tok {
                    return Err(Fail::Aws(SecretsManagerError::invalid_request(
                        "A previous rotation isn't complete. That rotation will be reattempted.",
                    )));
                }
            }
            Ok((doc.arn(&s), doc.name.clone(), lambda))
        })
        .await
        .map_err(Fail::into_aws)?;
    // Without a way to invoke functions, AWS's answer for an uninvokable one applies, and the
    // secret keeps no rotation configuration. The built-in rotation needs no invoker.
    let builtin;
    let invoker: &dyn RotationInvoker = if is_builtin(&lambda) {
        builtin = BuiltinRotator {
            store: store.clone(),
            scope: scope.clone(),
            now,
        };
        &builtin
    } else {
        match invoker {
            Some(i) => i.as_ref(),
            None => {
                if input.rotate_immediately.unwrap_or(true) {
                    report.ended(RotationOutcome::Unreachable);
                }
                return Err(cannot_invoke());
            }
        }
    };
    let immediately = input.rotate_immediately.unwrap_or(true);
    let steps: &[&'static str] = if immediately { &STEPS } else { &STEPS[2..3] };
    let mut completed = true;
    for step in steps {
        let event = RotationEvent {
            step,
            secret_id: arn.clone(),
            client_request_token: token.clone(),
            rotation_token: Sensitive::new(format!("{}{}", random_suffix(), random_suffix())),
        };
        match invoker.invoke(&lambda, event).await {
            Ok(()) => {}
            Err(InvokeError::Unreachable(why)) => {
                tracing::warn!(function = %lambda, %why, "rotation function could not be invoked");
                if immediately {
                    report.ended(RotationOutcome::Unreachable);
                }
                return Err(cannot_invoke());
            }
            Err(InvokeError::Failed(why)) => {
                // As on AWS, a failed step leaves AWSPENDING where the function put it; the
                // next RotateSecret retries.
                tracing::warn!(secret = %arn, step, %why, "rotation step failed");
                completed = false;
                break;
            }
        }
    }
    let rules = input.rotation_rules;
    let done_at = ctx.now_millis;
    let new_version = token.clone();
    let rotated = store
        .write(move |txn| {
            let mut doc = require(txn, &scope, &secret, now)?;
            // The function moved AWSCURRENT to the new version: the rotation succeeded, and as on
            // AWS the version keeps no AWSPENDING label. Otherwise AWSPENDING stays where the
            // function left it and the next rotation reattempts it.
            let rotated = immediately
                && completed
                && doc
                    .version(&new_version)
                    .is_some_and(|v| v.stages.iter().any(|s| s == AWSCURRENT));
            if rotated {
                if let Some(v) = doc.version_mut(&new_version) {
                    v.stages.retain(|s| s != AWSPENDING);
                }
            } else if immediately && completed {
                tracing::warn!(secret = %doc.name, "rotation function finished without moving AWSCURRENT");
            }
            let r = &mut doc.rotation;
            r.enabled = Some(true);
            r.lambda_arn = Some(lambda.clone());
            if let Some(rules) = &rules {
                r.rules = Some(rules.clone());
            }
            if rotated {
                r.last_rotated_ms = Some(done_at);
            }
            let effective = rules.clone().or_else(|| r.rules.clone());
            r.next_rotation_ms = effective
                .as_ref()
                .and_then(|x| schedule::parse(x).ok().flatten())
                .map(|s| s.next_due(done_at, r.last_rotated_ms));
            if immediately && !rotated && r.next_rotation_ms.is_some() {
                // The scheduler reattempts a failed rotation, no sooner than in an hour.
                r.next_rotation_ms = Some(done_at + RETRY_MS);
            }
            doc.last_changed_ms = done_at;
            save(txn, &scope, &doc)?;
            Ok(rotated)
        })
        .await
        .map_err(Fail::into_aws)?;
    if immediately {
        report.ended(match (rotated, completed) {
            (true, _) => RotationOutcome::Succeeded,
            (false, true) => RotationOutcome::NotFinished,
            (false, false) => RotationOutcome::StepFailed,
        });
    }
    Ok(RotateSecretResponse {
        arn: Some(arn),
        name: Some(name),
        version_id: immediately.then_some(token),
    })
}

pub(crate) async fn cancel(
    store: &Store,
    ctx: &RequestContext,
    input: CancelRotateSecretRequest,
) -> OpResult<CancelRotateSecretResponse> {
    let scope = scope_of(ctx, &input.secret_id);
    let secret: SecretRef = parse_secret_id(&input.secret_id, &scope)?;
    let now = ctx.now_millis;
    store
        .write(move |txn| {
            let mut doc = require(txn, &scope, &secret, now)?;
            if doc.is_deleted() {
                return Err(Fail::Aws(marked_for_deletion()));
            }
            if doc.rotation.lambda_arn.is_none() {
                return Err(Fail::Aws(SecretsManagerError::invalid_request(
                    "You tried to enable rotation on a secret that doesn't already have a Lambda function ARN configured and you didn't include such an ARN as a parameter in this call.",
                )));
            }
            // The partially rotated version keeps AWSPENDING, as on AWS: the caller removes it.
            let pending = doc
                .version_with_stage(AWSPENDING)
                .filter(|v| !v.stages.iter().any(|s| s == AWSCURRENT))
                .map(|v| v.id.clone());
            doc.rotation.enabled = Some(false);
            doc.rotation.next_rotation_ms = None;
            doc.last_changed_ms = now;
            save(txn, &scope, &doc)?;
            Ok(CancelRotateSecretResponse {
                arn: Some(doc.arn(&scope)),
                name: Some(doc.name.clone()),
                version_id: pending,
            })
        })
        .await
        .map_err(Fail::into_aws)
}

/// How long a node owns a due rotation it claimed; if it dies mid-rotation, another retries then.
const CLAIM_MS: i64 = HOUR_MS;

/// Rotates every secret whose `NextRotationDate` has passed; returns how many rotations ran. Each
/// due secret is first claimed in a transaction (its next date pushed out by an hour), so when
/// several nodes share a database and all run this, each rotation runs on one node only.
pub(crate) async fn rotate_due(
    store: &Store,
    invoker: Option<&Arc<dyn RotationInvoker>>,
    report: Report<'_>,
    now: i64,
) -> Result<usize, coffer_store::StoreError> {
    const BATCH: usize = 500;
    let mut due: Vec<(Scope, String)> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let start = after.clone();
        let rows = store
            .read(move |txn| txn.scan(crate::state::SECRETS, "", start.as_deref(), BATCH))
            .await?;
        let done = rows.len() < BATCH;
        for (key, rec) in rows {
            let Ok(doc) = serde_json::from_slice::<crate::state::SecretDoc>(&rec.doc) else {
                continue;
            };
            let mut parts = key.splitn(3, '/');
            if let (Some(account), Some(region), Some(_)) =
                (parts.next(), parts.next(), parts.next())
            {
                if is_due(&doc, now) {
                    let scope = Scope {
                        account: account.to_string(),
                        region: region.to_string(),
                    };
                    due.push((scope, doc.name.clone()));
                }
            }
            after = Some(key);
        }
        if done {
            break;
        }
    }
    let mut ran = 0;
    for (scope, name) in due {
        let (s, n) = (scope.clone(), name.clone());
        let claimed: Result<Option<(String, Option<String>)>, Fail> = store
            .write(move |txn| {
                let Some(mut doc) = crate::state::load(txn, &s, &n, now)? else {
                    return Ok(None);
                };
                if !is_due(&doc, now) {
                    return Ok(None);
                }
                doc.rotation.next_rotation_ms = Some(now + CLAIM_MS);
                save(txn, &s, &doc)?;
                // An incomplete rotation is reattempted with its own token, as AWS does.
                let pending = doc
                    .version_with_stage(AWSPENDING)
                    .filter(|v| !v.stages.iter().any(|st| st == AWSCURRENT))
                    .map(|v| v.id.clone());
                Ok(Some((doc.arn(&s), pending)))
            })
            .await;
        let (arn, pending) = match claimed {
            Ok(Some(claim)) => claim,
            Ok(None) => continue,
            Err(Fail::Store(e)) => return Err(e),
            Err(Fail::Aws(e)) => {
                tracing::warn!(secret = %name, error = %e, "could not claim a due rotation");
                continue;
            }
        };
        let ctx = scheduler_context(&scope, now);
        let input = RotateSecretRequest {
            secret_id: arn.clone(),
            client_request_token: Some(pending.unwrap_or_else(new_uuid)),
            ..Default::default()
        };
        match rotate(store, invoker, report, &ctx, input).await {
            Ok(_) => ran += 1,
            Err(e) => tracing::warn!(secret = %arn, error = %e, "scheduled rotation failed"),
        }
    }
    Ok(ran)
}

fn is_due(doc: &crate::state::SecretDoc, now: i64) -> bool {
    doc.rotation.enabled == Some(true)
        && doc.primary_region.is_none()
        && !doc.is_deleted()
        && !doc.is_expired(now)
        && doc.rotation.next_rotation_ms.is_some_and(|t| t <= now)
}

/// Scheduled rotations act as Secrets Manager itself, in the secret's account and region.
fn scheduler_context(scope: &Scope, now: i64) -> RequestContext {
    RequestContext {
        request_id: new_uuid(),
        principal: coffer_model::context::Principal {
            account_id: scope.account.clone(),
            arn: "secretsmanager.amazonaws.com".to_string(),
            user_id: "secretsmanager.amazonaws.com".to_string(),
            kind: coffer_model::context::PrincipalKind::Root,
            access_key_id: String::new(),
        },
        region: scope.region.clone(),
        source_ip: None,
        secure_transport: true,
        now_millis: now,
        mfa_authenticated_at_millis: None,
    }
}
