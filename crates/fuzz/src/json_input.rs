//! Target `json_input`: an AWS JSON 1.1 request body through `decode_json_input` and
//! `validate`, then the generated dispatcher's typed decoding, as the server runs them.
//!
//! Input: `<X-Amz-Target>\n<body>`, e.g. `secretsmanager.CreateSecret\n{"Name":"x"}`. A target
//! naming no operation picks one by its hash (IAM and STS shapes are used too: the decoder is
//! shape-driven, and their shapes have timestamps, maps and nested lists that Secrets Manager's
//! lack).
//!
//! Properties:
//! - nothing panics; every error is a 400 whose JSON 1.1 error body parses and names its code;
//! - decoding is deterministic, and decoding is a fixpoint: encoding a decoded value and
//!   decoding it again gives the same value;
//! - no value of a sensitive member appears in a validation message, in any service's wording;
//! - a value that passes validation deserializes into the operation's typed request.

use coffer_model::schema::{Kind, Shape};
use coffer_model::Protocol;
use coffer_wire::{
    decode_json_input, encode_json_error, encode_json_response, validate, WireError,
};

use crate::operations::{self, assert_typed_decoding_accepts};
use crate::split::first_line;

pub fn run(data: &[u8]) {
    let (target, body) = first_line(data);
    let op = std::str::from_utf8(target)
        .ok()
        .and_then(operations::by_target)
        .unwrap_or_else(|| operations::by_hash(target));

    let decoded = match decode_json_input(body, op.op.input) {
        Ok(v) => v,
        Err(e) => return assert_client_error(&e),
    };
    assert!(decoded.is_object(), "decoded input is not an object");
    let again = decode_json_input(body, op.op.input).expect("second decode");
    assert_eq!(decoded, again, "decoding is not deterministic");

    let Some(shape) = op.op.input else {
        return;
    };
    // Input timestamps with a string format override are written as epoch seconds by the
    // encoder, which is the output convention; such shapes have no fixpoint to check.
    if !has_formatted_timestamp(shape, 0) {
        let encoded = encode_json_response(&decoded);
        let redecoded = decode_json_input(&encoded, Some(shape)).unwrap_or_else(|e| {
            panic!(
                "{}: encoded input {} does not decode: {e:?}",
                op.op.name,
                String::from_utf8_lossy(&encoded)
            )
        });
        assert_eq!(
            redecoded, decoded,
            "{}: decode is not a fixpoint",
            op.op.name
        );
    }

    crate::sensitive::assert_never_echoed(&decoded, shape);
    match validate(&decoded, shape) {
        Ok(()) => assert_typed_decoding_accepts(op, decoded),
        Err(e) => {
            assert!(matches!(&e, WireError::Validation(v) if !v.is_empty()));
            assert_client_error(&e);
        }
    }
}

fn has_formatted_timestamp(shape: &'static Shape, depth: usize) -> bool {
    if depth > 8 {
        return false;
    }
    match &shape.kind {
        Kind::Structure { members } => members.iter().any(|m| {
            (matches!(m.target.kind, Kind::Timestamp)
                && m.timestamp_format.or(m.target.timestamp_format).is_some())
                || has_formatted_timestamp(m.target, depth + 1)
        }),
        Kind::List { member, .. } => has_formatted_timestamp(member, depth + 1),
        Kind::Map { value, .. } => has_formatted_timestamp(value, depth + 1),
        Kind::Timestamp => shape.timestamp_format.is_some(),
        _ => false,
    }
}

fn assert_client_error(e: &WireError) {
    let aws = e.to_aws(Protocol::Json);
    assert_eq!(aws.status, 400, "{e:?} answers HTTP {}", aws.status);
    let body = encode_json_error(&aws);
    let parsed: serde_json::Value = serde_json::from_slice(&body).expect("the error body is JSON");
    assert_eq!(parsed["__type"], aws.code.as_ref(), "error body {parsed}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_body_goes_all_the_way() {
        let op = operations::by_target("secretsmanager.CreateSecret").unwrap();
        let body = br#"{"Name":"n","SecretBinary":"AAEC","Tags":[{"Key":"k","Value":"v"}]}"#;
        let decoded = decode_json_input(body, op.op.input).unwrap();
        validate(&decoded, op.op.input.unwrap()).unwrap();
        let mut input = b"secretsmanager.CreateSecret\n".to_vec();
        input.extend_from_slice(body);
        run(&input);
    }

    #[test]
    fn errors_are_400_with_a_json_body() {
        for body in [
            &b"{"[..],
            b"[]",
            br#"{"SecretId": 5}"#,
            br#"{"SecretId": ""}"#,
        ] {
            let mut input = b"secretsmanager.GetSecretValue\n".to_vec();
            input.extend_from_slice(body);
            run(&input);
        }
        let op = operations::by_target("secretsmanager.GetSecretValue").unwrap();
        let err = decode_json_input(br#"{"SecretId": 5}"#, op.op.input).unwrap_err();
        assert_client_error(&err);
    }
}
