//! Keys that must stop authenticating: inactive, deleted, and temporary keys with a wrong or expired
//! session token. The server runs in process with a directory the test controls directly, on a real
//! socket, called by aws-sdk-rust (the same through IAM's API: tests/e2e/test_authorization.py).

use std::sync::Arc;

use coffer_auth::SecretAccessKey;
use coffer_model::context::{Principal, PrincipalKind};
use coffer_server::{KeyEntry, MemoryDirectory, SessionBinding};

use crate::in_process;

const SECRET: &str = "inactiveKeysTestSecret0123456789abcdefgh";

fn principal(key: &str) -> Principal {
    Principal {
        account_id: "111122223333".into(),
        arn: "arn:aws:iam::111122223333:user/alice".into(),
        user_id: "AIDAEXAMPLEALICE0001".into(),
        kind: PrincipalKind::User,
        access_key_id: key.into(),
    }
}

async fn start(directory: MemoryDirectory) -> (String, tokio::sync::oneshot::Sender<()>) {
    let store = coffer_store::Store::open(coffer_store::StoreConfig::memory())
        .await
        .expect("store");
    in_process::serve(&store, Arc::new(directory), coffer::services::all(&store)).await
}

fn config(url: &str, key: &str, token: Option<&str>) -> aws_config::SdkConfig {
    let creds =
        aws_credential_types::Credentials::from_keys(key, SECRET, token.map(str::to_string));
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(creds))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build()
}

async fn codes(config: &aws_config::SdkConfig) -> (Option<String>, Option<String>) {
    use aws_sdk_sts::error::ProvideErrorMetadata;
    let query = aws_sdk_sts::Client::new(config)
        .get_caller_identity()
        .send()
        .await
        .err()
        .and_then(|e| e.code().map(str::to_string));
    let json = aws_sdk_secretsmanager::Client::new(config)
        .list_secrets()
        .send()
        .await
        .err()
        .and_then(|e| e.code().map(str::to_string));
    (query, json)
}

#[tokio::test]
async fn inactive_deleted_and_expired_keys_are_refused() {
    let directory = MemoryDirectory::default();
    directory.insert(
        "AKIAACTIVEKEY0000001",
        KeyEntry {
            secret: SecretAccessKey::new(SECRET),
            principal: principal("AKIAACTIVEKEY0000001"),
            active: true,
            session: None,
        },
    );
    directory.insert(
        "AKIAINACTIVEKEY00001",
        KeyEntry {
            secret: SecretAccessKey::new(SECRET),
            principal: principal("AKIAINACTIVEKEY00001"),
            active: false,
            session: None,
        },
    );
    let now = chrono::Utc::now().timestamp_millis();
    for (key, expires) in [
        ("ASIAVALIDSESSION0001", now + 3_600_000),
        ("ASIAEXPIREDSESSION01", now - 1_000),
    ] {
        directory.insert(
            key,
            KeyEntry {
                secret: SecretAccessKey::new(SECRET),
                principal: principal(key),
                active: true,
                session: Some(SessionBinding {
                    token: SecretAccessKey::new("the-session-token"),
                    expires_at_millis: expires,
                    context: None,
                }),
            },
        );
    }
    let (url, _stop) = start(directory).await;

    let ident = aws_sdk_sts::Client::new(&config(&url, "AKIAACTIVEKEY0000001", None))
        .get_caller_identity()
        .send()
        .await
        .expect("an active key authenticates");
    assert_eq!(ident.arn(), Some("arn:aws:iam::111122223333:user/alice"));
    // This user has no record and no policies in IAM: denied as AWS denies a user without policies.
    let denied = aws_sdk_secretsmanager::Client::new(&config(&url, "AKIAACTIVEKEY0000001", None))
        .list_secrets()
        .send()
        .await
        .expect_err("a user without policies is denied");
    use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
    assert_eq!(denied.code(), Some("AccessDeniedException"));
    assert_eq!(
        denied.message(),
        Some(
            "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: \
             secretsmanager:ListSecrets because no identity-based policy allows the \
             secretsmanager:ListSecrets action"
        )
    );
    aws_sdk_sts::Client::new(&config(
        &url,
        "ASIAVALIDSESSION0001",
        Some("the-session-token"),
    ))
    .get_caller_identity()
    .send()
    .await
    .expect("a valid session authenticates");

    let invalid = (
        Some("InvalidClientTokenId".to_string()),
        Some("UnrecognizedClientException".to_string()),
    );
    assert_eq!(
        codes(&config(&url, "AKIAINACTIVEKEY00001", None)).await,
        invalid,
        "inactive key"
    );
    assert_eq!(
        codes(&config(&url, "AKIADELETEDKEY000001", None)).await,
        invalid,
        "deleted key"
    );
    assert_eq!(
        codes(&config(&url, "ASIAVALIDSESSION0001", Some("another-token"))).await,
        invalid,
        "wrong session token"
    );
    assert_eq!(
        codes(&config(&url, "ASIAVALIDSESSION0001", None)).await,
        invalid,
        "session key without its token"
    );
    assert_eq!(
        codes(&config(
            &url,
            "ASIAEXPIREDSESSION01",
            Some("the-session-token")
        ))
        .await,
        (
            Some("ExpiredToken".to_string()),
            Some("ExpiredTokenException".to_string())
        ),
        "expired session"
    );
}
