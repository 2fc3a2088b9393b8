use super::*;

/// A small reference in the shape of AWS's: Secrets Manager and part of IAM and STS, plus the
/// action names of a service the reference does not cover.
fn reference() -> Reference {
    let names = |prefix: &str, actions: &[&str]| {
        (
            prefix.to_owned(),
            actions.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>(),
        )
    };
    let action = |name: &str, types: &[&str], keys: &[&str]| ActionDefinition {
        name: name.into(),
        resource_types: types.iter().map(|t| (*t).to_owned()).collect(),
        condition_keys: keys.iter().map(|k| (*k).to_owned()).collect(),
    };
    let resource = |name: &str, arn: &str, keys: &[&str]| ResourceTypeDefinition {
        name: name.into(),
        arn_format: arn.into(),
        condition_keys: keys.iter().map(|k| (*k).to_owned()).collect(),
    };
    let secretsmanager = ServiceDefinition {
        prefix: "secretsmanager".into(),
        authorization_url: "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html".into(),
        actions: vec![
            action(
                "GetSecretValue",
                &["Secret"],
                &["secretsmanager:SecretId", "secretsmanager:VersionStage", "aws:ResourceTag/${TagKey}"],
            ),
            action("ListSecrets", &[], &[]),
            action("CreateSecret", &["Secret"], &["secretsmanager:Name", "aws:RequestTag/${TagKey}"]),
        ],
        resource_types: vec![resource(
            "Secret",
            "arn:${Partition}:secretsmanager:${Region}:${Account}:secret:${SecretId}",
            &["secretsmanager:ResourceTag/tag-key", "secretsmanager:resource/AllowRotationLambdaArn"],
        )],
        condition_keys: vec![
            "secretsmanager:SecretId".into(),
            "secretsmanager:VersionStage".into(),
            "secretsmanager:Name".into(),
            "secretsmanager:ResourceTag/tag-key".into(),
        ],
    };
    let iam = ServiceDefinition {
        prefix: "iam".into(),
        authorization_url: "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html".into(),
        actions: vec![
            action("GetUser", &["user"], &[]),
            action("PassRole", &["role"], &["iam:PassedToService", "iam:AssociatedResourceArn"]),
        ],
        resource_types: vec![
            resource("user", "arn:${Partition}:iam::${Account}:user/${UserNameWithPath}", &["iam:ResourceTag/${TagKey}"]),
            resource("role", "arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}", &["iam:ResourceTag/${TagKey}"]),
        ],
        // Defined by the service, supplied by none of these actions.
        condition_keys: vec![
            "iam:PassedToService".into(),
            "iam:AssociatedResourceArn".into(),
            "iam:OrganizationsPolicyId".into(),
        ],
    };
    let sts = ServiceDefinition {
        prefix: "sts".into(),
        authorization_url: "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecuritytokenservice.html".into(),
        actions: vec![
            action("AssumeRole", &["role"], &["sts:ExternalId", "sts:RoleSessionName"]),
            action("AssumeRoleWithWebIdentity", &["role"], &["accounts.google.com:aud"]),
        ],
        resource_types: vec![resource("role", "arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}", &[])],
        condition_keys: vec!["sts:ExternalId".into(), "sts:RoleSessionName".into()],
    };
    Reference::new(
        [names(
            "s3",
            &["GetObject", "ListBucket", "ListAllMyBuckets"],
        )],
        vec![secretsmanager, iam, sts],
    )
}

fn policy(statement: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#)
}

fn codes(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.issue_code.as_str()).collect()
}

fn identity(statement: &str) -> Vec<Finding> {
    lint(&policy(statement), PolicyKind::Identity, &reference())
}

#[test]
fn a_sound_policy_has_no_findings() {
    let findings = identity(
        r#"{"Effect":"Allow","Action":["secretsmanager:GetSecretValue","s3:Get*"],"Resource":"arn:aws:secretsmanager:us-east-1:111122223333:secret:db-*","Condition":{"StringEquals":{"secretsmanager:VersionStage":"AWSCURRENT","aws:ResourceTag/team":"a","SecretsManager:ResourceTag/owner":"b"}}}"#,
    );
    assert_eq!(findings, vec![]);
}

