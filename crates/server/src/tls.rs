//! HTTPS material: a local CA and a server certificate generated on first start (so `AWS_CA_BUNDLE`
//! can point at the CA), or a certificate and key the operator supplies.

use std::fs;
use std::io::{self, Write};
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DnType, ExtendedKeyUsagePurpose,
    GeneralSubtree, IsCa, KeyPair, KeyUsagePurpose, NameConstraints, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("generating certificates: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("{0}: no certificate found in the PEM file")]
    NoCertificate(PathBuf),
    #[error("{0}: no private key found in the PEM file")]
    NoKey(PathBuf),
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// Where the certificate and key come from.
pub enum TlsSource {
    /// Generate (once) a CA and a server certificate under `<data-dir>/tls/`.
    Generated {
        dir: PathBuf,
        extra_names: Vec<String>,
    },
    /// Operator-supplied PEM files.
    Files { cert: PathBuf, key: PathBuf },
}

pub struct TlsMaterial {
    pub config: Arc<ServerConfig>,
    /// The generated CA certificate, for `AWS_CA_BUNDLE`; `None` for operator-supplied certificates.
    pub ca_path: Option<PathBuf>,
}

pub fn load(source: &TlsSource) -> Result<TlsMaterial, TlsError> {
    let (cert_path, key_path, ca_path) = match source {
        TlsSource::Generated { dir, extra_names } => {
            let paths = ensure_generated(dir, extra_names)?;
            (paths.0, paths.1, Some(paths.2))
        }
        TlsSource::Files { cert, key } => (cert.clone(), key.clone(), None),
    };
    let certs = read_certs(&cert_path)?;
    let key = read_key(&key_path)?;
    let mut config = ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
    .with_no_client_auth()
    .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsMaterial {
        config: Arc::new(config),
        ca_path,
    })
}

/// How long the generated CA is valid: 3 years. Clients trust it by file (`AWS_CA_BUNDLE`), so it
/// must outlive the server certificates it issues (each can be re-issued under the same trust
/// twice over); its validity bounds how long a stolen CA key stays useful, and its name
/// constraints and path length bound what such a key could sign.
const CA_VALIDITY_DAYS: i64 = 3 * 365;
/// How long the generated server certificate is valid: 397 days, the longest that mainstream TLS
/// clients' policies accept for server certificates (the CA/Browser Forum limit since 2020), which
/// also bounds how long a copied server key can impersonate Coffer.
const SERVER_VALIDITY_DAYS: i64 = 397;
// The CA outlives every server certificate it issues.
const _: () = assert!(SERVER_VALIDITY_DAYS < CA_VALIDITY_DAYS);
/// Both start a day early, so a client whose clock is behind this host's still accepts them.
const BACKDATE_DAYS: i64 = 1;

/// The names every generated server certificate carries.
const DEFAULT_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Returns (server cert, server key, CA cert) paths, creating them when absent. A certificate that
/// exists is never regenerated: clients may already trust its CA.
fn ensure_generated(
    dir: &Path,
    extra_names: &[String],
) -> Result<(PathBuf, PathBuf, PathBuf), TlsError> {
    let ca_path = dir.join("ca.pem");
    let cert_path = dir.join("server.pem");
    let key_path = dir.join("server-key.pem");
    if ca_path.exists() && cert_path.exists() && key_path.exists() {
        return Ok((cert_path, key_path, ca_path));
    }
    fs::create_dir_all(dir).map_err(|source| TlsError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let generated = generate(extra_names, time::OffsetDateTime::now_utc())?;
    write_file(
        &dir.join("ca-key.pem"),
        generated.ca_key.serialize_pem().as_bytes(),
        0o600,
    )?;
    write_file(
        &key_path,
        generated.server_key.serialize_pem().as_bytes(),
        0o600,
    )?;
    write_file(&cert_path, generated.server.pem().as_bytes(), 0o644)?;
    // Written last: its presence marks the set as complete.
    write_file(&ca_path, generated.ca.pem().as_bytes(), 0o644)?;
    Ok((cert_path, key_path, ca_path))
}

/// A generated CA and the server certificate it signed.
struct Generated {
    ca: rcgen::Certificate,
    ca_key: KeyPair,
    server: rcgen::Certificate,
    server_key: KeyPair,
}

/// A server name as certificates carry it: an IP address or a DNS name.
enum TlsName {
    Ip(IpAddr),
    Dns(String),
}

impl TlsName {
    fn parse(name: &str) -> TlsName {
        match name.parse::<IpAddr>() {
            Ok(ip) => TlsName::Ip(ip),
            Err(_) => TlsName::Dns(name.to_string()),
        }
    }

    fn san(&self) -> Result<SanType, rcgen::Error> {
        Ok(match self {
            TlsName::Ip(ip) => SanType::IpAddress(*ip),
            TlsName::Dns(name) => SanType::DnsName(name.clone().try_into()?),
        })
    }

    /// The CA's permitted subtree for this name: the address alone, or the DNS name (which RFC
    /// 5280 extends to its subdomains; a wildcard name is permitted through its parent).
    fn permitted_subtree(&self) -> GeneralSubtree {
        match self {
            TlsName::Ip(ip) => {
                let full = if ip.is_ipv4() { 32 } else { 128 };
                GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(*ip, full))
            }
            TlsName::Dns(name) => {
                GeneralSubtree::DnsName(name.strip_prefix("*.").unwrap_or(name).to_string())
            }
        }
    }
}

