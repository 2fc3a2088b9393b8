//! `serve --explain-denials` through aws-sdk-rust: a denied `GetSecretValue` carries an encoded
//! authorization failure message that `DecodeAuthorizationMessage` opens for the account's root,
//! and an altered one is `InvalidAuthorizationMessageException`.

use aws_sdk_secretsmanager::error::ProvideErrorMetadata;

use crate::support::{Server, ACCOUNT};

const LEAD: &str = " Encoded authorization failure message: ";

#[tokio::test]
async fn sdk_decodes_an_explained_denial() {
    let server = Server::start(&["--explain-denials"]);
    let root = server.root_config();
    let secret_arn = aws_sdk_secretsmanager::Client::new(&root)
        .create_secret()
        .name("explained")
        .secret_string("never-in-the-explanation")
        .send()
        .await
        .expect("CreateSecret")
        .arn
        .expect("ARN");
    let iam = aws_sdk_iam::Client::new(&root);
    iam.create_user()
        .user_name("nobody")
        .send()
        .await
        .expect("CreateUser");
    let key = iam
        .create_access_key()
        .user_name("nobody")
        .send()
        .await
        .expect("CreateAccessKey")
        .access_key
        .expect("key");
    let nobody = server.sdk_config(key.access_key_id(), key.secret_access_key(), "us-east-1");

    let err = aws_sdk_secretsmanager::Client::new(&nobody)
        .get_secret_value()
        .secret_id(&secret_arn)
        .send()
        .await
        .expect_err("no policy allows it");
    assert_eq!(err.code(), Some("AccessDeniedException"));
    let message = err.message().expect("message");
    let (plain, encoded) = message.split_once(LEAD).expect("an encoded message");
    assert_eq!(
        plain,
        format!(
            "User: arn:aws:iam::{ACCOUNT}:user/nobody is not authorized to perform: \
             secretsmanager:GetSecretValue on resource: {secret_arn} because no identity-based \
             policy allows the secretsmanager:GetSecretValue action"
        )
    );

    let sts = aws_sdk_sts::Client::new(&root);
    let decoded = sts
        .decode_authorization_message()
        .encoded_message(encoded)
        .send()
        .await
        .expect("DecodeAuthorizationMessage")
        .decoded_message
        .expect("DecodedMessage");
    assert!(!decoded.contains("never-in-the-explanation"));
    let decoded: serde_json::Value = serde_json::from_str(&decoded).expect("JSON");
    assert_eq!(decoded["allowed"], serde_json::json!(false));
    assert_eq!(decoded["explicitDeny"], serde_json::json!(false));
    assert_eq!(
        decoded["context"]["principal"]["arn"],
        format!("arn:aws:iam::{ACCOUNT}:user/nobody")
    );
    assert_eq!(decoded["context"]["resource"], secret_arn.as_str());
    assert_eq!(
        decoded["deniedBy"],
        serde_json::json!({"policyType": "identity-based", "reason": "noAllow"})
    );

    // One character in the middle changed: its bits are all in the ciphertext.
    let middle = encoded.len() / 2;
    let swapped = if &encoded[middle..=middle] == "A" {
        "B"
    } else {
        "A"
    };
    let altered = format!("{}{swapped}{}", &encoded[..middle], &encoded[middle + 1..]);
    let err = sts
        .decode_authorization_message()
        .encoded_message(altered)
        .send()
        .await
        .expect_err("altered");
    assert_eq!(
        aws_sdk_sts::error::ProvideErrorMetadata::code(&err),
        Some("InvalidAuthorizationMessageException")
    );
}
