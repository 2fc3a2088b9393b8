//! Target `sigv`: SigV4 (Authorization header and presigned query) and SigV2 parsing and
//! verification on a raw HTTP request.
//!
//! Input: the request as text (`POST / HTTP/1.1\nHost:…\nAuthorization:…\n\nbody`).
//!
//! Properties:
//! - `parse`, `canonical_request`, `string_to_sign` and `verify` never panic; every failure maps
//!   to a 4xx AWS error on both protocols;
//! - the string to sign and the verdict are deterministic, and the signing-key cache does not
//!   change a verdict;
//! - the verifier accepts the signature it says it checks: the request signed again with the
//!   string to sign the verifier computed (a client's view of the same rules) never fails with a
//!   signature mismatch;
//! - tampering is caught: once a request verifies, a change to its method, path, query, body or
//!   any header verifies only if the string to sign is unchanged (the change was to something
//!   the signature does not cover, or canonicalises away), and a changed body never verifies
//!   unless the request declares an unsigned payload.

use base64::Engine;
use chrono::{DateTime, Utc};
use coffer_auth::{
    parse, verify, verify_with_cache, AuthError, CredentialScope, SecretAccessKey,
    SignatureVersion, SignedRequest, SigningKeyCache, VerifyOptions,
};
use coffer_model::Protocol;
use hmac::{Hmac, Mac};
use http::HeaderValue;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

use crate::http_text::{self, HttpRequest};

/// The AWS documentation's example secret; the harness signs and verifies with it whatever
/// access key id the request names.
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

pub fn run(data: &[u8]) {
    let req = http_text::parse(data);
    let parts = req.parts();
    let signed = match parse(&parts) {
        Ok(Some(signed)) => signed,
        Ok(None) => return,
        Err(e) => return assert_client_error(&e),
    };
    // Accessors and the redacting Debug never fail.
    let _ = (
        signed.access_key_id(),
        signed.session_token(),
        signed.scope(),
        format!("{signed:?}"),
    );
    let string_to_sign = signed.string_to_sign(&parts);
    assert_eq!(
        string_to_sign,
        signed.string_to_sign(&parts),
        "string to sign is not deterministic"
    );
    let _ = signed.canonical_request(&parts);

    let secret = SecretAccessKey::new(SECRET);
    let options = options_at(signed.request_time());
    let verdict = verify(&signed, &parts, &secret, &options);
    let cache = SigningKeyCache::new(4);
    for _ in 0..2 {
        assert_eq!(
            verify_with_cache(&signed, &parts, &secret, &options, &cache),
            verdict,
            "the signing-key cache changes the verdict"
        );
    }
    if let Err(e) = &verdict {
        assert_client_error(e);
    }

    let Ok(string_to_sign) = string_to_sign else {
        return;
    };
    let candidates = resign(&req, &signed, &string_to_sign);
    let verdicts: Vec<Option<bool>> = candidates
        .iter()
        .map(|resigned| check_resigned(resigned, &string_to_sign))
        .collect();
    // `None`: the rewrite changed what is signed, nothing to conclude. Otherwise one candidate
    // (SigV2: the one with the request's HMAC) must not be refused as a signature mismatch.
    if verdicts.iter().all(Option::is_some) && !verdicts.is_empty() {
        assert!(
            verdicts.contains(&Some(true)),
            "a request signed over the verifier's own string to sign was refused:\n{string_to_sign}\n{req:?}"
        );
    }
}

fn options_at(now: DateTime<Utc>) -> VerifyOptions<'static> {
    VerifyOptions {
        now,
        max_skew: VerifyOptions::DEFAULT_MAX_SKEW,
        expected_service: None,
        expected_region: None,
        enforce_presigned_expiry: false,
    }
}

fn assert_client_error(e: &AuthError) {
    for protocol in [Protocol::Query, Protocol::Json] {
        let aws = e.to_aws(protocol);
        assert!(
            (400..500).contains(&aws.status),
            "{e:?} answers HTTP {}",
            aws.status
        );
        assert!(aws.message.is_some_and(|m| !m.is_empty()), "{e:?}");
    }
}

/// Re-parses a request carrying a correct signature: `None` when the rewrite changed the string
/// to sign (the Authorization header was itself signed, or the parser now reads another
/// parameter), else whether the verifier accepted the signature (any failure but a signature
/// mismatch counts: the clock or scope may be wrong). When the request verifies, every tampered
/// copy must fail unless it signs the same string.
fn check_resigned(resigned: &HttpRequest, expected_string_to_sign: &str) -> Option<bool> {
    let parts = resigned.parts();
    let Ok(Some(signed)) = parse(&parts) else {
        return None;
    };
    if signed.string_to_sign(&parts).ok().as_deref() != Some(expected_string_to_sign) {
        return None;
    }
    let secret = SecretAccessKey::new(SECRET);
    let options = options_at(signed.request_time());
    match verify(&signed, &parts, &secret, &options) {
        // AWS refuses an unsigned payload outside S3 with the mismatch error itself, so the
        // verifier may too: that refusal says nothing about the signature.
        Err(AuthError::SignatureMismatch) if declares_unsigned_payload(resigned) => None,
        Err(AuthError::SignatureMismatch) => Some(false),
        Ok(()) => {
            for tampered in tamperings(resigned) {
                assert_tamper_detected(
                    resigned,
                    &tampered,
                    expected_string_to_sign,
                    &secret,
                    &options,
                );
            }
            Some(true)
        }
        Err(_) => Some(true),
    }
}