/// A CA that can sign only server certificates (`pathLen=0`: no intermediate CAs) and only for
/// `localhost`, `127.0.0.1`, `::1` and `extra_names` (name constraints), and a server certificate
/// for those names.
///
/// The constraints are fixed when the CA is made: a name added later with `--tls-name` is outside
/// them, and a certificate for it signed by this CA would be refused by clients. Serving such a name
/// needs a new CA (move `<data-dir>/tls` aside; clients then trust the new `ca.pem`). A CA limited
/// to its names is worth that: a leaked CA key cannot impersonate any other host to the clients
/// that trust it.
fn generate(extra_names: &[String], now: time::OffsetDateTime) -> Result<Generated, TlsError> {
    let names: Vec<TlsName> = DEFAULT_NAMES
        .iter()
        .copied()
        .chain(extra_names.iter().map(String::as_str))
        .map(TlsName::parse)
        .collect();
    let not_before = now - time::Duration::days(BACKDATE_DAYS);

    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::default();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Coffer local CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params.name_constraints = Some(NameConstraints {
        permitted_subtrees: names.iter().map(TlsName::permitted_subtree).collect(),
        excluded_subtrees: Vec::new(),
    });
    ca_params.not_before = not_before;
    ca_params.not_after = now + time::Duration::days(CA_VALIDITY_DAYS);
    let ca = ca_params.self_signed(&ca_key)?;

    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, "Coffer server");
    params.subject_alt_names = names.iter().map(TlsName::san).collect::<Result<_, _>>()?;
    // Not a CA: no basicConstraints at all. (rcgen's explicit `cA FALSE` is a DER default that
    // strict parsers such as Python's `cryptography` refuse.)
    params.is_ca = IsCa::NoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.not_before = not_before;
    params.not_after = now + time::Duration::days(SERVER_VALIDITY_DAYS);
    let server_key = KeyPair::generate()?;
    let server = params.signed_by(&server_key, &ca, &ca_key)?;
    Ok(Generated {
        ca,
        ca_key,
        server,
        server_key,
    })
}

