//! `testdata/sigv2-vectors/vectors.json`, plus the SigV2 failures (tampering, clock, Expires).

use chrono::{DateTime, TimeDelta, Utc};
use coffer_auth::{
    parse, verify, AuthError, SecretAccessKey, SignatureVersion, V2TimeField, VerifyOptions,
};
use coffer_model::Protocol;
use serde_json::Value;

use crate::support::{from_url, options, read_json, testdata_dir, OwnedRequest};

fn vectors() -> Vec<Value> {
    let doc = read_json(&testdata_dir().join("sigv2-vectors/vectors.json"));
    doc["vectors"].as_array().unwrap().clone()
}

fn request(v: &Value) -> OwnedRequest {
    let r = &v["request"];
    from_url(
        r["method"].as_str().unwrap(),
        r["url"].as_str().unwrap(),
        &r["headers"],
        r["body"].as_str().unwrap(),
    )
}

fn param<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v["params"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p[0] == name)
        .and_then(|p| p[1].as_str())
}

fn iso(s: &str) -> DateTime<Utc> {
    let s = if s.ends_with('Z') {
        s.to_string()
    } else {
        format!("{s}Z")
    };
    DateTime::parse_from_rfc3339(&s)
        .unwrap()
        .with_timezone(&Utc)
}

/// A server clock at which the vector is valid: its Timestamp, or 10 minutes before Expires.
fn valid_now(v: &Value) -> DateTime<Utc> {
    match (param(v, "Timestamp"), param(v, "Expires")) {
        (Some(t), _) => iso(t),
        (None, Some(e)) => iso(e) - TimeDelta::minutes(10),
        _ => panic!("{}: no time parameter", v["id"]),
    }
}

fn secret(v: &Value) -> SecretAccessKey {
    SecretAccessKey::new(v["credentials"]["secret_access_key"].as_str().unwrap())
}

/// The service a vector's `Version` addresses; `None` for services Coffer does not serve (EMR in
/// AWS's worked example), which `verify` leaves to fail on the unknown operation.
fn service(v: &Value) -> Option<&'static str> {
    match param(v, "Version") {
        Some("2010-05-08") => Some("iam"),
        Some("2011-06-15") => Some("sts"),
        Some("2017-10-17") => Some("secretsmanager"),
        _ => None,
    }
}

fn check_for(
    v: &Value,
    req: &OwnedRequest,
    now: DateTime<Utc>,
    service: Option<&str>,
) -> Result<(), AuthError> {
    let signed = parse(&req.parts())?.ok_or(AuthError::MissingAuthentication)?;
    // No scope in SigV2: the region option must not matter.
    let opts = VerifyOptions {
        expected_service: service,
        ..options(now, "unused", "nowhere-1")
    };
    verify(&signed, &req.parts(), &secret(v), &opts)
}

/// Verified as a request to the IAM or STS endpoint (the services that accept SigV2), or to no
/// known service for the vectors of other services.
fn check(v: &Value, req: &OwnedRequest, now: DateTime<Utc>) -> Result<(), AuthError> {
    let as_service = match service(v) {
        Some("secretsmanager") => Some("sts"),
        other => other,
    };
    check_for(v, req, now, as_service)
}

#[test]
fn every_sigv2_vector_verifies() {
    let all = vectors();
    assert_eq!(all.len(), 21);
    for v in &all {
        let id = v["id"].as_str().unwrap();
        let req = request(v);
        let signed = parse(&req.parts())
            .unwrap()
            .unwrap_or_else(|| panic!("{id}: no auth"));
        assert_eq!(signed.version(), SignatureVersion::V2, "{id}");
        assert_eq!(
            signed.access_key_id(),
            v["credentials"]["access_key_id"].as_str().unwrap(),
            "{id}"
        );
        assert_eq!(
            signed.session_token(),
            v["credentials"]["session_token"].as_str(),
            "{id}"
        );
        assert!(signed.scope().is_none());
        assert_eq!(signed.canonical_request(&req.parts()), Ok(None));
        assert_eq!(
            signed.string_to_sign(&req.parts()).unwrap(),
            v["expected"]["string_to_sign"].as_str().unwrap(),
            "{id}"
        );
        assert_eq!(check(v, &req, valid_now(v)), Ok(()), "{id}");
    }
}

