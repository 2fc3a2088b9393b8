//! Rotation through the Lambda Invoke HTTP API, against a small HTTP rotation function.

use std::sync::{Arc, Mutex};

use coffer_model::secretsmanager::*;
use coffer_model::Sensitive;
use coffer_secretsmanager::{LambdaHttpInvoker, SecretsManagerService};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::*;

const LAMBDA: &str = "arn:aws:lambda:us-east-1:123456789012:function:http-rotator";

/// Serves `POST /2015-03-31/functions/<name>/invocations`, doing each step through the service as
/// a rotation function does through the API. Records (path, step) per call.
async fn rotation_function(
    svc: SecretsManagerService,
    fail_step: Option<&'static str>,
) -> (String, Arc<Mutex<Vec<(String, String)>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let calls = Arc::new(Mutex::new(Vec::new()));
    let log = calls.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let mut raw = Vec::new();
            let mut buf = [0u8; 4096];
            let (head_end, length) = loop {
                let n = sock.read(&mut buf).await.unwrap();
                raw.extend_from_slice(&buf[..n]);
                if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                    // Header names are case-insensitive (hyper sends them in lower case).
                    let head = String::from_utf8_lossy(&raw[..i]).to_ascii_lowercase();
                    let len = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length: "))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap();
                    break (i + 4, len);
                }
            };
            while raw.len() < head_end + length {
                let n = sock.read(&mut buf).await.unwrap();
                raw.extend_from_slice(&buf[..n]);
            }
            let head = String::from_utf8_lossy(&raw[..head_end]).to_string();
            let path = head.split_whitespace().nth(1).unwrap().to_string();
            let event: serde_json::Value =
                serde_json::from_slice(&raw[head_end..head_end + length]).unwrap();
            let step = event["Step"].as_str().unwrap().to_string();
            let id = event["SecretId"].as_str().unwrap().to_string();
            let token = event["ClientRequestToken"].as_str().unwrap().to_string();
            assert!(event["RotationToken"]
                .as_str()
                .is_some_and(|t| !t.is_empty()));
            log.lock().unwrap().push((path, step.clone()));
            let ctx = ctx_for(REGION, T0 + 5_000);
            let mut error = None;
            if fail_step == Some(step.as_str()) {
                error = Some(
                    "{\"errorMessage\":\"cannot set password\",\"errorType\":\"Exception\"}"
                        .to_string(),
                );
            } else if step == "createSecret" {
                svc.put_secret_value(
                    &ctx,
                    PutSecretValueRequest {
                        secret_id: id.clone(),
                        client_request_token: Some(token.clone()),
                        secret_string: Some(Sensitive::from("from-http-function")),
                        version_stages: Some(vec!["AWSPENDING".into()]),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            } else if step == "finishSecret" {
                let d = svc
                    .describe_secret(
                        &ctx,
                        DescribeSecretRequest {
                            secret_id: id.clone(),
                        },
                    )
                    .await
                    .unwrap();
                let current = d
                    .version_ids_to_stages
                    .unwrap()
                    .into_iter()
                    .find(|(_, s)| s.iter().any(|x| x == "AWSCURRENT"))
                    .map(|(v, _)| v);
                svc.update_secret_version_stage(
                    &ctx,
                    UpdateSecretVersionStageRequest {
                        secret_id: id,
                        version_stage: "AWSCURRENT".into(),
                        move_to_version_id: Some(token),
                        remove_from_version_id: current,
                    },
                )
                .await
                .unwrap();
            }
            let (extra, body) = match error {
                Some(e) => ("X-Amz-Function-Error: Unhandled\r\n", e),
                None => ("", "null".to_string()),
            };
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\n\r\n{body}",
                body.len()
            );
            sock.write_all(reply.as_bytes()).await.unwrap();
        }
    });
    (base, calls)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_through_the_lambda_invoke_http_api() {
    let env = env().await;
    env.create("rot", Some("original")).await;
    let (base, calls) =
        rotation_function(SecretsManagerService::new(env.store.clone()), None).await;
    let svc = env
        .svc
        .clone()
        .with_rotation_invoker(Arc::new(LambdaHttpInvoker::new(Some(base))));
    let tok = token();
    svc.rotate_secret(
        &env.ctx(),
        RotateSecretRequest {
            secret_id: "rot".into(),
            client_request_token: Some(tok.clone()),
            rotation_lambda_arn: Some(LAMBDA.into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let calls = calls.lock().unwrap().clone();
    let steps: Vec<&str> = calls.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(
        steps,
        ["createSecret", "setSecret", "testSecret", "finishSecret"]
    );
    assert!(calls
        .iter()
        .all(|(p, _)| p == "/2015-03-31/functions/http-rotator/invocations"));
    let got = env.get("rot").await.unwrap();
    assert_eq!(
        (value(&got), got.version_id.unwrap()),
        ("from-http-function".to_string(), tok)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_error_stops_the_rotation_and_an_unreachable_function_is_access_denied() {
    let env = env().await;
    env.create("rot", Some("original")).await;
    let (base, calls) = rotation_function(
        SecretsManagerService::new(env.store.clone()),
        Some("setSecret"),
    )
    .await;
    let svc = env
        .svc
        .clone()
        .with_rotation_invoker(Arc::new(LambdaHttpInvoker::new(Some(base))));
    svc.rotate_secret(
        &env.ctx(),
        RotateSecretRequest {
            secret_id: "rot".into(),
            client_request_token: Some(token()),
            rotation_lambda_arn: Some(LAMBDA.into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(calls.lock().unwrap().len(), 2);
    assert_eq!(value(&env.get("rot").await.unwrap()), "original");
    assert_eq!(
        value(&env.get_with("rot", None, Some("AWSPENDING")).await.unwrap()),
        "from-http-function"
    );

    // Nothing listens there.
    env.create("rot2", Some("v")).await;
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let svc = env
        .svc
        .clone()
        .with_rotation_invoker(Arc::new(LambdaHttpInvoker::new(Some(dead))));
    let e = svc
        .rotate_secret(
            &env.ctx(),
            RotateSecretRequest {
                secret_id: "rot2".into(),
                client_request_token: Some(token()),
                rotation_lambda_arn: Some(LAMBDA.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDeniedException");
    assert!(env
        .describe("rot2")
        .await
        .unwrap()
        .rotation_enabled
        .is_none());
}

/// A function endpoint that reads each invocation, records its step, and then misbehaves: answers
/// `reply` (when given) or never answers at all.
async fn misbehaving_function(reply: Option<Vec<u8>>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let steps = Arc::new(Mutex::new(Vec::new()));
    let log = steps.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let log = log.clone();
            let reply = reply.clone();
            tokio::spawn(async move {
                let mut raw = Vec::new();
                let mut buf = [0u8; 4096];
                let event = loop {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => raw.extend_from_slice(&buf[..n]),
                    }
                    let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&raw[..i]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length: "))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if raw.len() >= i + 4 + len {
                        break serde_json::from_slice::<serde_json::Value>(
                            &raw[i + 4..i + 4 + len],
                        )
                        .unwrap();
                    }
                };
                log.lock()
                    .unwrap()
                    .push(event["Step"].as_str().unwrap_or_default().to_string());
                match reply {
                    Some(bytes) => {
                        let _ = sock.write_all(&bytes).await;
                    }
                    // Holds the connection until Coffer gives up and closes it.
                    None => {
                        let _ = sock.read(&mut buf).await;
                    }
                }
            });
        }
    });
    (base, steps)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_that_never_answers_fails_its_step_after_the_timeout() {
    let env = env().await;
    env.create("slow", Some("original")).await;
    let (base, steps) = misbehaving_function(None).await;
    let svc = env.svc.clone().with_rotation_invoker(Arc::new(
        LambdaHttpInvoker::new(Some(base)).with_timeout(std::time::Duration::from_millis(300)),
    ));
    svc.rotate_secret(
        &env.ctx(),
        RotateSecretRequest {
            secret_id: "slow".into(),
            client_request_token: Some(token()),
            rotation_lambda_arn: Some(LAMBDA.into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // createSecret timed out: no later step was invoked, the secret is as it was.
    assert_eq!(*steps.lock().unwrap(), ["createSecret"]);
    assert_eq!(value(&env.get("slow").await.unwrap()), "original");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_over_lambdas_payload_limit_fails_the_step() {
    let env = env().await;
    env.create("huge", Some("original")).await;
    // 6 MiB + 1 byte: over Lambda's response limit, sent without a declared length so the cap
    // applies while reading.
    let mut reply =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n".to_vec();
    reply.extend(std::iter::repeat_n(b' ', 6 * 1024 * 1024 + 1));
    let (base, steps) = misbehaving_function(Some(reply)).await;
    let svc = env
        .svc
        .clone()
        .with_rotation_invoker(Arc::new(LambdaHttpInvoker::new(Some(base))));
    svc.rotate_secret(
        &env.ctx(),
        RotateSecretRequest {
            secret_id: "huge".into(),
            client_request_token: Some(token()),
            rotation_lambda_arn: Some(LAMBDA.into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(*steps.lock().unwrap(), ["createSecret"]);
    assert_eq!(value(&env.get("huge").await.unwrap()), "original");
}
