//! The order of `verify`'s checks (docs/protocol-facts.md fact 3) and the checks no vector covers:
//! terminator, host signing, region well-formedness, X-Amz-Content-Sha256, enforced expiry.

use chrono::{DateTime, TimeDelta, Utc};
use coffer_auth::{parse, verify, AuthError, SecretAccessKey, VerifyOptions};
use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};

use crate::support::{basic_time, from_url, read_json, testdata_dir, OwnedRequest};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const GARBAGE_SIG: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn now() -> DateTime<Utc> {
    basic_time("20240115T093000Z")
}

fn opts<'a>(service: Option<&'a str>, region: Option<&'a str>) -> VerifyOptions<'a> {
    VerifyOptions {
        now: now(),
        max_skew: VerifyOptions::DEFAULT_MAX_SKEW,
        expected_service: service,
        expected_region: region,
        enforce_presigned_expiry: false,
    }
}

fn header_request(credential_scope: &str, signed_headers: &str, date: &str) -> OwnedRequest {
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("sts.amazonaws.com"));
    headers.insert("x-amz-date", HeaderValue::from_str(date).unwrap());
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{credential_scope}, SignedHeaders={signed_headers}, Signature={GARBAGE_SIG}"
    );
    headers.insert("authorization", HeaderValue::from_str(&auth).unwrap());
    OwnedRequest {
        method: "GET".into(),
        path: "/".into(),
        query: "Action=GetCallerIdentity&Version=2011-06-15".into(),
        headers,
        body: vec![],
    }
}

fn run(req: &OwnedRequest, o: &VerifyOptions) -> Result<(), AuthError> {
    let signed = parse(&req.parts())?.ok_or(AuthError::MissingAuthentication)?;
    verify(&signed, &req.parts(), &SecretAccessKey::new(SECRET), o)
}

#[test]
fn scope_checks_come_first_in_order() {
    let any = opts(Some("sts"), Some("us-east-1"));
    // Every check fails here; the scope date is reported.
    let r = header_request(
        "20240114/eu-west-1/iam/aws4_requesx",
        "x-amz-date",
        "20240115T120000Z",
    );
    assert_eq!(run(&r, &any), Err(AuthError::ScopeDate));
    let r = header_request(
        "20240115/eu-west-1/iam/aws4_requesx",
        "x-amz-date",
        "20240115T120000Z",
    );
    assert_eq!(run(&r, &any), Err(AuthError::ScopeRegion));
    let r = header_request(
        "20240115/us-east-1/iam/aws4_requesx",
        "x-amz-date",
        "20240115T120000Z",
    );
    assert_eq!(
        run(&r, &any),
        Err(AuthError::ScopeService {
            expected: "sts".into()
        })
    );
    let r = header_request(
        "20240115/us-east-1/sts/aws4_requesx",
        "x-amz-date",
        "20240115T120000Z",
    );
    assert_eq!(run(&r, &any), Err(AuthError::ScopeTerminator));
    let r = header_request(
        "20240115/us-east-1/sts/aws4_request",
        "x-amz-date",
        "20240115T120000Z",
    );
    assert!(matches!(
        run(&r, &any),
        Err(AuthError::SignatureNotYetCurrent { .. })
    ));
    let r = header_request(
        "20240115/us-east-1/sts/aws4_request",
        "x-amz-date",
        "20240115T093000Z",
    );
    assert_eq!(run(&r, &any), Err(AuthError::HostNotSigned));
    let r = header_request(
        "20240115/us-east-1/sts/aws4_request",
        "host;x-amz-date;x-missing",
        "20240115T093000Z",
    );
    assert_eq!(
        run(&r, &any),
        Err(AuthError::SignedHeaderMissing {
            name: "x-missing".into()
        })
    );
    let r = header_request(
        "20240115/us-east-1/sts/aws4_request",
        "host;x-amz-date",
        "20240115T093000Z",
    );
    assert_eq!(run(&r, &any), Err(AuthError::SignatureMismatch));
}

