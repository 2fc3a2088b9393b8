//! The outbound client against local servers that misbehave the ways a hostile or broken issuer
//! or Lambda endpoint can: too large, too slow, wrong certificate, wrong scheme.

use std::sync::Arc;
use std::time::Duration;

use coffer_outbound::{pem_certificates, Client, Limits, OutboundError, Schemes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

fn limits() -> Limits {
    Limits {
        connect_timeout: Duration::from_secs(5),
        timeout: Duration::from_secs(10),
        max_response_bytes: 1024,
    }
}

/// A short deadline for the tests where the server never finishes.
fn short_limits() -> Limits {
    Limits {
        timeout: Duration::from_millis(300),
        ..limits()
    }
}

#[derive(Clone)]
enum Behaviour {
    /// Sends these bytes, then closes.
    Reply(Vec<u8>),
    /// Reads the request and then sends nothing, holding the connection open.
    Silent,
    /// Sends the head and part of the body, then nothing more, holding the connection open.
    Stall,
}

async fn handle<S: AsyncRead + AsyncWrite + Unpin>(mut sock: S, behaviour: Behaviour) {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    while !raw.windows(4).any(|w| w == b"\r\n\r\n") {
        match sock.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    match behaviour {
        Behaviour::Reply(bytes) => {
            let _ = sock.write_all(&bytes).await;
            let _ = sock.shutdown().await;
        }
        Behaviour::Silent => {
            let _ = sock.read(&mut buf).await;
        }
        Behaviour::Stall => {
            let _ = sock
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"keys\":")
                .await;
            let _ = sock.flush().await;
            let _ = sock.read(&mut buf).await;
        }
    }
}

/// A plain-HTTP server on a free port; its base URL.
async fn http_server(behaviour: Behaviour) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            tokio::spawn(handle(sock, behaviour.clone()));
        }
    });
    url
}

/// A private CA and a certificate for `localhost`/127.0.0.1 signed by it: (CA PEM, acceptor).
fn tls_material() -> (String, tokio_rustls::TlsAcceptor) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
        .unwrap()
        .signed_by(&leaf_key, &ca, &ca_key)
        .unwrap();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
        )
        .unwrap();
    (ca.pem(), tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

async fn https_server(behaviour: Behaviour) -> (String, String) {
    let (ca_pem, acceptor) = tls_material();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "https://localhost:{}",
        listener.local_addr().unwrap().port()
    );
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let behaviour = behaviour.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(sock).await {
                    handle(tls, behaviour).await;
                }
            });
        }
    });
    (url, ca_pem)
}

fn ok_reply(body: &str) -> Behaviour {
    Behaviour::Reply(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Extra: yes\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

#[tokio::test]
async fn a_response_is_read_whole_with_status_and_headers() {
    let url = http_server(ok_reply("{\"a\":1}")).await;
    let client = Client::new(Schemes::HttpOrHttps, limits(), Vec::new());
    let response = client
        .post(&format!("{url}/invoke"), "application/json", b"{}".to_vec())
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.headers["x-extra"], "yes");
    assert_eq!(&response.body[..], b"{\"a\":1}");
}

#[tokio::test]
async fn https_with_a_private_ca_is_trusted_only_when_configured() {
    let (url, ca_pem) = https_server(ok_reply("{}")).await;
    let trusting = Client::new(
        Schemes::HttpsOnly,
        limits(),
        pem_certificates(ca_pem.as_bytes()).unwrap(),
    );
    let response = trusting
        .get(&format!("{url}/jwks"), "application/json")
        .await;
    assert_eq!(response.unwrap().status, 200);

    let untrusting = Client::new(Schemes::HttpsOnly, limits(), Vec::new());
    let error = untrusting
        .get(&format!("{url}/jwks"), "application/json")
        .await
        .unwrap_err();
    assert!(
        matches!(&error, OutboundError::Connect { reason, .. } if reason.contains("certificate")),
        "{error}"
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_an_error_declared_or_not() {
    let declared = http_server(Behaviour::Reply(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n".to_vec(),
    ))
    .await;
    let chunk = format!("{:x}\r\n{}\r\n", 600, "y".repeat(600));
    let chunked = http_server(Behaviour::Reply(
        format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{chunk}{chunk}0\r\n\r\n")
            .into_bytes(),
    ))
    .await;
    let unframed = http_server(Behaviour::Reply(
        format!("HTTP/1.1 200 OK\r\n\r\n{}", "z".repeat(3000)).into_bytes(),
    ))
    .await;
    let client = Client::new(Schemes::HttpOrHttps, limits(), Vec::new());
    for url in [declared, chunked, unframed] {
        let error = client.get(&url, "*/*").await.unwrap_err();
        assert!(
            matches!(error, OutboundError::TooLarge { limit: 1024, .. }),
            "{url}: {error}"
        );
    }
}

#[tokio::test]
async fn huge_headers_end_the_exchange() {
    let head = format!(
        "HTTP/1.1 200 OK\r\nX-Big: {}\r\nContent-Length: 0\r\n\r\n",
        "h".repeat(200 * 1024)
    );
    let url = http_server(Behaviour::Reply(head.into_bytes())).await;
    let client = Client::new(Schemes::HttpOrHttps, limits(), Vec::new());
    let error = client.get(&url, "*/*").await.unwrap_err();
    assert!(matches!(error, OutboundError::Transport { .. }), "{error}");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let silent = http_server(Behaviour::Silent).await;
    let stall = http_server(Behaviour::Stall).await;
    let (tls_silent, ca_pem) = https_server(Behaviour::Silent).await;
    let client = Client::new(
        Schemes::HttpOrHttps,
        short_limits(),
        pem_certificates(ca_pem.as_bytes()).unwrap(),
    );
    for url in [silent, stall, tls_silent] {
        let error = client.get(&url, "*/*").await.unwrap_err();
        assert!(
            matches!(error, OutboundError::Timeout { .. }),
            "{url}: {error}"
        );
    }
    // A TCP listener that never accepts: the TLS handshake never starts.
    let backlog = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "https://localhost:{}/",
        backlog.local_addr().unwrap().port()
    );
    let error = client.get(&url, "*/*").await.unwrap_err();
    assert!(matches!(error, OutboundError::Timeout { .. }), "{error}");
}

#[tokio::test]
async fn urls_outside_the_allowed_schemes_or_unreachable_are_refused() {
    let https_only = Client::new(Schemes::HttpsOnly, limits(), Vec::new());
    let url = http_server(ok_reply("{}")).await;
    assert!(matches!(
        https_only.get(&url, "*/*").await.unwrap_err(),
        OutboundError::SchemeNotAllowed { .. }
    ));
    for bad in ["not a url", "/relative", "ftp://example.com/", "https://"] {
        let error = https_only.get(bad, "*/*").await.unwrap_err();
        assert!(
            matches!(
                error,
                OutboundError::InvalidUrl(_) | OutboundError::SchemeNotAllowed { .. }
            ),
            "{bad}: {error}"
        );
    }
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gone = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let client = Client::new(Schemes::HttpOrHttps, limits(), Vec::new());
    assert!(matches!(
        client.get(&gone, "*/*").await.unwrap_err(),
        OutboundError::Connect { .. }
    ));
}

#[test]
fn ca_files_without_certificates_are_refused() {
    assert!(pem_certificates(b"").is_err());
    assert!(
        pem_certificates(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
            .is_err()
    );
    assert!(pem_certificates(b"just text").is_err());
}
