use std::sync::{Arc, Mutex};

use coffer_model::secretsmanager::*;
use coffer_model::Sensitive;
use coffer_secretsmanager::{
    InvokeError, InvokeFuture, RotationEvent, RotationInvoker, SecretsManagerService,
};

use crate::support::*;

const LAMBDA: &str = "arn:aws:lambda:us-east-1:123456789012:function:rotator";

/// A rotation function as AWS's templates write them, calling back into the service.
struct Rotator {
    svc: SecretsManagerService,
    fail_step: Option<&'static str>,
    seen: Mutex<Vec<(String, String)>>,
}

impl RotationInvoker for Rotator {
    fn invoke<'a>(&'a self, function_arn: &'a str, event: RotationEvent) -> InvokeFuture<'a> {
        Box::pin(async move {
            assert_eq!(function_arn, LAMBDA);
            self.seen
                .lock()
                .unwrap()
                .push((event.step.to_string(), event.client_request_token.clone()));
            let payload = event.payload();
            assert_eq!(payload["Step"], event.step);
            assert_eq!(payload["SecretId"], event.secret_id.as_str());
            if self.fail_step == Some(event.step) {
                return Err(InvokeError::Failed("boom".into()));
            }
            let ctx = ctx_for(REGION, T0 + 1_000);
            match event.step {
                "createSecret" => {
                    self.svc
                        .put_secret_value(
                            &ctx,
                            PutSecretValueRequest {
                                secret_id: event.secret_id.clone(),
                                client_request_token: Some(event.client_request_token.clone()),
                                secret_string: Some(Sensitive::from("rotated")),
                                version_stages: Some(vec!["AWSPENDING".into()]),
                                ..Default::default()
                            },
                        )
                        .await
                        .map_err(|e| InvokeError::Failed(e.to_string()))?;
                }
                "finishSecret" => {
                    let current = self
                        .svc
                        .describe_secret(
                            &ctx,
                            DescribeSecretRequest {
                                secret_id: event.secret_id.clone(),
                            },
                        )
                        .await
                        .map_err(|e| InvokeError::Failed(e.to_string()))?
                        .version_ids_to_stages
                        .unwrap_or_default()
                        .into_iter()
                        .find(|(_, s)| s.iter().any(|x| x == "AWSCURRENT"))
                        .map(|(id, _)| id);
                    self.svc
                        .update_secret_version_stage(
                            &ctx,
                            UpdateSecretVersionStageRequest {
                                secret_id: event.secret_id.clone(),
                                version_stage: "AWSCURRENT".into(),
                                move_to_version_id: Some(event.client_request_token.clone()),
                                remove_from_version_id: current,
                            },
                        )
                        .await
                        .map_err(|e| InvokeError::Failed(e.to_string()))?;
                }
                _ => {}
            }
            Ok(())
        })
    }
}

fn with_rotator(
    env: &Env,
    fail_step: Option<&'static str>,
) -> (SecretsManagerService, Arc<Rotator>) {
    let rotator = Arc::new(Rotator {
        svc: SecretsManagerService::new(env.store.clone()),
        fail_step,
        seen: Mutex::new(Vec::new()),
    });
    (
        env.svc.clone().with_rotation_invoker(rotator.clone()),
        rotator,
    )
}

