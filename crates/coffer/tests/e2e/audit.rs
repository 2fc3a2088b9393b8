//! The audit trail seen from aws-sdk-rust: every call the SDK makes over HTTPS has its record,
//! with the SDK's user agent and the connection's TLS parameters, and no secret value.

use crate::support::Server;
use aws_sdk_secretsmanager::operation::RequestId;
use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_secretsmanager::Client;

const PLANTED_STRING: &str = "sdk-planted-string-31e9";
const PLANTED_BINARY: &[u8] = b"sdk-planted-binary-\xff\x00-8d";

#[tokio::test]
async fn every_sdk_call_has_one_record_without_its_secret() {
    let server = Server::start(&[]);
    let sm = Client::new(&server.root_config());
    let mut ids = Vec::new();
    let created = sm
        .create_secret()
        .name("sdk/audited")
        .secret_string(PLANTED_STRING)
        .send()
        .await
        .expect("CreateSecret");
    ids.push(created.request_id().expect("request id").to_string());
    let put = sm
        .put_secret_value()
        .secret_id("sdk/audited")
        .secret_binary(Blob::new(PLANTED_BINARY))
        .send()
        .await
        .expect("PutSecretValue");
    ids.push(put.request_id().expect("request id").to_string());
    let got = sm
        .get_secret_value()
        .secret_id("sdk/audited")
        .send()
        .await
        .expect("GetSecretValue");
    assert_eq!(
        got.secret_binary().map(|b| b.as_ref()),
        Some(PLANTED_BINARY)
    );
    ids.push(got.request_id().expect("request id").to_string());
    let missing = sm
        .get_secret_value()
        .secret_id("sdk/absent")
        .send()
        .await
        .expect_err("no such secret");
    ids.push(missing.request_id().expect("request id").to_string());

    let raw = std::fs::read(server.data_dir.path().join("audit.log")).expect("audit.log");
    let text = String::from_utf8(raw.clone()).expect("UTF-8");
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON record"))
        .collect();
    let recorded: Vec<&str> = records
        .iter()
        .map(|r| r["requestID"].as_str().expect("requestID"))
        .collect();
    assert_eq!(recorded, ids);
    for record in &records {
        assert!(record["userAgent"]
            .as_str()
            .is_some_and(|ua| ua.contains("aws-sdk-rust")));
        assert_eq!(record["tlsDetails"]["tlsVersion"], "TLSv1.3");
        assert!(record["tlsDetails"]["cipherSuite"]
            .as_str()
            .is_some_and(|suite| suite.starts_with("TLS_")));
    }
    assert_eq!(records[3]["errorCode"], "ResourceNotFoundException");
    assert_eq!(records[1]["responseElements"]["name"], "sdk/audited");
    assert!(!text.contains(PLANTED_STRING));
    assert!(!raw
        .windows(PLANTED_BINARY.len())
        .any(|w| w == PLANTED_BINARY));
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(PLANTED_BINARY);
    assert!(!text.contains(&encoded));
}
