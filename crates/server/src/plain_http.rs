//! A plain-HTTP request sent to the HTTPS port (`http://` where `https://` was meant) gets an
//! HTTP 400 saying so, instead of a connection closed by a failed TLS handshake that clients
//! report as "connection reset" or "empty reply".

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A TLS connection starts with a handshake record (content type 22).
const TLS_HANDSHAKE: u8 = 0x16;

/// The answer: fixed text, echoing nothing the client sent.
const ANSWER: &str = "Coffer serves HTTPS on this port: use https:// instead of http://.\n";

/// Bytes of the request read (and discarded) before answering, so the client has finished
/// sending its headers and reads the answer instead of a reset connection.
const READ_LIMIT: usize = 16 * 1024;

/// What the first byte of a connection says it is.
pub(crate) enum Opening {
    /// A TLS handshake, or anything that is not plain HTTP: the TLS acceptor decides.
    Tls,
    /// The start of an HTTP/1 request line (an ASCII letter, the method's first).
    PlainHttp,
    /// The peer closed or failed before sending a byte.
    Closed,
}

/// Looks at the first byte without consuming it.
pub(crate) async fn opening(stream: &TcpStream) -> Opening {
    let mut first = [0u8; 1];
    match stream.peek(&mut first).await {
        Ok(0) | Err(_) => Opening::Closed,
        Ok(_) if first[0] == TLS_HANDSHAKE => Opening::Tls,
        Ok(_) if first[0].is_ascii_uppercase() => Opening::PlainHttp,
        Ok(_) => Opening::Tls,
    }
}

/// Reads the request's head (up to [`READ_LIMIT`]), answers 400 and closes. The caller bounds
/// the time it may take.
pub(crate) async fn refuse(mut stream: TcpStream) {
    let mut seen = Vec::with_capacity(1024);
    let mut buf = [0u8; 2048];
    while seen.len() < READ_LIMIT && !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    let response = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{ANSWER}",
        ANSWER.len()
    );
    if stream.write_all(response.as_bytes()).await.is_err() {
        return;
    }
    // Half-close and drain what the client still sends (a body), so closing does not reset the
    // connection before the client has read the answer.
    let _ = stream.shutdown().await;
    let mut drained = 0;
    while drained < READ_LIMIT {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
}
