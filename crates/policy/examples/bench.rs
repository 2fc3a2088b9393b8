//! A criterion-free micro benchmark of the hot path: one request evaluated against a compiled
//! policy set (identity policies with conditions, a resource policy, a boundary).
//! Run with `cargo run -p coffer-policy --release --example bench`.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use coffer_policy::{
    evaluate, AttachedPolicy, Policy, PolicyKind, PolicySet, PolicySource, Principal, Request,
};

fn attached(
    id: &str,
    source: PolicySource,
    kind: PolicyKind,
    json: &str,
) -> Result<AttachedPolicy, String> {
    let policy = Policy::parse(json, kind).map_err(|e| format!("{id}: {e}"))?;
    Ok(AttachedPolicy::new(id, source, policy))
}

fn main() -> Result<(), String> {
    let identity = vec![
        attached(
            "user-inline",
            PolicySource::User,
            PolicyKind::Identity,
            r#"{"Version":"2012-10-17","Statement":[
                {"Sid":"Read","Effect":"Allow","Action":["secretsmanager:GetSecretValue","secretsmanager:DescribeSecret"],
                 "Resource":"arn:aws:secretsmanager:*:111122223333:secret:app/${aws:PrincipalTag/team}/*",
                 "Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","192.0.2.0/24"]},"Bool":{"aws:SecureTransport":"true"}}},
                {"Sid":"List","Effect":"Allow","Action":"secretsmanager:List*","Resource":"*"},
                {"Sid":"NoDelete","Effect":"Deny","Action":"secretsmanager:DeleteSecret","Resource":"*",
                 "Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}]}"#,
        )?,
        attached(
            "ReadOnly",
            PolicySource::AwsManaged,
            PolicyKind::Identity,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*","sts:GetCallerIdentity"],"Resource":"*"}]}"#,
        )?,
    ];
    let resource = attached(
        "secret-policy",
        PolicySource::Resource,
        PolicyKind::Resource,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"secretsmanager:*","Resource":"*",
            "Condition":{"StringNotEquals":{"aws:PrincipalAccount":"111122223333"}}}]}"#,
    )?;
    let boundary = attached(
        "boundary",
        PolicySource::UserManaged,
        PolicyKind::PermissionsBoundary,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["secretsmanager:*","iam:*","sts:*"],"Resource":"*"}]}"#,
    )?;
    let set = PolicySet {
        identity: &identity,
        resource: Some(&resource),
        trust: None,
        resource_account: Some("111122223333"),
        boundary: Some(&boundary),
        session: &[],
    };
    let request = Request::new(
        Principal::user("111122223333", "alice", "AIDAALICE").with_tag("team", "payments"),
        "secretsmanager:GetSecretValue",
        Some("arn:aws:secretsmanager:us-east-1:111122223333:secret:app/payments/db-AbCdEf"),
    )
    .with_source_ip(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)))
    .with_secure_transport(true)
    .with_time_millis(1_700_000_000_000)
    .with_region("us-east-1");
    let decision = evaluate(&request, &set);
    println!(
        "decision: {:?}, matched: {:?}",
        decision.decision,
        decision
            .matched
            .iter()
            .map(|m| m.statement.sid())
            .collect::<Vec<_>>()
    );

    let denied = Request::new(
        Principal::user("111122223333", "alice", "AIDAALICE"),
        "secretsmanager:PutSecretValue",
        Some("arn:aws:secretsmanager:us-east-1:111122223333:secret:x"),
    );
    for (name, req) in [
        ("allowed GetSecretValue", &request),
        ("implicitly denied PutSecretValue", &denied),
    ] {
        let iterations = 200_000u32;
        for _ in 0..10_000 {
            black_box(evaluate(black_box(req), black_box(&set)));
        }
        let start = Instant::now();
        for _ in 0..iterations {
            black_box(evaluate(black_box(req), black_box(&set)));
        }
        let per = start.elapsed() / iterations;
        println!("{name}: {per:?} per evaluation ({iterations} iterations)");
    }

    let start = Instant::now();
    let parses = 20_000u32;
    for _ in 0..parses {
        black_box(Policy::parse(black_box(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*"],"Resource":"*"}]}"#), PolicyKind::Identity).ok());
    }
    println!(
        "parse + compile a small policy: {:?}",
        start.elapsed() / parses
    );
    Ok(())
}
