//! `dispatch` decodes the canonical input, calls the trait, encodes the output; unimplemented
//! operations answer NotImplemented; service errors map to the model's code, status and fault.

use std::future::Future;
use std::task::{Context, Poll, Waker};

use coffer_model::context::{Principal, PrincipalKind, RequestContext};
use coffer_model::schema::{Operation, Service};
use coffer_model::AwsError;
use serde_json::{json, Value};

/// These futures never wait on anything, so one poll must finish them.
fn run<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("future pending without I/O"),
    }
}

fn ctx() -> RequestContext {
    RequestContext {
        request_id: "req-1".into(),
        principal: Principal {
            account_id: "123456789012".into(),
            arn: "arn:aws:iam::123456789012:user/alice".into(),
            user_id: "AIDAEXAMPLE".into(),
            kind: PrincipalKind::User,
            access_key_id: "AKIAEXAMPLE".into(),
        },
        region: "us-east-1".into(),
        source_ip: None,
        secure_transport: true,
        now_millis: 1_700_000_000_000,
        mfa_authenticated_at_millis: None,
    }
}

fn op(service: &'static Service, name: &str) -> &'static Operation {
    service.operation(name).unwrap()
}

/// Every operation of `service`, given the fullest input its schema allows, decodes it and then
/// answers `NotImplemented` from the trait's default body.
fn every_operation_defaults_to_not_implemented(
    service: &'static Service,
    call: impl Fn(&'static Operation, Value) -> Result<Value, AwsError>,
) {
    for operation in service.operations {
        let input = operation
            .input
            .map(|s| super::round_trip::fullest_value(s, 0))
            .unwrap_or(Value::Null);
        let err = call(operation, input).unwrap_err();
        assert_eq!(
            (err.status, err.code.as_ref()),
            (501, "NotImplemented"),
            "{}",
            operation.name
        );
    }
}

#[cfg(feature = "sts")]
mod sts {
    use super::*;
    use coffer_model::sts::{
        dispatch, AssumeRoleRequest, AssumeRoleResponse, GetCallerIdentityRequest,
        GetCallerIdentityResponse, Sts, StsError, SERVICE,
    };

    struct Fake;

    impl Sts for Fake {
        async fn get_caller_identity(
            &self,
            ctx: &RequestContext,
            _input: GetCallerIdentityRequest,
        ) -> Result<GetCallerIdentityResponse, StsError> {
            Ok(GetCallerIdentityResponse {
                user_id: Some(ctx.principal.user_id.clone()),
                account: Some(ctx.principal.account_id.clone()),
                arn: Some(ctx.principal.arn.clone()),
            })
        }

        async fn assume_role(
            &self,
            _ctx: &RequestContext,
            input: AssumeRoleRequest,
        ) -> Result<AssumeRoleResponse, StsError> {
            Err(StsError::malformed_policy_document(format!(
                "bad policy for {}",
                input.role_session_name
            )))
        }
    }

    #[test]
    fn every_operation_answers_not_implemented_by_default() {
        struct Nothing;
        impl Sts for Nothing {}
        every_operation_defaults_to_not_implemented(&SERVICE, |op, input| {
            run(dispatch(&Nothing, &ctx(), op, input))
        });
    }

    #[test]
    fn implemented_operation_round_trips() {
        let out = run(dispatch(
            &Fake,
            &ctx(),
            op(&SERVICE, "GetCallerIdentity"),
            json!({}),
        ));
        assert_eq!(
            out,
            Ok(json!({
                "UserId": "AIDAEXAMPLE",
                "Account": "123456789012",
                "Arn": "arn:aws:iam::123456789012:user/alice"
            }))
        );
        // An absent body is an empty structure.
        let out = run(dispatch(
            &Fake,
            &ctx(),
            op(&SERVICE, "GetCallerIdentity"),
            Value::Null,
        ));
        assert!(out.is_ok());
    }

    #[test]
    fn modeled_error_takes_code_status_and_fault_from_the_model() {
        let input = json!({"RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "s1"});
        let err = run(dispatch(&Fake, &ctx(), op(&SERVICE, "AssumeRole"), input)).unwrap_err();
        assert_eq!(
            err,
            AwsError {
                status: 400,
                code: "MalformedPolicyDocument".into(),
                message: Some("bad policy for s1".into()),
                sender_fault: true,
            }
        );
    }

    #[test]
    fn unimplemented_operation_answers_not_implemented() {
        let input = json!({"DurationSeconds": 900});
        let err = run(dispatch(
            &Fake,
            &ctx(),
            op(&SERVICE, "GetSessionToken"),
            input,
        ))
        .unwrap_err();
        assert_eq!((err.status, err.code.as_ref()), (501, "NotImplemented"));
        assert!(err.message.unwrap().contains("GetSessionToken"));
    }

    #[test]
    fn undecodable_input_is_a_400_without_the_value() {
        let input = json!({"RoleArn": 5, "RoleSessionName": "topsecretvalue"});
        let err = run(dispatch(&Fake, &ctx(), op(&SERVICE, "AssumeRole"), input)).unwrap_err();
        assert_eq!((err.status, err.code.as_ref()), (400, "ValidationError"));
        assert!(!err.message.unwrap().contains("topsecretvalue"));
    }

    #[test]
    fn an_operation_of_another_service_is_not_dispatched() {
        let iam_like = Operation {
            name: "CreateUser",
            input: None,
            output: None,
            result_wrapper: None,
            errors: &[],
            http_method: "POST",
            authorization: &coffer_model::schema::Authorization::UNLISTED,
        };
        let leaked: &'static _ = Box::leak(Box::new(iam_like));
        let err = run(dispatch(&Fake, &ctx(), leaked, json!({}))).unwrap_err();
        assert_eq!(err.code, "NotImplemented");
    }

    #[test]
    fn error_helpers() {
        let e = StsError::validation("1 validation error detected");
        assert_eq!(e.message(), Some("1 validation error detected"));
        let aws = AwsError::from(e.clone());
        assert_eq!((aws.status, aws.code.as_ref()), (400, "ValidationError"));
        assert_eq!(
            e.to_string(),
            "ValidationError (400): 1 validation error detected"
        );
        let other = StsError::from(AwsError::internal());
        assert_eq!(AwsError::from(other), AwsError::internal());
        let e = AwsError::from(StsError::idp_rejected_claim("no"));
        assert_eq!((e.status, e.code.as_ref()), (403, "IDPRejectedClaim"));
    }
}

#[cfg(feature = "secretsmanager")]
mod secretsmanager {
    use super::*;
    use coffer_model::secretsmanager::{
        dispatch, GetSecretValueRequest, GetSecretValueResponse, SecretsManager,
        SecretsManagerError, SERVICE,
    };

    struct Fake;

    impl SecretsManager for Fake {
        async fn get_secret_value(
            &self,
            _ctx: &RequestContext,
            input: GetSecretValueRequest,
        ) -> Result<GetSecretValueResponse, SecretsManagerError> {
            match input.secret_id.as_str() {
                "db" => Ok(GetSecretValueResponse {
                    name: Some("db".into()),
                    secret_string: Some("pw".into()),
                    ..Default::default()
                }),
                "boom" => Err(SecretsManagerError::internal_service_error("failed")),
                _ => Err(SecretsManagerError::resource_not_found(
                    "Secrets Manager can't find the specified secret.",
                )),
            }
        }
    }

    #[test]
    fn every_operation_answers_not_implemented_by_default() {
        struct Nothing;
        impl SecretsManager for Nothing {}
        every_operation_defaults_to_not_implemented(&SERVICE, |op, input| {
            run(dispatch(&Nothing, &ctx(), op, input))
        });
    }

    #[test]
    fn get_secret_value_is_dispatched() {
        let out = run(dispatch(
            &Fake,
            &ctx(),
            op(&SERVICE, "GetSecretValue"),
            json!({"SecretId": "db"}),
        ));
        assert_eq!(out, Ok(json!({"Name": "db", "SecretString": "pw"})));
    }

    #[test]
    fn errors_use_shape_names_and_fault_defaults() {
        let get = op(&SERVICE, "GetSecretValue");
        let err = run(dispatch(&Fake, &ctx(), get, json!({"SecretId": "x"}))).unwrap_err();
        assert_eq!(
            (err.status, err.code.as_ref(), err.sender_fault),
            (400, "ResourceNotFoundException", true)
        );
        let err = run(dispatch(&Fake, &ctx(), get, json!({"SecretId": "boom"}))).unwrap_err();
        assert_eq!(
            (err.status, err.code.as_ref(), err.sender_fault),
            (500, "InternalServiceError", false)
        );
        let v = AwsError::from(SecretsManagerError::validation("bad"));
        assert_eq!(v.code, "ValidationException");
        let err = run(dispatch(&Fake, &ctx(), get, json!({"SecretId": ["db"]}))).unwrap_err();
        assert_eq!(
            (err.status, err.code.as_ref()),
            (400, "SerializationException")
        );
    }
}

#[cfg(feature = "iam")]
mod iam {
    use super::*;
    use coffer_model::iam::{dispatch, DeleteUserRequest, Iam, IamError, SERVICE};

    struct Fake;

    impl Iam for Fake {
        async fn delete_user(
            &self,
            _ctx: &RequestContext,
            input: DeleteUserRequest,
        ) -> Result<(), IamError> {
            if input.user_name == "alice" {
                Ok(())
            } else {
                Err(IamError::no_such_entity(format!(
                    "The user with name {} cannot be found.",
                    input.user_name
                )))
            }
        }
    }

    #[test]
    fn operations_without_output_return_null() {
        let del = op(&SERVICE, "DeleteUser");
        let out = run(dispatch(&Fake, &ctx(), del, json!({"UserName": "alice"})));
        assert_eq!(out, Ok(Value::Null));
        let err = run(dispatch(&Fake, &ctx(), del, json!({"UserName": "bob"}))).unwrap_err();
        assert_eq!((err.status, err.code.as_ref()), (404, "NoSuchEntity"));
    }

    #[test]
    fn every_operation_answers_not_implemented_by_default() {
        struct Nothing;
        impl Iam for Nothing {}
        every_operation_defaults_to_not_implemented(&SERVICE, |op, input| {
            run(dispatch(&Nothing, &ctx(), op, input))
        });
    }
}
