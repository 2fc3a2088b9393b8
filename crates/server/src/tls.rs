//! HTTPS material: a local CA and a server certificate generated on first start (so `AWS_CA_BUNDLE`
//! can point at the CA), or a certificate and key the operator supplies.
//!
//! The generated CA is kept for good; the server certificate is re-issued from it when the
//! configured names change or when less than a third of its lifetime is left, as long as the
//! names fit the CA's name constraints (otherwise the start fails, saying how to make a new CA).
//! `served.rs` swaps the certificate in while the server runs.

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
use rustls::sign::CertifiedKey;
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
    #[error("{path}: not a certificate Coffer can read")]
    Unreadable { path: PathBuf },
    /// Names the generated CA may not vouch for; the message says how to make a new CA.
    #[error("{0}")]
    OutsideConstraints(String),
    /// The generated CA has expired; the message says how to make a new one.
    #[error("{0}")]
    CaExpired(String),
    #[error("{path}: {source}")]
    KeyMismatch {
        path: PathBuf,
        source: rustls::Error,
    },
}

/// Where the certificate and key come from.
#[derive(Debug, Clone)]
pub enum TlsSource {
    /// Generate (once) a CA and a server certificate under `<data-dir>/tls/`.
    Generated {
        dir: PathBuf,
        extra_names: Vec<String>,
    },
    /// Operator-supplied PEM files.
    Files { cert: PathBuf, key: PathBuf },
}

/// The certificate to serve and what became of the generated material at this load.
pub struct Loaded {
    pub key: Arc<CertifiedKey>,
    /// The leaf certificate's `notAfter` (Unix seconds).
    pub expires: i64,
    /// The generated CA certificate, for `AWS_CA_BUNDLE`; `None` for operator-supplied files.
    pub ca_path: Option<PathBuf>,
    /// What happened to the generated server certificate, when anything did.
    pub issued: Option<Issued>,
}

/// Why a server certificate was (re-)issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issued {
    /// First start: a new CA and its first server certificate.
    NewCa,
    /// Re-issued from the existing CA because the configured names changed.
    NamesChanged,
    /// Re-issued from the existing CA because less than a third of its lifetime was left.
    ExpiresSoon,
    /// Re-issued from the existing CA because it was missing, unreadable or not its key's.
    Replaced,
}

impl Issued {
    pub fn describe(&self) -> &'static str {
        match self {
            Issued::NewCa => "generated a new CA and server certificate",
            Issued::NamesChanged => "re-issued the server certificate from the same CA: the names changed",
            Issued::ExpiresSoon => "re-issued the server certificate from the same CA: less than a third of its lifetime was left",
            Issued::Replaced => "re-issued the server certificate from the same CA: it was missing, unreadable or did not match its key",
        }
    }
}

/// The crypto provider every TLS object of the server uses.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Loads (creating, renewing or re-issuing generated material as needed) the certificate to
/// serve, as of `now`.
pub fn load(source: &TlsSource, now: time::OffsetDateTime) -> Result<Loaded, TlsError> {
    let (cert_path, key_path, ca_path, issued) = match source {
        TlsSource::Generated { dir, extra_names } => {
            let (issued, paths) = ensure_generated(dir, extra_names, now)?;
            (paths.cert, paths.key, Some(paths.ca), issued)
        }
        TlsSource::Files { cert, key } => (cert.clone(), key.clone(), None, None),
    };
    let key = certified_key(&cert_path, &key_path)?;
    let expires = leaf_not_after(&key, &cert_path)?.unix_timestamp();
    Ok(Loaded {
        key: Arc::new(key),
        expires,
        ca_path,
        issued,
    })
}

/// The certificate chain of `cert` with the private key of `key`, which must be its key.
pub fn certified_key(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let certs = read_certs(cert)?;
    let private = read_key(key)?;
    CertifiedKey::from_der(certs, private, &provider()).map_err(|source| TlsError::KeyMismatch {
        path: key.to_path_buf(),
        source,
    })
}

