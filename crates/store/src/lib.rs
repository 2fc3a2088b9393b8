//! coffer-store: Coffer's durable, encrypted record store.
//!
//! Records live in named tables under string keys; a record is plaintext JSON metadata (`doc`), an
//! optional sealed part encrypted at rest with envelope encryption, and a version. Services run
//! synchronous closures in serializable transactions (`Store::write` / `Store::read`) on the
//! store's own threads, so the same service code runs on every backend: in-memory (`--dev`), SQLite
//! (default; group commit) and PostgreSQL (several nodes).

mod backend;
mod backup;
mod cache;
mod config;
mod envelope;
mod error;
mod job;
mod keyring;
mod master_key;
mod observer;
mod private_file;
mod record;
mod rotation;
mod schema;
mod secret;
mod store;
mod txn;

pub use backup::{verify_backup_key, BackupReport};
pub use config::{BackendConfig, StoreConfig, DATABASE_FILE, MASTER_KEY_FILE};
pub use error::StoreError;
pub use master_key::{MasterKey, MasterKeySource, MASTER_KEY_ENV};
pub use observer::{CacheKind, StoreObserver, TransactionKind};
pub use record::{NewRecord, Record};
pub use rotation::RotationReport;
pub use secret::SecretBytes;
pub use store::{BackendKind, Store};
pub use txn::Txn;