fn write_file(path: &Path, data: &[u8], mode: u32) -> Result<(), TlsError> {
    let io_err = |source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(io_err)?;
    f.write_all(data).map_err(io_err)?;
    f.sync_all().map_err(io_err)
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = fs::read(path).map_err(|source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let certs = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(path.to_path_buf()));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = fs::read(path).map_err(|source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|source| TlsError::Io {
            path: path.to_path_buf(),
            source,
        })?
        .ok_or_else(|| TlsError::NoKey(path.to_path_buf()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::client::danger::ServerCertVerifier;
    use rustls::client::WebPkiServerVerifier;
    use rustls::pki_types::{ServerName, UnixTime};

    fn now() -> time::OffsetDateTime {
        time::OffsetDateTime::from_unix_timestamp(1_705_311_000).unwrap()
    }

    fn at(t: time::OffsetDateTime) -> UnixTime {
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(t.unix_timestamp() as u64))
    }

    /// Verifies `chain` (leaf first) for `name` as rustls does for a client trusting only `ca`.
    fn verify(
        ca: &rcgen::Certificate,
        chain: &[&rcgen::Certificate],
        name: &str,
        when: time::OffsetDateTime,
    ) -> Result<(), rustls::Error> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.der().clone()).unwrap();
        let verifier = WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
        )
        .build()
        .unwrap();
        let intermediates: Vec<_> = chain[1..].iter().map(|c| c.der().clone()).collect();
        verifier
            .verify_server_cert(
                chain[0].der(),
                &intermediates,
                &ServerName::try_from(name.to_string()).unwrap(),
                &[],
                at(when),
            )
            .map(|_| ())
    }

    fn leaf_for(names: &[&str], issuer: &rcgen::Certificate, key: &KeyPair) -> rcgen::Certificate {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.not_before = now() - time::Duration::days(1);
        params.not_after = now() + time::Duration::days(30);
        params
            .signed_by(&KeyPair::generate().unwrap(), issuer, key)
            .unwrap()
    }

    #[test]
    fn the_server_certificate_is_valid_for_its_names_and_lifetime() {
        let g = generate(&["coffer.internal".into(), "10.1.2.3".into()], now()).unwrap();
        for name in [
            "localhost",
            "127.0.0.1",
            "::1",
            "coffer.internal",
            "10.1.2.3",
        ] {
            assert_eq!(verify(&g.ca, &[&g.server], name, now()), Ok(()), "{name}");
        }
        assert!(verify(&g.ca, &[&g.server], "other.internal", now()).is_err());
        // 397 days for the server certificate, 3 years for the CA, both backdated a day.
        let day = time::Duration::days(1);
        let last_day = now() + time::Duration::days(SERVER_VALIDITY_DAYS) - day;
        assert_eq!(verify(&g.ca, &[&g.server], "localhost", last_day), Ok(()));
        let after = now() + time::Duration::days(SERVER_VALIDITY_DAYS) + day;
        assert!(verify(&g.ca, &[&g.server], "localhost", after).is_err());
        assert_eq!(g.ca.params().not_before, now() - day);
        assert_eq!(g.server.params().not_before, now() - day);
        assert_eq!(
            g.ca.params().not_after,
            now() + time::Duration::days(3 * 365)
        );
        assert_eq!(
            g.server.params().not_after,
            now() + time::Duration::days(397)
        );
    }

    #[test]
    fn the_ca_cannot_vouch_for_other_names() {
        let g = generate(&["coffer.internal".into()], now()).unwrap();
        // Signed with the CA's own key, yet refused: the name constraints leave these out.
        for (san, name) in [
            ("evil.example.com", "evil.example.com"),
            ("sts.amazonaws.com", "sts.amazonaws.com"),
            ("8.8.8.8", "8.8.8.8"),
            ("127.0.0.2", "127.0.0.2"),
        ] {
            let rogue = leaf_for(&[san], &g.ca, &g.ca_key);
            assert!(
                verify(&g.ca, &[&rogue], name, now()).is_err(),
                "{name} accepted"
            );
        }
        // Within the constraints (a subdomain of a permitted DNS name) the CA still signs.
        let fine = leaf_for(&["api.coffer.internal"], &g.ca, &g.ca_key);
        assert_eq!(
            verify(&g.ca, &[&fine], "api.coffer.internal", now()),
            Ok(())
        );
    }

    /// `pathLen=0`: the CA signs end-entity certificates only. OpenSSL enforces it on the trust
    /// anchor (tests/e2e/test_on_disk.py); rustls, like RFC 5280's path validation, does not read
    /// a trust anchor's basic constraints, so here the encoded constraint is what is checked.
    #[test]
    fn the_ca_allows_no_intermediates() {
        let g = generate(&[], now()).unwrap();
        assert_eq!(
            g.ca.params().is_ca,
            IsCa::Ca(BasicConstraints::Constrained(0))
        );
        assert_eq!(g.server.params().is_ca, IsCa::NoCa);
    }

    #[test]
    fn wildcard_names_are_permitted_through_their_parent() {
        let g = generate(&["*.svc.internal".into()], now()).unwrap();
        assert_eq!(verify(&g.ca, &[&g.server], "a.svc.internal", now()), Ok(()));
        assert!(verify(&g.ca, &[&g.server], "a.other.internal", now()).is_err());
    }
}
