//! `requestParameters` and `responseElements`: an operation's canonical input or output, walked
//! by its model shape, as CloudTrail writes them — member names in camelCase (`SecretId` →
//! `secretId`), timestamps as ISO 8601 — and without what an audit trail must not hold: every
//! member whose shape the model marks sensitive (secret values, passwords, secret access keys,
//! session tokens, private keys, MFA seeds; CloudTrail's rule for Secrets Manager: no
//! `SecretString` or `SecretBinary`) and every binary blob (policy-irrelevant, and often a secret
//! in another form). Only members the shape declares are copied, so nothing unknown slips through.

use coffer_model::schema::{Kind, Shape};
use serde_json::{Map, Value};

/// Shapes nest at most this deep in the model; deeper values are cut off, never walked further.
const MAX_DEPTH: usize = 32;

/// The elements of `value` (an operation's input or output) as CloudTrail records them, or `None`
/// when nothing is left (no shape, no members, or only withheld ones).
pub fn cloudtrail_elements(value: &Value, shape: Option<&'static Shape>) -> Option<Value> {
    let shape = shape?;
    match filter(value, shape, 0)? {
        Value::Object(members) if members.is_empty() => None,
        kept => Some(kept),
    }
}

fn filter(value: &Value, shape: &'static Shape, depth: usize) -> Option<Value> {
    if shape.sensitive || value.is_null() || depth > MAX_DEPTH {
        return None;
    }
    match &shape.kind {
        Kind::Blob => None,
        Kind::Structure { members } => {
            let object = value.as_object()?;
            let mut out = Map::new();
            for member in *members {
                let Some(member_value) = object.get(member.name) else {
                    continue;
                };
                if let Some(kept) = filter(member_value, member.target, depth + 1) {
                    out.insert(camel_case(member.name), kept);
                }
            }
            Some(Value::Object(out))
        }
        Kind::List { member, .. } => {
            let items = value.as_array()?;
            Some(Value::Array(
                items
                    .iter()
                    .filter_map(|item| filter(item, member, depth + 1))
                    .collect(),
            ))
        }
        Kind::Map { value: values, .. } => {
            // Map keys are data (tag keys, context keys), kept as they are.
            let entries = value.as_object()?;
            let mut out = Map::new();
            for (key, entry) in entries {
                if let Some(kept) = filter(entry, values, depth + 1) {
                    out.insert(key.clone(), kept);
                }
            }
            Some(Value::Object(out))
        }
        Kind::Timestamp => iso_timestamp(value),
        // Scalars only: a value of another JSON type than its shape's is not copied.
        Kind::String => value.is_string().then(|| value.clone()),
        Kind::Boolean => value.is_boolean().then(|| value.clone()),
        Kind::Integer | Kind::Long | Kind::Float | Kind::Double => {
            (value.is_number() || value.is_string()).then(|| value.clone())
        }
    }
}

