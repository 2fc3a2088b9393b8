//! Smithy's awsQuery and awsJson1_1 protocol compliance cases (`testdata/smithy-protocol-tests`),
//! run from the server's side: requests are decoded and compared with `params`, `params` are
//! encoded and compared with the response body. Every case either runs or is named, with its
//! reason, in `tests/smithy-skip.txt`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use coffer_model::schema::Service;
use coffer_model::AwsError;
use coffer_wire::{
    decode_json_input, decode_query_input, encode_json_error, encode_json_response,
    encode_query_error, encode_query_response, parse_query_params,
};
use serde_json::{json, Value};

use crate::smithy_model::Model;
use crate::support::{canonical, leak, same_json, testdata_dir};
use crate::xml_compare::{self, Mode};

fn suite_dir() -> PathBuf {
    testdata_dir().join("smithy-protocol-tests")
}

fn smithy_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(suite_dir().join(dir))
        .expect("protocol test folder")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "smithy"))
        .collect();
    files.push(suite_dir().join("shared-types.smithy"));
    files.sort();
    files
}

fn load_model(dir: &str) -> Model {
    let files = smithy_files(dir);
    let refs: Vec<&std::path::Path> = files.iter().map(|p| p.as_path()).collect();
    Model::load(&refs)
}

/// `request|response <id>` → reason.
fn skip_list() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/smithy-skip.txt"
    ))
    .expect("tests/smithy-skip.txt");
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.splitn(3, char::is_whitespace);
        let kind = parts.next().unwrap_or_default();
        let id = parts.next().unwrap_or_default();
        let reason = parts.next().unwrap_or_default().trim();
        assert!(
            matches!(kind, "request" | "response") && !id.is_empty() && !reason.is_empty(),
            "bad skip line: {line}"
        );
        assert!(
            out.insert(format!("{kind} {id}"), reason.to_string())
                .is_none(),
            "duplicate skip: {line}"
        );
    }
    out
}

fn key_of(case: &Value) -> String {
    let kind = match case["trait"].as_str() {
        Some("httpRequestTests") => "request",
        _ => "response",
    };
    format!("{kind} {}", case["id"].as_str().unwrap_or_default())
}

fn query_service() -> &'static Service {
    leak(Service {
        signing_name: "awsquery",
        api_version: "2020-01-08",
        xml_namespace: "https://example.com/",
        target_prefix: None,
        operations: &[],
    })
}

#[test]
fn smithy_protocol_cases() {
    let data: Value = serde_json::from_str(
        &std::fs::read_to_string(suite_dir().join("test-cases.json")).expect("test-cases.json"),
    )
    .expect("valid JSON");
    let cases = data["cases"].as_array().expect("cases");
    let skips = skip_list();
    let query = load_model("awsQuery");
    let json11 = load_model("awsJson1_1");

    let mut ran = 0;
    let mut failures = Vec::new();
    let mut seen = Vec::new();
    for case in cases {
        let key = key_of(case);
        seen.push(key.clone());
        if skips.contains_key(&key) {
            continue;
        }
        let request = key.starts_with("request");
        let result = match case["protocol"].as_str() {
            Some("awsQuery") if request => query_request(&query, case),
            Some("awsQuery") => query_response(&query, case),
            Some("awsJson1_1") if request => json_request(&json11, case),
            Some("awsJson1_1") => json_response(&json11, case),
            other => Err(format!(
                "protocol {other:?} is not run; list it in the skip file"
            )),
        };
        ran += 1;
        if let Err(e) = result {
            failures.push(format!("{key}: {e}"));
        }
    }
    let stale: Vec<&String> = skips.keys().filter(|k| !seen.contains(k)).collect();
    assert!(stale.is_empty(), "skip entries naming no case: {stale:?}");
    assert!(
        failures.is_empty(),
        "{} of {ran} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Guards against a skip list that silently grows to cover everything.
    assert!(ran >= 120, "only {ran} cases ran");
}

fn params(case: &Value) -> Value {
    case.get("params").cloned().unwrap_or_else(|| json!({}))
}

fn query_request(model: &Model, case: &Value) -> Result<(), String> {
    let target = case["target"].as_str().ok_or("no target")?;
    let op = model.operation(target);
    let body = case["body"].as_str().unwrap_or("");
    let pairs = parse_query_params("", Some(body.as_bytes())).map_err(|e| format!("{e:?}"))?;
    let action = pairs
        .iter()
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v.as_str());
    if action != Some(target) {
        return Err(format!("Action {action:?} != {target}"));
    }
    let got = decode_query_input(&pairs, op.input).map_err(|e| format!("{e:?}"))?;
    let expected = match op.input {
        Some(shape) => canonical(&params(case), shape, true),
        None => json!({}),
    };
    if same_json(&expected, &got) {
        Ok(())
    } else {
        Err(format!("decoded {got}, expected {expected}"))
    }
}

