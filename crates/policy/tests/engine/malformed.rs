//! MalformedPolicyDocument cases with IAM's exact messages. The identity-policy cases are the
//! ones the moto project recorded against IAM's `CreatePolicy`.

use coffer_policy::{ParseOptions, Policy, PolicyKind};

fn managed(doc: &str) -> Result<Policy, String> {
    Policy::parse_with(
        doc,
        ParseOptions {
            kind: PolicyKind::Identity,
            require_current_version: true,
            authored_by_aws: false,
        },
    )
    .map_err(|e| e.message().to_owned())
}

/// AWS managed policies carry resource ARNs IAM refuses from customers; they still compile, and
/// every other check still applies.
#[test]
fn documents_aws_wrote_skip_the_checks_on_customer_arns() {
    let aws = |doc: &str| {
        Policy::parse_with(
            doc,
            ParseOptions {
                kind: PolicyKind::Identity,
                require_current_version: false,
                authored_by_aws: true,
            },
        )
        .map_err(|e| e.message().to_owned())
    };
    let root =
        doc(r#"[{"Effect":"Deny","Action":"iam:GetUser","NotResource":"arn:aws:iam::*:root"}]"#);
    let access_point = doc(
        r#"[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:*:*:accesspoint/*"}]"#,
    );
    assert!(managed(&root).is_err());
    assert!(managed(&access_point).is_err());
    assert!(aws(&root).is_ok());
    assert!(aws(&access_point).is_ok());
    assert_eq!(
        aws(&doc(r#"[{"Effect":"Allow","Resource":"*"}]"#))
            .err()
            .as_deref(),
        managed(&doc(r#"[{"Effect":"Allow","Resource":"*"}]"#))
            .err()
            .as_deref()
    );
}

const V: &str = r#""Version":"2012-10-17""#;

fn doc(statement: &str) -> String {
    format!(r#"{{{V},"Statement":{statement}}}"#)
}

#[test]
fn identity_policy_messages() {
    let syntax = "Syntax errors in policy.";
    let version = "Policy document must be version 2012-10-17 or greater.";
    let legacy = "The policy failed legacy parsing";
    let vendor = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.";
    let colon = "Actions/Condition can contain only one colon.";
    let actions = "Policy statement must contain actions.";
    let resources = "Policy statement must contain resources.";
    let ok_stmt =
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket"}"#;
    let cases: Vec<(String, &str)> = vec![
        ("This is not a json document".into(), syntax),
        (format!(r#"{{"Statement":{ok_stmt}}}"#), version),
        (format!(r#"{{"Version":"2008-10-17","Statement":{ok_stmt}}}"#), version),
        (format!(r#"{{"Version":"2013-10-17","Statement":{ok_stmt}}}"#), syntax),
        (format!(r#"{{{V}}}"#), syntax),
        (doc(r#"["afd"]"#), syntax),
        (format!(r#"{{{V},"Statement":{ok_stmt},"Extra field":"value"}}"#), syntax),
        (doc(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Extra field":"value"}"#), syntax),
        (format!(r#"{{{V},"Id":["cd3a"],"Statement":{ok_stmt}}}"#), syntax),
        (format!(r#"{{{V},"Id":{{}},"Statement":{ok_stmt}}}"#), syntax),
        (doc(r#"{"Effect":"invalid","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket"}"#), syntax),
        (doc(r#"{"Effect":"Allow","Action":"invalid","Resource":"arn:aws:s3:::example_bucket"}"#), vendor),
        (doc(r#"{"Effect":"Allow","NotAction":"","Resource":"arn:aws:s3:::example_bucket"}"#), vendor),
        (doc(r#"{"Effect":"Allow","Action":"a a:ListBucket","Resource":"arn:aws:s3:::example_bucket"}"#), "Vendor a a is not valid"),
        (doc(r#"{"Effect":"Allow","Action":"s3:List:Bucket","Resource":"arn:aws:s3:::example_bucket"}"#), colon),
        (
            doc(r#"[{"Effect":"Allow","Action":"s3s:ListBucket","Resource":"arn:aws:s3:::example_bucket"},{"Effect":"Allow","Action":"s:3s:ListBucket","Resource":"arn:aws:s3:::example_bucket"}]"#),
            colon,
        ),
        (doc(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"invalid resource"}"#), r#"Resource invalid resource must be in ARN format or "*"."#),
        (
            doc(r#"[{"Sid":"EnableDisableHongKong","Effect":"Allow","Action":["account:EnableRegion","account:DisableRegion"],"Resource":"","Condition":{"StringEquals":{"account:TargetRegion":"ap-east-1"}}},{"Sid":"ViewConsole","Effect":"Allow","Action":["aws-portal:ViewAccount","account:ListRegions"],"Resource":""}]"#),
            r#"Resource  must be in ARN format or "*"."#,
        ),
        (doc(r#"{"Effect":"Allow","Action":"s:3:ListBucket","Resource":"sdfsadf"}"#), r#"Resource sdfsadf must be in ARN format or "*"."#),
        (doc(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":["adf"]}"#), r#"Resource adf must be in ARN format or "*"."#),
        (doc(r#"{"Effect":"Allow","NotAction":"s3s:ListBucket","Resource":"a:bsdfdsafsad"}"#), r#"Partition "bsdfdsafsad" is not valid for resource "arn:bsdfdsafsad:*:*:*:*"."#),
        (doc(r#"{"Effect":"Allow","NotAction":"s3s:ListBucket","Resource":"a:b:cadfsdf"}"#), r#"Partition "b" is not valid for resource "arn:b:cadfsdf:*:*:*"."#),
        (doc(r#"{"Effect":"Allow","NotAction":"s3s:ListBucket","Resource":"a:b:c:d:e:f:g:h"}"#), r#"Partition "b" is not valid for resource "arn:b:c:d:e:f:g:h"."#),
        (doc(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"aws:s3:::example_bucket"}"#), r#"Partition "s3" is not valid for resource "arn:s3:::example_bucket:*"."#),
        (
            doc(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":["arn:error:s3:::example_bucket","arn:error:s3::example_bucket"]}"#),
            r#"Partition "error" is not valid for resource "arn:error:s3:::example_bucket"."#,
        ),
        (doc("[]"), syntax),
        (doc(r#"{"Effect":"Allow","Action":"s3:ListBucket"}"#), resources),
        (doc(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":[]}"#), resources),
        (doc(r#"{"Effect":"Allow","Action":"invalid"}"#), vendor),
        (doc(r#"{"Effect":"Allow","Resource":"arn:aws:s3:::example_bucket"}"#), actions),
        (doc(r#"{"Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket"}"#), syntax),
        (doc(r#"{"Effect":"Allow"}"#), actions),
        (doc(r#"{"Effect":"Allow","Action":[],"Resource":"arn:aws:s3:::example_bucket"}"#), actions),
        (doc(&format!(r#"[{{"Effect":"Deny"}},{ok_stmt}]"#)), actions),
        (
            doc(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:iam:::example_bucket"}"#),
            r#"IAM resource path must either be "*" or start with user/, federated-user/, role/, group/, instance-profile/, mfa/, server-certificate/, policy/, sms-mfa/, saml-provider/, oidc-provider/, report/, access-report/."#,
        ),
        (doc(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3::example_bucket"}"#), legacy),
        (doc(r#"{"Effect":"Allow","Resource":"arn:aws:s3::example_bucket"}"#), legacy),
        (doc(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws"}"#), "Resource vendor must be fully qualified and cannot contain regexes."),
        (doc(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":{"a":"arn:aws:s3:::example_bucket"}}"#), syntax),
        (doc(r#"{"Effect":"Deny","Action":"s3:ListBucket","Resource":["adfdf",{}]}"#), syntax),
        (doc(r#"{"Effect":"Allow","NotAction":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","NotResource":[]}"#), syntax),
        (doc(r#"{"Effect":"Deny","Action":[[]],"Resource":"arn:aws:s3:::example_bucket"}"#), syntax),
        (doc(r#"{"Effect":"Allow","NotAction":"s3s:ListBucket","Action":[],"Resource":"arn:aws:s3:::example_bucket"}"#), syntax),
        (doc(r#"{"Effect":"Allow","Action":{},"Resource":"arn:aws:s3:::example_bucket"}"#), syntax),
        (doc(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":[]}"#), syntax),
        (doc(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":"a"}"#), syntax),
        (doc(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"a":"b"}}"#), syntax),
        (doc(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"DateGreaterThan":"b"}}"#), syntax),
        (doc(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"DateGreaterThan":[]}}"#), syntax),
        (doc(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"DateGreaterThan":{"a":{}}}}"#), syntax),
        (doc(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"x":{"a":"1"}}}"#), syntax),
        (doc(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"ForAnyValue::StringEqualsIfExists":{"a":"asf"}}}"#), syntax),
        (doc(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:iam:us-east-1::example_bucket"}"#), "IAM resource arn:aws:iam:us-east-1::example_bucket cannot contain region information."),
        (doc(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:us-east-1::example_bucket"}"#), "Resource arn:aws:s3:us-east-1::example_bucket can not contain region information."),
        (doc(r#"{"Sid":{},"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket"}"#), syntax),
        (doc(r#"{"Sid":[],"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket"}"#), syntax),
        (
            doc(r#"[{"Sid":"sdf","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket"},{"Sid":"sdf","Effect":"Allow"}]"#),
            "Statement IDs (SID) in a single policy must be unique.",
        ),
        (
            r#"{"Statement":[{"Sid":"sdf","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket"},{"Sid":"sdf","Effect":"Allow"}]}"#.into(),
            version,
        ),
        (doc(r#"{"Effect":"Allow","NotAction":"s3:ListBucket","Action":"iam:dsf","Resource":"arn:aws:s3:::example_bucket"}"#), syntax),
        (doc(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","NotResource":"*"}"#), syntax),
        (doc(r#"{"Effect":"denY","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket"}"#), legacy),
        (doc(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"DateGreaterThan":{"a":"sdfdsf"}}}"#), legacy),
        (r#"{"Statement":{"Effect":"denY","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket"}}"#.into(), version),
        (doc(r#"{"Effect":"Allow","Condition":{"DateGreaterThan":{"a":"sdfdsf"}}}"#), legacy),
        (doc(r#"{"Effect":"Allow","NotAction":"s3:ListBucket","Resource":"arn:aws::::example_bucket"}"#), legacy),
        (doc(r#"{"Effect":"allow","Resource":"arn:aws:s3:us-east-1::example_bucket"}"#), legacy),
        (
            doc(r#"[{"Sid":"sdf","Effect":"aLLow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket"},{"Sid":"sdf","Effect":"Allow"}]"#),
            legacy,
        ),
        (doc(r#"{"Effect":"Allow","Action":"s3:ListBucket","NotResource":"arn:aws:s3::example_bucket"}"#), legacy),
        (doc(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"DateLessThanEquals":{"a":"234-13"}}}"#), legacy),
        (doc(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"DateLessThanEquals":{"a":"2016-12-13t2:00:00.593194+1"}}}"#), legacy),
        (doc(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"DateLessThan":{"a":"9223372036854775808"}}}"#), legacy),
        (doc(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:error:s3:::example_bucket","Condition":{"DateGreaterThan":{"a":"sdfdsf"}}}"#), legacy),
        (doc(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws::fdsasf"}"#), legacy),
        (doc(r#"{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"*"}"#), "Policy document should not specify a principal."),
        (doc(r#"{"Effect":"Allow","NotPrincipal":{"AWS":"*"},"Action":"s3:ListBucket","Resource":"*"}"#), "Policy document should not specify a principal."),
    ];
    for (document, message) in &cases {
        match managed(document) {
            Ok(_) => panic!("expected {message:?} for {document}"),
            Err(got) => assert_eq!(&got, message, "for {document}"),
        }
    }
}

#[test]
fn identity_policies_iam_accepts() {
    let stmts = [
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":["arn:aws:s3:::example_bucket"]}"#,
        r#"{"Effect":"Allow","Action":"iam: asdf safdsf af ","Resource":"arn:aws:s3:::example_bucket"}"#,
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":["arn:aws:s3:::example_bucket","*"]}"#,
        r#"{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::example_bucket"}"#,
        r#"{"Effect":"Allow","Action":"service-prefix:action-name","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2017-07-01T00:00:00Z"},"DateLessThan":{"aws:CurrentTime":"2017-12-31T23:59:59Z"}}}"#,
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:iam:::user/example_bucket"}"#,
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s33:::example_bucket"}"#,
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:fdsasf"}"#,
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{}}"#,
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":"Department"}}}"#,
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:cloudwatch:us-east-1::example_bucket"}"#,
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:invalid-service:us-east-1::example_bucket"}"#,
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"DateGreaterThan":{}}}"#,
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"DateGreaterThan":{"a":[]}}}"#,
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"a":{}}}"#,
        r#"{"Effect":"Allow","NotAction":"s3:ListBucket","NotResource":"*"}"#,
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"DateGreaterThan":{"a":"01T"}}}"#,
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"x":{},"y":{}}}"#,
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"ForAnyValue:StringEqualsIfExists":{"a":"asf"}}}"#,
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"DateLessThanEquals":{"a":"2016-12-13t2:00:00.593194+23"}}}"#,
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"DateLessThan":{"a":"-292275054"}}}"#,
        r#"{"Effect":"Deny","NotAction":["iam:CreateVirtualMFADevice","sts:GetSessionToken"],"Resource":"*","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":false}}}"#,
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"NumericLessThanEquals":{"s3:max-keys":10}}}"#,
    ];
    for s in stmts {
        let document = doc(s);
        assert!(
            managed(&document).is_ok(),
            "IAM accepts {document}: {:?}",
            managed(&document).err()
        );
    }
    // Inline policies may leave out Version (it then means 2008-10-17).
    assert!(Policy::parse(
        r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#,
        PolicyKind::Identity
    )
    .is_ok());
}

#[test]
fn resource_and_trust_policy_messages() {
    let cases: [(PolicyKind, &str, &str); 9] = [
        (
            PolicyKind::Trust,
            "{not json",
            "This policy contains invalid Json",
        ),
        (
            PolicyKind::Resource,
            "{not json",
            "Syntax errors in policy.",
        ),
        (
            PolicyKind::Resource,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"secretsmanager:*","Resource":"*"}}"#,
            "Missing required field Principal",
        ),
        (
            PolicyKind::Trust,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}"#,
            "Missing required field Principal",
        ),
        (
            PolicyKind::Trust,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/*"},"Action":"sts:AssumeRole"}}"#,
            r#"Invalid principal in policy: "AWS":"arn:aws:iam::111122223333:role/*""#,
        ),
        (
            PolicyKind::Trust,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole","Resource":"*"}}"#,
            "Has prohibited field Resource",
        ),
        (
            PolicyKind::Trust,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"s3:GetObject"}}"#,
            "AssumeRole policy may only specify STS AssumeRole actions.",
        ),
        (
            PolicyKind::Resource,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}}"#,
            r#"Invalid principal in policy: "AWS":"bob""#,
        ),
        (
            PolicyKind::Session,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}}"#,
            "Policy document should not specify a principal.",
        ),
    ];
    for (kind, document, message) in cases {
        match Policy::parse(document, kind) {
            Ok(_) => panic!("expected {message:?} for {kind:?} {document}"),
            Err(e) => assert_eq!(e.message(), message, "{kind:?} {document}"),
        }
    }
    let trust = Policy::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com","AWS":["arn:aws:iam::111122223333:user/alice","444455556666"]},"Action":["sts:AssumeRole","sts:TagSession"]}]}"#,
        PolicyKind::Trust,
    );
    let Ok(trust) = trust else {
        panic!("valid trust policy refused: {trust:?}")
    };
    assert_eq!(
        trust.principal_arns(),
        ["arn:aws:iam::111122223333:user/alice"]
    );
}

#[test]
fn statement_positions_and_keys() {
    let document = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Sid\": \"A\",\n      \"Effect\": \"Allow\",\n      \"Action\": \"s3:*\",\n      \"Resource\": \"*\",\n      \"Condition\": {\"StringEquals\": {\"aws:PrincipalTag/Team\": \"x\"}, \"Bool\": {\"aws:SecureTransport\": \"true\"}}\n    },\n    {\"Effect\": \"Deny\", \"Action\": \"s3:Delete*\", \"Resource\": \"*\", \"Condition\": {\"StringLike\": {\"AWS:PRINCIPALTAG/team\": \"y\"}}}\n  ]\n}";
    let p = super::parse(document, PolicyKind::Identity);
    let s = p.statements();
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].sid(), Some("A"));
    assert_eq!(
        (s[0].start_position().line, s[0].start_position().column),
        (4, 5)
    );
    assert_eq!(
        (s[0].end_position().line, s[0].end_position().column),
        (10, 5)
    );
    assert_eq!(
        (s[1].start_position().line, s[1].start_position().column),
        (11, 5)
    );
    assert_eq!(s[1].end_position().line, 11);
    assert_eq!(
        p.condition_keys(),
        ["aws:PrincipalTag/Team", "aws:SecureTransport"]
    );
}

#[test]
fn hostile_documents_are_errors_not_panics() {
    for document in ["", "null", "[]", "\"x\"", "{\"Statement\":null}", &"[".repeat(5000), "{\"Version\":1}", "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"a:b\",\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{\"k\":null}}}}"] {
        assert!(Policy::parse(document, PolicyKind::Identity).is_err(), "{document:.40}");
    }
}
