//! The certificate being served, swapped in place while the server runs: new handshakes get the
//! new certificate, connections already open keep theirs (nothing is dropped).
//!
//! - Operator-supplied files (`--tls-cert`/`--tls-key`) are read again on SIGHUP and when either
//!   file changes on disk (checked every second); a pair that does not load (half-written, a key
//!   that is not the certificate's) is refused with a warning and the current one kept.
//! - Generated material is checked again on SIGHUP and every hour, so a server running for
//!   months re-issues its certificate from its CA when less than a third of its lifetime is left.

use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

use crate::metrics::Metrics;
use crate::tls::{self, Issued, Loaded, TlsError, TlsSource};

/// The reason logged for a reload asked for by SIGHUP.
const SIGHUP: &str = "SIGHUP";
/// How often supplied certificate files are looked at for changes.
const FILE_POLL: Duration = Duration::from_secs(1);
/// How often a generated certificate's remaining lifetime is checked.
const RENEWAL_CHECK: Duration = Duration::from_secs(3600);

/// The certificate rustls hands to each new handshake.
struct Swappable(RwLock<Arc<CertifiedKey>>);

impl fmt::Debug for Swappable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Swappable")
    }
}

impl ResolvesServerCert for Swappable {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.read().unwrap_or_else(|p| p.into_inner()).clone())
    }
}

/// What identifies a file's content without reading it: a write changes its modification time
/// or size, a replacement (rename over it) its inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    inode: u64,
    len: u64,
    modified_ns: i128,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Stamp {
        inode: meta.ino(),
        len: meta.len(),
        modified_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
    })
}

/// The served certificate; cheap to clone.
#[derive(Clone)]
pub struct ServedCertificate {
    inner: Arc<Inner>,
}

struct Inner {
    source: TlsSource,
    resolver: Arc<Swappable>,
    config: Arc<rustls::ServerConfig>,
    metrics: Arc<Metrics>,
    ca_path: Option<PathBuf>,
    /// What the first load did, for the start-up lines.
    first_issued: Option<Issued>,
    /// The supplied files as last loaded (or last refused).
    files_seen: Mutex<Option<(Option<Stamp>, Option<Stamp>)>>,
}

impl ServedCertificate {
    /// Loads the certificate to serve (creating, renewing or re-issuing generated material).
    pub fn load(source: TlsSource, metrics: Arc<Metrics>) -> Result<ServedCertificate, TlsError> {
        let seen = files_stamp(&source);
        let loaded = tls::load(&source, time::OffsetDateTime::now_utc())?;
        metrics.set_certificate_expiry(loaded.expires);
        let resolver = Arc::new(Swappable(RwLock::new(loaded.key.clone())));
        let config = tls::server_config(resolver.clone())?;
        Ok(ServedCertificate {
            inner: Arc::new(Inner {
                source,
                resolver,
                config,
                metrics,
                ca_path: loaded.ca_path,
                first_issued: loaded.issued,
                files_seen: Mutex::new(seen),
            }),
        })
    }

    pub fn ca_path(&self) -> Option<&Path> {
        self.inner.ca_path.as_deref()
    }

    /// What the start did to the generated certificate, as a line for the operator.
    pub fn take_notices(&self) -> Vec<String> {
        self.inner
            .first_issued
            .iter()
            .filter(|issued| **issued != Issued::NewCa)
            .map(|issued| issued.describe().to_string())
            .collect()
    }

    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.inner.config.clone())
    }

    /// Reloads on every SIGHUP from `hangups`, on changes of supplied files, and when a
    /// generated certificate is due for renewal. Runs until the process ends.
    pub async fn keep_fresh(self, mut hangups: tokio::signal::unix::Signal) {
        let period = match self.inner.source {
            TlsSource::Files { .. } => FILE_POLL,
            TlsSource::Generated { .. } => RENEWAL_CHECK,
        };
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            tokio::select! {
                received = hangups.recv() => {
                    if received.is_none() {
                        return;
                    }
                    self.reload(SIGHUP);
                }
                _ = ticker.tick() => {
                    match &self.inner.source {
                        TlsSource::Files { .. } => {
                            let now = files_stamp(&self.inner.source);
                            let before = *self.inner.files_seen.lock().unwrap_or_else(|p| p.into_inner());
                            if now != before {
                                self.reload("the certificate files changed");
                            }
                        }
                        TlsSource::Generated { .. } => self.reload("the hourly renewal check"),
                    }
                }
            }
        }
    }

    /// Loads the certificate again and swaps it in; on failure keeps serving the current one.
    pub fn reload(&self, why: &str) {
        let inner = &self.inner;
        let seen = files_stamp(&inner.source);
        let result = tls::load(&inner.source, time::OffsetDateTime::now_utc());
        *inner.files_seen.lock().unwrap_or_else(|p| p.into_inner()) = seen;
        match result {
            Ok(Loaded {
                key,
                expires,
                issued,
                ..
            }) => {
                // The hourly check of a generated certificate that needed nothing says nothing.
                let quiet = matches!(inner.source, TlsSource::Generated { .. })
                    && issued.is_none()
                    && why != SIGHUP;
                *inner.resolver.0.write().unwrap_or_else(|p| p.into_inner()) = key;
                inner.metrics.set_certificate_expiry(expires);
                if let Some(issued) = &issued {
                    tracing::info!(reason = why, "{}", issued.describe());
                }
                if !quiet {
                    tracing::info!(reason = why, expires, "reloaded the TLS certificate");
                }
            }
            Err(error) => {
                tracing::warn!(reason = why, %error, "the TLS certificate was not reloaded; still serving the current one");
            }
        }
    }
}

fn files_stamp(source: &TlsSource) -> Option<(Option<Stamp>, Option<Stamp>)> {
    match source {
        TlsSource::Files { cert, key } => Some((stamp(cert), stamp(key))),
        TlsSource::Generated { .. } => None,
    }
}
