//! `coffer probe URL`: one GET of a server's health endpoint, for container health checks in
//! images that have no curl (`HEALTHCHECK CMD ["coffer", "probe", …]`). Exits 0 on a 2xx
//! answer, 1 otherwise, printing the status line and body.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The most of an answer read: health answers are a few hundred bytes.
const ANSWER_LIMIT: u64 = 64 * 1024;

#[derive(clap::Args)]
pub struct ProbeArgs {
    /// What to ask: `http://127.0.0.1:4566/readyz`, or `https://…` with --ca.
    pub url: String,
    /// The CA that signed the server's certificate (for `https://`): the generated
    /// `<data-dir>/tls/ca.pem` verifies `localhost` and `127.0.0.1`.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub timeout: u64,
}

/// Runs the probe; the exit status.
pub fn run(args: &ProbeArgs) -> i32 {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("coffer probe: {e}");
            return 1;
        }
    };
    let timeout = Duration::from_secs(args.timeout);
    match runtime.block_on(async { tokio::time::timeout(timeout, probe(args)).await }) {
        Ok(Ok((status, answer))) => {
            println!("{}", answer.trim_end());
            i32::from(!(200..300).contains(&status))
        }
        Ok(Err(e)) => {
            eprintln!("coffer probe: {e:#}");
            1
        }
        Err(_) => {
            eprintln!("coffer probe: no answer within {} s", args.timeout);
            1
        }
    }
}

/// The parts of the URL the probe needs.
struct Target {
    tls: bool,
    host: String,
    port: u16,
    path: String,
}

fn parse_url(url: &str) -> anyhow::Result<Target> {
    let (tls, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else {
        bail!("{url:?}: the URL starts with http:// or https://");
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (
            host,
            port.parse()
                .with_context(|| format!("{url:?}: {port:?} is not a port"))?,
        ),
        _ => (authority, if tls { 443 } else { 80 }),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty()
        || path
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        bail!("{url:?} is not a URL the probe can ask");
    }
    Ok(Target {
        tls,
        host: host.to_string(),
        port,
        path: path.to_string(),
    })
}

async fn probe(args: &ProbeArgs) -> anyhow::Result<(u16, String)> {
    let target = parse_url(&args.url)?;
    if target.tls && args.ca.is_none() {
        bail!("an https:// URL needs --ca FILE (the CA that signed the server's certificate)");
    }
    let stream = tokio::net::TcpStream::connect((target.host.as_str(), target.port))
        .await
        .with_context(|| format!("connecting to {}:{}", target.host, target.port))?;
    let host_header = if target.host.contains(':') {
        format!("[{}]:{}", target.host, target.port)
    } else {
        format!("{}:{}", target.host, target.port)
    };
    let request = format!(
        "GET {} HTTP/1.1\r\nhost: {host_header}\r\nuser-agent: coffer-probe\r\nconnection: close\r\n\r\n",
        target.path
    );
    let answer = if target.tls {
        let Some(ca) = &args.ca else {
            bail!("an https:// URL needs --ca FILE");
        };
        let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            roots
                .add(cert.with_context(|| format!("reading {}", ca.display()))?)
                .with_context(|| format!("{}: not a usable CA certificate", ca.display()))?;
        }
        if roots.is_empty() {
            bail!("{}: no certificate in the file", ca.display());
        }
        let config = rustls::ClientConfig::builder_with_provider(coffer_server::tls::provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from(target.host.clone())
            .with_context(|| format!("{:?} is not a server name", target.host))?;
        let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, stream)
            .await
            .context("TLS handshake")?;
        exchange(&mut tls, &request).await?
    } else {
        let mut stream = stream;
        exchange(&mut stream, &request).await?
    };
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status_line = text.lines().next().unwrap_or_default();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("not an HTTP answer: {status_line:?}"))?;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    Ok((status, format!("{status_line}\n{body}")))
}

async fn exchange<S>(stream: &mut S, request: &str) -> anyhow::Result<Vec<u8>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    stream.write_all(request.as_bytes()).await?;
    stream.flush().await?;
    let mut answer = Vec::new();
    match stream.take(ANSWER_LIMIT).read_to_end(&mut answer).await {
        Ok(_) => Ok(answer),
        // A TLS peer that closes without close_notify: what arrived before is the answer.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !answer.is_empty() => Ok(answer),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let t = parse_url("https://127.0.0.1:4566/readyz").unwrap();
        assert_eq!(
            (t.tls, t.host.as_str(), t.port, t.path.as_str()),
            (true, "127.0.0.1", 4566, "/readyz")
        );
        let t = parse_url("http://[::1]:8080").unwrap();
        assert_eq!(
            (t.tls, t.host.as_str(), t.port, t.path.as_str()),
            (false, "::1", 8080, "/")
        );
        let t = parse_url("http://localhost/healthz").unwrap();
        assert_eq!(t.port, 80);
        for bad in [
            "ftp://x/",
            "127.0.0.1:4566",
            "http://:1/",
            "http://h:x/",
            "http://h/a b",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }
}