#[test]
fn unknown_actions_and_services_are_errors_at_their_place() {
    let document = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\n    \"Effect\": \"Allow\",\n    \"Action\": [\"secretsmanager:GetSecretValu\", \"secretmanager:GetSecretValue\", \"s3:List*\", \"S3:GETOBJECT\", \"s3:Put*\"],\n    \"Resource\": \"*\"\n  }]\n}";
    let findings = lint(document, PolicyKind::Identity, &reference());
    assert_eq!(
        codes(&findings),
        [
            "INVALID_ACTION",
            "INVALID_SERVICE_IN_ACTION",
            "INVALID_ACTION"
        ]
    );
    let first = &findings[0];
    assert_eq!(first.finding_type, FindingType::Error);
    assert_eq!(
        first.finding_details,
        "The action secretsmanager:GetSecretValu does not exist."
    );
    assert_eq!(
        first.learn_more_link,
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html#access-analyzer-reference-policy-checks-error-invalid-action"
    );
    assert_eq!(
        first.locations,
        vec![Location {
            path: vec![
                PathElement::Value("Statement".into()),
                PathElement::Index(0),
                PathElement::Value("Action".into()),
                PathElement::Index(0),
            ],
            span: Span {
                start: SpanPosition {
                    line: 5,
                    column: 15,
                    offset: 85
                },
                end: SpanPosition {
                    line: 5,
                    column: 45,
                    offset: 115
                },
            },
        }]
    );
    assert_eq!(&document[85..115], "\"secretsmanager:GetSecretValu\"");
    assert_eq!(
        findings[1].finding_details,
        "The service secretmanager specified in the action does not exist."
    );
    assert_eq!(
        findings[2].finding_details,
        "The action s3:Put* does not exist."
    );
}

#[test]
fn not_action_is_checked_too_and_a_single_statement_has_no_index() {
    let document = r#"{"Statement":{"Effect":"Deny","NotAction":"iam:GetUsers","Resource":"*"}}"#;
    let findings = lint(document, PolicyKind::Identity, &reference());
    assert_eq!(codes(&findings), ["INVALID_ACTION"]);
    assert_eq!(
        findings[0].locations[0].path,
        vec![
            PathElement::Value("Statement".into()),
            PathElement::Value("NotAction".into())
        ]
    );
}

#[test]
fn service_condition_keys_must_exist_in_their_service() {
    let findings = identity(
        r#"{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*","Condition":{"StringEquals":{"secretsmanager:SecretIdentifier":"x","aws:NoSuchGlobalKey":"y"}}}"#,
    );
    assert_eq!(codes(&findings), ["INVALID_SERVICE_CONDITION_KEY"]);
    assert_eq!(
        findings[0].finding_details,
        "The condition key secretsmanager:SecretIdentifier does not exist in the service secretsmanager."
    );
    let location = &findings[0].locations[0];
    assert_eq!(
        location.path[2..],
        [
            PathElement::Value("Condition".into()),
            PathElement::Value("StringEquals".into()),
            PathElement::Key("secretsmanager:SecretIdentifier".into()),
        ]
    );
    // The span is the key as written, quotes included.
    let document = policy(
        r#"{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*","Condition":{"StringEquals":{"secretsmanager:SecretIdentifier":"x","aws:NoSuchGlobalKey":"y"}}}"#,
    );
    let (start, end) = (
        location.span.start.offset as usize,
        location.span.end.offset as usize,
    );
    assert_eq!(&document[start..end], "\"secretsmanager:SecretIdentifier\"");
}

