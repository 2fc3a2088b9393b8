//! `verify`: the checks after the caller found the secret for the access key, in the order of
//! docs/protocol-facts.md fact 3 (scope, clock window, signed headers, signature).

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use subtle::ConstantTimeEq;

use crate::amz_date::{format_basic, format_extended};
use crate::canonical::{canonical_request, content_sha256_matches, string_to_sign};
use crate::error::{AuthError, V2TimeField};
use crate::request::{Kind, RequestParts, SignedRequest, V2Signature, V4Signature};
use crate::secret::SecretAccessKey;
use crate::signing_key::{hmac_sha256, SigningKeyCache};
use crate::{sigv2, SIGV4_TERMINATOR};

#[derive(Debug, Clone)]
pub struct VerifyOptions<'a> {
    pub now: DateTime<Utc>,
    /// 15 minutes in production.
    pub max_skew: Duration,
    /// From routing; None = accept any service in the scope.
    pub expected_service: Option<&'a str>,
    /// Some when the Host names a region; None = any well-formed region name.
    pub expected_region: Option<&'a str>,
    /// false = AWS semantics (ignore X-Amz-Expires outside S3).
    pub enforce_presigned_expiry: bool,
}

impl VerifyOptions<'_> {
    /// AWS's window for IAM, STS and Secrets Manager.
    pub const DEFAULT_MAX_SKEW: Duration = Duration::from_secs(15 * 60);
}

/// The longest `X-Amz-Expires` AWS allows (7 days).
const MAX_EXPIRES_SECS: i64 = 604_800;

/// Check order per docs/protocol-facts.md fact 3 (after the key was found by the caller): scope
/// date/region/service/terminator, clock window, signed headers (host), signature — constant-time
/// comparison. Never caches a verification result.
pub fn verify(
    signed: &SignedRequest,
    req: &RequestParts,
    secret: &SecretAccessKey,
    opts: &VerifyOptions,
) -> Result<(), AuthError> {
    verify_inner(signed, req, secret, opts, None)
}

/// `verify`, deriving the SigV4 signing key through `cache`.
pub fn verify_with_cache(
    signed: &SignedRequest,
    req: &RequestParts,
    secret: &SecretAccessKey,
    opts: &VerifyOptions,
    cache: &SigningKeyCache,
) -> Result<(), AuthError> {
    verify_inner(signed, req, secret, opts, Some(cache))
}

fn verify_inner(
    signed: &SignedRequest,
    req: &RequestParts,
    secret: &SecretAccessKey,
    opts: &VerifyOptions,
    cache: Option<&SigningKeyCache>,
) -> Result<(), AuthError> {
    signed.accepted_by(opts.expected_service)?;
    match &signed.kind {
        Kind::V4(sig) => {
            check_scope(sig, opts)?;
            check_clock(sig, opts)?;
            check_presigned_expiry(sig, opts)?;
            check_host_signed(sig)?;
            let creq = canonical_request(req, sig)?;
            let sts = string_to_sign(sig, &creq);
            let key = match cache {
                Some(c) => c.get_or_derive(&signed.access_key_id, secret, &sig.scope),
                None => secret.signing_key(&sig.scope),
            };
            let expected = hmac_sha256(&*key, sts.as_bytes());
            if !bool::from(expected.ct_eq(&sig.signature)) {
                return Err(AuthError::SignatureMismatch);
            }
            // The signature covered the header's claim; the body must live up to it.
            if !content_sha256_matches(req.headers, req.body) {
                return Err(AuthError::ContentSha256Mismatch);
            }
            Ok(())
        }
        Kind::V2(sig) => {
            check_v2_clock(sig, opts)?;
            let sts = sigv2::string_to_sign(req, sig)?;
            let expected = sigv2::compute(sig.method, secret, &sts);
            if bool::from(expected.as_slice().ct_eq(sig.signature.as_slice())) {
                Ok(())
            } else {
                Err(AuthError::SignatureMismatch)
            }
        }
    }
}