#[test]
fn open_region_and_service_still_need_well_formed_names() {
    let open = opts(None, None);
    for bad in ["US-EAST-1", "us_east_1", "-"] {
        let r = header_request(
            &format!("20240115/{bad}/sts/aws4_request"),
            "host;x-amz-date",
            "20240115T093000Z",
        );
        assert_eq!(run(&r, &open), Err(AuthError::ScopeRegion), "{bad}");
    }
    let r = header_request(
        "20240115/us-east-1//aws4_request",
        "host;x-amz-date",
        "20240115T093000Z",
    );
    assert!(matches!(
        run(&r, &open),
        Err(AuthError::ScopeService { .. })
    ));
    // Well-formed: the scope passes and the (garbage) signature is what fails.
    let r = header_request(
        "20240115/ap-southeast-4/anything/aws4_request",
        "host;x-amz-date",
        "20240115T093000Z",
    );
    assert_eq!(run(&r, &open), Err(AuthError::SignatureMismatch));
}

#[test]
fn clock_window_is_inclusive_at_the_skew() {
    let r = header_request(
        "20240115/us-east-1/sts/aws4_request",
        "x-amz-date",
        "20240115T093000Z",
    );
    for minutes in [-15, 15] {
        let o = VerifyOptions {
            now: now() + TimeDelta::minutes(minutes),
            ..opts(Some("sts"), Some("us-east-1"))
        };
        // Past the clock check: host is unsigned.
        assert_eq!(run(&r, &o), Err(AuthError::HostNotSigned), "{minutes}");
    }
    let o = VerifyOptions {
        now: now() + TimeDelta::seconds(15 * 60 + 1),
        ..opts(Some("sts"), Some("us-east-1"))
    };
    assert_eq!(
        run(&r, &o),
        Err(AuthError::SignatureExpired {
            request_time: "20240115T093000Z".into(),
            earliest: "20240115T093001Z".into(),
            now: "20240115T094501Z".into(),
            skew_minutes: 15,
        })
    );
}

fn botocore_vector(id: &str) -> (OwnedRequest, serde_json::Value) {
    let doc = read_json(&testdata_dir().join("sigv4-vectors/botocore-vectors.json"));
    let v = doc["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == id)
        .unwrap()
        .clone();
    let r = &v["request"];
    let req = from_url(
        r["method"].as_str().unwrap(),
        r["url"].as_str().unwrap(),
        &r["headers"],
        r["body"].as_str().unwrap(),
    );
    (req, v)
}

#[test]
fn content_sha256_header_must_match_the_body() {
    let (mut req, _) = botocore_vector("json-sm-x-amz-content-sha256-header");
    let o = opts(Some("secretsmanager"), Some("us-east-1"));
    assert_eq!(run(&req, &o), Ok(()));
    // The signature covers the header's hash, not the body: only the body check catches this.
    req.body = br#"{"SecretId":"Other!!!"}"#.to_vec();
    assert_eq!(run(&req, &o), Err(AuthError::ContentSha256Mismatch));
}

#[test]
fn presigned_expiry_only_when_enforced() {
    let (req, _) = botocore_vector("presign-sts-getcalleridentity-get-60s");
    let mut o = opts(Some("sts"), Some("us-east-1"));
    o.now = now() + TimeDelta::seconds(61);
    assert_eq!(run(&req, &o), Ok(()));
    o.enforce_presigned_expiry = true;
    assert_eq!(run(&req, &o), Err(AuthError::PresignedUrlExpired));
    o.now = now() + TimeDelta::seconds(60);
    assert_eq!(run(&req, &o), Ok(()));
    for bad in ["0", "604801", "abc", "-5"] {
        let mut r = botocore_vector("presign-sts-getcalleridentity-get-60s").0;
        r.query = r
            .query
            .replace("X-Amz-Expires=60", &format!("X-Amz-Expires={bad}"));
        assert!(
            matches!(run(&r, &o), Err(AuthError::Incomplete(_))),
            "{bad}"
        );
    }
    let mut r = botocore_vector("presign-sts-getcalleridentity-get-60s").0;
    r.query = r.query.replace("&X-Amz-Expires=60", "");
    assert!(matches!(run(&r, &o), Err(AuthError::Incomplete(_))));
}

/// An independent, minimal SigV4 signer (header form) for cases no vector has.
fn sign(req: &mut OwnedRequest, signed_headers: &[&str], scope: &str, date: &str) {
    let hmac = |k: &[u8], m: &[u8]| {
        let mut mac = Hmac::<Sha256>::new_from_slice(k).unwrap();
        mac.update(m);
        mac.finalize().into_bytes().to_vec()
    };
    let headers: String = signed_headers
        .iter()
        .map(|h| format!("{h}:{}\n", req.headers[*h].to_str().unwrap().trim()))
        .collect();
    let payload = match req.headers.get("x-amz-content-sha256") {
        Some(v) => v.to_str().unwrap().to_string(),
        None => hex::encode(Sha256::digest(&req.body)),
    };
    let creq = format!(
        "{}\n/\n\n{headers}\n{}\n{payload}",
        req.method,
        signed_headers.join(";")
    );
    let sts = format!(
        "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
        hex::encode(Sha256::digest(creq.as_bytes()))
    );
    let mut k = format!("AWS4{SECRET}").into_bytes();
    for part in scope.split('/') {
        k = hmac(&k, part.as_bytes());
    }
    let sig = hex::encode(hmac(&k, sts.as_bytes()));
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{scope}, SignedHeaders={}, Signature={sig}",
        signed_headers.join(";")
    );
    req.headers
        .insert("authorization", HeaderValue::from_str(&auth).unwrap());
}

