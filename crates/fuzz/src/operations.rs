//! Every operation of the three services, found the way the server routes to them, and the
//! typed decoding step of the generated dispatchers.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use coffer_model::context::{Principal, PrincipalKind, RequestContext};
use coffer_model::schema::{Operation, Service};
use coffer_model::{iam, secretsmanager, sts, AwsError};
use serde_json::Value;

use crate::split::fnv1a;

#[derive(Clone, Copy)]
pub struct Op {
    pub service: &'static Service,
    pub op: &'static Operation,
}

pub const SERVICES: [&Service; 3] = [&sts::SERVICE, &secretsmanager::SERVICE, &iam::SERVICE];

pub fn all() -> &'static [Op] {
    static ALL: OnceLock<Vec<Op>> = OnceLock::new();
    ALL.get_or_init(|| {
        SERVICES
            .iter()
            .flat_map(|service| service.operations.iter().map(|op| Op { service, op }))
            .collect()
    })
}

/// `secretsmanager.GetSecretValue`, `iam.TagUser`: the service's JSON target prefix (or, for
/// the Query-only services, its signing name), a dot, the operation.
pub fn by_target(target: &str) -> Option<Op> {
    let (prefix, name) = target.split_once('.')?;
    let service = SERVICES
        .iter()
        .find(|s| s.target_prefix == Some(prefix) || s.signing_name.eq_ignore_ascii_case(prefix))?;
    Some(Op {
        service,
        op: service.operation(name)?,
    })
}

/// The operation an AWS Query request names with `Action` and `Version`.
pub fn by_action(version: &str, action: &str) -> Option<Op> {
    let service = SERVICES.iter().find(|s| s.api_version == version)?;
    Some(Op {
        service,
        op: service.operation(action)?,
    })
}

/// Some operation, chosen by a hash of `bytes`: input that names no operation still gets
/// decoded against a real shape.
pub fn by_hash(bytes: &[u8]) -> Op {
    let ops = all();
    ops[(fnv1a(bytes) % ops.len() as u64) as usize]
}

/// A service that implements nothing: the generated defaults answer `NotImplemented`, which
/// shows that dispatch got as far as calling it.
struct Unimplemented;

impl sts::Sts for Unimplemented {}
impl secretsmanager::SecretsManager for Unimplemented {}
impl iam::Iam for Unimplemented {}

fn context() -> RequestContext {
    RequestContext {
        request_id: "fuzz".to_string(),
        principal: Principal {
            account_id: "123456789012".to_string(),
            arn: "arn:aws:iam::123456789012:root".to_string(),
            user_id: "123456789012".to_string(),
            kind: PrincipalKind::Root,
            access_key_id: "AKIAFUZZ".to_string(),
        },
        region: "us-east-1".to_string(),
        source_ip: None,
        secure_transport: true,
        now_millis: 1_700_000_000_000,
        mfa_authenticated_at_millis: None,
    }
}

/// Runs the generated dispatcher on a validated canonical input: it deserializes the typed
/// request and calls the service. The wire layer's validation promises that this decoding
/// succeeds, so the answer must be the service's `NotImplemented`, never the dispatcher's
/// decoding error.
pub fn assert_typed_decoding_accepts(op: Op, input: Value) {
    let ctx = context();
    let svc = Unimplemented;
    let future: Pin<Box<dyn Future<Output = Result<Value, AwsError>> + '_>> = match op
        .service
        .signing_name
    {
        "sts" => Box::pin(sts::dispatch(&svc, &ctx, op.op, input.clone())),
        "secretsmanager" => Box::pin(secretsmanager::dispatch(&svc, &ctx, op.op, input.clone())),
        _ => Box::pin(iam::dispatch(&svc, &ctx, op.op, input.clone())),
    };
    let mut future = future;
    // The default service methods are ready at once; nothing here waits on I/O.
    let outcome = match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(outcome) => outcome,
        Poll::Pending => panic!("{}: dispatch did not complete", op.op.name),
    };
    match outcome {
        Err(e) if e.code == "NotImplemented" => {}
        other => panic!(
            "{}.{}: validated input {input} did not reach the service: {other:?}",
            op.service.signing_name, op.op.name
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let op = by_target("secretsmanager.GetSecretValue").unwrap();
        assert_eq!(op.op.name, "GetSecretValue");
        assert_eq!(by_target("iam.TagUser").unwrap().op.name, "TagUser");
        assert!(by_target("nope.TagUser").is_none());
        let op = by_action("2011-06-15", "AssumeRole").unwrap();
        assert_eq!(op.service.signing_name, "sts");
        assert!(by_action("2011-06-15", "TagUser").is_none());
        assert!(all().len() > 150);
    }

    #[test]
    fn typed_decoding_of_a_valid_input_reaches_the_service() {
        let op = by_target("secretsmanager.GetSecretValue").unwrap();
        assert_typed_decoding_accepts(op, serde_json::json!({"SecretId": "x"}));
    }

    #[test]
    #[should_panic(expected = "did not reach the service")]
    fn typed_decoding_failure_is_caught() {
        let op = by_target("secretsmanager.GetSecretValue").unwrap();
        assert_typed_decoding_accepts(op, serde_json::json!({"SecretId": 5}));
    }
}
