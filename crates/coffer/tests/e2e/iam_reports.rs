//! IAM's reports against the server's injected clock, with aws-sdk-rust: the credential report is
//! started once, served while fresh, regenerated once four hours old, and refused as expired in
//! between (the test moves the clock instead of waiting).

use std::sync::Arc;
use std::time::Duration as StdDuration;

use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_sdk_iam::types::ReportStateType;
use chrono::{Duration, Utc};
use coffer_auth::SecretAccessKey;
use coffer_model::context::{Principal, PrincipalKind};
use coffer_server::{AppConfig, KeyEntry, MemoryDirectory};

use crate::in_process::{self, ManualClock};

const ACCOUNT: &str = "111122223333";
const ROOT_KEY: &str = "AKIAIAMREPORTSROOT01";
const SECRET: &str = "iamReportsTestSecret0123456789abcdefghij";

fn root_directory() -> MemoryDirectory {
    let directory = MemoryDirectory::default();
    directory.insert(
        ROOT_KEY,
        KeyEntry {
            secret: SecretAccessKey::new(SECRET),
            principal: Principal {
                account_id: ACCOUNT.into(),
                arn: format!("arn:aws:iam::{ACCOUNT}:root"),
                user_id: ACCOUNT.into(),
                kind: PrincipalKind::Root,
                access_key_id: ROOT_KEY.into(),
            },
            active: true,
            session: None,
        },
    );
    directory
}

fn iam(url: &str) -> aws_sdk_iam::Client {
    let creds = aws_credential_types::Credentials::from_keys(ROOT_KEY, SECRET, None);
    let config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_config::Region::new("us-east-1"))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(creds))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    aws_sdk_iam::Client::new(&config)
}

/// A server whose clock the test moves. The SDK signs with the real time, so the clock skew
/// allowed is wider than the hours the test moves the server's clock by.
async fn server() -> (String, Arc<ManualClock>, tokio::sync::oneshot::Sender<()>) {
    let store = coffer_store::Store::open(coffer_store::StoreConfig::memory())
        .await
        .expect("store");
    let clock = Arc::new(ManualClock::at(Utc::now()));
    let (url, stop) = in_process::serve_with(
        &store,
        Arc::new(root_directory()),
        coffer::services::all(&store),
        AppConfig {
            max_clock_skew: StdDuration::from_secs(2 * 86_400),
            ..AppConfig::default()
        },
        clock.clone(),
    )
    .await;
    (url, clock, stop)
}

fn users_in(
    report: &aws_sdk_iam::operation::get_credential_report::GetCredentialReportOutput,
) -> Vec<String> {
    let csv = String::from_utf8(report.content().unwrap().as_ref().to_vec()).unwrap();
    csv.lines()
        .skip(1)
        .map(|line| line.split(',').next().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn credential_report_is_regenerated_once_four_hours_old() {
    let (url, clock, _stop) = server().await;
    let iam = iam(&url);

    let err = iam.get_credential_report().send().await.unwrap_err();
    assert_eq!(err.code(), Some("ReportNotPresent"));
    assert_eq!(err.message(), None);
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(410));

    let started = iam.generate_credential_report().send().await.unwrap();
    assert_eq!(started.state(), Some(&ReportStateType::Started));
    assert_eq!(
        started.description(),
        Some("No report exists. Starting a new report generation task")
    );
    let first = iam.get_credential_report().send().await.unwrap();
    assert_eq!(users_in(&first), ["<root_account>"]);

    // Fresh for four hours: asking again completes at once and serves the same report.
    iam.create_user().user_name("later").send().await.unwrap();
    clock.advance(Duration::hours(4) - Duration::seconds(1));
    let complete = iam.generate_credential_report().send().await.unwrap();
    assert_eq!(complete.state(), Some(&ReportStateType::Complete));
    assert_eq!(complete.description(), None);
    let same = iam.get_credential_report().send().await.unwrap();
    assert_eq!(same.generated_time(), first.generated_time());
    assert_eq!(users_in(&same), ["<root_account>"]);

    // Four hours old: the report has expired until it is generated again.
    clock.advance(Duration::seconds(1));
    let err = iam.get_credential_report().send().await.unwrap_err();
    assert_eq!(err.code(), Some("ReportExpired"));
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(410));
    let restarted = iam.generate_credential_report().send().await.unwrap();
    assert_eq!(restarted.state(), Some(&ReportStateType::Started));
    let fresh = iam.get_credential_report().send().await.unwrap();
    assert_eq!(users_in(&fresh), ["<root_account>", "later"]);
    let generated = fresh.generated_time().unwrap().secs() - first.generated_time().unwrap().secs();
    assert_eq!(generated, 4 * 3600);
}
