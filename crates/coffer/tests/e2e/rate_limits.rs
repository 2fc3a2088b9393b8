//! Per-principal request rates with the server's injected clock: aws-sdk-rust (retries off) sees
//! AWS's throttling errors over Query and JSON 1.1 once a quota is spent, the bucket refills only as
//! the test's clock moves, and another principal is not affected.

use std::sync::Arc;

use chrono::{Duration, Utc};
use coffer_auth::SecretAccessKey;
use coffer_model::context::{Principal, PrincipalKind};
use coffer_server::{AppConfig, KeyEntry, MemoryDirectory, RateLimits};

use crate::in_process::{self, ManualClock};

const SECRET: &str = "rateLimitTestSecret0123456789abcdefghijk";

fn key(directory: &MemoryDirectory, id: &str, user: &str) {
    directory.insert(
        id,
        KeyEntry {
            secret: SecretAccessKey::new(SECRET),
            principal: Principal {
                account_id: "111122223333".into(),
                arn: format!("arn:aws:iam::111122223333:user/{user}"),
                user_id: format!("AIDA{}", user.to_uppercase()),
                kind: PrincipalKind::User,
                access_key_id: id.into(),
            },
            active: true,
            session: None,
        },
    );
}

fn sdk(url: &str, key: &str) -> aws_config::SdkConfig {
    let creds = aws_credential_types::Credentials::from_keys(key, SECRET, None);
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_config::Region::new("us-east-1"))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(creds))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build()
}

#[tokio::test]
async fn quotas_refill_from_the_injected_clock() {
    use aws_sdk_sts::error::ProvideErrorMetadata;

    let store = coffer_store::Store::open(coffer_store::StoreConfig::memory())
        .await
        .expect("store");
    let directory = MemoryDirectory::default();
    key(&directory, "AKIARATELIMITALICE01", "alice");
    key(&directory, "AKIARATELIMITBOB0001", "bob");
    let handlers = coffer::services::all(&store);
    let schemas: Vec<_> = handlers.iter().map(|h| h.service()).collect();
    let mut limits = RateLimits::aws_defaults();
    limits.set("sts:*", 2.0, &schemas).unwrap();
    limits
        .set("secretsmanager:ListSecrets", 1.0, &schemas)
        .unwrap();
    let clock = Arc::new(ManualClock::at(Utc::now()));
    let (url, _stop) = in_process::serve_with(
        &store,
        Arc::new(directory),
        handlers,
        AppConfig {
            rate_limits: limits,
            ..AppConfig::default()
        },
        clock.clone(),
    )
    .await;

    let alice = sdk(&url, "AKIARATELIMITALICE01");
    let sts = aws_sdk_sts::Client::new(&alice);
    for _ in 0..2 {
        sts.get_caller_identity()
            .send()
            .await
            .expect("within the burst");
    }
    let err = sts.get_caller_identity().send().await.unwrap_err();
    assert_eq!(err.code(), Some("Throttling"));
    assert_eq!(err.message(), Some("Rate exceeded"));
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(400));

    // Another principal has its own bucket.
    let bob = aws_sdk_sts::Client::new(&sdk(&url, "AKIARATELIMITBOB0001"));
    bob.get_caller_identity()
        .send()
        .await
        .expect("bob is not throttled");

    // Half a second of the server's clock brings back one request (2/s), not two.
    clock.advance(Duration::milliseconds(500));
    sts.get_caller_identity().send().await.expect("refilled");
    let err = sts.get_caller_identity().send().await.unwrap_err();
    assert_eq!(err.code(), Some("Throttling"));

    // JSON 1.1: the first ListSecrets is let through (and denied: alice has no policy), the
    // second is throttled before authorization is even looked at.
    let sm = aws_sdk_secretsmanager::Client::new(&alice);
    let first = sm.list_secrets().send().await.unwrap_err();
    assert_eq!(first.code(), Some("AccessDeniedException"));
    let err = sm.list_secrets().send().await.unwrap_err();
    assert_eq!(err.code(), Some("ThrottlingException"));
    assert_eq!(err.message(), Some("Rate exceeded"));
    clock.advance(Duration::seconds(1));
    let again = sm.list_secrets().send().await.unwrap_err();
    assert_eq!(again.code(), Some("AccessDeniedException"));
}
