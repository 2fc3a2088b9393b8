//! Target `query_form`: an AWS Query request body (`Action=AssumeRole&Version=2011-06-15&…`)
//! through `parse_query_params`, `decode_query_input` and `validate`, as the server runs them.
//!
//! Input: the raw form body. The operation is the one `Action` and `Version` name, else one
//! chosen by a hash of the `Action` value.
//!
//! Properties:
//! - nothing panics; every error is a client error (4xx) in AWS's Query envelope;
//! - decoding is deterministic, and decode ∘ encode is the identity on decoded values: the
//!   reference serializer's parameters, as pairs and as a percent-encoded body, decode back to
//!   the same canonical value;
//! - no value of a sensitive member appears in a validation message, in any service's wording;
//! - a value that passes validation deserializes into the operation's typed request.

use coffer_model::Protocol;
use coffer_wire::{
    decode_query_input, encode_query_error, parse_query_params, validate, WireError,
};

use crate::operations::{self, assert_typed_decoding_accepts, Op};
use crate::query_encode::{encode_input, form_body};

pub fn run(data: &[u8]) {
    let params = match parse_query_params("", Some(data)) {
        Ok(params) => params,
        Err(e) => return assert_client_error(&e),
    };
    let op = operation(&params);
    let decoded = match decode_query_input(&params, op.op.input) {
        Ok(v) => v,
        Err(e) => return assert_client_error(&e),
    };
    let again = decode_query_input(&params, op.op.input).expect("second decode");
    assert_eq!(decoded, again, "decoding is not deterministic");

    let Some(shape) = op.op.input else {
        assert_eq!(decoded, serde_json::json!({}));
        return;
    };
    let encoded = encode_input(&decoded, shape);
    let round_trip = decode_query_input(&encoded, Some(shape))
        .unwrap_or_else(|e| panic!("re-encoded input {encoded:?} does not decode: {e:?}"));
    assert_eq!(
        round_trip, decoded,
        "{}: decode(encode(v)) != v for parameters {encoded:?}",
        op.op.name
    );
    let body = form_body(&encoded);
    let reparsed = parse_query_params("", Some(body.as_bytes()))
        .unwrap_or_else(|e| panic!("encoded body {body:?} does not parse: {e:?}"));
    assert_eq!(reparsed, encoded, "percent-encoding does not round trip");

    crate::sensitive::assert_never_echoed(&decoded, shape);
    match validate(&decoded, shape) {
        Ok(()) => assert_typed_decoding_accepts(op, decoded),
        Err(e) => {
            assert!(matches!(&e, WireError::Validation(v) if !v.is_empty()));
            assert_client_error(&e);
        }
    }
}

fn operation(params: &[(String, String)]) -> Op {
    let first = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let action = first("Action").unwrap_or_default();
    first("Version")
        .and_then(|version| operations::by_action(version, action))
        .unwrap_or_else(|| operations::by_hash(action.as_bytes()))
}

fn assert_client_error(e: &WireError) {
    let aws = e.to_aws(Protocol::Query);
    assert!(
        (400..500).contains(&aws.status),
        "{e:?} answers HTTP {}",
        aws.status
    );
    let xml = encode_query_error(None, &aws, "fuzz");
    crate::xml_output::assert_well_formed(&xml);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The deeper properties are reachable: a real STS form decodes, round trips, validates and
    /// reaches the service, and a form with a bad parameter is a 400.
    #[test]
    fn a_real_form_goes_all_the_way() {
        let body = b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fdemo&RoleSessionName=s1&Tags.member.1.Key=k&Tags.member.1.Value=v&DurationSeconds=900";
        let params = parse_query_params("", Some(body)).unwrap();
        let op = operation(&params);
        assert_eq!(op.op.name, "AssumeRole");
        let decoded = decode_query_input(&params, op.op.input).unwrap();
        validate(&decoded, op.op.input.unwrap()).unwrap();
        run(body);

        let bad = b"Action=AssumeRole&Version=2011-06-15&DurationSeconds=soon";
        let params = parse_query_params("", Some(bad)).unwrap();
        let err = decode_query_input(&params, operation(&params).op.input).unwrap_err();
        assert_eq!(err.to_aws(Protocol::Query).status, 400);
        run(bad);
    }

    #[test]
    fn the_reference_encoder_writes_what_botocore_writes() {
        let op = operations::by_action("2010-05-08", "TagUser").unwrap();
        let value = serde_json::json!({"UserName": "a b", "Tags": [{"Key": "k", "Value": "v&="}]});
        let params = encode_input(&value, op.op.input.unwrap());
        assert_eq!(
            form_body(&params),
            "UserName=a%20b&Tags.member.1.Key=k&Tags.member.1.Value=v%26%3D"
        );
    }
}
