//! End-to-end tests: the real binary, called with aws-sdk-rust over HTTPS with the generated CA.

use crate::support::{Server, ACCOUNT, ROOT_KEY};

#[tokio::test]
async fn sdk_get_caller_identity_over_https() {
    let server = Server::start(&[]);
    let sts = aws_sdk_sts::Client::new(&server.root_config());
    let ident = sts
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity");
    assert_eq!(ident.account(), Some(ACCOUNT));
    assert_eq!(
        ident.arn(),
        Some(format!("arn:aws:iam::{ACCOUNT}:root").as_str())
    );
    assert_eq!(ident.user_id(), Some(ACCOUNT));
}

#[tokio::test]
async fn sdk_rejects_wrong_secret_with_aws_codes() {
    let server = Server::start(&[]);
    let config = server.sdk_config(
        ROOT_KEY,
        "wrong-secret-wrong-secret-wrong-secret00",
        "eu-west-1",
    );
    let err = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .expect_err("must be rejected");
    let meta = aws_sdk_sts::error::ProvideErrorMetadata::code(&err);
    assert_eq!(meta, Some("SignatureDoesNotMatch"));

    let err = aws_sdk_secretsmanager::Client::new(&config)
        .list_secrets()
        .send()
        .await
        .expect_err("must be rejected");
    assert_eq!(
        aws_sdk_secretsmanager::error::ProvideErrorMetadata::code(&err),
        Some("InvalidSignatureException")
    );
}

#[tokio::test]
async fn sdk_unknown_key_both_protocols() {
    let server = Server::start(&[]);
    let config = server.sdk_config("AKIAUNKNOWNUNKNOWN00", "x".repeat(40).as_str(), "us-east-1");
    let err = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .expect_err("must be rejected");
    assert_eq!(
        aws_sdk_sts::error::ProvideErrorMetadata::code(&err),
        Some("InvalidClientTokenId")
    );
    let err = aws_sdk_secretsmanager::Client::new(&config)
        .list_secrets()
        .send()
        .await
        .expect_err("must be rejected");
    assert_eq!(
        aws_sdk_secretsmanager::error::ProvideErrorMetadata::code(&err),
        Some("UnrecognizedClientException")
    );
}