/// An independent, minimal SigV4 presigner (query form) with a chosen payload hash.
fn presign(
    req: &mut OwnedRequest,
    signed_headers: &[&str],
    scope: &str,
    date: &str,
    payload: &str,
) {
    let hmac = |k: &[u8], m: &[u8]| {
        let mut mac = Hmac::<Sha256>::new_from_slice(k).unwrap();
        mac.update(m);
        mac.finalize().into_bytes().to_vec()
    };
    let credential = format!("AKIDEXAMPLE/{scope}").replace('/', "%2F");
    let mut query = [
        "X-Amz-Algorithm=AWS4-HMAC-SHA256".to_string(),
        format!("X-Amz-Credential={credential}"),
        format!("X-Amz-Date={date}"),
        "X-Amz-Expires=300".to_string(),
        format!("X-Amz-SignedHeaders={}", signed_headers.join("%3B")),
    ];
    query.sort();
    let query = query.join("&");
    let headers: String = signed_headers
        .iter()
        .map(|h| format!("{h}:{}\n", req.headers[*h].to_str().unwrap().trim()))
        .collect();
    let creq = format!(
        "{}\n/\n{query}\n{headers}\n{}\n{payload}",
        req.method,
        signed_headers.join(";")
    );
    let sts = format!(
        "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
        hex::encode(Sha256::digest(creq.as_bytes()))
    );
    let mut k = format!("AWS4{SECRET}").into_bytes();
    for part in scope.split('/') {
        k = hmac(&k, part.as_bytes());
    }
    let sig = hex::encode(hmac(&k, sts.as_bytes()));
    req.query = format!("{query}&X-Amz-Signature={sig}");
}

fn json_request() -> OwnedRequest {
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("localhost:4566"));
    headers.insert("x-amz-date", HeaderValue::from_static("20240115T093000Z"));
    headers.insert(
        "x-amz-target",
        HeaderValue::from_static("secretsmanager.ListSecrets"),
    );
    OwnedRequest {
        method: "POST".into(),
        path: "/".into(),
        query: String::new(),
        headers,
        body: b"{}".to_vec(),
    }
}

/// `UNSIGNED-PAYLOAD` is S3's: elsewhere the body is always signed, so a request signed over it
/// does not verify (whatever its body), in the header and the presigned form alike.
#[test]
fn unsigned_payload_is_refused() {
    let scope = "20240115/us-east-1/secretsmanager/aws4_request";
    let o = opts(Some("secretsmanager"), Some("us-east-1"));
    for body in [&b"{}"[..], b"{\"SecretId\":\"other\"}", b""] {
        let mut req = json_request();
        req.headers.insert(
            "x-amz-content-sha256",
            HeaderValue::from_static("UNSIGNED-PAYLOAD"),
        );
        sign(
            &mut req,
            &["host", "x-amz-content-sha256", "x-amz-date", "x-amz-target"],
            scope,
            "20240115T093000Z",
        );
        req.body = body.to_vec();
        assert_eq!(run(&req, &o), Err(AuthError::SignatureMismatch));
    }
    // Signed over the body's real hash, but claiming an unsigned payload: refused as well.
    let mut req = json_request();
    sign(
        &mut req,
        &["host", "x-amz-date", "x-amz-target"],
        scope,
        "20240115T093000Z",
    );
    assert_eq!(run(&req, &o), Ok(()));
    req.headers.insert(
        "x-amz-content-sha256",
        HeaderValue::from_static("UNSIGNED-PAYLOAD"),
    );
    assert_eq!(run(&req, &o), Err(AuthError::ContentSha256Mismatch));
}

