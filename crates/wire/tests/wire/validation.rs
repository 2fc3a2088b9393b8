//! Constraint messages against the real models, checked against what AWS was recorded saying.

use coffer_model::Protocol;
use coffer_wire::{validate, ShownValue, ValidationStyle, Violation, WireError};
use serde_json::{json, Value};

use crate::botocore_model::AwsModel;
use crate::support::testdata_dir;

/// `Error.Message` of a localstack snapshot entry (recorded against real AWS).
fn recorded_message(file: &str, entry: &str) -> String {
    let path = testdata_dir()
        .join("aws-oracle/localstack-snapshots")
        .join(file);
    let snap: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    snap.as_object()
        .unwrap()
        .values()
        .find_map(|t| {
            t["recorded-content"][entry]["Error"]["Message"]
                .as_str()
                .map(str::to_string)
        })
        .unwrap_or_else(|| panic!("no entry {entry}"))
}

fn message(err: &WireError, protocol: Protocol, style: ValidationStyle) -> (u16, String, String) {
    let aws = err.to_aws_with(protocol, style);
    (
        aws.status,
        aws.code.to_string(),
        aws.message.unwrap_or_default(),
    )
}

#[test]
fn sts_role_session_name_pattern_matches_recording() {
    let sts = AwsModel::sts();
    let input = sts.operation("AssumeRole").input.unwrap();
    let value = json!({"RoleArn": "arn:aws:iam::111111111111:role/test-role", "RoleSessionName": "Session1:2"});
    let err = validate(&value, input).unwrap_err();
    let (status, code, msg) = message(&err, Protocol::Query, ValidationStyle::QUERY);
    assert_eq!((status, code.as_str()), (400, "ValidationError"));
    assert_eq!(
        msg,
        recorded_message("sts/test_sts.snapshot.json", "invalid-session-name")
    );
}

#[test]
fn iam_pattern_and_enum_match_recordings() {
    let iam = AwsModel::iam();
    let input = iam
        .operation("UpdateServiceSpecificCredential")
        .input
        .unwrap();
    let err = validate(
        &json!({"ServiceSpecificCredentialId": "ACCA-not-a-valid-credential-id", "Status": "Active"}),
        input,
    )
    .unwrap_err();
    let (_, code, msg) = message(&err, Protocol::Query, ValidationStyle::IAM);
    assert_eq!(code, "ValidationError");
    assert_eq!(
        msg,
        recorded_message("iam/test_iam.snapshot.json", "update-wrong-id")
    );

    let err = validate(
        &json!({"ServiceSpecificCredentialId": "ACCAQEXAMPLE123456789", "Status": "invalid"}),
        input,
    )
    .unwrap_err();
    let (_, _, msg) = message(&err, Protocol::Query, ValidationStyle::IAM);
    assert_eq!(
        msg,
        recorded_message("iam/test_iam.snapshot.json", "update-invalid-status")
    );
}

#[test]
fn secrets_manager_enum_violations_list_the_values_in_aws_order() {
    // The generated schema: it carries codegen's `enum_message_order` overrides.
    let input = coffer_model::secretsmanager::SERVICE
        .operation("ListSecrets")
        .and_then(|op| op.input)
        .unwrap();
    let err = validate(
        &json!({"Filters": [{"Key": "name", "Values": ["x"]}, {"Key": "invalid", "Values": ["x"]}]}),
        input,
    )
    .unwrap_err();
    let (status, code, msg) = message(&err, Protocol::Json, ValidationStyle::JSON);
    assert_eq!((status, code.as_str()), (400, "ValidationException"));
    // AWS's order as getmoto/moto quotes it (five keys in 2020), the two newer ones after.
    assert_eq!(
        msg,
        "1 validation error detected: Value 'invalid' at 'filters.2.member.key' failed to \
         satisfy constraint: Member must satisfy enum value set: [all, name, tag-key, \
         description, tag-value, primary-region, owning-service]"
    );
    // Other enums list the model's values in the model's order.
    let err = validate(&json!({"SortOrder": "up"}), input).unwrap_err();
    let (_, _, msg) = message(&err, Protocol::Json, ValidationStyle::JSON);
    assert!(
        msg.ends_with("Member must satisfy enum value set: [asc, desc]"),
        "{msg}"
    );
    // IAM's style names no values (its recorded answer above).
    let (_, _, msg) = message(&err, Protocol::Query, ValidationStyle::IAM);
    assert!(msg.ends_with("Member must satisfy enum value set"), "{msg}");
}

#[test]
fn length_message_echoes_value_in_query_style() {
    let iam = AwsModel::iam();
    let name = "charon-31f85414-3f74-11e5-b275-f23c91ae92d9-DynamoReadOnlyPermission";
    let err = validate(
        &json!({"RoleName": name, "AssumeRolePolicyDocument": "{}"}),
        iam.operation("CreateRole").input.unwrap(),
    )
    .unwrap_err();
    // The raw IAM response quoted in NixOS/nixops#328.
    assert_eq!(
        message(&err, Protocol::Query, ValidationStyle::QUERY).2,
        format!("1 validation error detected: Value '{name}' at 'roleName' failed to satisfy constraint: Member must have length less than or equal to 64")
    );
}

