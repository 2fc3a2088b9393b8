//! The one HTTP client Coffer uses to call other servers: OpenID Connect issuers (their discovery
//! document and keys, for `AssumeRoleWithWebIdentity`) and Lambda Invoke endpoints (rotation
//! functions). Built on hyper-util's client and rustls (aws-lc-rs), with the limits a server that
//! calls out on behalf of unauthenticated requests needs: a connect timeout, a deadline for the
//! whole exchange, a cap on the response size and on its headers, no redirects, and no pooled
//! connections left open between the rare calls.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::pem::PemObject;
pub use rustls::pki_types::CertificateDer;

/// Which URL schemes a client may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schemes {
    /// `https://` only (OIDC issuers: AWS fetches their keys over HTTPS only).
    HttpsOnly,
    /// `http://` or `https://` (a Lambda emulator next to Coffer usually speaks plain HTTP).
    HttpOrHttps,
}

/// Time and size limits of one exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Time to open the TCP connection.
    pub connect_timeout: Duration,
    /// Time for the whole exchange: connection, TLS handshake, request, and the complete response.
    pub timeout: Duration,
    /// Largest response body accepted; a larger one is an error, not a truncated body.
    pub max_response_bytes: usize,
}

/// Headers larger than this end the exchange (hyper's floor for its read buffer is 8 KiB).
const MAX_RESPONSE_HEAD: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("{0}: not a valid absolute URL")]
    InvalidUrl(String),
    #[error("{url}: only {allowed} URLs are allowed")]
    SchemeNotAllowed { url: String, allowed: &'static str },
    #[error("{url}: cannot connect: {reason}")]
    Connect { url: String, reason: String },
    #[error("{url}: {reason}")]
    Transport { url: String, reason: String },
    #[error("{url}: no complete response within {timeout:?}")]
    Timeout { url: String, timeout: Duration },
    #[error("{url}: the response is larger than {limit} bytes")]
    TooLarge { url: String, limit: usize },
    #[error("CA certificates: {0}")]
    InvalidCa(String),
}

/// A complete response: the body was read in full, within the limits.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

type Inner = hyper_util::client::legacy::Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// An HTTP/1.1 client with fixed limits. Cheap to clone; the connector (and the system's root
/// certificates) is set up on the first request, because loading the roots costs a noticeable part
/// of a `--dev` start-up and most servers never call out.
#[derive(Clone)]
pub struct Client {
    schemes: Schemes,
    limits: Limits,
    extra_roots: Arc<Vec<CertificateDer<'static>>>,
    inner: Arc<OnceLock<Inner>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("schemes", &self.schemes)
            .field("limits", &self.limits)
            .field("extra_roots", &self.extra_roots.len())
            .finish()
    }
}

/// The certificates of a PEM file (a private CA to trust besides the system's roots).
pub fn pem_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, OutboundError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| OutboundError::InvalidCa(e.to_string()))?;
    if certs.is_empty() {
        return Err(OutboundError::InvalidCa(
            "the file holds no PEM certificate".to_string(),
        ));
    }
    // Refuse at start-up what rustls would refuse at the first call.
    let mut check = rustls::RootCertStore::empty();
    for cert in &certs {
        check
            .add(cert.clone())
            .map_err(|e| OutboundError::InvalidCa(e.to_string()))?;
    }
    Ok(certs)
}

