//! Temporary credentials stored by STS end to end through the store-backed key directory: they
//! authenticate until they expire (then `ExpiredToken`), and once the maintenance purge deleted
//! them they are unknown. Runs the server in process with a clock the test moves: the session is
//! stored to end a minute after it began (STS's 900-second minimum, plus moving past it, would
//! exceed the 15 minutes of signing-time skew the server accepts from the SDK's real clock).

use std::sync::Arc;

use coffer::directory::StoreDirectory;
use coffer_server::Clock;
use coffer_sts::sessions::{self, SessionDoc, SessionKind};

use crate::in_process::{self, ManualClock};

const ACCOUNT: &str = "111122223333";

fn config(url: &str, key: &str, secret: &str, token: &str) -> aws_config::SdkConfig {
    let creds = aws_credential_types::Credentials::from_keys(key, secret, Some(token.to_string()));
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(creds))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build()
}

#[tokio::test]
async fn stored_sessions_expire_and_are_purged() {
    let store = coffer_store::Store::open(coffer_store::StoreConfig::memory())
        .await
        .expect("store");
    let services = coffer::services::build(&store, None);
    let clock = Arc::new(ManualClock::at(chrono::Utc::now()));
    let (url, _stop) = in_process::serve_with_clock(
        &store,
        Arc::new(StoreDirectory::new(store.clone()).with_clock(clock.clone())),
        services.handlers,
        clock.clone(),
    )
    .await;

    let (key, secret, token) = sessions::new_credentials();
    let now = clock.now().timestamp_millis();
    let doc = SessionDoc {
        kind: SessionKind::SessionToken,
        account_id: ACCOUNT.into(),
        arn: format!("arn:aws:iam::{ACCOUNT}:root"),
        user_id: ACCOUNT.into(),
        issued_at_millis: now,
        expires_at_millis: now + 60_000,
        role: None,
        user_name: None,
        source_user_id: None,
        source_arn: None,
        session_policies: vec![],
        policy_arns: vec![],
        tags: vec![],
        transitive_tag_keys: vec![],
        source_identity: None,
        mfa_authenticated_at_millis: None,
        chained: false,
    };
    let (k, s, t, d) = (key.clone(), secret.clone(), token.clone(), doc.clone());
    store
        .write(move |txn| sessions::insert(txn, &k, &s, &t, &d))
        .await
        .expect("insert");

    let sts = aws_sdk_sts::Client::new(&config(&url, &key, &secret, &token));
    let ident = sts
        .get_caller_identity()
        .send()
        .await
        .expect("a live session authenticates");
    assert_eq!(
        ident.arn(),
        Some(format!("arn:aws:iam::{ACCOUNT}:root").as_str())
    );
    let wrong = aws_sdk_sts::Client::new(&config(&url, &key, &secret, "not-the-token"));
    let code = |e: &aws_sdk_sts::error::SdkError<_, _>| {
        use aws_sdk_sts::error::ProvideErrorMetadata;
        match e {
            aws_sdk_sts::error::SdkError::ServiceError(s) => {
                let err: &aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError =
                    s.err();
                err.code().map(str::to_string)
            }
            _ => None,
        }
    };
    let e = wrong
        .get_caller_identity()
        .send()
        .await
        .expect_err("wrong token");
    assert_eq!(code(&e).as_deref(), Some("InvalidClientTokenId"));

    // Still live a moment before its end; ended at its end.
    clock.advance(chrono::Duration::milliseconds(59_999));
    sts.get_caller_identity()
        .send()
        .await
        .expect("live until it ends");
    clock.advance(chrono::Duration::milliseconds(1));
    let e = sts.get_caller_identity().send().await.expect_err("expired");
    assert_eq!(code(&e).as_deref(), Some("ExpiredToken"));

    // A later pass of the maintenance task's purge deletes it; the key is then unknown.
    clock.advance(chrono::Duration::seconds(1));
    let purged = services
        .sts
        .purge_expired(clock.now().timestamp_millis())
        .await
        .expect("purge");
    assert_eq!(purged, 1);
    let e = sts.get_caller_identity().send().await.expect_err("purged");
    assert_eq!(code(&e).as_deref(), Some("InvalidClientTokenId"));
}