#[test]
fn condition_keys_no_action_supplies_are_warnings() {
    let findings = identity(
        r#"{"Effect":"Allow","Action":["secretsmanager:ListSecrets","iam:GetUser"],"Resource":"*","Condition":{"StringEquals":{"secretsmanager:VersionStage":"AWSCURRENT","sts:ExternalId":"x","iam:ResourceTag/team":"a","iam:OrganizationsPolicyId":"p"}}}"#,
    );
    assert_eq!(
        codes(&findings),
        [
            "MISSING_ACTION_FOR_CONDITION_KEY",
            "MISSING_ACTION_FOR_CONDITION_KEY",
            "MISSING_ACTION_FOR_CONDITION_KEY"
        ]
    );
    assert_eq!(findings[0].finding_type, FindingType::Warning);
    assert_eq!(
        findings[0].finding_details,
        "No action in this statement supports the condition key secretsmanager:VersionStage: requests for these actions never carry it. Add an action that supports it, such as secretsmanager:GetSecretValue, or remove the condition key."
    );
    assert_eq!(
        findings[0].learn_more_link,
        "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html"
    );
    assert!(findings[1]
        .finding_details
        .contains("sts:ExternalId: requests for these actions never carry it. Add an action that supports it, such as sts:AssumeRole,"));
    assert_eq!(
        findings[1].learn_more_link,
        "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecuritytokenservice.html"
    );
    assert!(findings[2]
        .finding_details
        .ends_with("iam:OrganizationsPolicyId: requests for these actions never carry it. Remove the condition key."));
}

#[test]
fn keys_of_services_the_reference_does_not_cover_are_not_judged() {
    // `ec2:SourceInstanceARN` comes with every request made with an instance's role credentials.
    let findings = identity(
        r#"{"Effect":"Allow","Action":"secretsmanager:ListSecrets","Resource":"*","Condition":{"StringEquals":{"ec2:SourceInstanceARN":"arn:aws:ec2:us-east-1:111122223333:instance/i-1","s3:prefix":"x"}}}"#,
    );
    assert_eq!(findings, vec![]);
}

#[test]
fn supplied_keys_are_not_judged_when_the_actions_are_not_all_known() {
    for actions in [
        r#""NotAction":"secretsmanager:ListSecrets""#,
        r#""Action":"*""#,
        r#""Action":["secretsmanager:ListSecrets","s3:GetObject"]"#,
        r#""Action":"*:ListSecrets""#,
    ] {
        let findings = identity(&format!(
            r#"{{"Effect":"Allow",{actions},"Resource":"arn:aws:iam::111122223333:user/a","Condition":{{"StringEquals":{{"secretsmanager:VersionStage":"x"}}}}}}"#
        ));
        assert_eq!(findings, vec![], "{actions}");
    }
}

#[test]
fn identity_provider_keys_are_left_alone() {
    let document = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"accounts.google.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"accounts.google.com:aud":"x","token.actions.githubusercontent.com:sub":"repo:o/r:*"}}}]}"#;
    assert_eq!(lint(document, PolicyKind::Trust, &reference()), vec![]);
    assert_eq!(infer_kind(document), PolicyKind::Trust);
}

#[test]
fn resource_arns_must_fit_a_resource_type_and_an_action() {
    let findings = identity(
        r#"{"Effect":"Allow","Action":["secretsmanager:GetSecretValue","iam:GetUser"],"Resource":["arn:aws:secretsmanager:us-east-1:111122223333:key/abc","arn:aws:iam::111122223333:role/admin","arn:aws:iam::111122223333:user/${aws:username}","arn:aws:s3:::bucket/*","arn:aws:*:*:*:*"]}"#,
    );
    assert_eq!(
        codes(&findings),
        ["INVALID_ARN_RESOURCE", "MISSING_ACTION_FOR_RESOURCE"]
    );
    assert_eq!(
        findings[0].finding_details,
        "Resource ARN does not match the expected ARN format. Update the resource portion of the ARN."
    );
    assert_eq!(
        findings[1].finding_details,
        "No action in this statement can be used with the resource arn:aws:iam::111122223333:role/admin. Add an action that supports it, such as iam:PassRole, or update the resource."
    );
    assert_eq!(findings[1].locations[0].path[3], PathElement::Index(1));
}

