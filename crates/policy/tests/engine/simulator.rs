//! What IAM's policy simulator needs from the engine: AWS's statement positions, the context
//! keys a policy reads, typed context values, and the keys a request lacked.

use coffer_policy::{
    evaluate, ContextKeyType, ContextValue, EvalDecision, PolicyKind, PolicySet, Position,
    Principal, Request,
};

use super::{boundary, identity, parse, ACCOUNT};

fn pos(line: u32, column: u32) -> Position {
    Position { line, column }
}

/// `simulate-custom-policy` Example 1 in the AWS CLI reference: the statement object spans
/// columns 37..166 and AWS answers 38 and 167.
#[test]
fn positions_match_the_cli_reference_example() {
    let doc = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}}}"#;
    let p = parse(doc, PolicyKind::Identity);
    let s = &p.statements()[0];
    assert_eq!(s.start_position(), pos(1, 37));
    assert_eq!(s.simulator_start_position(), pos(1, 38));
    assert_eq!(s.simulator_end_position(), pos(1, 167));
}

/// `SimulatePrincipalPolicy` Example 1 in the IAM API reference: line 3 column 16 to line 7
/// column 4 for a pretty-printed policy.
#[test]
fn positions_match_the_api_reference_example() {
    let doc = "{\n  \"Version\":\"2012-10-17\",\n  \"Statement\":{\n    \"Effect\":\"Allow\",\n    \"Action\":\"s3:PutObject\",\n    \"Resource\":\"arn:aws:s3:::my-test-bucket\"\n  }\n}";
    let p = parse(doc, PolicyKind::Identity);
    let s = &p.statements()[0];
    assert_eq!(s.simulator_start_position(), pos(3, 16));
    assert_eq!(s.simulator_end_position(), pos(7, 4));
}

/// `get-context-keys-for-custom-policy` Example 1 in the AWS CLI reference.
#[test]
fn context_keys_match_the_cli_reference_example() {
    let doc = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"arn:aws:dynamodb:us-west-2:123456789012:table/${aws:username}","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2015-08-16T12:00:00Z"}}}}"#;
    let p = parse(doc, PolicyKind::Identity);
    assert_eq!(p.context_keys(), ["aws:username", "aws:CurrentTime"]);
    assert_eq!(p.condition_keys(), ["aws:CurrentTime"]);
}

#[test]
fn context_keys_cover_condition_values_and_skip_duplicates_and_escapes() {
    let doc = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::b/${aws:PrincipalTag/team, 'none'}/${*}",
         "Condition":{"StringLike":{"s3:prefix":"home/${aws:userid}/*"},"NumericLessThan":{"s3:max-keys":"10"}}},
        {"Effect":"Deny","Action":"s3:*","Resource":"*",
         "Condition":{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:*:${aws:PrincipalAccount}:t"},"Bool":{"AWS:USERID":"true"},"Null":{"s3:x-amz-acl":"true"}}}
    ]}"#;
    let p = parse(doc, PolicyKind::Identity);
    assert_eq!(
        p.context_keys(),
        [
            "aws:PrincipalTag/team",
            "s3:prefix",
            "aws:userid",
            "s3:max-keys",
            "aws:SourceArn",
            "aws:PrincipalAccount",
            "s3:x-amz-acl",
        ]
    );
}

#[test]
fn version_2008_documents_have_no_variables_to_list() {
    let doc = r#"{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}","Condition":{"StringEquals":{"s3:prefix":"${aws:userid}"}}}}"#;
    let p = parse(doc, PolicyKind::Identity);
    assert_eq!(p.context_keys(), ["s3:prefix"]);
}

#[test]
fn context_key_types_parse_as_the_simulator_names_them() {
    use ContextKeyType as T;
    let cases = [
        ("string", Some((T::String, false))),
        ("stringList", Some((T::String, true))),
        ("numeric", Some((T::Numeric, false))),
        ("numericList", Some((T::Numeric, true))),
        ("boolean", Some((T::Boolean, false))),
        ("booleanList", Some((T::Boolean, true))),
        ("ip", Some((T::Ip, false))),
        ("ipList", Some((T::Ip, true))),
        ("binary", Some((T::Binary, false))),
        ("binaryList", Some((T::Binary, true))),
        ("date", Some((T::Date, false))),
        ("dateList", Some((T::Date, true))),
        ("String", None),
        ("List", None),
        ("datelist", None),
    ];
    for (name, want) in cases {
        assert_eq!(ContextKeyType::parse(name), want, "{name}");
    }
}

#[test]
fn typed_values_are_checked() {
    use ContextKeyType as T;
    let good = [
        (T::String, "anything at all"),
        (T::Numeric, "42"),
        (T::Numeric, "-1.5"),
        (T::Boolean, "true"),
        (T::Boolean, "FALSE"),
        (T::Ip, "203.0.113.7"),
        (T::Ip, "2001:db8::1"),
        (T::Binary, "QmluYXJ5"),
        (T::Date, "2019-04-25T11:00:00Z"),
        (T::Date, "1556190000"),
    ];
    for (t, v) in good {
        assert!(ContextValue::parse_typed(t, v).is_some(), "{t:?} {v}");
    }
    let bad = [
        (T::Numeric, "ten"),
        (T::Numeric, "NaN"),
        (T::Boolean, "yes"),
        (T::Ip, "203.0.113.0/24"),
        (T::Ip, "not-an-ip"),
        (T::Binary, "not base64!"),
        (T::Date, "yesterday"),
    ];
    for (t, v) in bad {
        assert!(ContextValue::parse_typed(t, v).is_none(), "{t:?} {v}");
    }
}