fn leaf_not_after(key: &CertifiedKey, path: &Path) -> Result<time::OffsetDateTime, TlsError> {
    let leaf = key
        .cert
        .first()
        .ok_or_else(|| TlsError::NoCertificate(path.to_path_buf()))?;
    let params = CertificateParams::from_ca_cert_der(leaf).map_err(|_| TlsError::Unreadable {
        path: path.to_path_buf(),
    })?;
    Ok(params.not_after)
}

/// A rustls server configuration that asks `resolver` for the certificate of each handshake.
pub fn server_config(
    resolver: Arc<dyn rustls::server::ResolvesServerCert>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
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

/// Where the generated material lives.
struct GeneratedPaths {
    cert: PathBuf,
    key: PathBuf,
    ca: PathBuf,
}

/// Returns the paths of the server certificate, its key and the CA, creating them when absent, and what was
/// issued. An existing CA is never replaced (clients trust it); its server certificate is
/// re-issued from it when the names change, when less than a third of its lifetime is left, or
/// when it is missing or unusable.
fn ensure_generated(
    dir: &Path,
    extra_names: &[String],
    now: time::OffsetDateTime,
) -> Result<(Option<Issued>, GeneratedPaths), TlsError> {
    let ca_path = dir.join("ca.pem");
    let ca_key_path = dir.join("ca-key.pem");
    let cert_path = dir.join("server.pem");
    let key_path = dir.join("server-key.pem");
    let paths = GeneratedPaths {
        cert: cert_path.clone(),
        key: key_path.clone(),
        ca: ca_path.clone(),
    };
    if !(ca_path.exists() && ca_key_path.exists()) {
        fs::create_dir_all(dir).map_err(|source| TlsError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let generated = generate(extra_names, now)?;
        write_file(
            &ca_key_path,
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
        return Ok((Some(Issued::NewCa), paths));
    }
    let names = wanted_names(extra_names);
    let Some(reason) = reissue_reason(&cert_path, &key_path, &names, now) else {
        return Ok((None, paths));
    };
    let ca = read_ca(&ca_path, &ca_key_path)?;
    check_fits(&ca, &names, &ca_path, dir)?;
    if ca.params.not_after <= now {
        return Err(TlsError::CaExpired(format!(
            "the CA at {} expired on {}: move {} aside and start again to make a new one \
             (clients must then trust the new ca.pem)",
            ca_path.display(),
            ca.params.not_after.date(),
            dir.display()
        )));
    }
    let (server, server_key) = issue_server(&names, &ca, now)?;
    // Each file replaced whole (a reader sees the old or the new one); the key first, so a
    // crash in between leaves a pair that does not match, which the next start re-issues.
    replace_file(&key_path, server_key.serialize_pem().as_bytes(), 0o600)?;
    replace_file(&cert_path, server.pem().as_bytes(), 0o644)?;
    Ok((Some(reason), paths))
}

/// Checks, without writing anything, that the generated CA in `dir` (if there is one yet) can
/// vouch for `extra_names` (`coffer config check`).
pub fn check_generated_names(dir: &Path, extra_names: &[String]) -> Result<(), TlsError> {
    let ca_path = dir.join("ca.pem");
    let ca_key_path = dir.join("ca-key.pem");
    if !(ca_path.exists() && ca_key_path.exists()) {
        return Ok(());
    }
    let ca = read_ca(&ca_path, &ca_key_path)?;
    check_fits(&ca, &wanted_names(extra_names), &ca_path, dir)
}

/// The names every generated server certificate carries, then the extra ones, without repeats.
fn wanted_names(extra_names: &[String]) -> Vec<TlsName> {
    let mut names: Vec<TlsName> = Vec::new();
    for name in DEFAULT_NAMES
        .iter()
        .copied()
        .chain(extra_names.iter().map(String::as_str))
    {
        let name = TlsName::parse(name);
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// Why the server certificate at `cert` must be re-issued for `names` as of `now`, if it must.
fn reissue_reason(
    cert: &Path,
    key: &Path,
    names: &[TlsName],
    now: time::OffsetDateTime,
) -> Option<Issued> {
    let Ok(certified) = certified_key(cert, key) else {
        return Some(Issued::Replaced);
    };
    let Some(params) = certified
        .cert
        .first()
        .and_then(|leaf| CertificateParams::from_ca_cert_der(leaf).ok())
    else {
        return Some(Issued::Replaced);
    };
    let has: Vec<TlsName> = params
        .subject_alt_names
        .iter()
        .filter_map(TlsName::from_san)
        .collect();
    let same = has.len() == names.len() && names.iter().all(|n| has.contains(n));
    if !same {
        return Some(Issued::NamesChanged);
    }
    if needs_renewal(params.not_before, params.not_after, now) {
        return Some(Issued::ExpiresSoon);
    }
    None
}

/// Whether less than a third of the lifetime from `not_before` to `not_after` is left at `now`.
pub fn needs_renewal(
    not_before: time::OffsetDateTime,
    not_after: time::OffsetDateTime,
    now: time::OffsetDateTime,
) -> bool {
    let lifetime = not_after - not_before;
    not_after - now < lifetime / 3
}

/// A CA read back from its files: its parameters (name constraints, validity) and key.
struct ExistingCa {
    params: CertificateParams,
    key: KeyPair,
    /// The CA as an issuer: rebuilt from its parameters and key, so certificates it signs name
    /// the same subject and key identifier as the original, which clients verify them against.
    issuer: rcgen::Certificate,
}

fn read_ca(cert: &Path, key: &Path) -> Result<ExistingCa, TlsError> {
    let unreadable = |path: &Path| TlsError::Unreadable {
        path: path.to_path_buf(),
    };
    let pem = fs::read_to_string(cert).map_err(|source| TlsError::Io {
        path: cert.to_path_buf(),
        source,
    })?;
    let params = CertificateParams::from_ca_cert_pem(&pem).map_err(|_| unreadable(cert))?;
    let key_pem = fs::read_to_string(key).map_err(|source| TlsError::Io {
        path: key.to_path_buf(),
        source,
    })?;
    let key_pair = KeyPair::from_pem(&key_pem).map_err(|_| unreadable(key))?;
    let issuer = params.clone().self_signed(&key_pair)?;
    Ok(ExistingCa {
        params,
        key: key_pair,
        issuer,
    })
}

/// Fails, saying how to make a new CA, when a name is outside the CA's name constraints.
fn check_fits(
    ca: &ExistingCa,
    names: &[TlsName],
    ca_path: &Path,
    dir: &Path,
) -> Result<(), TlsError> {
    let Some(constraints) = &ca.params.name_constraints else {
        return Ok(());
    };
    let outside: Vec<String> = names
        .iter()
        .filter(|n| !n.fits(constraints))
        .map(TlsName::to_string)
        .collect();
    if outside.is_empty() {
        return Ok(());
    }
    let permitted: Vec<String> = constraints
        .permitted_subtrees
        .iter()
        .map(describe_subtree)
        .collect();
    let (verb, them) = if outside.len() > 1 {
        ("are", "them")
    } else {
        ("is", "it")
    };
    Err(TlsError::OutsideConstraints(format!(
        "{names} {verb} outside the names the CA at {ca} may vouch for ({permitted}), so clients \
         that trust it would refuse a certificate for {them}. To serve {them}, make a new CA: move \
         {dir} aside and start again (clients must then trust the new ca.pem), or serve your own \
         certificate with --tls-cert/--tls-key",
        names = outside.join(", "),
        ca = ca_path.display(),
        permitted = permitted.join(", "),
        dir = dir.display(),
    )))
}

fn describe_subtree(subtree: &GeneralSubtree) -> String {
    match subtree {
        GeneralSubtree::DnsName(name) => name.clone(),
        GeneralSubtree::IpAddress(subnet) => match subnet {
            CidrSubnet::V4(addr, mask) => format!(
                "{}/{}",
                IpAddr::from(*addr),
                mask.iter().map(|b| b.count_ones()).sum::<u32>()
            ),
            CidrSubnet::V6(addr, mask) => format!(
                "{}/{}",
                IpAddr::from(*addr),
                mask.iter().map(|b| b.count_ones()).sum::<u32>()
            ),
        },
        other => format!("{other:?}"),
    }
}

/// A server certificate for `names` signed by `ca`, valid 397 days or until the CA expires.
fn issue_server(
    names: &[TlsName],
    ca: &ExistingCa,
    now: time::OffsetDateTime,
) -> Result<(rcgen::Certificate, KeyPair), TlsError> {
    let mut params = server_params(names, now)?;
    params.not_after = params.not_after.min(ca.params.not_after);
    let server_key = KeyPair::generate()?;
    let server = params.signed_by(&server_key, &ca.issuer, &ca.key)?;
    Ok((server, server_key))
}

/// Writes `data` to a temporary file beside `path` and renames it over `path`.
fn replace_file(path: &Path, data: &[u8], mode: u32) -> Result<(), TlsError> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".new");
    let temporary = PathBuf::from(temporary);
    write_file(&temporary, data, mode)?;
    fs::rename(&temporary, path).map_err(|source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// A generated CA and the server certificate it signed.
struct Generated {
    ca: rcgen::Certificate,
    ca_key: KeyPair,
    server: rcgen::Certificate,
    server_key: KeyPair,
}

/// A server name as certificates carry it: an IP address or a DNS name (compared without
/// regard to case, as DNS names are).
#[derive(Debug, Clone, PartialEq, Eq)]
enum TlsName {
    Ip(IpAddr),
    Dns(String),
}

impl std::fmt::Display for TlsName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsName::Ip(ip) => write!(f, "{ip}"),
            TlsName::Dns(name) => f.write_str(name),
        }
    }
}

impl TlsName {
    fn parse(name: &str) -> TlsName {
        match name.parse::<IpAddr>() {
            Ok(ip) => TlsName::Ip(ip),
            Err(_) => TlsName::Dns(name.to_ascii_lowercase()),
        }
    }

    fn from_san(san: &SanType) -> Option<TlsName> {
        match san {
            SanType::IpAddress(ip) => Some(TlsName::Ip(*ip)),
            SanType::DnsName(name) => Some(TlsName::Dns(name.as_str().to_ascii_lowercase())),
            _ => None,
        }
    }

    /// Whether a certificate for this name, signed by a CA with `constraints`, passes them
    /// (RFC 5280: a DNS subtree permits the name and its subdomains; a wildcard name is judged
    /// by its parent, as the CA's subtree for it was made).
    fn fits(&self, constraints: &NameConstraints) -> bool {
        let excluded = constraints.excluded_subtrees.iter().any(|t| self.within(t));
        let permitted = constraints
            .permitted_subtrees
            .iter()
            .any(|t| self.within(t));
        permitted && !excluded
    }

    fn within(&self, subtree: &GeneralSubtree) -> bool {
        match (self, subtree) {
            (TlsName::Dns(name), GeneralSubtree::DnsName(base)) => {
                let name = name.strip_prefix("*.").unwrap_or(name);
                let base = base.trim_start_matches('.').to_ascii_lowercase();
                name == base || name.ends_with(&format!(".{base}"))
            }
            (TlsName::Ip(IpAddr::V4(ip)), GeneralSubtree::IpAddress(CidrSubnet::V4(net, mask))) => {
                ip.octets()
                    .iter()
                    .zip(net)
                    .zip(mask)
                    .all(|((a, n), m)| a & m == n & m)
            }
            (TlsName::Ip(IpAddr::V6(ip)), GeneralSubtree::IpAddress(CidrSubnet::V6(net, mask))) => {
                ip.octets()
                    .iter()
                    .zip(net)
                    .zip(mask)
                    .all(|((a, n), m)| a & m == n & m)
            }
            _ => false,
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
/// The constraints are fixed when the CA is made: a name added later with `--tls-name` is served
/// from the same CA only when it falls within them (a subdomain of a DNS name it was made for);
/// any other name needs a new CA (`check_fits` says how). A CA limited to its names is worth that:
/// a leaked CA key cannot impersonate any other host to the clients that trust it.
fn generate(extra_names: &[String], now: time::OffsetDateTime) -> Result<Generated, TlsError> {
    let names = wanted_names(extra_names);
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

    let params = server_params(&names, now)?;
    let server_key = KeyPair::generate()?;
    let server = params.signed_by(&server_key, &ca, &ca_key)?;
    Ok(Generated {
        ca,
        ca_key,
        server,
        server_key,
    })
}

/// A server certificate's parameters for `names`, valid 397 days from `now` (backdated a day).
fn server_params(
    names: &[TlsName],
    now: time::OffsetDateTime,
) -> Result<CertificateParams, TlsError> {
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
    params.not_before = now - time::Duration::days(BACKDATE_DAYS);
    params.not_after = now + time::Duration::days(SERVER_VALIDITY_DAYS);
    Ok(params)
}

/// What `coffer admin tls show` prints of one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
    /// Subject alternative names (DNS names and IP addresses).
    pub names: Vec<String>,
    /// A CA's permitted name constraints.
    pub permitted: Vec<String>,
    pub is_ca: bool,
    /// SHA-256 of the DER encoding, as `AA:BB:…` (what browsers and `openssl x509 -fingerprint
    /// -sha256` show).
    pub sha256: String,
}

/// Every certificate of the PEM file at `path`.
pub fn describe(path: &Path) -> Result<Vec<CertificateInfo>, TlsError> {
    use sha2::Digest;
    use x509_parser::extensions::{GeneralName, ParsedExtension};
    read_certs(path)?
        .iter()
        .map(|der| {
            let (_, cert) =
                x509_parser::parse_x509_certificate(der).map_err(|_| TlsError::Unreadable {
                    path: path.to_path_buf(),
                })?;
            let general_name = |name: &GeneralName<'_>| match name {
                GeneralName::DNSName(n) => Some(n.to_string()),
                GeneralName::IPAddress(bytes) => match bytes.len() {
                    4 => <[u8; 4]>::try_from(*bytes)
                        .ok()
                        .map(|b| IpAddr::from(b).to_string()),
                    16 => <[u8; 16]>::try_from(*bytes)
                        .ok()
                        .map(|b| IpAddr::from(b).to_string()),
                    // A name constraint's address and mask.
                    8 | 32 => {
                        let (addr, mask) = bytes.split_at(bytes.len() / 2);
                        let prefix: u32 = mask.iter().map(|b| b.count_ones()).sum();
                        let addr = match addr.len() {
                            4 => <[u8; 4]>::try_from(addr).ok().map(IpAddr::from),
                            _ => <[u8; 16]>::try_from(addr).ok().map(IpAddr::from),
                        };
                        addr.map(|a| format!("{a}/{prefix}"))
                    }
                    _ => None,
                },
                other => Some(other.to_string()),
            };
            let mut names = Vec::new();
            let mut permitted = Vec::new();
            let mut is_ca = false;
            for ext in cert.extensions() {
                match ext.parsed_extension() {
                    ParsedExtension::SubjectAlternativeName(san) => {
                        names.extend(san.general_names.iter().filter_map(general_name));
                    }
                    ParsedExtension::NameConstraints(nc) => {
                        for subtree in nc.permitted_subtrees.iter().flatten() {
                            permitted.extend(general_name(&subtree.base));
                        }
                    }
                    ParsedExtension::BasicConstraints(bc) => is_ca = bc.ca,
                    _ => {}
                }
            }
            let digest = sha2::Sha256::digest(der.as_ref());
            let sha256: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
            let when = |t: x509_parser::time::ASN1Time| {
                let t = t.to_datetime();
                format!(
                    "{} {:02}:{:02}:{:02} UTC",
                    t.date(),
                    t.hour(),
                    t.minute(),
                    t.second()
                )
            };
            Ok(CertificateInfo {
                subject: cert.subject().to_string(),
                issuer: cert.issuer().to_string(),
                serial: cert.raw_serial_as_string(),
                not_before: when(cert.validity().not_before),
                not_after: when(cert.validity().not_after),
                names,
                permitted,
                is_ca,
                sha256: sha256.join(":"),
            })
        })
        .collect()
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

    /// Verifies the server certificate in `dir` for `name` as a client trusting `dir`'s CA does.
    fn verify_files(
        dir: &Path,
        name: &str,
        when: time::OffsetDateTime,
    ) -> Result<(), rustls::Error> {
        let ca = read_certs(&dir.join("ca.pem")).unwrap();
        let chain = read_certs(&dir.join("server.pem")).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca[0].clone()).unwrap();
        let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .unwrap();
        verifier
            .verify_server_cert(
                &chain[0],
                &[],
                &ServerName::try_from(name.to_string()).unwrap(),
                &[],
                at(when),
            )
            .map(|_| ())
    }

    fn issued(
        dir: &Path,
        names: &[&str],
        when: time::OffsetDateTime,
    ) -> Result<Option<Issued>, TlsError> {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        ensure_generated(dir, &names, when).map(|(issued, _)| issued)
    }

    #[test]
    fn new_names_within_the_constraints_are_served_from_the_same_ca() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("tls");
        assert_eq!(
            issued(&dir, &["coffer.internal"], now()).unwrap(),
            Some(Issued::NewCa)
        );
        let ca = fs::read(dir.join("ca.pem")).unwrap();
        let ca_key = fs::read(dir.join("ca-key.pem")).unwrap();
        // The same names: nothing to do.
        assert_eq!(issued(&dir, &["coffer.internal"], now()).unwrap(), None);
        // A subdomain of a permitted name: re-issued, same CA, and clients accept it.
        let later = now() + time::Duration::days(1);
        assert_eq!(
            issued(&dir, &["coffer.internal", "API.coffer.internal"], later).unwrap(),
            Some(Issued::NamesChanged)
        );
        assert_eq!(fs::read(dir.join("ca.pem")).unwrap(), ca);
        assert_eq!(fs::read(dir.join("ca-key.pem")).unwrap(), ca_key);
        for name in [
            "api.coffer.internal",
            "coffer.internal",
            "localhost",
            "127.0.0.1",
        ] {
            assert_eq!(verify_files(&dir, name, later), Ok(()), "{name}");
        }
        // A name dropped is a change too.
        assert_eq!(
            issued(&dir, &[], later).unwrap(),
            Some(Issued::NamesChanged)
        );
        assert!(verify_files(&dir, "coffer.internal", later).is_err());
        assert!(!dir.join("server.pem.new").exists());
    }

    #[test]
    fn names_outside_the_constraints_need_a_new_ca() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("tls");
        issued(&dir, &["coffer.internal", "10.0.0.5"], now()).unwrap();
        let server = fs::read(dir.join("server.pem")).unwrap();
        for outside in [
            &["other.example"][..],
            &["10.0.0.6"],
            &["internal"],
            &["xcoffer.internal"],
        ] {
            let mut names = vec!["coffer.internal", "10.0.0.5"];
            names.extend_from_slice(outside);
            let e = issued(&dir, &names, now()).unwrap_err();
            let message = e.to_string();
            assert!(matches!(e, TlsError::OutsideConstraints(_)), "{message}");
            assert!(
                message.starts_with(&format!("{} is outside", outside[0])),
                "{message}"
            );
            assert!(
                message.contains("coffer.internal, 10.0.0.5/32"),
                "{message}"
            );
            assert!(
                message.contains(&format!("move {} aside", dir.display())),
                "{message}"
            );
            // Nothing was replaced.
            assert_eq!(fs::read(dir.join("server.pem")).unwrap(), server);
        }
    }

    #[test]
    fn a_certificate_with_less_than_a_third_of_its_life_left_is_renewed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("tls");
        issued(&dir, &[], now()).unwrap();
        // 398 days from not_before to not_after: renewed once fewer than 132.67 are left.
        assert_eq!(
            issued(&dir, &[], now() + time::Duration::days(264)).unwrap(),
            None
        );
        let late = now() + time::Duration::days(265);
        assert_eq!(issued(&dir, &[], late).unwrap(), Some(Issued::ExpiresSoon));
        assert_eq!(
            verify_files(&dir, "localhost", late + time::Duration::days(390)),
            Ok(())
        );
        assert_eq!(issued(&dir, &[], late).unwrap(), None);

        let lifetime = time::Duration::days(300);
        let start = now();
        assert!(!needs_renewal(
            start,
            start + lifetime,
            start + lifetime / 3 * 2
        ));
        assert!(needs_renewal(
            start,
            start + lifetime,
            start + lifetime / 3 * 2 + time::Duration::SECOND
        ));
    }

    #[test]
    fn a_renewed_certificate_ends_with_its_ca() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("tls");
        issued(&dir, &[], now()).unwrap();
        // Two and a half years on, the CA has half a year left: the certificate stops with it.
        let late = now() + time::Duration::days(900);
        assert_eq!(issued(&dir, &[], late).unwrap(), Some(Issued::ExpiresSoon));
        let ca_end = now() + time::Duration::days(CA_VALIDITY_DAYS);
        assert_eq!(
            verify_files(&dir, "localhost", ca_end - time::Duration::days(1)),
            Ok(())
        );
        // Once the CA has expired, nothing can be issued from it.
        let e = issued(&dir, &["x.localhost"], ca_end + time::Duration::days(1)).unwrap_err();
        assert!(matches!(e, TlsError::CaExpired(_)), "{e}");
    }

    #[test]
    fn a_key_that_is_not_the_certificates_is_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("tls");
        issued(&dir, &[], now()).unwrap();
        fs::write(
            dir.join("server-key.pem"),
            KeyPair::generate().unwrap().serialize_pem(),
        )
        .unwrap();
        assert!(matches!(
            certified_key(&dir.join("server.pem"), &dir.join("server-key.pem")),
            Err(TlsError::KeyMismatch { .. })
        ));
        assert_eq!(issued(&dir, &[], now()).unwrap(), Some(Issued::Replaced));
        certified_key(&dir.join("server.pem"), &dir.join("server-key.pem")).unwrap();
    }

    #[test]
    fn described_certificates_show_names_validity_and_fingerprints() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("tls");
        issued(&dir, &["coffer.internal", "10.1.2.3"], now()).unwrap();
        let ca = &describe(&dir.join("ca.pem")).unwrap()[0];
        assert!(ca.is_ca);
        assert_eq!(ca.subject, "CN=Coffer local CA");
        assert_eq!(
            ca.permitted,
            [
                "localhost",
                "127.0.0.1/32",
                "::1/128",
                "coffer.internal",
                "10.1.2.3/32"
            ]
        );
        let server = &describe(&dir.join("server.pem")).unwrap()[0];
        assert!(!server.is_ca);
        assert_eq!(server.issuer, "CN=Coffer local CA");
        assert_eq!(
            server.names,
            [
                "localhost",
                "127.0.0.1",
                "::1",
                "coffer.internal",
                "10.1.2.3"
            ]
        );
        assert_eq!(server.not_before, "2024-01-14 09:30:00 UTC");
        assert_eq!(server.sha256.len(), 32 * 3 - 1);
        assert!(server
            .sha256
            .bytes()
            .all(|b| b == b':' || b.is_ascii_hexdigit()));
    }
}
