//! The server's metrics and operator endpoints, connected to what they observe: the store's
//! transactions and cache, Secrets Manager's rotations, and the store's readiness and reset.

use std::sync::Arc;
use std::time::Duration;

use coffer_secretsmanager::{RotationObserver, RotationOutcome, RotationTrigger};
use coffer_server::{Metrics, Readiness, Storage};
use coffer_store::{CacheKind, Store, StoreError, StoreObserver, TransactionKind};
use futures_util::future::BoxFuture;

/// Counts the store's transactions, their failures and its cache lookups.
pub struct StoreMetrics(pub Arc<Metrics>);

impl StoreObserver for StoreMetrics {
    fn transaction(&self, kind: TransactionKind, elapsed: Duration, failure: Option<&StoreError>) {
        self.0
            .storage_transaction(kind.as_str(), elapsed, failure.map(StoreError::kind));
    }

    fn cache_lookup(&self, cache: CacheKind, hit: bool) {
        self.0.cache_lookup(cache.as_str(), hit);
    }
}

/// Counts rotations by trigger and outcome.
pub struct RotationMetrics(pub Arc<Metrics>);

impl RotationObserver for RotationMetrics {
    fn rotation_ended(&self, trigger: RotationTrigger, outcome: RotationOutcome) {
        self.0.rotation(trigger.as_str(), outcome.as_str());
    }
}

/// Readiness and reset over the store.
pub struct StoreState(pub Store);

impl Storage for StoreState {
    /// Re-reads the key state, as every node does each second: it needs the storage to answer
    /// and the master key to open what it holds.
    fn check(&self) -> BoxFuture<'_, Readiness> {
        Box::pin(async move {
            match self.0.refresh_keys().await {
                Ok(()) => Readiness::READY,
                Err(e) => {
                    tracing::warn!(error = %e, "readiness check failed");
                    let keys_at_fault = matches!(
                        e,
                        StoreError::WrongMasterKey(_)
                            | StoreError::MasterKey(_)
                            | StoreError::Decrypt { .. }
                            | StoreError::RotationInProgress
                    );
                    // An unreachable storage says nothing against the keys this node holds.
                    Readiness {
                        storage: keys_at_fault,
                        keys: !keys_at_fault,
                    }
                }
            }
        })
    }

    fn reset(&self) -> BoxFuture<'_, Result<u64, String>> {
        Box::pin(async move { self.0.reset().await.map_err(|e| e.to_string()) })
    }
}