fn assert_tamper_detected(
    original: &HttpRequest,
    tampered: &HttpRequest,
    original_string_to_sign: &str,
    secret: &SecretAccessKey,
    options: &VerifyOptions,
) {
    let parts = tampered.parts();
    let Ok(Some(signed)) = parse(&parts) else {
        return;
    };
    if verify(&signed, &parts, secret, options).is_err() {
        return;
    }
    let string_to_sign = signed.string_to_sign(&parts).ok();
    assert_eq!(
        string_to_sign.as_deref(),
        Some(original_string_to_sign),
        "a tampered request verified: {tampered:?}"
    );
    // SigV4 covers the body through its hash, or through `X-Amz-Content-Sha256` and the check
    // that the body matches it; only an explicitly unsigned payload may change. (SigV2 covers
    // a form body as parameters, so the string to sign above; the server refuses other bodies.)
    if signed.version() == SignatureVersion::V2 {
        return;
    }
    assert!(
        tampered.body == original.body || declares_unsigned_payload(tampered),
        "a request verified with another body: {tampered:?}"
    );
}

fn declares_unsigned_payload(req: &HttpRequest) -> bool {
    req.headers
        .get("x-amz-content-sha256")
        .is_some_and(|v| v.as_bytes() == coffer_auth::UNSIGNED_PAYLOAD.as_bytes())
}