impl Client {
    /// A client trusting the system's roots and `extra_roots` for `https://`.
    pub fn new(
        schemes: Schemes,
        limits: Limits,
        extra_roots: Vec<CertificateDer<'static>>,
    ) -> Self {
        Client {
            schemes,
            limits,
            extra_roots: Arc::new(extra_roots),
            inner: Arc::new(OnceLock::new()),
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The same client with other limits (and a connector of its own).
    pub fn with_limits(&self, limits: Limits) -> Self {
        Client::new(self.schemes, limits, self.extra_roots.to_vec())
    }

    fn inner(&self) -> &Inner {
        self.inner.get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            // System roots that cannot be read or parsed are skipped: a call that needed one
            // then fails with a certificate error naming the cause.
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            // Checked by `pem_certificates`.
            roots.add_parsable_certificates(self.extra_roots.iter().cloned());
            let tls = rustls::ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth();
            let mut http = HttpConnector::new();
            http.enforce_http(false);
            http.set_connect_timeout(Some(self.limits.connect_timeout));
            http.set_nodelay(true);
            let builder = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls);
            let connector = match self.schemes {
                Schemes::HttpsOnly => builder.https_only(),
                Schemes::HttpOrHttps => builder.https_or_http(),
            }
            .enable_http1()
            .wrap_connector(http);
            hyper_util::client::legacy::Client::builder(TokioExecutor::new())
                // Calls are rare (a key refresh, a rotation step): nothing stays open between them.
                .pool_max_idle_per_host(0)
                .http1_max_buf_size(MAX_RESPONSE_HEAD)
                .build(connector)
        })
    }

    pub async fn get(&self, url: &str, accept: &str) -> Result<Response, OutboundError> {
        self.send(Method::GET, url, accept, None).await
    }

    pub async fn post(
        &self,
        url: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<Response, OutboundError> {
        self.send(Method::POST, url, "*/*", Some((content_type, body)))
            .await
    }

    async fn send(
        &self,
        method: Method,
        url: &str,
        accept: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Response, OutboundError> {
        let uri = self.check_url(url)?;
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header(http::header::USER_AGENT, "coffer")
            .header(
                http::header::ACCEPT,
                HeaderValue::from_str(accept).unwrap_or(HeaderValue::from_static("*/*")),
            );
        let payload = match body {
            Some((content_type, bytes)) => {
                request = request.header(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_str(content_type)
                        .unwrap_or(HeaderValue::from_static("application/octet-stream")),
                );
                Full::new(Bytes::from(bytes))
            }
            None => Full::new(Bytes::new()),
        };
        let request = request
            .body(payload)
            .map_err(|e| OutboundError::InvalidUrl(format!("{url} ({e})")))?;
        let exchange = async {
            let response = self.inner().request(request).await.map_err(|e| {
                let reason = error_chain(&e);
                if e.is_connect() {
                    OutboundError::Connect {
                        url: url.to_string(),
                        reason,
                    }
                } else {
                    OutboundError::Transport {
                        url: url.to_string(),
                        reason,
                    }
                }
            })?;
            let (parts, body) = response.into_parts();
            let too_large = || OutboundError::TooLarge {
                url: url.to_string(),
                limit: self.limits.max_response_bytes,
            };
            // A declared length over the cap fails before any of the body is read.
            let declared = parts
                .headers
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            if declared.is_some_and(|n| n > self.limits.max_response_bytes as u64) {
                return Err(too_large());
            }
            let body = Limited::new(body, self.limits.max_response_bytes)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        too_large()
                    } else {
                        OutboundError::Transport {
                            url: url.to_string(),
                            reason: error_chain(e.as_ref()),
                        }
                    }
                })?
                .to_bytes();
            Ok(Response {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(self.limits.timeout, exchange)
            .await
            .map_err(|_| OutboundError::Timeout {
                url: url.to_string(),
                timeout: self.limits.timeout,
            })?
    }

    fn check_url(&self, url: &str) -> Result<Uri, OutboundError> {
        let uri: Uri = url
            .parse()
            .map_err(|_| OutboundError::InvalidUrl(url.to_string()))?;
        if uri.host().is_none_or(str::is_empty) {
            return Err(OutboundError::InvalidUrl(url.to_string()));
        }
        let allowed = matches!(
            (self.schemes, uri.scheme_str()),
            (_, Some("https")) | (Schemes::HttpOrHttps, Some("http"))
        );
        if !allowed {
            return Err(OutboundError::SchemeNotAllowed {
                url: url.to_string(),
                allowed: match self.schemes {
                    Schemes::HttpsOnly => "https://",
                    Schemes::HttpOrHttps => "http:// and https://",
                },
            });
        }
        Ok(uri)
    }
}

/// An error and its causes, `a: b: c`: hyper's own messages ("client error (Connect)") name the
/// stage, the causes say what went wrong.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
