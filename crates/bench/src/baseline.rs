//! The baseline: a minimal hyper server that reads each request and answers with one fixed body the
//! size of a GetSecretValue response. Whatever it reaches is the ceiling of this machine, client and
//! protocol; the targets are measured against it.

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose, SanType};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;

use crate::workload::{seed_value, Dataset};

/// A GetSecretValue response for the hot secret as a server would write it, so the baseline moves
/// the same bytes as the targets.
pub fn get_secret_value_body(data: &Dataset) -> Bytes {
    let name = data.name(0);
    let body = serde_json::json!({
        "ARN": format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AbCdEf"),
        "CreatedDate": 1.7e9,
        "Name": name,
        "SecretString": seed_value(0),
        "VersionId": "01234567-89ab-cdef-0123-456789abcdef",
        "VersionStages": ["AWSCURRENT"],
    });
    Bytes::from(body.to_string())
}

pub async fn serve(
    listen: SocketAddr,
    tls_ca_out: Option<&Path>,
    body: Bytes,
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let acceptor = match tls_ca_out {
        Some(ca) => Some(tokio_rustls::TlsAcceptor::from(tls_config(ca)?)),
        None => None,
    };
    let scheme = if acceptor.is_some() { "https" } else { "http" };
    // The harness waits for this line, as it does for Coffer's.
    let mut out = std::io::stdout();
    writeln!(out, "baseline listening on {scheme}://{addr}")?;
    out.flush()?;

    loop {
        let (tcp, _) = match listener.accept().await {
            Ok(x) => x,
            Err(_) => continue,
        };
        let _ = tcp.set_nodelay(true);
        let body = body.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| answer(req, body.clone()));
            let http = hyper::server::conn::http1::Builder::new();
            match acceptor {
                None => {
                    let _ = http.serve_connection(TokioIo::new(tcp), service).await;
                }
                Some(acceptor) => {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        let _ = http.serve_connection(TokioIo::new(tls), service).await;
                    }
                }
            }
        });
    }
}

async fn answer(req: Request<Incoming>, body: Bytes) -> Result<Response<Full<Bytes>>, Infallible> {
    // Read the whole request, as any real server must before answering.
    let _ = req.into_body().collect().await;
    let mut resp = Response::new(Full::new(body));
    let headers = resp.headers_mut();
    headers.insert(
        "content-type",
        http::HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    headers.insert(
        "x-amzn-requestid",
        http::HeaderValue::from_static("01234567-89ab-cdef-0123-456789abcdef"),
    );
    Ok(resp)
}

/// A fresh CA and a server certificate for localhost / 127.0.0.1 signed by it; the CA is written to
/// `ca_out` for the load generator to trust, as Coffer writes its generated CA.
fn tls_config(ca_out: &Path) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::default();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "coffer-bench baseline CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key)?;

    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, "coffer-bench baseline");
    params.subject_alt_names = vec![
        SanType::DnsName("localhost".try_into()?),
        SanType::IpAddress([127, 0, 0, 1].into()),
    ];
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &ca_cert, &ca_key)?;
    std::fs::write(ca_out, ca_cert.pem())
        .with_context(|| format!("writing {}", ca_out.display()))?;

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_has_the_shape_and_size_of_a_get_secret_value_response() {
        let data = Dataset::new("bench/", 1);
        let body = get_secret_value_body(&data);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["Name"], "bench/000000");
        assert_eq!(v["SecretString"], seed_value(0));
        assert!((200..400).contains(&body.len()), "{}", body.len());
    }
}