/// Copies of `req`, each with one change.
fn tamperings(req: &HttpRequest) -> Vec<HttpRequest> {
    let mut out = Vec::new();
    let mut with = |change: &dyn Fn(&mut HttpRequest)| {
        let mut copy = req.clone();
        change(&mut copy);
        out.push(copy);
    };
    with(&|r| r.body.push(b'x'));
    with(&|r| {
        if let Some(b) = r.body.first_mut() {
            *b ^= 0x01;
        }
    });
    with(&|r| r.method = if r.method == "GET" { "POST" } else { "GET" }.to_string());
    with(&|r| r.path.push('x'));
    with(&|r| {
        r.query.push_str(if r.query.is_empty() {
            "Fuzz=1"
        } else {
            "&Fuzz=1"
        })
    });
    for name in req.headers.keys() {
        let name = name.clone();
        with(&move |r| {
            if let Some(v) = r.headers.get_mut(&name) {
                let mut bytes = v.as_bytes().to_vec();
                bytes.push(b'0');
                if let Ok(changed) = HeaderValue::from_bytes(&bytes) {
                    *v = changed;
                }
            }
        });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Signing as a client does, over the string to sign the verifier computed.

/// The request with its signature replaced by a correct one (SigV2: one copy per HMAC, as the
/// method is the parser's to read).
fn resign(req: &HttpRequest, signed: &SignedRequest, string_to_sign: &str) -> Vec<HttpRequest> {
    match signed.version() {
        SignatureVersion::V4Header => {
            let Some(scope) = signed.scope() else {
                return Vec::new();
            };
            let signature = sigv4_signature(scope, string_to_sign);
            let Some(authorization) = req.headers.get(http::header::AUTHORIZATION) else {
                return Vec::new();
            };
            let rewritten = replace_signature_field(authorization.as_bytes(), &signature);
            let Ok(value) = HeaderValue::from_bytes(&rewritten) else {
                return Vec::new();
            };
            let mut copy = req.clone();
            copy.headers.insert(http::header::AUTHORIZATION, value);
            vec![copy]
        }
        SignatureVersion::V4Presigned => {
            let Some(scope) = signed.scope() else {
                return Vec::new();
            };
            let signature = sigv4_signature(scope, string_to_sign);
            let mut copy = req.clone();
            copy.query = replace_query_param(&req.query, "X-Amz-Signature", &signature);
            vec![copy]
        }
        SignatureVersion::V2 => {
            let sha256 = {
                let mut mac = hmac_sha256(SECRET.as_bytes());
                mac.update(string_to_sign.as_bytes());
                mac.finalize().into_bytes().to_vec()
            };
            let sha1 = {
                let mut mac = Hmac::<sha1::Sha1>::new_from_slice(SECRET.as_bytes())
                    .expect("HMAC takes any key length");
                mac.update(string_to_sign.as_bytes());
                mac.finalize().into_bytes().to_vec()
            };
            [sha256, sha1]
                .iter()
                .map(|raw| {
                    let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
                    let encoded = utf8_percent_encode(&b64, NON_ALPHANUMERIC).to_string();
                    let mut copy = req.clone();
                    copy.query = replace_query_param(&req.query, "Signature", &encoded);
                    copy.body = replace_param(&req.body, "Signature", &encoded);
                    copy
                })
                .collect()
        }
    }
}

fn replace_query_param(query: &str, name: &str, value: &str) -> String {
    String::from_utf8(replace_param(query.as_bytes(), name, value))
        .expect("only ASCII was replaced in a string")
}

fn hmac_sha256(key: &[u8]) -> Hmac<sha2::Sha256> {
    Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key length")
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = hmac_sha256(key);
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The SigV4 signature: HMAC-SHA256 chain over the scope, then over the string to sign.
fn sigv4_signature(scope: &CredentialScope, string_to_sign: &str) -> String {
    let k_date = hmac(format!("AWS4{SECRET}").as_bytes(), scope.date.as_bytes());
    let k_region = hmac(&k_date, scope.region.as_bytes());
    let k_service = hmac(&k_region, scope.service.as_bytes());
    let k_signing = hmac(&k_service, scope.terminator.as_bytes());
    hex::encode(hmac(&k_signing, string_to_sign.as_bytes()))
}

/// `…, Signature=<old>` with every `Signature=` field's value (up to the next `,` or space)
/// replaced.
fn replace_signature_field(header: &[u8], signature: &str) -> Vec<u8> {
    const FIELD: &[u8] = b"Signature=";
    let mut out = Vec::with_capacity(header.len());
    let mut i = 0;
    while i < header.len() {
        if header[i..].starts_with(FIELD) {
            out.extend_from_slice(FIELD);
            out.extend_from_slice(signature.as_bytes());
            i += FIELD.len();
            while i < header.len() && header[i] != b',' && header[i] != b' ' {
                i += 1;
            }
        } else {
            out.push(header[i]);
            i += 1;
        }
    }
    out
}

/// `raw` (`a=1&b=2`) with the value of every parameter named exactly `name` replaced; other
/// bytes, valid UTF-8 or not, are kept.
fn replace_param(raw: &[u8], name: &str, value: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, item) in raw.split(|b| *b == b'&').enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        match item.iter().position(|b| *b == b'=') {
            Some(eq) if &item[..eq] == name.as_bytes() => {
                out.extend_from_slice(&item[..=eq]);
                out.extend_from_slice(value.as_bytes());
            }
            _ => out.extend_from_slice(item),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SigV4 test suite's `post-x-www-form-urlencoded` request (Apache-2.0, see
    /// fuzz/corpus/README.md), signed by the suite: the harness's own signer must agree with it.
    #[test]
    fn harness_signer_matches_the_suite() {
        let scope = CredentialScope {
            date: "20150830".into(),
            region: "us-east-1".into(),
            service: "service".into(),
            terminator: "aws4_request".into(),
        };
        let string_to_sign = "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281";
        assert_eq!(
            sigv4_signature(&scope, string_to_sign),
            "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"
        );
    }

    fn seed(name: &str) -> HttpRequest {
        let path = crate::driver::fuzz_dir().join("corpus/sigv").join(name);
        http_text::parse(&std::fs::read(&path).unwrap())
    }

    /// The re-signing property is not vacuous: for each kind of signature, a seed re-signed by
    /// the harness verifies, and so its tampered copies are all checked.
    #[test]
    fn seeds_of_every_kind_verify_once_re_signed() {
        for (name, version) in [
            (
                "suite-post-x-www-form-urlencoded",
                SignatureVersion::V4Header,
            ),
            (
                "v4-query-iam-createuser-tags-client",
                SignatureVersion::V4Header,
            ),
            ("suite-query-get-vanilla", SignatureVersion::V4Presigned),
            ("v2-iam-listusers-post", SignatureVersion::V2),
            ("v2-sts-post-hmacsha1", SignatureVersion::V2),
        ] {
            let req = seed(name);
            let parts = req.parts();
            let signed = parse(&parts).unwrap().unwrap();
            assert_eq!(signed.version(), version, "{name}");
            let string_to_sign = signed.string_to_sign(&parts).unwrap();
            let verdicts: Vec<Option<bool>> = resign(&req, &signed, &string_to_sign)
                .iter()
                .map(|r| check_resigned(r, &string_to_sign))
                .collect();
            assert!(verdicts.contains(&Some(true)), "{name}: {verdicts:?}");
            let accepted = resign(&req, &signed, &string_to_sign)
                .into_iter()
                .find(|r| {
                    let parts = r.parts();
                    let signed = parse(&parts).unwrap().unwrap();
                    let options = options_at(signed.request_time());
                    verify(&signed, &parts, &SecretAccessKey::new(SECRET), &options).is_ok()
                });
            assert!(accepted.is_some(), "{name}: no re-signed copy verifies");
        }
    }

    #[test]
    fn replaces_fields_and_params() {
        assert_eq!(
            replace_signature_field(b"A Credential=x, Signature=abc, X=1", "f0"),
            b"A Credential=x, Signature=f0, X=1"
        );
        assert_eq!(
            replace_param(b"a=\xff&Signature=x&b", "Signature", "y"),
            b"a=\xff&Signature=y&b"
        );
    }
}