/// A region name as AWS spells them (`us-east-1`, `us-gov-west-1`, `cn-north-1`, `local`):
/// lower-case letters and digits in '-'-separated groups.
fn well_formed_region(region: &str) -> bool {
    !region.is_empty()
        && region.len() <= 64
        && region.split('-').all(|g| {
            !g.is_empty()
                && g.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

fn check_scope(sig: &V4Signature, opts: &VerifyOptions) -> Result<(), AuthError> {
    let scope = &sig.scope;
    if sig.amz_date.get(..8) != Some(scope.date.as_str()) {
        return Err(AuthError::ScopeDate);
    }
    let region_ok = match opts.expected_region {
        Some(r) => scope.region == r,
        None => well_formed_region(&scope.region),
    };
    if !region_ok {
        return Err(AuthError::ScopeRegion);
    }
    match opts.expected_service {
        Some(s) if scope.service != s => {
            return Err(AuthError::ScopeService {
                expected: s.to_string(),
            });
        }
        None if scope.service.is_empty() => {
            return Err(AuthError::ScopeService {
                expected: String::new(),
            });
        }
        _ => {}
    }
    if scope.terminator != SIGV4_TERMINATOR {
        return Err(AuthError::ScopeTerminator);
    }
    Ok(())
}

fn skew(opts: &VerifyOptions) -> TimeDelta {
    TimeDelta::from_std(opts.max_skew).unwrap_or(TimeDelta::MAX)
}

fn skew_minutes(opts: &VerifyOptions) -> u64 {
    opts.max_skew.as_secs() / 60
}

fn shifted(t: DateTime<Utc>, delta: TimeDelta, forward: bool) -> String {
    let moved = if forward {
        t.checked_add_signed(delta)
    } else {
        t.checked_sub_signed(delta)
    };
    moved.map(format_basic).unwrap_or_else(|| "?".into())
}

fn shifted_extended(t: DateTime<Utc>, delta: TimeDelta) -> String {
    t.checked_add_signed(delta)
        .map(format_extended)
        .unwrap_or_else(|| "?".into())
}

fn check_clock(sig: &V4Signature, opts: &VerifyOptions) -> Result<(), AuthError> {
    let window = skew(opts);
    let age = opts.now.signed_duration_since(sig.request_time);
    if age > window {
        return Err(AuthError::SignatureExpired {
            request_time: sig.amz_date.clone(),
            earliest: shifted(opts.now, window, false),
            now: format_basic(opts.now),
            skew_minutes: skew_minutes(opts),
        });
    }
    if -age > window {
        return Err(AuthError::SignatureNotYetCurrent {
            request_time: sig.amz_date.clone(),
            latest: shifted(opts.now, window, true),
            now: format_basic(opts.now),
            skew_minutes: skew_minutes(opts),
        });
    }
    Ok(())
}

/// Only with `enforce_presigned_expiry` (S3 semantics); AWS ignores `X-Amz-Expires` elsewhere.
fn check_presigned_expiry(sig: &V4Signature, opts: &VerifyOptions) -> Result<(), AuthError> {
    if !sig.presigned || !opts.enforce_presigned_expiry {
        return Ok(());
    }
    let secs = match sig.expires.as_deref().map(str::parse::<i64>) {
        Some(Ok(s)) if (1..=MAX_EXPIRES_SECS).contains(&s) => s,
        Some(Ok(s)) if s > MAX_EXPIRES_SECS => {
            return Err(AuthError::Incomplete(
                "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds".into(),
            ))
        }
        None => {
            return Err(AuthError::Incomplete(
                "AWS query-string parameters must include 'X-Amz-Expires'. Re-examine the query-string parameters.".into(),
            ))
        }
        _ => {
            return Err(AuthError::Incomplete(
                "X-Amz-Expires should be a number between 1 and 604800.".into(),
            ))
        }
    };
    let deadline = sig
        .request_time
        .checked_add_signed(TimeDelta::seconds(secs));
    match deadline {
        Some(d) if opts.now <= d => Ok(()),
        _ => Err(AuthError::PresignedUrlExpired),
    }
}

fn check_host_signed(sig: &V4Signature) -> Result<(), AuthError> {
    // `:authority` (HTTP/2) never reaches here as a header: the server copies it into `Host`.
    if sig
        .signed_headers
        .split(';')
        .any(|h| h.eq_ignore_ascii_case("host"))
    {
        Ok(())
    } else {
        Err(AuthError::HostNotSigned)
    }
}

/// `Timestamp` within the skew window either way; `Expires` not yet past and no further ahead
/// than the skew window. AWS honours any future `Expires`, which turns a SigV2 URL into a bearer
/// link valid until the key is rotated; Coffer bounds it like a SigV4 presigned URL.
fn check_v2_clock(sig: &V2Signature, opts: &VerifyOptions) -> Result<(), AuthError> {
    let window = skew(opts);
    let expired = || AuthError::RequestExpired {
        field: sig.time_field,
        value: sig.time_raw.clone(),
    };
    match sig.time_field {
        V2TimeField::Timestamp => {
            let age = opts.now.signed_duration_since(sig.time);
            if age <= window && -age <= window {
                Ok(())
            } else {
                Err(expired())
            }
        }
        V2TimeField::Expires => {
            if opts.now > sig.time {
                return Err(expired());
            }
            if sig.time.signed_duration_since(opts.now) > window {
                return Err(AuthError::ExpiresTooFarAhead {
                    value: sig.time_raw.clone(),
                    latest: shifted_extended(opts.now, window),
                    now: format_extended(opts.now),
                    skew_minutes: skew_minutes(opts),
                });
            }
            Ok(())
        }
    }
}

impl SignedRequest {
    /// The SigV4 canonical request the verifier computes for `req` (diagnostics and tests);
    /// `Ok(None)` for SigV2, which has none. Not secret: it contains no key material.
    pub fn canonical_request(&self, req: &RequestParts) -> Result<Option<String>, AuthError> {
        match &self.kind {
            Kind::V4(sig) => {
                let creq = canonical_request(req, sig)?;
                Ok(Some(String::from_utf8_lossy(&creq).into_owned()))
            }
            Kind::V2(_) => Ok(None),
        }
    }

    /// The string to sign the verifier computes for `req` (either version).
    pub fn string_to_sign(&self, req: &RequestParts) -> Result<String, AuthError> {
        match &self.kind {
            Kind::V4(sig) => Ok(string_to_sign(sig, &canonical_request(req, sig)?)),
            Kind::V2(sig) => sigv2::string_to_sign(req, sig),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names() {
        for ok in [
            "us-east-1",
            "us-gov-west-1",
            "cn-north-1",
            "local",
            "eu-central-2",
        ] {
            assert!(well_formed_region(ok), "{ok}");
        }
        for bad in [
            "",
            "US-EAST-1",
            "us--east-1",
            "us-east-1-",
            "us_east_1",
            "us east",
        ] {
            assert!(!well_formed_region(bad), "{bad}");
        }
    }
}