#[test]
fn missing_required_member_over_json() {
    let sm = AwsModel::secretsmanager();
    let err = validate(&json!({}), sm.operation("GetSecretValue").input.unwrap()).unwrap_err();
    assert_eq!(
        err,
        WireError::Validation(vec![Violation {
            path: "secretId".into(),
            value: ShownValue::Null,
            constraint: "Member must not be null".into(),
            enum_values: None,
        }])
    );
    // Quoted from Secrets Manager in aws/aws-sdk-kotlin#1469.
    let aws = err.to_aws(Protocol::Json);
    assert_eq!(
        (aws.status, aws.code.as_ref()),
        (400, "ValidationException")
    );
    assert_eq!(
        aws.message.as_deref(),
        Some("1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null")
    );
}

#[test]
fn sensitive_values_are_never_echoed() {
    let sm = AwsModel::secretsmanager();
    let secret = "s3cr3t".repeat(11_000);
    let err = validate(
        &json!({"SecretId": "x".repeat(2049), "SecretString": secret}),
        sm.operation("PutSecretValue").input.unwrap(),
    )
    .unwrap_err();
    let msg = message(&err, Protocol::Json, ValidationStyle::JSON).2;
    assert!(!msg.contains("s3cr3t"));
    assert!(!format!("{err:?}").contains("s3cr3t"));
    assert_eq!(
        msg,
        format!(
            "2 validation errors detected: Value '{}' at 'secretId' failed to satisfy constraint: Member must have length less than or equal to 2048; \
             Value at 'secretString' failed to satisfy constraint: Member must have length less than or equal to 65536",
            "x".repeat(2049)
        )
    );
}

#[test]
fn nested_list_members_and_scalar_lists() {
    let iam = AwsModel::iam();
    let err = validate(
        &json!({"UserName": "bob", "Tags": [{"Key": "ok", "Value": "v"}, {"Key": ""}]}),
        iam.operation("TagUser").input.unwrap(),
    )
    .unwrap_err();
    assert_eq!(
        message(&err, Protocol::Query, ValidationStyle::QUERY).2,
        "3 validation errors detected: Value '' at 'tags.2.member.key' failed to satisfy constraint: Member must have length greater than or equal to 1; \
         Value '' at 'tags.2.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+; \
         Value null at 'tags.2.member.value' failed to satisfy constraint: Member must not be null"
    );

    let err = validate(
        &json!({"UserName": "bob", "TagKeys": ["ok", "", "x".repeat(129)]}),
        iam.operation("UntagUser").input.unwrap(),
    )
    .unwrap_err();
    let long = "x".repeat(129);
    assert_eq!(
        message(&err, Protocol::Query, ValidationStyle::QUERY).2,
        format!(
            "1 validation error detected: Value '[ok, , {long}]' at 'tagKeys' failed to satisfy constraint: \
             Member must satisfy constraint: [Member must have length greater than or equal to 1, \
             Member must satisfy regular expression pattern: [\\p{{L}}\\p{{Z}}\\p{{N}}_.:/=+\\-@]+, Member must have length less than or equal to 128]"
        )
    );
}

#[test]
fn numeric_ranges_and_list_lengths() {
    let iam = AwsModel::iam();
    let err = validate(
        &json!({"MaxItems": 0}),
        iam.operation("ListUsers").input.unwrap(),
    )
    .unwrap_err();
    assert_eq!(
        message(&err, Protocol::Query, ValidationStyle::QUERY).2,
        "1 validation error detected: Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1"
    );
    let err = validate(
        &json!({"MaxItems": 1001}),
        iam.operation("ListUsers").input.unwrap(),
    )
    .unwrap_err();
    assert!(message(&err, Protocol::Query, ValidationStyle::QUERY)
        .2
        .ends_with("Member must have value less than or equal to 1000"));

    let sm = AwsModel::secretsmanager();
    let too_many: Vec<String> = (0..21).map(|i| format!("s{i}")).collect();
    let err = validate(
        &json!({"SecretIdList": too_many}),
        sm.operation("BatchGetSecretValue").input.unwrap(),
    )
    .unwrap_err();
    assert!(
        message(&err, Protocol::Json, ValidationStyle::JSON).2.ends_with("at 'secretIdList' failed to satisfy constraint: Member must have length less than or equal to 20"),
        "{err:?}"
    );
}

#[test]
fn valid_inputs_pass() {
    let iam = AwsModel::iam();
    validate(
        &json!({"UserName": "bob+ci@example.com", "Path": "/team/", "Tags": [{"Key": "k", "Value": ""}]}),
        iam.operation("CreateUser").input.unwrap(),
    )
    .unwrap();
    let sm = AwsModel::secretsmanager();
    validate(
        &json!({"SecretId": "prod/db", "VersionStage": "AWSCURRENT"}),
        sm.operation("GetSecretValue").input.unwrap(),
    )
    .unwrap();
}

#[test]
fn collections_holding_sensitive_members_are_not_echoed() {
    use crate::support::{leak, member, plain, structure};
    use coffer_model::schema::Kind;
    let mut secret = plain("Secret", Kind::String);
    secret.sensitive = true;
    let item = structure("Item", vec![member("Secret", leak(secret))]);
    let mut list = plain(
        "Items",
        Kind::List {
            member: item,
            member_name: "member",
            flattened: false,
        },
    );
    list.max = Some(1);
    let input = structure("In", vec![member("Items", leak(list))]);
    let err = validate(
        &json!({"Items": [{"Secret": "hunter2"}, {"Secret": "hunter3"}]}),
        input,
    )
    .unwrap_err();
    let text = format!(
        "{err:?} {}",
        message(&err, Protocol::Json, ValidationStyle::JSON).2
    );
    assert!(!text.contains("hunter"), "{text}");
    assert!(text.contains("Value at 'items' failed to satisfy constraint: Member must have length less than or equal to 1"), "{text}");
}
