//! Fetching an OpenID Connect issuer's signing keys: `<issuer>/.well-known/openid-configuration`,
//! then its `jwks_uri`, over HTTPS (the system's roots, plus `--oidc-ca` for a private CA). A small
//! HTTP/1.1 client is enough for two GETs; it caps sizes and times so a slow or hostile issuer
//! cannot hold a request.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TIMEOUT: Duration = Duration::from_secs(5);
const MAX_BODY: usize = 1024 * 1024;

/// An RSA public key of the issuer's JWKS.
#[derive(Debug, Clone)]
pub(crate) struct Jwk {
    pub kid: Option<String>,
    pub n: Vec<u8>,
    pub e: Vec<u8>,
}

/// How long an issuer's keys are reused before they are fetched again.
const KEYS_TTL: Duration = Duration::from_secs(300);

type KeyCache = std::collections::HashMap<String, (std::time::Instant, Arc<Vec<Jwk>>)>;

pub(crate) struct Fetcher {
    /// The private CA's certificates (`--oidc-ca`), checked when the server starts.
    extra_roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    /// Built on the first fetch: loading the system's roots costs a third of `--dev`'s start-up,
    /// and most servers never federate.
    tls: std::sync::OnceLock<Arc<rustls::ClientConfig>>,
    cache: std::sync::Mutex<KeyCache>,
}

impl Fetcher {
    /// Trusts the system's roots and the PEM certificates in `extra_ca`.
    pub fn new(extra_ca: Option<&[u8]>) -> Result<Fetcher, String> {
        let mut extra_roots = Vec::new();
        if let Some(pem) = extra_ca {
            let mut reader = pem;
            let mut check = rustls::RootCertStore::empty();
            for cert in rustls_pemfile::certs(&mut reader) {
                let cert = cert.map_err(|e| format!("reading the OIDC CA file: {e}"))?;
                check
                    .add(cert.clone())
                    .map_err(|e| format!("the OIDC CA file: {e}"))?;
                extra_roots.push(cert);
            }
            if extra_roots.is_empty() {
                return Err("the OIDC CA file holds no PEM certificate".to_string());
            }
        }
        Ok(Fetcher {
            extra_roots,
            tls: std::sync::OnceLock::new(),
            cache: Default::default(),
        })
    }

    fn tls(&self) -> Arc<rustls::ClientConfig> {
        self.tls
            .get_or_init(|| {
                let mut roots = rustls::RootCertStore::empty();
                for cert in rustls_native_certs::load_native_certs().certs {
                    let _ = roots.add(cert);
                }
                for cert in &self.extra_roots {
                    // Already checked by `new`.
                    let _ = roots.add(cert.clone());
                }
                Arc::new(
                    rustls::ClientConfig::builder()
                        .with_root_certificates(roots)
                        .with_no_client_auth(),
                )
            })
            .clone()
    }

    /// The issuer's RSA signing keys, from the cache unless they are older than [`KEYS_TTL`] or
    /// `refresh` asks for new ones (a token signed with a key the cached set lacks: rotation).
    pub async fn keys(&self, issuer: &str, refresh: bool) -> Result<Arc<Vec<Jwk>>, String> {
        if !refresh {
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((at, keys)) = cache.get(issuer) {
                if at.elapsed() < KEYS_TTL {
                    return Ok(keys.clone());
                }
            }
        }
        let keys = Arc::new(self.fetch_keys(issuer).await?);
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        // Issuers are the account's OIDC providers: few, but a bound keeps memory in check.
        if cache.len() >= 1024 {
            cache.clear();
        }
        cache.insert(
            issuer.to_string(),
            (std::time::Instant::now(), keys.clone()),
        );
        Ok(keys)
    }

    async fn fetch_keys(&self, issuer: &str) -> Result<Vec<Jwk>, String> {
        let config_url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let config = self.get_json(&config_url).await?;
        let jwks_uri = config
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or("the OpenID configuration has no jwks_uri")?
            .to_string();
        let jwks = self.get_json(&jwks_uri).await?;
        let keys = jwks
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("the JWKS has no keys")?;
        let b64 = |v: &Value, name: &str| {
            v.get(name)
                .and_then(Value::as_str)
                .and_then(crate::web_identity::base64url)
        };
        Ok(keys
            .iter()
            .filter(|k| k.get("kty").and_then(Value::as_str) == Some("RSA"))
            .filter_map(|k| {
                Some(Jwk {
                    kid: k.get("kid").and_then(Value::as_str).map(str::to_string),
                    n: b64(k, "n")?,
                    e: b64(k, "e")?,
                })
            })
            .collect())
    }

    async fn get_json(&self, url: &str) -> Result<Value, String> {
        let body = tokio::time::timeout(TIMEOUT, self.get(url))
            .await
            .map_err(|_| format!("{url}: timed out"))??;
        serde_json::from_slice(&body).map_err(|e| format!("{url}: not JSON: {e}"))
    }

    async fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        let rest = url
            .strip_prefix("https://")
            .ok_or_else(|| format!("{url}: not an https URL"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => {
                (h, p.parse::<u16>().map_err(|_| format!("{url}: bad port"))?)
            }
            _ => (authority, 443),
        };
        let host_name = host.trim_start_matches('[').trim_end_matches(']');
        let server_name = rustls::pki_types::ServerName::try_from(host_name.to_string())
            .map_err(|_| format!("{url}: bad host"))?;
        let tcp = tokio::net::TcpStream::connect((host_name, port))
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let connector = tokio_rustls::TlsConnector::from(self.tls());
        let mut tls = connector
            .connect(server_name, tcp)
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {authority}\r\nAccept: application/json\r\nUser-Agent: coffer-sts\r\nConnection: close\r\n\r\n"
        );
        tls.write_all(request.as_bytes())
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let mut raw = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            let n = match tls.read(&mut buf).await {
                Ok(n) => n,
                // Servers that close without close_notify still sent a complete response.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
                Err(e) => return Err(format!("{url}: {e}")),
            };
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&buf[..n]);
            if raw.len() > MAX_BODY + 16 * 1024 {
                return Err(format!("{url}: response too large"));
            }
        }
        parse_response(&raw).map_err(|e| format!("{url}: {e}"))
    }
}

fn parse_response(raw: &[u8]) -> Result<Vec<u8>, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("incomplete response")?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| "bad response head")?;
    let body = &raw[end + 4..];
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or("bad status line")?;
    if status != 200 {
        return Err(format!("HTTP {status}"));
    }
    let chunked = lines.any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("transfer-encoding")
                && v.to_ascii_lowercase().contains("chunked")
        })
    });
    if !chunked {
        return Ok(body.to_vec());
    }
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("bad chunk")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).map_err(|_| "bad chunk")?;
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| "bad chunk size")?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if rest.len() < size + 2 || out.len() + size > MAX_BODY {
            return Err("bad chunk".to_string());
        }
        out.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_parse_plain_and_chunked() {
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}").unwrap(),
            b"{}"
        );
        assert_eq!(
            parse_response(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n"
            )
            .unwrap(),
            b"{\"a\":1}"
        );
        assert!(parse_response(b"HTTP/1.1 404 Not Found\r\n\r\n").is_err());
    }
}