#[test]
fn actions_authorized_only_against_star_match_no_arn() {
    let findings = identity(
        r#"{"Effect":"Allow","Action":"secretsmanager:ListSecrets","Resource":"arn:aws:secretsmanager:*:*:secret:*"}"#,
    );
    assert_eq!(codes(&findings), ["MISSING_ACTION_FOR_RESOURCE"]);
    // NotResource is checked for its format only.
    let findings = identity(
        r#"{"Effect":"Allow","Action":"secretsmanager:ListSecrets","NotResource":["arn:aws:secretsmanager:*:*:secret:*","arn:aws:secretsmanager:us-east-1:1:key/x"]}"#,
    );
    assert_eq!(codes(&findings), ["INVALID_ARN_RESOURCE"]);
}

#[test]
fn policy_variables_are_text_in_old_documents() {
    let old = r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"arn:aws:iam::1:user/${aws:username}"}]}"#;
    assert_eq!(lint(old, PolicyKind::Identity, &reference()), vec![]);
}

#[test]
fn wildcard_principal_grants_are_security_warnings() {
    let document = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*"},
        {"Effect":"Allow","Principal":{"AWS":"*"},"Action":"secretsmanager:GetSecretValue","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalAccount":"111122223333"}}},
        {"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"},
        {"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"},
        {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}
    ]}"#;
    let findings = lint(document, PolicyKind::Resource, &reference());
    assert_eq!(
        codes(&findings),
        ["PUBLIC_ACCESS", "ALLOW_WITH_NOT_PRINCIPAL"]
    );
    assert!(findings
        .iter()
        .all(|f| f.finding_type == FindingType::SecurityWarning));
    assert_eq!(
        findings[0].locations[0].path[2],
        PathElement::Value("Principal".into())
    );
    assert_eq!(findings[1].locations[0].path[1], PathElement::Index(2));
    assert_eq!(infer_kind(document), PolicyKind::Resource);
}

#[test]
fn documents_iam_refuses_are_one_error() {
    let findings = lint(
        "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [}",
        PolicyKind::Identity,
        &reference(),
    );
    assert_eq!(codes(&findings), ["JSON_SYNTAX_ERROR"]);
    assert_eq!(
        findings[0].finding_details,
        "Fix the JSON syntax error at index 45 line 3 column 16."
    );
    let findings = lint(
        r#"{"Statement":[{"Effect":"Allow","Resource":"*"}]}"#,
        PolicyKind::Identity,
        &reference(),
    );
    assert_eq!(codes(&findings), ["MALFORMED_POLICY_DOCUMENT"]);
    assert_eq!(
        findings[0].finding_details,
        "Policy statement must contain actions."
    );
    assert!(findings[0].locations.is_empty());
    // A principal in an identity policy is IAM's error, whatever else is wrong.
    let findings = lint(
        &policy(r#"{"Effect":"Allow","Principal":"*","Action":"nope:Nope","Resource":"*"}"#),
        PolicyKind::Identity,
        &reference(),
    );
    assert_eq!(codes(&findings), ["MALFORMED_POLICY_DOCUMENT"]);
}

#[test]
fn kinds_are_inferred_from_the_statements() {
    assert_eq!(
        infer_kind(&policy(
            r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}"#
        )),
        PolicyKind::Identity
    );
    assert_eq!(
        infer_kind(&policy(
            r#"{"Effect":"Allow","Principal":{"AWS":"1"},"Action":"sts:AssumeRole","Resource":"*"}"#
        )),
        PolicyKind::Resource
    );
    assert_eq!(infer_kind("not json"), PolicyKind::Identity);
}

#[test]
fn findings_come_in_document_order_whatever_the_check() {
    let findings = identity(
        r#"{"Effect":"Allow","Action":"secretsmanager:ListSecrets","Resource":"*","Condition":{"StringEquals":{"secretsmanager:SecretId":"x"}}},{"Effect":"Allow","Action":"nope:Nope","Resource":"*"}"#,
    );
    assert_eq!(
        codes(&findings),
        [
            "MISSING_ACTION_FOR_CONDITION_KEY",
            "INVALID_SERVICE_IN_ACTION"
        ]
    );
}
