//! The schema statics agree with the AWS model files they were generated from: every operation,
//! every reachable shape, every constraint and error trait.

use std::collections::BTreeSet;
use std::path::PathBuf;

use coffer_model::schema::{Kind, Service, Shape};
use serde_json::Value;

fn model(service: &str, version: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/aws-models")
        .join(service)
        .join(version)
        .join("service-2.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn shape_name(v: &Value) -> Option<&str> {
    v.get("shape").and_then(Value::as_str)
}

/// Every operation of the model is in the table with the model's input, output, result wrapper,
/// errors and method; and the table has nothing else.
fn check_operations(service: &Service, model: &Value) {
    let ops = model["operations"].as_object().unwrap();
    assert_eq!(service.operations.len(), ops.len());
    for (name, op) in ops {
        let found = service
            .operation(name)
            .unwrap_or_else(|| panic!("{name} missing from SERVICE"));
        assert_eq!(
            found.input.map(|s| s.name),
            shape_name(&op["input"]),
            "{name}"
        );
        assert_eq!(
            found.output.map(|s| s.name),
            shape_name(&op["output"]),
            "{name}"
        );
        assert_eq!(
            found.result_wrapper,
            op["output"]["resultWrapper"].as_str(),
            "{name}"
        );
        let errors: Vec<&str> = op["errors"]
            .as_array()
            .map(|a| a.iter().filter_map(shape_name).collect())
            .unwrap_or_default();
        let found_errors: Vec<&str> = found.errors.iter().map(|e| e.name).collect();
        assert_eq!(found_errors, errors, "{name}");
        assert_eq!(found.http_method, op["http"]["method"].as_str().unwrap());
    }
    let names: BTreeSet<&str> = service.operations.iter().map(|o| o.name).collect();
    assert_eq!(names.len(), ops.len(), "duplicate operation names");
}

/// Walks every shape reachable from the table and compares it with the model.
fn check_shapes(service: &Service, model: &Value) {
    let shapes = model["shapes"].as_object().unwrap();
    let mut stack: Vec<&'static Shape> = Vec::new();
    for op in service.operations {
        stack.extend(op.input);
        stack.extend(op.output);
        stack.extend(op.errors.iter().copied());
    }
    let mut seen = BTreeSet::new();
    while let Some(shape) = stack.pop() {
        if !seen.insert(shape.name) {
            continue;
        }
        let m = &shapes[shape.name];
        let name = shape.name;
        assert_eq!(shape.min, m["min"].as_i64(), "{name} min");
        assert_eq!(shape.max, m["max"].as_i64(), "{name} max");
        assert_eq!(shape.pattern, m["pattern"].as_str(), "{name} pattern");
        let enums: Vec<&str> = m["enum"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert_eq!(shape.enum_values, enums.as_slice(), "{name} enum");
        if m["sensitive"].as_bool() == Some(true) {
            assert!(shape.sensitive, "{name} is sensitive in the model");
        }
        let ty = m["type"].as_str().unwrap();
        match &shape.kind {
            Kind::Structure { members } => {
                assert_eq!(ty, "structure", "{name}");
                let model_members = m["members"].as_object().unwrap();
                let required: BTreeSet<&str> = m["required"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let names: Vec<&str> = members.iter().map(|mm| mm.name).collect();
                let model_names: Vec<&str> = model_members.keys().map(String::as_str).collect();
                assert_eq!(names, model_names, "{name} members");
                for member in *members {
                    let mm = &model_members[member.name];
                    assert_eq!(
                        Some(member.target.name),
                        shape_name(mm),
                        "{name}.{}",
                        member.name
                    );
                    assert_eq!(member.required, required.contains(member.name));
                    assert_eq!(
                        member.idempotency_token,
                        mm["idempotencyToken"].as_bool() == Some(true)
                    );
                    stack.push(member.target);
                }
            }
            Kind::List {
                member,
                member_name,
                flattened,
            } => {
                assert_eq!(ty, "list", "{name}");
                assert_eq!(Some(member.name), shape_name(&m["member"]));
                assert_eq!(*member_name, "member");
                assert!(!flattened);
                stack.push(member);
            }
            Kind::Map { key, value, .. } => {
                assert_eq!(ty, "map", "{name}");
                assert_eq!(Some(key.name), shape_name(&m["key"]));
                assert_eq!(Some(value.name), shape_name(&m["value"]));
                stack.push(key);
                stack.push(value);
            }
            Kind::String => assert_eq!(ty, "string", "{name}"),
            Kind::Integer => assert_eq!(ty, "integer", "{name}"),
            Kind::Long => assert_eq!(ty, "long", "{name}"),
            Kind::Boolean => assert_eq!(ty, "boolean", "{name}"),
            Kind::Float => assert_eq!(ty, "float", "{name}"),
            Kind::Double => assert_eq!(ty, "double", "{name}"),
            Kind::Timestamp => assert_eq!(ty, "timestamp", "{name}"),
            Kind::Blob => assert_eq!(ty, "blob", "{name}"),
        }
        let is_error = m["exception"].as_bool() == Some(true);
        assert_eq!(shape.error.is_some(), is_error, "{name} error trait");
        if let Some(info) = shape.error {
            let e = &m["error"];
            let fault = m["fault"].as_bool() == Some(true);
            assert_eq!(info.code, e["code"].as_str().unwrap_or(name), "{name} code");
            let status = e["httpStatusCode"]
                .as_u64()
                .unwrap_or(if fault { 500 } else { 400 });
            assert_eq!(u64::from(info.http_status), status, "{name} status");
            let sender = if e.is_object() {
                e["senderFault"].as_bool() == Some(true)
            } else {
                !fault
            };
            assert_eq!(info.sender_fault, sender, "{name} fault side");
        }
    }
    assert!(seen.len() > service.operations.len());
}

#[cfg(feature = "sts")]
#[test]
fn sts_table_matches_the_model() {
    let m = model("sts", "2011-06-15");
    let svc = &coffer_model::sts::SERVICE;
    check_operations(svc, &m);
    check_shapes(svc, &m);
    assert_eq!(svc.signing_name, "sts");
    assert_eq!(svc.api_version, "2011-06-15");
    assert_eq!(
        svc.xml_namespace,
        "https://sts.amazonaws.com/doc/2011-06-15/"
    );
    assert_eq!(svc.target_prefix, None);
    assert_eq!(svc.operations.len(), 11);
    let op = svc.operation("GetCallerIdentity").unwrap();
    assert_eq!(op.result_wrapper, Some("GetCallerIdentityResult"));
    // The session token is a bearer credential: sensitive although the model does not say so.
    assert!(coffer_model::sts::schema::TOKEN_TYPE.sensitive);
}

#[cfg(feature = "secretsmanager")]
#[test]
fn secretsmanager_table_matches_the_model() {
    let m = model("secretsmanager", "2017-10-17");
    let svc = &coffer_model::secretsmanager::SERVICE;
    check_operations(svc, &m);
    check_shapes(svc, &m);
    assert_eq!(svc.signing_name, "secretsmanager");
    assert_eq!(svc.target_prefix, Some("secretsmanager"));
    assert_eq!(
        svc.xml_namespace,
        "https://secretsmanager.amazonaws.com/doc/2017-10-17/"
    );
    assert_eq!(svc.operations.len(), 23);
    let op = svc.operation("GetSecretValue").unwrap();
    assert_eq!(op.result_wrapper, None);
    let internal = &coffer_model::secretsmanager::schema::INTERNAL_SERVICE_ERROR;
    let info = internal.error.unwrap();
    assert_eq!(
        (info.code, info.http_status, info.sender_fault),
        ("InternalServiceError", 500, false)
    );
}

#[cfg(feature = "iam")]
#[test]
fn iam_table_matches_the_model() {
    let m = model("iam", "2010-05-08");
    let svc = &coffer_model::iam::SERVICE;
    check_operations(svc, &m);
    check_shapes(svc, &m);
    assert_eq!(svc.signing_name, "iam");
    assert_eq!(
        svc.xml_namespace,
        "https://iam.amazonaws.com/doc/2010-05-08/"
    );
    assert_eq!(svc.operations.len(), 176);
    let info = coffer_model::iam::schema::NO_SUCH_ENTITY_EXCEPTION
        .error
        .unwrap();
    assert_eq!(
        (info.code, info.http_status, info.sender_fault),
        ("NoSuchEntity", 404, true)
    );
    let info = coffer_model::iam::schema::POLICY_EVALUATION_EXCEPTION
        .error
        .unwrap();
    assert_eq!(
        (info.code, info.http_status, info.sender_fault),
        ("PolicyEvaluation", 500, false)
    );
    let op = svc.operation("GetAccountSummary").unwrap();
    assert!(op.input.is_none());
    let op = svc.operation("DeleteUser").unwrap();
    assert!(op.output.is_none());
    assert_eq!(op.result_wrapper, None);
}
