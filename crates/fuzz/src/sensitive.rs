//! The property that no value of a member the model marks `sensitive` (a secret string, a
//! password, a private key) ever appears in a validation message, whichever way a service words
//! it: every such value is replaced by a canary before validation, and no message may contain
//! the canary.

use coffer_model::schema::{Kind, Shape};
use coffer_model::Protocol;
use coffer_wire::{validate, ValidationStyle, WireError};
use serde_json::{Map, Value};

/// Valid as a string and as base64 (of `CANARYSECRET`), so it stands in for text and blobs.
const CANARY: &str = "Q0FOQVJZU0VDUkVU";

/// Validates `value` with its sensitive values replaced by the canary and panics if a message
/// quotes one. Inputs that carry the canary text in a non-sensitive member are skipped.
pub fn assert_never_echoed(value: &Value, shape: &'static Shape) {
    let mut planted = false;
    let canaried = plant(value, shape, &mut planted, 0);
    if !planted || value.to_string().contains(CANARY) {
        return;
    }
    if let Err(error) = validate(&canaried, shape) {
        assert_no_canary(&error);
    }
}

fn assert_no_canary(error: &WireError) {
    for (protocol, style) in [
        (Protocol::Query, ValidationStyle::QUERY),
        (Protocol::Query, ValidationStyle::IAM),
        (Protocol::Json, ValidationStyle::JSON),
    ] {
        let message = error
            .to_aws_with(protocol, style)
            .message
            .unwrap_or_default();
        assert!(
            !message.contains(CANARY),
            "a sensitive value is echoed in {message:?}"
        );
    }
}

fn plant(value: &Value, shape: &'static Shape, planted: &mut bool, depth: usize) -> Value {
    if shape.sensitive && value.is_string() {
        *planted = true;
        return Value::String(CANARY.to_string());
    }
    if depth > 64 {
        return value.clone();
    }
    match (&shape.kind, value) {
        (Kind::Structure { members }, Value::Object(obj)) => {
            let mut out = Map::new();
            for (k, v) in obj {
                let planted_value = match members.iter().find(|m| m.name == k) {
                    Some(m) => plant(v, m.target, planted, depth + 1),
                    None => v.clone(),
                };
                out.insert(k.clone(), planted_value);
            }
            Value::Object(out)
        }
        (Kind::List { member, .. }, Value::Array(items)) => Value::Array(
            items
                .iter()
                .map(|v| plant(v, member, planted, depth + 1))
                .collect(),
        ),
        (Kind::Map { value: inner, .. }, Value::Object(obj)) => Value::Object(
            obj.iter()
                .map(|(k, v)| (k.clone(), plant(v, inner, planted, depth + 1)))
                .collect(),
        ),
        _ => value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations;

    /// A password that breaks its pattern and a secret string over its length are reported
    /// without their values; the canary really is planted.
    #[test]
    fn sensitive_values_are_planted_and_hidden() {
        let op = operations::by_action("2010-05-08", "ChangePassword").unwrap();
        let shape = op.op.input.unwrap();
        let value = serde_json::json!({"OldPassword": "\u{1}", "NewPassword": ""});
        let mut planted = false;
        let canaried = plant(&value, shape, &mut planted, 0);
        assert!(planted);
        assert_eq!(canaried["OldPassword"], CANARY);
        assert_never_echoed(&value, shape);

        let op = operations::by_target("secretsmanager.CreateSecret").unwrap();
        let shape = op.op.input.unwrap();
        let value = serde_json::json!({"Name": "n", "SecretString": "x".repeat(70_000)});
        assert_never_echoed(&value, shape);
    }

    #[test]
    #[should_panic(expected = "a sensitive value is echoed")]
    fn an_echoed_canary_is_caught() {
        // The canary in a member that is not sensitive is echoed, which is what the check
        // would see if a sensitive member were echoed.
        let op = operations::by_target("secretsmanager.CreateSecret").unwrap();
        let shape = op.op.input.unwrap();
        let value = serde_json::json!({"Name": CANARY.repeat(40), "SecretString": "s"});
        let mut planted = false;
        let canaried = plant(&value, shape, &mut planted, 0);
        assert_no_canary(&validate(&canaried, shape).unwrap_err());
    }
}
