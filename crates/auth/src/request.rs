//! The request as signing sees it, and `parse`: which scheme (if any) a request uses and its
//! parsed, not yet verified, signature.

use chrono::{DateTime, Utc};
use http::header::AUTHORIZATION;

use crate::encoding::{form_params, is_form_content_type, query_params, Param};
use crate::error::{AuthError, V2TimeField};
use crate::{authorization_header, presigned, sigv2};

/// The parts of an HTTP request that signing covers. `path` and `query` are raw, as received
/// (percent-encoded, query without '?'); `body` is the full body bytes.
///
/// `headers` must contain `Host` (on HTTP/2 the caller copies `:authority` into it).
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a http::HeaderMap,
    pub body: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureVersion {
    V4Header,
    V4Presigned,
    V2,
}

/// `<date>/<region>/<service>/<terminator>` from a SigV4 credential, unchecked until `verify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialScope {
    pub date: String,
    pub region: String,
    pub service: String,
    pub terminator: String,
}

impl std::fmt::Display for CredentialScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            self.date, self.region, self.service, self.terminator
        )
    }
}

/// A parsed (not yet verified) signature.
pub struct SignedRequest {
    pub(crate) access_key_id: String,
    pub(crate) session_token: Option<String>,
    pub(crate) kind: Kind,
}

pub(crate) enum Kind {
    V4(V4Signature),
    V2(V2Signature),
}

pub(crate) struct V4Signature {
    pub presigned: bool,
    pub scope: CredentialScope,
    /// SignedHeaders exactly as sent; it is the canonical request's SignedHeaders line.
    pub signed_headers: String,
    pub signature: [u8; 32],
    pub request_time: DateTime<Utc>,
    /// The request time in basic ISO 8601: the string-to-sign's second line.
    pub amz_date: String,
    /// Presigned only: `X-Amz-Expires` as sent (AWS ignores it outside S3).
    pub expires: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum V2Method {
    HmacSha256,
    HmacSha1,
}

pub(crate) struct V2Signature {
    pub method: V2Method,
    pub signature: Vec<u8>,
    pub time_field: V2TimeField,
    pub time_raw: String,
    pub time: DateTime<Utc>,
    /// Every parameter except `Signature`, from the query and the form body.
    pub params: Vec<Param>,
}

impl SignedRequest {
    pub fn version(&self) -> SignatureVersion {
        match &self.kind {
            Kind::V4(v) if v.presigned => SignatureVersion::V4Presigned,
            Kind::V4(_) => SignatureVersion::V4Header,
            Kind::V2(_) => SignatureVersion::V2,
        }
    }

    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// `X-Amz-Security-Token` (header, or query when presigned), or SigV2 `SecurityToken`.
    pub fn session_token(&self) -> Option<&str> {
        self.session_token.as_deref()
    }

    /// SigV4 only.
    pub fn scope(&self) -> Option<&CredentialScope> {
        match &self.kind {
            Kind::V4(v) => Some(&v.scope),
            Kind::V2(_) => None,
        }
    }

    /// Whether `service` (a signing name; `None` when the request names no known service) takes
    /// this kind of signature: SigV4 everywhere, SigV2 only where AWS still accepts it
    /// ([`crate::SIGV2_SERVICES`]). A request for no known service never reaches an operation,
    /// so it is left to fail on that.
    pub fn accepted_by(&self, service: Option<&str>) -> Result<(), AuthError> {
        match (&self.kind, service) {
            (Kind::V2(_), Some(s)) if !crate::SIGV2_SERVICES.contains(&s) => {
                Err(AuthError::SignatureVersionNotAccepted {
                    service: s.to_string(),
                })
            }
            _ => Ok(()),
        }
    }

    /// The request time the client signed (SigV2: `Timestamp` or `Expires`).
    pub fn request_time(&self) -> DateTime<Utc> {
        match &self.kind {
            Kind::V4(v) => v.request_time,
            Kind::V2(v) => v.time,
        }
    }
}

impl std::fmt::Debug for SignedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The signature and session token stay out of logs.
        let mut d = f.debug_struct("SignedRequest");
        d.field("version", &self.version())
            .field("access_key_id", &self.access_key_id)
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .field("scope", &self.scope())
            .field("request_time", &self.request_time());
        d.finish_non_exhaustive()
    }
}

const V4_QUERY_MARKERS: [&str; 4] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-SignedHeaders",
];
const V2_MARKERS: [&str; 3] = ["AWSAccessKeyId", "SignatureVersion", "Signature"];

const ONE_MECHANISM: &str =
    "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, \
Signature query string parameter or the Authorization header should be specified";

fn has_any(params: &[Param], names: &[&str]) -> bool {
    params.iter().any(|p| names.iter().any(|n| p.name_is(n)))
}

/// Ok(None) when the request carries no authentication at all (server decides:
/// MissingAuthenticationToken or an unsigned op). For SigV2 the parameters may be in the query or
/// in an application/x-www-form-urlencoded body (POST).
pub fn parse(req: &RequestParts) -> Result<Option<SignedRequest>, AuthError> {
    let query = query_params(req.query);
    let v4_query = has_any(&query, &V4_QUERY_MARKERS);
    let v2_query = has_any(&query, &V2_MARKERS);

    let mut authorization = req.headers.get_all(AUTHORIZATION).iter();
    if let Some(value) = authorization.next() {
        if authorization.next().is_some() {
            return Err(AuthError::Incomplete(
                "The request must carry a single Authorization header.".into(),
            ));
        }
        if v4_query || v2_query {
            return Err(AuthError::Incomplete(ONE_MECHANISM.into()));
        }
        return authorization_header::parse(value, req.headers).map(Some);
    }
    if v4_query {
        if v2_query {
            return Err(AuthError::Incomplete(ONE_MECHANISM.into()));
        }
        return presigned::parse(&query, req.headers).map(Some);
    }

    let mut params = query;
    let form_body = req
        .headers
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|ct| is_form_content_type(ct.as_bytes()));
    if form_body {
        params.extend(form_params(req.body));
    }
    if has_any(&params, &V2_MARKERS) {
        return sigv2::parse(params).map(Some);
    }
    Ok(None)
}
