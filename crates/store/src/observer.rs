//! What the store tells an observer (the server's metrics) about its work: how long each
//! transaction took and how it failed, and whether reads were served from the cache.

use std::time::Duration;

use crate::error::StoreError;

/// A transaction's kind, as the observer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransactionKind {
    Read,
    Write,
}

impl TransactionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TransactionKind::Read => "read",
            TransactionKind::Write => "write",
        }
    }
}

/// Which cache a lookup went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheKind {
    /// Sealed records (`Store::get`): a hit costs one decryption and no storage access.
    Records,
    /// What callers decoded from records (`Store::get_decoded`): a hit costs nothing more.
    Decoded,
}

impl CacheKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CacheKind::Records => "records",
            CacheKind::Decoded => "decoded",
        }
    }
}

/// Told about every transaction and cache lookup. Runs on the request path: implementations must
/// be cheap and must not call back into the store.
pub trait StoreObserver: Send + Sync {
    /// A transaction finished after `elapsed` (queueing included); `failure` is the storage's own
    /// failure, not an error the transaction's closure chose to return.
    fn transaction(&self, kind: TransactionKind, elapsed: Duration, failure: Option<&StoreError>);
    /// A cache lookup hit or missed.
    fn cache_lookup(&self, cache: CacheKind, hit: bool);
}
