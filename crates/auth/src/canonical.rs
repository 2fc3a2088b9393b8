//! The SigV4 canonical request and string to sign, computed from the request as received
//! (non-S3 rules, docs/protocol-facts.md section 2).

use http::HeaderMap;
use sha2::{Digest, Sha256};

use crate::encoding::{canonical_query, query_params, uri_encode};
use crate::error::AuthError;
use crate::request::{RequestParts, V4Signature};
use crate::{SIGV4_ALGORITHM, UNSIGNED_PAYLOAD};

/// Dot segments and empty segments removed the way botocore does it (`remove_dot_segments`),
/// keeping a trailing '/' when anything is left.
pub(crate) fn normalize_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    out.push('/');
    out.push_str(&segments.join("/"));
    if path.ends_with('/') && !segments.is_empty() {
        out.push('/');
    }
    out
}

/// The received (already encoded) path, normalised and encoded once more: `%20` becomes `%2520`.
pub(crate) fn canonical_uri(path: &str) -> String {
    uri_encode(normalize_path(path).as_bytes(), true)
}

/// Trim, and collapse every run of whitespace to one space (also inside quotes).
fn trim_all(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    for word in value
        .split(|b| b.is_ascii_whitespace() || *b == 0x0b)
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(b' ');
        }
        out.extend_from_slice(word);
    }
    out
}

/// One `name:value\n` line per signed header; repeated headers joined with ',' in arrival order.
fn canonical_headers(headers: &HeaderMap, signed_headers: &str) -> Result<Vec<u8>, AuthError> {
    let mut out = Vec::new();
    for name in signed_headers.split(';') {
        let mut values = headers.get_all(name).iter().peekable();
        if values.peek().is_none() {
            return Err(AuthError::SignedHeaderMissing {
                name: name.to_string(),
            });
        }
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        for (i, v) in values.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&trim_all(v.as_bytes()));
        }
        out.push(b'\n');
    }
    Ok(out)
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// `X-Amz-Content-Sha256` when sent (its value is what the client signed), else the body's hash.
///
/// `UNSIGNED-PAYLOAD` is S3's alone: every other AWS service signs the body, so the body's hash
/// stands in for it and a request signed over `UNSIGNED-PAYLOAD` fails as a signature mismatch.
/// Honouring it would let a captured request be replayed with another body.
pub(crate) fn payload_hash(headers: &HeaderMap, body: &[u8]) -> Vec<u8> {
    match headers.get("x-amz-content-sha256") {
        Some(v) if v.as_bytes() != UNSIGNED_PAYLOAD.as_bytes() => v.as_bytes().to_vec(),
        _ => sha256_hex(body).into_bytes(),
    }
}

/// Whether a sent `X-Amz-Content-Sha256` is the body's hash. `UNSIGNED-PAYLOAD` never is: a
/// request that signed the real hash but claims an unsigned payload is refused too.
pub(crate) fn content_sha256_matches(headers: &HeaderMap, body: &[u8]) -> bool {
    match headers.get("x-amz-content-sha256") {
        None => true,
        Some(v) => v
            .as_bytes()
            .eq_ignore_ascii_case(sha256_hex(body).as_bytes()),
    }
}

pub(crate) fn canonical_request(
    req: &RequestParts,
    sig: &V4Signature,
) -> Result<Vec<u8>, AuthError> {
    let params = query_params(req.query);
    let query = if sig.presigned {
        canonical_query(params.iter().filter(|p| !p.name_is("X-Amz-Signature")))
    } else {
        canonical_query(params.iter())
    };
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(req.method.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_uri(req.path).as_bytes());
    out.push(b'\n');
    out.extend_from_slice(query.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(&canonical_headers(req.headers, &sig.signed_headers)?);
    out.push(b'\n');
    out.extend_from_slice(sig.signed_headers.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(&payload_hash(req.headers, req.body));
    Ok(out)
}

pub(crate) fn string_to_sign(sig: &V4Signature, canonical_request: &[u8]) -> String {
    format!(
        "{SIGV4_ALGORITHM}\n{}\n{}\n{}",
        sig.amz_date,
        sig.scope,
        sha256_hex(canonical_request)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_like_botocore() {
        assert_eq!(normalize_path(""), "/");
        assert_eq!(normalize_path("/"), "/");
        assert_eq!(normalize_path("/./"), "/");
        assert_eq!(normalize_path("/example/.."), "/");
        assert_eq!(normalize_path("/example/../.."), "/");
        assert_eq!(normalize_path("/./foo/../bar//baz/"), "/bar/baz/");
        assert_eq!(normalize_path("//example//"), "/example/");
    }

    #[test]
    fn encodes_the_received_path_again() {
        assert_eq!(
            canonical_uri("/prefix/a%20b/c%3Ad/%E2%82%AC"),
            "/prefix/a%2520b/c%253Ad/%25E2%2582%25AC"
        );
        assert_eq!(canonical_uri("/example space/"), "/example%20space/");
    }

    #[test]
    fn trims_and_collapses() {
        assert_eq!(
            trim_all(b"   leading and    inner   runs   "),
            b"leading and inner runs"
        );
        assert_eq!(trim_all(b"\"a   b    c\""), b"\"a b c\"");
        assert_eq!(trim_all(b"tab\there"), b"tab here");
        assert_eq!(trim_all(b""), b"");
    }
}