#[test]
fn tampered_sigv2_requests_mismatch() {
    for v in vectors() {
        let id = v["id"].as_str().unwrap();
        let mut req = request(&v);
        let now = valid_now(&v);
        if req.method == "GET" {
            req.query.push_str("&Extra=1");
        } else {
            req.body.extend_from_slice(b"&Extra=1");
        }
        assert_eq!(
            check(&v, &req, now),
            Err(AuthError::SignatureMismatch),
            "{id}: extra parameter"
        );

        let mut req = request(&v);
        req.method = if req.method == "GET" {
            "POST".into()
        } else {
            "GET".into()
        };
        assert_eq!(
            check(&v, &req, now),
            Err(AuthError::SignatureMismatch),
            "{id}: method"
        );

        let req = request(&v);
        let signed = parse(&req.parts()).unwrap().unwrap();
        let wrong = SecretAccessKey::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYWRONGKEY0");
        assert_eq!(
            verify(
                &signed,
                &req.parts(),
                &wrong,
                &options(now, "iam", "us-east-1")
            ),
            Err(AuthError::SignatureMismatch),
            "{id}: secret"
        );
    }
}

#[test]
fn sigv2_clock_window() {
    for v in vectors() {
        let id = v["id"].as_str().unwrap();
        let req = request(&v);
        let expired = |field, value: &str| {
            Err(AuthError::RequestExpired {
                field,
                value: value.to_string(),
            })
        };
        match (param(&v, "Timestamp"), param(&v, "Expires")) {
            (Some(t), None) => {
                let t0 = iso(t);
                assert_eq!(check(&v, &req, t0 + TimeDelta::minutes(14)), Ok(()), "{id}");
                assert_eq!(check(&v, &req, t0 - TimeDelta::minutes(14)), Ok(()), "{id}");
                assert_eq!(
                    check(&v, &req, t0 + TimeDelta::minutes(16)),
                    expired(V2TimeField::Timestamp, t),
                    "{id}"
                );
                assert_eq!(
                    check(&v, &req, t0 - TimeDelta::minutes(16)),
                    expired(V2TimeField::Timestamp, t),
                    "{id}"
                );
            }
            (None, Some(e)) => {
                let e0 = iso(e);
                assert_eq!(check(&v, &req, e0), Ok(()), "{id}");
                assert_eq!(
                    check(&v, &req, e0 + TimeDelta::seconds(1)),
                    expired(V2TimeField::Expires, e),
                    "{id}"
                );
                // No further ahead than the skew window: not a long-lived bearer URL.
                assert_eq!(check(&v, &req, e0 - TimeDelta::minutes(15)), Ok(()), "{id}");
                let early = e0 - TimeDelta::minutes(15) - TimeDelta::seconds(1);
                assert_eq!(
                    check(&v, &req, early),
                    Err(AuthError::ExpiresTooFarAhead {
                        value: e.to_string(),
                        latest: "2024-01-15T09:44:59Z".into(),
                        now: "2024-01-15T09:29:59Z".into(),
                        skew_minutes: 15,
                    }),
                    "{id}"
                );
            }
            _ => panic!("{id}"),
        }
    }
    let err = AuthError::RequestExpired {
        field: V2TimeField::Timestamp,
        value: "2024-01-15T09:30:00Z".into(),
    };
    let q = err.to_aws(Protocol::Query);
    assert_eq!((q.status, &*q.code), (400, "RequestExpired"));
    assert_eq!(
        q.message.as_deref(),
        Some("Request has expired. Timestamp date is 2024-01-15T09:30:00Z")
    );
}

/// Secrets Manager is SigV4 only: a correct SigV2 signature is not authentication there, for
/// either time parameter, before or after the key is looked at.
#[test]
fn sigv2_is_not_accepted_by_secrets_manager() {
    for v in vectors() {
        let id = v["id"].as_str().unwrap();
        let req = request(&v);
        let now = valid_now(&v);
        let refused = Err(AuthError::SignatureVersionNotAccepted {
            service: "secretsmanager".into(),
        });
        assert_eq!(
            check_for(&v, &req, now, Some("secretsmanager")),
            refused,
            "{id}"
        );
        let signed = parse(&req.parts()).unwrap().unwrap();
        assert_eq!(signed.accepted_by(Some("secretsmanager")), refused, "{id}");
        assert_eq!(signed.accepted_by(Some("iam")), Ok(()), "{id}");
        assert_eq!(signed.accepted_by(Some("sts")), Ok(()), "{id}");
        assert_eq!(signed.accepted_by(None), Ok(()), "{id}");
    }
    let v = vectors()
        .into_iter()
        .find(|v| v["id"] == "secretsmanager-query-get")
        .unwrap();
    assert_eq!(service(&v), Some("secretsmanager"));
}