fn rotate_req(token_value: &str, lambda: Option<&str>, days: Option<i64>) -> RotateSecretRequest {
    RotateSecretRequest {
        secret_id: "rot".into(),
        client_request_token: Some(token_value.into()),
        rotation_lambda_arn: lambda.map(String::from),
        rotation_rules: days.map(|d| RotationRulesType {
            automatically_after_days: Some(d),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn rotation_runs_the_four_steps_and_records_the_schedule() {
    let env = env().await;
    let v1 = env
        .create("rot", Some("original"))
        .await
        .version_id
        .unwrap();
    let (svc, rotator) = with_rotator(&env, None);
    let tok = token();
    let ctx = env.ctx();
    let r = svc
        .rotate_secret(&ctx, rotate_req(&tok, Some(LAMBDA), Some(30)))
        .await
        .unwrap();
    assert_eq!(r.version_id.as_deref(), Some(tok.as_str()));
    let steps: Vec<String> = rotator
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|(s, _)| s.clone())
        .collect();
    assert_eq!(
        steps,
        ["createSecret", "setSecret", "testSecret", "finishSecret"]
    );
    assert_eq!(value(&env.get("rot").await.unwrap()), "rotated");
    let mut want = vec![
        (v1, stage_list(&["AWSPREVIOUS"])),
        // AWS drops AWSPENDING once the rotation completes (LocalStack's AWS recording
        // test_rotate_secret_with_lambda_success/describe_secret_rotated).
        (tok.clone(), stage_list(&["AWSCURRENT"])),
    ];
    want.sort();
    assert_eq!(env.stages("rot").await, want);
    let d = env.describe("rot").await.unwrap();
    assert_eq!(d.rotation_enabled, Some(true));
    assert_eq!(d.rotation_lambda_arn.as_deref(), Some(LAMBDA));
    assert_eq!(
        d.rotation_rules.and_then(|r| r.automatically_after_days),
        Some(30)
    );
    let rotated = d.last_rotated_date.unwrap().as_millis();
    assert_eq!(rotated, ctx.now_millis);
    assert_eq!(
        d.next_rotation_date.map(|t| t.as_millis()),
        Some(rotated + 30 * DAY)
    );
    // The configured function is reused.
    svc.rotate_secret(&env.ctx(), rotate_req(&token(), None, None))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_failed_step_leaves_awspending_and_blocks_the_next_rotation() {
    let env = env().await;
    env.create("rot", Some("original")).await;
    let (svc, _) = with_rotator(&env, Some("testSecret"));
    let tok = token();
    svc.rotate_secret(&env.ctx(), rotate_req(&tok, Some(LAMBDA), None))
        .await
        .unwrap();
    assert_eq!(value(&env.get("rot").await.unwrap()), "original");
    assert_eq!(
        value(&env.get_with("rot", None, Some("AWSPENDING")).await.unwrap()),
        "rotated"
    );
    let e = svc
        .rotate_secret(&env.ctx(), rotate_req(&token(), None, None))
        .await
        .unwrap_err();
    assert_eq!(
        (code(&e).as_str(), msg(&e).as_str()),
        (
            "InvalidRequestException",
            "A previous rotation isn't complete. That rotation will be reattempted."
        )
    );
    let c = svc
        .cancel_rotate_secret(
            &env.ctx(),
            CancelRotateSecretRequest {
                secret_id: "rot".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(c.version_id.as_deref(), Some(tok.as_str()));
    let d = env.describe("rot").await.unwrap();
    assert_eq!(d.rotation_enabled, Some(false));
    assert!(d.next_rotation_date.is_none());
}

#[tokio::test]
async fn rotation_needs_a_function_that_can_be_invoked() {
    let env = env().await;
    env.create("rot", Some("v")).await;
    let e = env
        .svc
        .rotate_secret(&env.ctx(), rotate_req(&token(), None, None))
        .await
        .unwrap_err();
    assert_eq!(
        (code(&e).as_str(), msg(&e).as_str()),
        (
            "InvalidRequestException",
            "No Lambda rotation function ARN is associated with this secret."
        )
    );
    // No invoker configured: AWS's answer for a function it cannot invoke, and no configuration kept.
    let e = env
        .svc
        .rotate_secret(&env.ctx(), rotate_req(&token(), Some(LAMBDA), Some(7)))
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDeniedException");
    let d = env.describe("rot").await.unwrap();
    assert!(
        d.rotation_enabled.is_none()
            && d.rotation_lambda_arn.is_none()
            && d.rotation_rules.is_none()
    );
    let e = env
        .svc
        .rotate_secret(
            &env.ctx(),
            RotateSecretRequest {
                client_request_token: None,
                ..rotate_req("", Some(LAMBDA), None)
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidParameterException");
    let e = env
        .svc
        .cancel_rotate_secret(
            &env.ctx(),
            CancelRotateSecretRequest {
                secret_id: "rot".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidRequestException");
}

#[tokio::test]
async fn rotation_rules_are_checked() {
    let env = env().await;
    env.create("rot", Some("v")).await;
    let (svc, rotator) = with_rotator(&env, None);
    for rules in [
        RotationRulesType {
            automatically_after_days: Some(3),
            schedule_expression: Some("rate(3 days)".into()),
            ..Default::default()
        },
        RotationRulesType {
            schedule_expression: Some("rate(1 hour)".into()),
            ..Default::default()
        },
        RotationRulesType {
            schedule_expression: Some("every tuesday".into()),
            ..Default::default()
        },
        RotationRulesType {
            schedule_expression: Some("rate(10 days)".into()),
            duration: Some("25h".into()),
            ..Default::default()
        },
    ] {
        let e = svc
            .rotate_secret(
                &env.ctx(),
                RotateSecretRequest {
                    rotation_rules: Some(rules.clone()),
                    ..rotate_req(&token(), Some(LAMBDA), None)
                },
            )
            .await
            .unwrap_err();
        assert_eq!(code(&e), "InvalidParameterException", "{rules:?}");
    }
    assert!(rotator.seen.lock().unwrap().is_empty());
    let ctx = env.ctx();
    svc.rotate_secret(
        &ctx,
        RotateSecretRequest {
            rotation_rules: Some(RotationRulesType {
                schedule_expression: Some("rate(10 days)".into()),
                duration: Some("3h".into()),
                ..Default::default()
            }),
            rotate_immediately: Some(false),
            ..rotate_req(&token(), Some(LAMBDA), None)
        },
    )
    .await
    .unwrap();
    // Not rotated now: only testSecret ran, and the schedule counts from now.
    let steps: Vec<String> = rotator
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|(s, _)| s.clone())
        .collect();
    assert_eq!(steps, ["testSecret"]);
    let d = env.describe("rot").await.unwrap();
    assert!(d.last_rotated_date.is_none());
    assert_eq!(
        d.next_rotation_date.map(|t| t.as_millis()),
        Some(ctx.now_millis + 10 * DAY)
    );
}

#[tokio::test]
async fn the_scheduler_rotates_due_secrets_once() {
    let env = env().await;
    env.create("rot", Some("original")).await;
    let (svc, rotator) = with_rotator(&env, None);
    let first = token();
    svc.rotate_secret(&env.ctx(), rotate_req(&first, Some(LAMBDA), Some(1)))
        .await
        .unwrap();
    assert_eq!(svc.rotate_due(env.now()).await.unwrap(), 0);
    env.advance(DAY + 1_000);
    let now = env.now();
    // Two nodes running the scheduler at the same moment: one rotation.
    let (a, b) = tokio::join!(svc.rotate_due(now), svc.rotate_due(now));
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    let tokens: Vec<String> = rotator
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|(_, t)| t.clone())
        .collect();
    assert_eq!(tokens.len(), 8);
    let second = tokens[4].clone();
    assert_ne!(second, first);
    assert!(tokens[4..].iter().all(|t| t == &second));
    let current = env.get("rot").await.unwrap();
    assert_eq!(current.version_id.as_deref(), Some(second.as_str()));
    let d = env.describe("rot").await.unwrap();
    assert_eq!(d.last_rotated_date.map(|t| t.as_millis()), Some(now));
    assert_eq!(d.next_rotation_date.map(|t| t.as_millis()), Some(now + DAY));
    assert_eq!(svc.rotate_due(now + 1).await.unwrap(), 0);
}

#[tokio::test]
async fn the_scheduler_reattempts_a_failed_rotation_with_its_token() {
    let env = env().await;
    env.create("rot", Some("original")).await;
    let (svc, rotator) = with_rotator(&env, Some("setSecret"));
    let first = token();
    svc.rotate_secret(&env.ctx(), rotate_req(&first, Some(LAMBDA), Some(1)))
        .await
        .unwrap();
    let d = env.describe("rot").await.unwrap();
    assert!(d.last_rotated_date.is_none());
    let retry_at = d.next_rotation_date.unwrap().as_millis();
    assert!(
        retry_at < env.now() + DAY,
        "a failed rotation is retried sooner than the schedule"
    );
    assert_eq!(svc.rotate_due(retry_at - 1).await.unwrap(), 0);
    assert_eq!(svc.rotate_due(retry_at).await.unwrap(), 1);
    let tokens: Vec<String> = rotator
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|(_, t)| t.clone())
        .collect();
    assert_eq!(tokens.len(), 4);
    assert!(tokens.iter().all(|t| t == &first));
    assert_eq!(value(&env.get("rot").await.unwrap()), "original");
}

#[tokio::test]
async fn builtin_rotation_replaces_the_password_without_a_function() {
    let env = env().await;
    let builtin = format!(
        "arn:aws:lambda:{REGION}:{ACCOUNT}:function:{}",
        coffer_secretsmanager::BUILTIN_ROTATION_FUNCTION
    );
    env.create(
        "db",
        Some(r#"{"username":"app","password":"old-password"}"#),
    )
    .await;
    let tok = token();
    env.svc
        .rotate_secret(
            &env.ctx(),
            RotateSecretRequest {
                secret_id: "db".into(),
                client_request_token: Some(tok.clone()),
                rotation_lambda_arn: Some(builtin.clone()),
                rotation_rules: Some(RotationRulesType {
                    automatically_after_days: Some(30),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let now = env.get("db").await.unwrap();
    assert_eq!(now.version_id.as_deref(), Some(tok.as_str()));
    let v: serde_json::Value = serde_json::from_str(&value(&now)).unwrap();
    assert_eq!(v["username"], "app");
    let pw = v["password"].as_str().unwrap();
    assert_eq!(pw.len(), 32);
    assert_ne!(pw, "old-password");
    let prev = env.get_with("db", None, Some("AWSPREVIOUS")).await.unwrap();
    assert!(value(&prev).contains("old-password"));
    assert_eq!(
        env.describe("db").await.unwrap().rotation_lambda_arn,
        Some(builtin.clone())
    );
    // The scheduler uses it too.
    env.advance(31 * DAY);
    assert_eq!(env.svc.rotate_due(env.now()).await.unwrap(), 1);
    let again = env.get("db").await.unwrap();
    assert_ne!(again.version_id, now.version_id);

    // A binary secret cannot be rotated this way: nothing changes.
    env.svc
        .create_secret(
            &env.ctx(),
            CreateSecretRequest {
                name: "bin".into(),
                client_request_token: Some(token()),
                secret_binary: Some(Sensitive::new(coffer_model::Blob::new(vec![1, 2]))),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    env.svc
        .rotate_secret(
            &env.ctx(),
            RotateSecretRequest {
                secret_id: "bin".into(),
                client_request_token: Some(token()),
                rotation_lambda_arn: Some(builtin),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(env.versions("bin", true).await.len(), 1);
    assert!(env
        .describe("bin")
        .await
        .unwrap()
        .last_rotated_date
        .is_none());
}
