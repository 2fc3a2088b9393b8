use std::path::{Path, PathBuf};

/// Why the trail cannot be written or read. Cloneable: one failed group commit answers every
/// request of its batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    #[error("{action} {}: {message}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        message: String,
    },
    #[error("{}: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
    #[error("{} is written by another coffer process (its lock {} is held)", trail.display(), lock.display())]
    Locked { trail: PathBuf, lock: PathBuf },
    #[error("writing the audit trail to standard output: {0}")]
    Stdout(String),
    #[error("{0}")]
    Internal(String),
    #[error("the audit trail writer has stopped")]
    Stopped,
}

impl AuditError {
    pub(crate) fn io(action: &'static str, path: &Path, error: std::io::Error) -> AuditError {
        AuditError::Io {
            action,
            path: path.to_path_buf(),
            message: error.to_string(),
        }
    }
}
