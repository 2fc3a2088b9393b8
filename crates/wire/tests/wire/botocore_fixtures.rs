//! Real IAM and STS responses kept by botocore as parser fixtures: encoding the parsed values
//! must give the same XML structure (element order aside: the fixtures predate the models'
//! member order).

use coffer_model::AwsError;
use coffer_wire::{encode_query_error, encode_query_response};
use serde_json::Value;

use crate::botocore_model::AwsModel;
use crate::support::{canonical, testdata_dir};
use crate::xml_compare::{self, Mode};

/// Fixtures whose JSON is not the wire value, so the XML cannot be reproduced from it:
/// botocore URL-decodes and parses IAM policy documents into objects (`get-user-policy`,
/// `list-roles`), and three fixtures predate the current IAM model and carry elements it no
/// longer has, which botocore drops (`UserName` in list-access-keys and
/// list-signing-certificates, `Id` in list-instance-profiles).
const NOT_WIRE_VALUES: &[&str] = &[
    "iam-get-user-policy",
    "iam-list-roles",
    "iam-list-access-keys",
    "iam-list-signing-certificates",
    "iam-list-instance-profiles",
];

fn fixtures(kind: &str) -> Vec<(String, Vec<u8>, Value)> {
    let dir = testdata_dir()
        .join("smithy-protocol-tests/botocore-response-fixtures")
        .join(kind);
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("fixtures folder") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|x| x != "xml") {
            continue;
        }
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let xml = std::fs::read(&path).unwrap();
        let json: Value =
            serde_json::from_str(&std::fs::read_to_string(path.with_extension("json")).unwrap())
                .unwrap();
        out.push((stem, xml, json));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn model_for(stem: &str) -> (AwsModel, &str) {
    let (svc, op) = stem.split_once('-').unwrap();
    match svc {
        "iam" => (AwsModel::iam(), op),
        "sts" => (AwsModel::sts(), op),
        other => panic!("unknown service {other}"),
    }
}

#[test]
fn responses_reproduce_botocore_fixtures() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for (stem, xml, mut json) in fixtures("responses") {
        if NOT_WIRE_VALUES.contains(&stem.as_str()) {
            continue;
        }
        let (model, op_name) = model_for(&stem);
        let op = model.operation_named_like(op_name);
        let request_id = json["ResponseMetadata"]["RequestId"]
            .as_str()
            .unwrap()
            .to_string();
        json.as_object_mut().unwrap().remove("ResponseMetadata");
        let output = canonical(&json, op.output.expect("output shape"), true);
        let ours = encode_query_response(model.service(), op, &output, &request_id);
        let result = xml_compare::parse(&ours).and_then(|actual| {
            let expected = xml_compare::parse(&xml)?;
            xml_compare::compare(&expected, &actual, Mode { ordered: false })
        });
        if let Err(e) = result {
            failures.push(format!("{stem}: {e}"));
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(checked, 11);
}

#[test]
fn errors_reproduce_botocore_fixtures() {
    let fixtures = fixtures("errors");
    assert_eq!(fixtures.len(), 2);
    for (stem, xml, json) in fixtures {
        let (model, _) = model_for(&stem);
        let e = &json["Error"];
        let err = AwsError {
            status: 400,
            code: e["Code"].as_str().unwrap().to_string().into(),
            message: e["Message"].as_str().map(str::to_string),
            sender_fault: e["Type"] == "Sender",
        };
        let request_id = json["ResponseMetadata"]["RequestId"].as_str().unwrap();
        let ours = encode_query_error(Some(model.service().xml_namespace), &err, request_id);
        let expected = xml_compare::parse(&xml).unwrap();
        let actual = xml_compare::parse(&ours).unwrap();
        xml_compare::compare(&expected, &actual, Mode { ordered: true })
            .unwrap_or_else(|e| panic!("{stem}: {e}"));
    }
}
