use std::fmt;
use std::path::{Path, PathBuf};

use crate::master_key::{MasterKey, MasterKeySource};

/// File name of the SQLite database inside the data directory.
pub const DATABASE_FILE: &str = "coffer.db";
/// File name of the generated master key inside the data directory.
pub const MASTER_KEY_FILE: &str = "master.key";

#[derive(Clone, PartialEq, Eq)]
pub enum BackendConfig {
    /// Nothing persists (`--dev`).
    Memory,
    /// One SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection string (`postgres://user:pass@host:port/db`), shared by several nodes.
    Postgres(String),
}

impl BackendConfig {
    /// Parses a `--storage` value: `memory`, `postgres://…` / `postgresql://…`, `sqlite:PATH` or a path.
    pub fn parse(spec: &str) -> Self {
        if spec == "memory" {
            BackendConfig::Memory
        } else if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
            BackendConfig::Postgres(spec.to_string())
        } else if let Some(path) = spec.strip_prefix("sqlite:") {
            BackendConfig::Sqlite(PathBuf::from(path))
        } else {
            BackendConfig::Sqlite(PathBuf::from(spec))
        }
    }
}

impl BackendConfig {
    /// A PostgreSQL URL with its password replaced by `***` (in the user part and in a
    /// `password=` parameter), for printing; `None` when there is nothing to hide.
    pub fn redacted_url(spec: &str) -> Option<String> {
        let (scheme, rest) = spec.split_once("://")?;
        if !matches!(scheme, "postgres" | "postgresql") {
            return None;
        }
        let mut out = format!("{scheme}://");
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        let mut hidden = false;
        match authority.rsplit_once('@') {
            Some((userinfo, host)) => {
                match userinfo.split_once(':') {
                    Some((user, _)) => {
                        out.push_str(&format!("{user}:***@"));
                        hidden = true;
                    }
                    None => out.push_str(&format!("{userinfo}@")),
                }
                out.push_str(host);
            }
            None => out.push_str(authority),
        }
        match tail.split_once('?') {
            Some((path, query)) => {
                out.push_str(path);
                out.push('?');
                let params: Vec<String> = query
                    .split('&')
                    .map(|param| match param.split_once('=') {
                        Some((name, _)) if name.eq_ignore_ascii_case("password") => {
                            hidden = true;
                            format!("{name}=***")
                        }
                        _ => param.to_string(),
                    })
                    .collect();
                out.push_str(&params.join("&"));
            }
            None => out.push_str(tail),
        }
        hidden.then_some(out)
    }
}

impl fmt::Debug for BackendConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendConfig::Memory => f.write_str("Memory"),
            BackendConfig::Sqlite(p) => f.debug_tuple("Sqlite").field(p).finish(),
            // The URL may carry a password.
            BackendConfig::Postgres(_) => f.write_str("Postgres(<url redacted>)"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub backend: BackendConfig,
    pub master_key: MasterKeySource,
    /// Records kept in the read cache of `Store::get` (0 disables it).
    pub cache_entries: usize,
    /// SQLite read-only connections, or PostgreSQL connections.
    pub connections: usize,
}

impl StoreConfig {
    pub fn new(backend: BackendConfig, master_key: MasterKeySource) -> Self {
        StoreConfig {
            backend,
            master_key,
            cache_entries: 100_000,
            connections: 4,
        }
    }

    /// In-memory store with a random key (`--dev`).
    pub fn memory() -> Self {
        Self::new(
            BackendConfig::Memory,
            MasterKeySource::Key(MasterKey::generate()),
        )
    }

    /// The default: `<data_dir>/coffer.db`, key in `<data_dir>/master.key` (created on first start).
    pub fn data_dir(dir: &Path) -> Self {
        Self::new(
            BackendConfig::Sqlite(dir.join(DATABASE_FILE)),
            MasterKeySource::Generated(dir.join(MASTER_KEY_FILE)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_from_printed_urls() {
        assert_eq!(
            BackendConfig::redacted_url("postgres://coffer:s3cret@db:5432/coffer").as_deref(),
            Some("postgres://coffer:***@db:5432/coffer")
        );
        assert_eq!(
            BackendConfig::redacted_url("postgresql://u@db/c?sslmode=require&password=s3cret")
                .as_deref(),
            Some("postgresql://u@db/c?sslmode=require&password=***")
        );
        assert_eq!(
            BackendConfig::redacted_url("postgres://a:b:c@d@host/x").as_deref(),
            Some("postgres://a:***@host/x")
        );
        assert_eq!(BackendConfig::redacted_url("postgres://u@db/c"), None);
        assert_eq!(BackendConfig::redacted_url("/var/lib/coffer.db"), None);
    }
}