/// A context key, its simulator type and its values.
type Entry<'a> = (&'a str, ContextKeyType, &'a [&'a str]);

fn simulate(policy: &str, values: &[Entry]) -> (EvalDecision, Vec<String>) {
    let ids = [identity(policy)];
    let mut request = Request::new(
        Principal::user(ACCOUNT, "alice", "AIDAEXAMPLE"),
        "dynamodb:CreateBackup",
        None,
    );
    request.context = Default::default();
    for (key, t, texts) in values {
        let typed = texts
            .iter()
            .map(|v| ContextValue::parse_typed(*t, v).expect("valid test value"))
            .collect();
        request.context.set(key, typed);
    }
    let d = evaluate(
        &request,
        &PolicySet {
            identity: &ids,
            ..Default::default()
        },
    );
    (d.decision, d.missing_context_values)
}

fn with_condition(condition: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"dynamodb:*","Resource":"*","Condition":{condition}}}}}"#
    )
}

/// Each simulator value type drives the operator family that reads it.
#[test]
fn typed_context_entries_decide_conditions() {
    use ContextKeyType as T;
    let allowed = EvalDecision::Allowed;
    let denied = EvalDecision::ImplicitDeny;
    let date = with_condition(r#"{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}"#);
    let cases: Vec<(String, Vec<Entry>, EvalDecision)> = vec![
        (
            date.clone(),
            vec![("aws:CurrentTime", T::Date, &["2019-04-25T11:00:00Z"])],
            allowed,
        ),
        (
            date.clone(),
            vec![("aws:CurrentTime", T::Date, &["2014-04-25T11:00:00Z"])],
            denied,
        ),
        (
            with_condition(r#"{"NumericLessThanEquals":{"dynamodb:Limit":"10"}}"#),
            vec![("dynamodb:Limit", T::Numeric, &["7"])],
            allowed,
        ),
        (
            with_condition(r#"{"NumericLessThanEquals":{"dynamodb:Limit":"10"}}"#),
            vec![("dynamodb:Limit", T::Numeric, &["11"])],
            denied,
        ),
        (
            with_condition(r#"{"Bool":{"aws:MultiFactorAuthPresent":"true"}}"#),
            vec![("aws:MultiFactorAuthPresent", T::Boolean, &["true"])],
            allowed,
        ),
        (
            with_condition(r#"{"Bool":{"aws:MultiFactorAuthPresent":"true"}}"#),
            vec![("aws:MultiFactorAuthPresent", T::Boolean, &["false"])],
            denied,
        ),
        (
            with_condition(r#"{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}"#),
            vec![("aws:SourceIp", T::Ip, &["203.0.113.9"])],
            allowed,
        ),
        (
            with_condition(r#"{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}"#),
            vec![("aws:SourceIp", T::Ip, &["198.51.100.1"])],
            denied,
        ),
        (
            with_condition(r#"{"BinaryEquals":{"dynamodb:Blob":"QmluYXJ5"}}"#),
            vec![("dynamodb:Blob", T::Binary, &["QmluYXJ5"])],
            allowed,
        ),
        (
            with_condition(r#"{"ForAllValues:StringEquals":{"dynamodb:Attributes":["a","b"]}}"#),
            vec![("dynamodb:Attributes", T::String, &["a", "b"])],
            allowed,
        ),
        (
            with_condition(r#"{"ForAllValues:StringEquals":{"dynamodb:Attributes":["a","b"]}}"#),
            vec![("dynamodb:Attributes", T::String, &["a", "c"])],
            denied,
        ),
        (
            with_condition(
                r#"{"ForAnyValue:DateEquals":{"aws:TokenIssueTime":"2020-01-01T00:00:00Z"}}"#,
            ),
            vec![(
                "aws:TokenIssueTime",
                T::Date,
                &["2019-01-01T00:00:00Z", "1577836800"],
            )],
            allowed,
        ),
    ];
    for (policy, values, want) in cases {
        let (got, missing) = simulate(&policy, &values);
        assert_eq!(got, want, "{policy} with {values:?}");
        assert!(missing.is_empty(), "{missing:?}");
    }
}

#[test]
fn missing_context_values_are_reported_once_as_written() {
    let policy = with_condition(
        r#"{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"},"StringEquals":{"aws:username":"alice","aws:RequestedRegion":"${aws:CurrentTime}"}}"#,
    );
    let (got, missing) = simulate(&policy, &[]);
    assert_eq!(got, EvalDecision::ImplicitDeny);
    assert_eq!(
        missing,
        ["aws:CurrentTime", "aws:username", "aws:RequestedRegion"]
    );
}

/// The simulator reports a boundary's verdict next to the decision.
#[test]
fn boundary_verdict_is_reported() {
    let allow_all =
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;
    let iam_only = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:*","Resource":"*"}}"#;
    let ids = [identity(allow_all)];
    let b = boundary(iam_only);
    let principal = Principal::user(ACCOUNT, "mateo", "AIDAEXAMPLE");
    for (action, want, boundary_says) in [
        ("iam:GetRole", EvalDecision::Allowed, EvalDecision::Allowed),
        (
            "s3:PutObject",
            EvalDecision::ImplicitDeny,
            EvalDecision::ImplicitDeny,
        ),
    ] {
        let request = Request::new(principal.clone(), action, None);
        let d = evaluate(
            &request,
            &PolicySet {
                identity: &ids,
                boundary: Some(&b),
                ..Default::default()
            },
        );
        assert_eq!(d.decision, want, "{action}");
        assert_eq!(d.boundary, Some(boundary_says), "{action}");
    }
}
