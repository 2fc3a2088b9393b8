use thiserror::Error;

/// Every failure the store reports. Messages name tables and keys (which are not secret) but never
/// contain record contents or key material.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoreError {
    /// `Txn::insert` found the key already present.
    #[error("record {table}/{key} already exists")]
    Conflict { table: String, key: String },
    /// A write was attempted inside `Store::read`.
    #[error("write attempted in a read-only transaction")]
    ReadOnly,
    /// The backend could not be reached or lost its connection; the operation may be retried.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Serialization conflicts persisted through every retry; the operation may be retried later.
    #[error("transaction kept conflicting with concurrent transactions after {attempts} attempts")]
    Contention { attempts: u32 },
    /// A sealed value failed authentication: tampered with, moved to another record, or sealed under
    /// a key this node does not hold.
    #[error("sealed value of {table}/{key} cannot be decrypted (tampered, moved between records, or sealed under an unknown master key)")]
    Decrypt { table: String, key: String },
    /// The master key does not match the key check value stored in the database.
    #[error("master key does not match this database ({0}); refusing to open so that nothing is written under the wrong key")]
    WrongMasterKey(String),
    /// The master key could not be obtained from its configured source.
    #[error("master key unavailable: {0}")]
    MasterKey(String),
    /// The database was written by a newer Coffer.
    #[error("database schema version {found} is newer than this build supports ({supported}); upgrade Coffer or restore a backup")]
    SchemaTooNew { found: i64, supported: i64 },
    /// A master-key rotation to a different key is still in progress.
    #[error("a master key rotation to another key is in progress; finish it with that key first")]
    RotationInProgress,
    /// Restore needs an empty store.
    #[error("restore needs an empty store; this one holds records")]
    NotEmpty,
    /// A backup file is malformed or belongs to another master key.
    #[error("backup: {0}")]
    Backup(String),
    /// Invalid configuration.
    #[error("storage configuration: {0}")]
    Config(String),
    /// Stored data is malformed (not a decryption failure).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// Other backend or I/O failure.
    #[error("storage backend error: {0}")]
    Backend(String),
    /// The store's worker threads are gone (shut down or crashed).
    #[error("store is closed")]
    Closed,
    /// A transaction closure panicked; its changes were rolled back.
    #[error("transaction closure panicked; its changes were rolled back")]
    Panicked,
}

impl StoreError {
    /// The variant's name in snake case: a label for metrics that carries no table, key or
    /// message.
    pub fn kind(&self) -> &'static str {
        match self {
            StoreError::Conflict { .. } => "conflict",
            StoreError::ReadOnly => "read_only",
            StoreError::Unavailable(_) => "unavailable",
            StoreError::Contention { .. } => "contention",
            StoreError::Decrypt { .. } => "decrypt",
            StoreError::WrongMasterKey(_) => "wrong_master_key",
            StoreError::MasterKey(_) => "master_key",
            StoreError::SchemaTooNew { .. } => "schema_too_new",
            StoreError::RotationInProgress => "rotation_in_progress",
            StoreError::NotEmpty => "not_empty",
            StoreError::Backup(_) => "backup",
            StoreError::Config(_) => "config",
            StoreError::Corrupt(_) => "corrupt",
            StoreError::Backend(_) => "backend",
            StoreError::Closed => "closed",
            StoreError::Panicked => "panicked",
        }
    }

    /// True when the same request may succeed if retried later (maps to AWS `ServiceUnavailable`).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            StoreError::Unavailable(_) | StoreError::Contention { .. } | StoreError::Closed
        )
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked) => {
                StoreError::Unavailable(e.to_string())
            }
            _ => StoreError::Backend(e.to_string()),
        }
    }
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}
