//! Presigned (query-string) SigV4: `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`,
//! `X-Amz-SignedHeaders`, `X-Amz-Signature`, optional `X-Amz-Expires` and `X-Amz-Security-Token`.

use http::HeaderMap;

use crate::amz_date::parse_basic;
use crate::encoding::Param;
use crate::error::AuthError;
use crate::request::{Kind, SignedRequest, V4Signature};
use crate::v4_fields::{bad_date, check_signed_headers, parse_credential, parse_signature};
use crate::SIGV4_ALGORITHM;

const REQUIRED: [&str; 5] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
];
const OPTIONAL: [&str; 2] = ["X-Amz-Expires", "X-Amz-Security-Token"];

/// The single value of an authentication parameter; a repeated one is ambiguous, so malformed.
fn single<'a>(params: &'a [Param], name: &str) -> Result<Option<&'a str>, AuthError> {
    let mut values = params.iter().filter(|p| p.name_is(name));
    let first = values.next();
    if values.next().is_some() {
        return Err(AuthError::Incomplete(format!(
            "The query-string parameter '{name}' must not be repeated."
        )));
    }
    match first {
        None => Ok(None),
        Some(p) => std::str::from_utf8(&p.value).map(Some).map_err(|_| {
            AuthError::Incomplete(format!(
                "The query-string parameter '{name}' is not valid UTF-8."
            ))
        }),
    }
}

pub(crate) fn parse(query: &[Param], headers: &HeaderMap) -> Result<SignedRequest, AuthError> {
    let mut required = [None; 5];
    for (slot, name) in required.iter_mut().zip(REQUIRED) {
        *slot = single(query, name)?.filter(|v| !v.is_empty());
    }
    let [Some(algorithm), Some(credential), Some(signature), Some(date), Some(signed_headers)] =
        required
    else {
        let missing: Vec<String> = REQUIRED
            .iter()
            .zip(required.iter())
            .filter(|(_, v)| v.is_none())
            .map(|(n, _)| format!("'{n}'"))
            .collect();
        return Err(AuthError::Incomplete(format!(
            "AWS query-string parameters must include {}. Re-examine the query-string parameters.",
            missing.join(", ")
        )));
    };
    let [expires, token_param] = [single(query, OPTIONAL[0])?, single(query, OPTIONAL[1])?];

    if algorithm != SIGV4_ALGORITHM {
        return Err(AuthError::UnsupportedAlgorithm(
            algorithm.chars().take(64).collect(),
        ));
    }
    let (access_key_id, scope) = parse_credential(credential)?;
    let signature = parse_signature(signature)?;
    check_signed_headers(signed_headers)?;
    let request_time = parse_basic(date).ok_or_else(|| bad_date(date))?;

    // A token appended after signing may also travel as a header (docs/protocol-facts.md fact 7).
    let session_token = match token_param {
        Some(t) => Some(t.to_string()),
        None => headers
            .get("x-amz-security-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    };

    Ok(SignedRequest {
        access_key_id,
        session_token,
        kind: Kind::V4(V4Signature {
            presigned: true,
            scope,
            signed_headers: signed_headers.to_string(),
            signature,
            request_time,
            // Exactly the basic form (parse_basic is strict), so it is signed as sent.
            amz_date: date.to_string(),
            expires: expires.map(str::to_string),
        }),
    })
}
