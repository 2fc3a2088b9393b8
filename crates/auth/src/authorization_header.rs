//! `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.

use http::{HeaderMap, HeaderValue};

use crate::amz_date::{format_basic, parse_basic, parse_http_date};
use crate::error::AuthError;
use crate::request::{Kind, SignedRequest, V4Signature};
use crate::v4_fields::{bad_date, check_signed_headers, parse_credential, parse_signature, redact};
use crate::SIGV4_ALGORITHM;

const FIELDS: [&str; 3] = ["Credential", "Signature", "SignedHeaders"];

pub(crate) fn parse(value: &HeaderValue, headers: &HeaderMap) -> Result<SignedRequest, AuthError> {
    let raw = value.to_str().map_err(|_| {
        AuthError::Incomplete(
            "Authorization header contains characters that are not visible ASCII.".into(),
        )
    })?;
    let trimmed = raw.trim();
    let (algorithm, rest) = trimmed
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((trimmed, ""));
    if algorithm != SIGV4_ALGORITHM {
        // Echo only the token before any '=' or ',', so a run-together header leaks nothing.
        let shown: String = algorithm
            .split(['=', ','])
            .next()
            .unwrap_or_default()
            .chars()
            .take(64)
            .collect();
        return Err(AuthError::UnsupportedAlgorithm(shown));
    }

    let mut found: [Option<&str>; 3] = [None; 3];
    for piece in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, val)) = piece.split_once('=') else {
            return Err(AuthError::Incomplete(format!(
                "'{}' not a valid key=value pair (missing equal-sign) in Authorization header: '{}'",
                redact(piece),
                redact(trimmed)
            )));
        };
        let key = key.trim();
        if let Some(slot) = FIELDS
            .iter()
            .position(|f| *f == key)
            .and_then(|i| found.get_mut(i))
        {
            if slot.is_some() {
                return Err(AuthError::Incomplete(format!(
                    "Authorization header has more than one '{key}' parameter. Authorization={}",
                    redact(trimmed)
                )));
            }
            *slot = Some(val.trim());
        }
    }

    let date_value = match headers.get("x-amz-date") {
        Some(v) => Some((v, true)),
        None => headers.get(http::header::DATE).map(|v| (v, false)),
    };

    let mut problems = String::new();
    for (name, slot) in FIELDS.iter().zip(found.iter()) {
        if slot.is_none_or(str::is_empty) {
            problems.push_str(&format!(
                "Authorization header requires '{name}' parameter. "
            ));
        }
    }
    if date_value.is_none() {
        problems.push_str(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
        );
    }
    let ([Some(credential), Some(signature), Some(signed_headers)], Some((date_value, is_amz))) =
        (found, date_value)
    else {
        return Err(AuthError::Incomplete(format!(
            "{problems}Authorization={}",
            redact(trimmed)
        )));
    };
    if !problems.is_empty() {
        return Err(AuthError::Incomplete(format!(
            "{problems}Authorization={}",
            redact(trimmed)
        )));
    }

    let (access_key_id, scope) = parse_credential(credential)?;
    let signature = parse_signature(signature)?;
    check_signed_headers(signed_headers)?;

    let date_text = date_value.to_str().map_err(|_| bad_date("<non-ASCII>"))?;
    let request_time = if is_amz {
        parse_basic(date_text)
    } else {
        parse_http_date(date_text)
    }
    .ok_or_else(|| bad_date(date_text))?;

    let session_token = match headers.get("x-amz-security-token") {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| {
                    AuthError::Incomplete(
                        "X-Amz-Security-Token contains characters that are not visible ASCII."
                            .into(),
                    )
                })?
                .to_string(),
        ),
        None => None,
    };

    Ok(SignedRequest {
        access_key_id,
        session_token,
        kind: Kind::V4(V4Signature {
            presigned: false,
            scope,
            signed_headers: signed_headers.to_string(),
            signature,
            request_time,
            // X-Amz-Date passed the strict basic-form check, so it is signed as sent; a `Date`
            // header is signed in its basic form.
            amz_date: if is_amz {
                date_text.to_string()
            } else {
                format_basic(request_time)
            },
            expires: None,
        }),
    })
}