/// A presigned request covers its body through the payload hash: another body, or a header
/// claiming an unsigned or different payload, does not verify.
#[test]
fn presigned_requests_cover_the_body() {
    let scope = "20240115/us-east-1/secretsmanager/aws4_request";
    let o = opts(Some("secretsmanager"), Some("us-east-1"));
    let body = br#"{"SecretId":"mine"}"#;
    let signed_with = |payload: &str| {
        let mut req = json_request();
        req.body = body.to_vec();
        presign(
            &mut req,
            &["host", "x-amz-target"],
            scope,
            "20240115T093000Z",
            payload,
        );
        req
    };
    let body_hash = hex::encode(Sha256::digest(body));
    let req = signed_with(&body_hash);
    assert_eq!(run(&req, &o), Ok(()));

    let mut other = signed_with(&body_hash);
    other.body = br#"{"SecretId":"theirs"}"#.to_vec();
    assert_eq!(run(&other, &o), Err(AuthError::SignatureMismatch));

    let mut claims_unsigned = signed_with(&body_hash);
    claims_unsigned.body = br#"{"SecretId":"theirs"}"#.to_vec();
    claims_unsigned.headers.insert(
        "x-amz-content-sha256",
        HeaderValue::from_static("UNSIGNED-PAYLOAD"),
    );
    assert_eq!(run(&claims_unsigned, &o), Err(AuthError::SignatureMismatch));

    // The original body's hash claimed in a header, with another body: the signature holds
    // (it covers the claim), the body does not live up to it.
    let mut claims_old_hash = signed_with(&body_hash);
    claims_old_hash.body = br#"{"SecretId":"theirs"}"#.to_vec();
    claims_old_hash.headers.insert(
        "x-amz-content-sha256",
        HeaderValue::from_str(&body_hash).unwrap(),
    );
    assert_eq!(
        run(&claims_old_hash, &o),
        Err(AuthError::ContentSha256Mismatch)
    );

    // Signed as S3 presigns (over UNSIGNED-PAYLOAD): never accepted, with any body.
    for payload_body in [&body[..], b""] {
        let mut s3_style = signed_with("UNSIGNED-PAYLOAD");
        s3_style.body = payload_body.to_vec();
        assert_eq!(run(&s3_style, &o), Err(AuthError::SignatureMismatch));
    }
}

#[test]
fn unsigned_session_token_header_allowed() {
    let scope = "20240115/us-east-1/secretsmanager/aws4_request";
    let o = opts(Some("secretsmanager"), Some("us-east-1"));
    let mut req = json_request();
    sign(
        &mut req,
        &["host", "x-amz-date", "x-amz-target"],
        scope,
        "20240115T093000Z",
    );
    req.headers.insert(
        "x-amz-security-token",
        HeaderValue::from_static("FQoGZXIvYXdzEXAMPLE"),
    );
    let signed = parse(&req.parts()).unwrap().unwrap();
    assert_eq!(signed.session_token(), Some("FQoGZXIvYXdzEXAMPLE"));
    assert_eq!(run(&req, &o), Ok(()));
    // A signed header changed afterwards is caught.
    req.headers.insert(
        "x-amz-target",
        HeaderValue::from_static("secretsmanager.DeleteSecret"),
    );
    assert_eq!(run(&req, &o), Err(AuthError::SignatureMismatch));
}

#[test]
fn x_amz_date_overrides_date() {
    let scope = "20240115/us-east-1/secretsmanager/aws4_request";
    let o = opts(Some("secretsmanager"), Some("us-east-1"));
    let mut req = json_request();
    req.headers.insert(
        "date",
        HeaderValue::from_static("Tue, 01 Jan 2019 00:00:00 GMT"),
    );
    sign(
        &mut req,
        &["date", "host", "x-amz-date"],
        scope,
        "20240115T093000Z",
    );
    assert_eq!(run(&req, &o), Ok(()));
}
