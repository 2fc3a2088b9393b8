//! The lines `coffer serve` logs at start, saying what it runs with: storage, master-key source,
//! listen address, TLS, audit trail and metrics. They name where things are, never what they
//! hold: no key, no database password, no command line that may carry a token.

use std::path::{Path, PathBuf};

use coffer_store::{BackendConfig, MasterKeySource};

/// The storage, e.g. `SQLite database /var/lib/coffer/coffer.db`.
pub fn storage(backend: &BackendConfig) -> String {
    match backend {
        BackendConfig::Memory => "in memory (--dev: nothing is kept after the process ends)".into(),
        BackendConfig::Sqlite(path) => format!("SQLite database {}", shown_path(path)),
        BackendConfig::Postgres(url) => format!(
            "PostgreSQL {}",
            BackendConfig::redacted_url(url).unwrap_or_else(|| url.clone())
        ),
    }
}

/// Where the master key comes from, never the key.
pub fn master_key(source: &MasterKeySource) -> String {
    match source {
        MasterKeySource::Generated(path) => {
            format!("file {} (created on the first start)", shown_path(path))
        }
        MasterKeySource::File(path) => format!("file {} (--master-key-file)", shown_path(path)),
        MasterKeySource::Env(name) => format!("environment variable {name}"),
        // The command line may carry a token.
        MasterKeySource::Command(_) => "output of --master-key-command (command not shown)".into(),
        MasterKeySource::Key(_) => "generated in memory for this process (--dev)".into(),
    }
}

/// What the main port serves over: a certificate and its names, or plain HTTP and why.
pub enum Transport<'a> {
    /// Plain HTTP, because of this flag (`--dev` or `--http`).
    Plain(&'static str),
    /// The certificate Coffer generated under `<data-dir>/tls`, signed by its CA.
    Generated {
        certificate: &'a Path,
        ca: &'a Path,
        names: &'a [String],
    },
    /// `--tls-cert` and `--tls-key`.
    Files {
        certificate: &'a Path,
        key: &'a Path,
        names: &'a [String],
    },
}

pub fn tls(transport: &Transport<'_>) -> String {
    let names = |names: &[String]| {
        if names.is_empty() {
            "(none readable)".to_string()
        } else {
            names.join(", ")
        }
    };
    match transport {
        Transport::Plain(flag) => format!("none: plain HTTP ({flag})"),
        Transport::Generated {
            certificate,
            ca,
            names: served,
        } => format!(
            "generated certificate {} for {}, signed by the CA {}",
            shown_path(certificate),
            names(served),
            shown_path(ca)
        ),
        Transport::Files {
            certificate,
            key,
            names: served,
        } => format!(
            "certificate {} for {}, key {} (reloaded on SIGHUP and when they change)",
            shown_path(certificate),
            names(served),
            shown_path(key)
        ),
    }
}

/// The audit trail's destination, or why there is none.
pub fn audit_trail(destination: Option<&str>, required: bool, dev: bool) -> String {
    match destination {
        Some(destination) if required => {
            format!(
                "{destination} (required: a request whose record cannot be written fails with 503)"
            )
        }
        Some(destination) => format!("{destination} (not required)"),
        None if dev => "none (--dev without --audit-log)".into(),
        None => "none (--no-audit-log)".into(),
    }
}

/// The metrics address, or that there is none.
pub fn metrics(address: Option<std::net::SocketAddr>) -> String {
    match address {
        Some(address) => format!("http://{address}/metrics"),
        None => "off (no --metrics-listen)".into(),
    }
}

/// Logs the lines, one `info` event each on the `coffer::startup` target.
pub fn log(lines: &[(&str, String)]) {
    for (setting, value) in lines {
        tracing::info!(target: "coffer::startup", "{setting}: {value}");
    }
}

fn shown_path(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| PathBuf::from(path))
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_password_key_or_command_is_shown() {
        let line = storage(&BackendConfig::Postgres(
            "postgres://coffer:hunter2@db:5432/coffer?password=hunter3".into(),
        ));
        assert_eq!(
            line,
            "PostgreSQL postgres://coffer:***@db:5432/coffer?password=***"
        );
        assert_eq!(
            storage(&BackendConfig::Postgres("postgres://coffer@db/c".into())),
            "PostgreSQL postgres://coffer@db/c"
        );
        let command = master_key(&MasterKeySource::Command("vault read -token=s3cr3t".into()));
        assert!(!command.contains("s3cr3t"), "{command}");
        let key = master_key(&MasterKeySource::Key(coffer_store::MasterKey::from_bytes(
            [7; 32],
        )));
        assert_eq!(key, "generated in memory for this process (--dev)");
        assert_eq!(
            master_key(&MasterKeySource::env()),
            "environment variable COFFER_MASTER_KEY"
        );
    }

    #[test]
    fn paths_are_absolute_and_names_listed() {
        let line = storage(&BackendConfig::Sqlite("data/coffer.db".into()));
        let absolute = std::env::current_dir().unwrap().join("data/coffer.db");
        assert_eq!(line, format!("SQLite database {}", absolute.display()));
        let names = ["localhost".to_string(), "127.0.0.1".to_string()];
        let generated = tls(&Transport::Generated {
            certificate: Path::new("/d/tls/server.pem"),
            ca: Path::new("/d/tls/ca.pem"),
            names: &names,
        });
        assert_eq!(
            generated,
            "generated certificate /d/tls/server.pem for localhost, 127.0.0.1, signed by the CA /d/tls/ca.pem"
        );
        assert_eq!(tls(&Transport::Plain("--dev")), "none: plain HTTP (--dev)");
        assert_eq!(
            audit_trail(None, false, true),
            "none (--dev without --audit-log)"
        );
        assert_eq!(
            audit_trail(Some("standard output"), false, false),
            "standard output (not required)"
        );
        assert_eq!(metrics(None), "off (no --metrics-listen)");
    }
}