fn expected_request_id(body: &str) -> String {
    xml_compare::parse(body.as_bytes())
        .ok()
        .and_then(|root| {
            let direct = root.child("RequestId").map(|e| e.text.clone());
            direct.or_else(|| {
                root.child("ResponseMetadata")
                    .and_then(|m| m.child("RequestId"))
                    .map(|e| e.text.clone())
            })
        })
        .unwrap_or_else(|| "request-id".to_string())
}

fn query_response(model: &Model, case: &Value) -> Result<(), String> {
    let target = case["target"].as_str().ok_or("no target")?;
    let body = case["body"].as_str().unwrap_or("");
    let request_id = expected_request_id(body);
    let bytes = if model.is_operation(target) {
        if case["code"].as_i64() != Some(200) {
            return Err("operation response case without status 200".into());
        }
        let op = model.operation(target);
        let output = match op.output {
            Some(shape) => canonical(&params(case), shape, true),
            None => Value::Null,
        };
        encode_query_response(query_service(), op, &output, &request_id)
    } else {
        let info = model.error_info(target, true);
        if case["code"].as_u64() != Some(u64::from(info.http_status)) {
            return Err(format!("status {} != {}", info.http_status, case["code"]));
        }
        let err = aws_error(info, &params(case));
        encode_query_error(None, &err, &request_id)
    };
    let actual = xml_compare::parse(&bytes).map_err(|e| format!("our XML does not parse: {e}"))?;
    if body.trim().is_empty() {
        // No body to compare: the envelope must still be right.
        let op = model.operation(target);
        let has_result = actual.child(&format!("{target}Result")).is_some();
        let ok = actual.name == format!("{target}Response")
            && has_result == op.output.is_some()
            && actual.child("ResponseMetadata").is_some();
        return if ok {
            Ok(())
        } else {
            Err(format!("bad envelope {actual:?}"))
        };
    }
    let expected = xml_compare::parse(body.as_bytes()).map_err(|e| format!("case XML: {e}"))?;
    let mut actual = actual;
    if expected.child("ResponseMetadata").is_none() {
        actual.children.retain(|c| c.name != "ResponseMetadata");
    }
    xml_compare::compare(&expected, &actual, Mode { ordered: true })
}

fn aws_error(info: coffer_model::schema::ErrorInfo, params: &Value) -> AwsError {
    AwsError {
        status: info.http_status,
        code: info.code.into(),
        message: params["Message"].as_str().map(str::to_string),
        sender_fault: info.sender_fault,
    }
}

fn json_request(model: &Model, case: &Value) -> Result<(), String> {
    let target = case["target"].as_str().ok_or("no target")?;
    let op = model.operation(target);
    let body = case["body"].as_str().unwrap_or("");
    let got = decode_json_input(body.as_bytes(), op.input).map_err(|e| format!("{e:?}"))?;
    let expected = match op.input {
        Some(shape) => canonical(&params(case), shape, true),
        None => json!({}),
    };
    if same_json(&expected, &got) {
        Ok(())
    } else {
        Err(format!("decoded {got}, expected {expected}"))
    }
}

fn json_response(model: &Model, case: &Value) -> Result<(), String> {
    let target = case["target"].as_str().ok_or("no target")?;
    let body = case["body"].as_str().unwrap_or("");
    let bytes = if model.is_operation(target) {
        let op = model.operation(target);
        let output = match op.output {
            Some(shape) => canonical(&params(case), shape, true),
            None => Value::Null,
        };
        encode_json_response(&output)
    } else {
        let info = model.error_info(target, false);
        if case["code"].as_u64() != Some(u64::from(info.http_status)) {
            return Err(format!("status {} != {}", info.http_status, case["code"]));
        }
        encode_json_error(&aws_error(info, &params(case)))
    };
    if body.trim().is_empty() {
        return if bytes.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "expected no body, got {}",
                String::from_utf8_lossy(&bytes)
            ))
        };
    }
    let expected: Value = serde_json::from_str(body).map_err(|e| format!("case JSON: {e}"))?;
    let actual: Value = serde_json::from_slice(&bytes).map_err(|e| format!("our JSON: {e}"))?;
    if has_null(&actual) {
        return Err(format!("null in response body {actual}"));
    }
    if same_json(&expected, &actual) {
        Ok(())
    } else {
        Err(format!("encoded {actual}, expected {expected}"))
    }
}

fn has_null(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.iter().any(has_null),
        Value::Object(m) => m.values().any(has_null),
        _ => false,
    }
}
