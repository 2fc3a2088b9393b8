//! Compiled policies kept between requests, so the hot path neither reads storage nor parses JSON.
//!
//! What a caller may do is cached per caller and tagged with the store's generation of the IAM
//! tables it was built from: any write to those tables (on this node at once, on other nodes
//! sharing PostgreSQL when their notification arrives, and at the latest after the store's
//! staleness bound) makes every entry stale. IAM writes are rare next to authorized requests, so a
//! coarse invalidation keeps the scheme obviously correct at no measurable cost.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use coffer_policy::{AttachedPolicy, MalformedPolicy, Policy, PolicyKind, PolicySource};
use coffer_store::Store;

/// Bounds memory when many callers or documents pass through; reaching it starts afresh rather
/// than tracking recency on every hit.
const MAX_ENTRIES: usize = 10_000;

struct Cached<V> {
    generation: u64,
    loaded: Instant,
    value: V,
}

/// Values derived from whole store tables, rebuilt when any of those tables is written.
pub struct TableCache<K, V> {
    store: Store,
    tables: &'static [&'static str],
    entries: Mutex<HashMap<K, Cached<V>>>,
}

impl<K: Hash + Eq, V: Clone> TableCache<K, V> {
    pub fn new(store: Store, tables: &'static [&'static str]) -> Self {
        TableCache {
            store,
            tables,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The cached value for `key`, or the one `load` reads from the store when the tables changed
    /// since it was cached (or it never was).
    pub async fn get_or_load<F, Fut, E>(&self, key: K, load: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        // Read before loading: a write that lands while we load leaves the entry tagged with the
        // older generation, so the next request reloads.
        let generation = self.store.tables_generation(self.tables);
        let bound = self.store.staleness_bound();
        {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(hit) = entries.get(&key) {
                let fresh = bound.is_none_or(|b| hit.loaded.elapsed() < b);
                if hit.generation == generation && fresh {
                    return Ok(hit.value.clone());
                }
            }
        }
        let value = load().await?;
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            key,
            Cached {
                generation,
                loaded: Instant::now(),
                value: value.clone(),
            },
        );
        Ok(value)
    }
}

/// Resource-based policies (a secret's, a role's trust policy) compiled once per distinct
/// document: the document itself is the key, so no invalidation is needed.
#[derive(Default)]
pub struct DocumentCache {
    documents: Mutex<HashMap<(PolicyKind, String), Arc<AttachedPolicy>>>,
}

impl DocumentCache {
    pub fn compile(
        &self,
        id: &str,
        document: &str,
        kind: PolicyKind,
    ) -> Result<Arc<AttachedPolicy>, MalformedPolicy> {
        let key = (kind, document.to_string());
        let mut documents = self.documents.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(hit) = documents.get(&key) {
            if hit.id == id {
                return Ok(hit.clone());
            }
        }
        let compiled = Arc::new(AttachedPolicy::new(
            id,
            PolicySource::Resource,
            Policy::parse(document, kind)?,
        ));
        if documents.len() >= MAX_ENTRIES {
            documents.clear();
        }
        documents.insert(key, compiled.clone());
        Ok(compiled)
    }
}