/// `SecretId` → `secretId`, `SAMLProviderArn` → `sAMLProviderArn`: the first letter lowered, as
/// CloudTrail names parameters; a name that is one acronym is lowered whole (`ARN` → `arn`, as
/// Secrets Manager's events have it since February 2024).
fn camel_case(name: &str) -> String {
    if name
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return name.to_ascii_lowercase();
    }
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Canonical timestamps are epoch seconds (possibly fractional).
fn iso_timestamp(value: &Value) -> Option<Value> {
    let seconds = value.as_f64()?;
    let millis = (seconds * 1000.0).round();
    if !millis.is_finite() || millis.abs() > 8.64e15 {
        return None;
    }
    let at = chrono::DateTime::from_timestamp_millis(millis as i64)?;
    let text = if at.timestamp_subsec_millis() == 0 {
        at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    };
    Some(Value::String(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input_of(service: &coffer_model::schema::Service, name: &str) -> &'static Shape {
        service
            .operation(name)
            .and_then(|op| op.input)
            .expect("input shape")
    }

    fn output_of(service: &coffer_model::schema::Service, name: &str) -> &'static Shape {
        service
            .operation(name)
            .and_then(|op| op.output)
            .expect("output shape")
    }

    #[test]
    fn create_secret_keeps_names_and_tags_but_never_the_value() {
        let sm = &coffer_model::secretsmanager::SERVICE;
        let input = json!({
            "Name": "prod/db",
            "ClientRequestToken": "tok-1",
            "SecretString": "hunter2-string",
            "SecretBinary": "aHVudGVyMi1iaW5hcnk=",
            "Tags": [{"Key": "team", "Value": "core"}],
        });
        let params = cloudtrail_elements(&input, Some(input_of(sm, "CreateSecret"))).unwrap();
        assert_eq!(
            params,
            json!({
                "name": "prod/db",
                "clientRequestToken": "tok-1",
                "tags": [{"key": "team", "value": "core"}],
            })
        );
    }

    #[test]
    fn sts_credentials_keep_the_key_id_only() {
        let sts = &coffer_model::sts::SERVICE;
        let output = json!({
            "Credentials": {
                "AccessKeyId": "ASIAEXAMPLE",
                "SecretAccessKey": "the-secret",
                "SessionToken": "the-token",
                "Expiration": 1_781_438_400.0,
            },
            "AssumedRoleUser": {"Arn": "arn:aws:sts::1:assumed-role/R/s", "AssumedRoleId": "AROA:s"},
        });
        let elements = cloudtrail_elements(&output, Some(output_of(sts, "AssumeRole"))).unwrap();
        assert_eq!(
            elements["credentials"],
            json!({"accessKeyId": "ASIAEXAMPLE", "expiration": "2026-06-14T12:00:00Z"})
        );
        assert_eq!(elements["assumedRoleUser"]["assumedRoleId"], "AROA:s");
        let text = elements.to_string();
        assert!(!text.contains("the-secret") && !text.contains("the-token"));
    }

    #[test]
    fn iam_passwords_keys_and_mfa_seeds_are_withheld() {
        let iam = &coffer_model::iam::SERVICE;
        let login =
            json!({"UserName": "alice", "Password": "Pa55word!", "PasswordResetRequired": true});
        assert_eq!(
            cloudtrail_elements(&login, Some(input_of(iam, "CreateLoginProfile"))).unwrap(),
            json!({"userName": "alice", "passwordResetRequired": true})
        );
        let key = json!({"AccessKey": {"UserName": "alice", "AccessKeyId": "AKIAX", "Status": "Active",
                         "SecretAccessKey": "wJalrXUtnFEMI", "CreateDate": 0}});
        let kept = cloudtrail_elements(&key, Some(output_of(iam, "CreateAccessKey"))).unwrap();
        assert_eq!(
            kept,
            json!({"accessKey": {"userName": "alice", "accessKeyId": "AKIAX", "status": "Active",
                   "createDate": "1970-01-01T00:00:00Z"}})
        );
        let mfa = json!({"VirtualMFADevice": {"SerialNumber": "arn:aws:iam::1:mfa/m",
                         "Base32StringSeed": "c2VlZA==", "QRCodePNG": "cG5n"}});
        let kept =
            cloudtrail_elements(&mfa, Some(output_of(iam, "CreateVirtualMFADevice"))).unwrap();
        assert_eq!(
            kept,
            json!({"virtualMFADevice": {"serialNumber": "arn:aws:iam::1:mfa/m"}})
        );
    }

    #[test]
    fn undeclared_members_and_empty_results_are_dropped() {
        let sm = &coffer_model::secretsmanager::SERVICE;
        let shape = input_of(sm, "GetSecretValue");
        let input = json!({"SecretId": "db", "Smuggled": "value"});
        assert_eq!(
            cloudtrail_elements(&input, Some(shape)),
            Some(json!({"secretId": "db"}))
        );
        assert_eq!(cloudtrail_elements(&json!({}), Some(shape)), None);
        assert_eq!(cloudtrail_elements(&json!({"SecretId": "db"}), None), None);
        // A value of the wrong type for its shape is dropped rather than copied.
        assert_eq!(
            cloudtrail_elements(&json!({"SecretId": {"nested": "x"}}), Some(shape)),
            None
        );
    }

    #[test]
    fn member_names_are_camel_case() {
        assert_eq!(camel_case("SecretId"), "secretId");
        assert_eq!(camel_case("SAMLProviderArn"), "sAMLProviderArn");
        assert_eq!(camel_case("ARN"), "arn");
        assert_eq!(camel_case("QRCodePNG"), "qRCodePNG");
        assert_eq!(camel_case(""), "");
    }
}
