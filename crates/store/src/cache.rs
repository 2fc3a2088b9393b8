//! Read cache of *sealed* records for `Store::get`: a hit costs one decryption and no storage access.
//!
//! Fills race with writes: a reader that fetched a value before a write committed must not insert it
//! after that write invalidated the key. Every invalidation bumps a generation under the same lock, and
//! a fill is accepted only if the generation is unchanged since before the reader started its read.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::record::RawRecord;

struct Entry {
    record: RawRecord,
    filled: Instant,
}

struct Inner {
    map: HashMap<(String, String), Entry>,
    generation: u64,
    /// Writes seen per table, for caches built on top of the store (e.g. compiled policies) that
    /// depend on whole tables rather than on single keys.
    table_writes: HashMap<String, u64>,
    /// Bumped when everything is invalidated at once (lost notifications, oversized payloads).
    clears: u64,
}

pub(crate) struct Cache {
    inner: Mutex<Inner>,
    capacity: usize,
    /// Bound on staleness for writes made by other nodes (whose notifications may be lost).
    ttl: Option<Duration>,
}

impl Cache {
    pub fn new(capacity: usize, ttl: Option<Duration>) -> Self {
        Cache {
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                generation: 0,
                table_writes: HashMap::new(),
                clears: 0,
            }),
            capacity,
            ttl,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// A number that changes whenever a write to any of `tables` may have happened.
    pub fn tables_generation(&self, tables: &[&str]) -> u64 {
        let inner = self.lock();
        tables.iter().fold(inner.clears, |sum, table| {
            sum.wrapping_add(inner.table_writes.get(*table).copied().unwrap_or(0))
        })
    }

    pub fn get(&self, table: &str, key: &str) -> Option<RawRecord> {
        let mut inner = self.lock();
        let k = (table.to_string(), key.to_string());
        let entry = inner.map.get(&k)?;
        if self.ttl.is_some_and(|ttl| entry.filled.elapsed() >= ttl) {
            inner.map.remove(&k);
            return None;
        }
        Some(entry.record.clone())
    }

    pub fn fill(&self, generation: u64, table: &str, key: &str, record: RawRecord) {
        if self.capacity == 0 {
            return;
        }
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        if inner.map.len() >= self.capacity {
            // Arbitrary eviction keeps the cache bounded without bookkeeping on the hit path.
            if let Some(victim) = inner.map.keys().next().cloned() {
                inner.map.remove(&victim);
            }
        }
        inner.map.insert(
            (table.to_string(), key.to_string()),
            Entry {
                record,
                filled: Instant::now(),
            },
        );
    }

    pub fn invalidate<'a>(&self, keys: impl IntoIterator<Item = (&'a str, &'a str)>) {
        let mut inner = self.lock();
        inner.generation += 1;
        for (t, k) in keys {
            inner.map.remove(&(t.to_string(), k.to_string()));
            *inner.table_writes.entry(t.to_string()).or_insert(0) += 1;
        }
    }

    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.clears += 1;
        inner.map.clear();
    }
}
