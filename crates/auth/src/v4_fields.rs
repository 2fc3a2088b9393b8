//! The SigV4 fields shared by the header and the presigned forms: Credential, SignedHeaders,
//! Signature and the request date, each validated the same way wherever it came from.

use crate::error::AuthError;
use crate::request::CredentialScope;

/// `AKID/date/region/service/terminator`: exactly five elements; their values are checked by
/// `verify` so that each mismatch gets its own AWS message.
pub(crate) fn parse_credential(credential: &str) -> Result<(String, CredentialScope), AuthError> {
    let parts: Vec<&str> = credential.split('/').collect();
    match parts.as_slice() {
        [akid, date, region, service, terminator] => Ok((
            (*akid).to_string(),
            CredentialScope {
                date: (*date).to_string(),
                region: (*region).to_string(),
                service: (*service).to_string(),
                terminator: (*terminator).to_string(),
            },
        )),
        _ => Err(AuthError::Incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{}'",
            redact(credential)
        ))),
    }
}

/// 64 hex digits; anything else cannot be a SigV4 signature, so it is malformed, not a mismatch.
pub(crate) fn parse_signature(signature: &str) -> Result<[u8; 32], AuthError> {
    let mut out = [0u8; 32];
    match hex::decode_to_slice(signature, &mut out) {
        Ok(()) => Ok(out),
        Err(_) => Err(AuthError::Incomplete(
            "Signature must be 64 hexadecimal characters.".into(),
        )),
    }
}

/// `h1;h2;…`: non-empty, valid header names. Order and case are left to the signature check,
/// since the line is signed verbatim.
pub(crate) fn check_signed_headers(signed_headers: &str) -> Result<(), AuthError> {
    // RFC 9110 token characters, as `http::HeaderName` accepts them, without building one per name.
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    let valid = signed_headers
        .split(';')
        .all(|name| !name.is_empty() && name.bytes().all(token));
    if valid {
        Ok(())
    } else {
        Err(AuthError::Incomplete(format!(
            "SignedHeaders '{}' is not a ';'-separated list of header names.",
            redact(signed_headers)
        )))
    }
}

pub(crate) fn bad_date(value: &str) -> AuthError {
    AuthError::Incomplete(format!(
        "Date must be in ISO-8601 'basic format'. Got '{}'. See http://en.wikipedia.org/wiki/ISO_8601",
        redact(value)
    ))
}

/// Client text echoed in an error message, with anything that could be a signature (a run of
/// 32 or more hex digits) masked and the length bounded.
pub(crate) fn redact(text: &str) -> String {
    const MAX: usize = 512;
    let mut out = String::with_capacity(text.len().min(MAX));
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 32 {
            out.push_str("<redacted>");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars().take(MAX) {
        if c.is_ascii_hexdigit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    if text.chars().nth(MAX).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_signature_runs() {
        let sig = "815664fc71a2d5e1b16f88ab804fb86d4093c212b5d1167107b4b136abd5fb85";
        let r = redact(&format!("AWS4-HMAC-SHA256 Signature={sig}, X=abc"));
        assert_eq!(r, "AWS4-HMAC-SHA256 Signature=<redacted>, X=abc");
    }

    #[test]
    fn credential_needs_five_elements() {
        assert!(parse_credential("AKID/20240115/us-east-1/iam/aws4_request").is_ok());
        assert!(matches!(
            parse_credential("AKID/20240115/us-east-1/iam"),
            Err(AuthError::Incomplete(_))
        ));
        assert!(matches!(
            parse_credential("AKID/20240115/us-east-1/iam/aws4_request/x"),
            Err(AuthError::Incomplete(_))
        ));
    }

    #[test]
    fn signature_must_be_hex() {
        assert!(parse_signature(&"a".repeat(64)).is_ok());
        assert!(parse_signature(&"g".repeat(64)).is_err());
        assert!(parse_signature(&"a".repeat(63)).is_err());
        assert!(parse_signature("").is_err());
    }

    #[test]
    fn signed_headers_syntax() {
        assert!(check_signed_headers("host;x-amz-date").is_ok());
        assert!(check_signed_headers("host;;x-amz-date").is_err());
        assert!(check_signed_headers("host x").is_err());
        assert!(check_signed_headers("host;x-amz-date;X-Amz-Target").is_ok());
        assert!(check_signed_headers("host;").is_err());
        assert!(check_signed_headers("host;x:y").is_err());
        assert!(check_signed_headers("host;caf\u{e9}").is_err());
    }
}
