//! Read cache of *sealed* records for `Store::get`: a hit costs one decryption and no storage access.
//!
//! Fills race with writes: a reader that fetched a value before a write committed must not insert it
//! after that write invalidated the key. Every invalidation bumps a generation under the same lock, and
//! a fill is accepted only if the generation is unchanged since before the reader started its read.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::record::RawRecord;

/// What a caller made of a record (a parsed document, a credential): kept with the record so a hit
/// skips decryption and parsing as well, and dropped with it on every invalidation.
pub(crate) type Decoded = Arc<dyn Any + Send + Sync>;

pub(crate) struct Entry {
    record: RawRecord,
    decoded: Option<Decoded>,
    filled: Instant,
}

struct Inner {
    /// Table, then key: lookups by `&str` need no allocation.
    tables: HashMap<String, HashMap<String, Entry>>,
    len: usize,
    generation: u64,
    /// Writes seen per table, for caches built on top of the store (e.g. compiled policies) that
    /// depend on whole tables rather than on single keys.
    table_writes: HashMap<String, u64>,
    /// Bumped when everything is invalidated at once (lost notifications, oversized payloads).
    clears: u64,
}

impl Inner {
    fn remove(&mut self, table: &str, key: &str) {
        if let Some(entries) = self.tables.get_mut(table) {
            if entries.remove(key).is_some() {
                self.len -= 1;
            }
        }
    }

    /// The live entry for (table, key); an expired one is dropped.
    fn live(&mut self, table: &str, key: &str, ttl: Option<Duration>) -> Option<&mut Entry> {
        let expired = {
            let entry = self.tables.get(table)?.get(key)?;
            ttl.is_some_and(|ttl| entry.filled.elapsed() >= ttl)
        };
        if expired {
            self.remove(table, key);
            return None;
        }
        self.tables.get_mut(table)?.get_mut(key)
    }
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
                tables: HashMap::new(),
                len: 0,
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
        Some(inner.live(table, key, self.ttl)?.record.clone())
    }

    /// The decoded form attached to (table, key), if it is of type `T`.
    pub fn decoded<T: Any + Send + Sync>(&self, table: &str, key: &str) -> Option<Arc<T>> {
        let mut inner = self.lock();
        let decoded = inner.live(table, key, self.ttl)?.decoded.clone()?;
        decoded.downcast::<T>().ok()
    }

    pub fn fill(&self, generation: u64, table: &str, key: &str, record: RawRecord) {
        if self.capacity == 0 {
            return;
        }
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        let present = inner.tables.get(table).is_some_and(|m| m.contains_key(key));
        if !present && inner.len >= self.capacity {
            // Arbitrary eviction keeps the cache bounded without bookkeeping on the hit path.
            let victim = inner
                .tables
                .iter()
                .find_map(|(t, m)| m.keys().next().map(|k| (t.clone(), k.clone())));
            if let Some((t, k)) = victim {
                inner.remove(&t, &k);
            }
        }
        let entries = match inner.tables.get_mut(table) {
            Some(entries) => entries,
            None => inner.tables.entry(table.to_string()).or_default(),
        };
        let entry = Entry {
            record,
            decoded: None,
            filled: Instant::now(),
        };
        if entries.insert(key.to_string(), entry).is_none() {
            inner.len += 1;
        }
    }

    /// Attaches `decoded`, made from version `version` of (table, key), to the cached record if
    /// nothing was invalidated since `generation` was read and the entry still holds that version
    /// (an entry that expired and was refilled from another node's newer write keeps its own).
    pub fn attach(&self, generation: u64, table: &str, key: &str, version: u64, decoded: Decoded) {
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        if let Some(entry) = inner.live(table, key, self.ttl) {
            if entry.record.version != version {
                return;
            }
            entry.decoded = Some(decoded);
        }
    }

    pub fn invalidate<'a>(&self, keys: impl IntoIterator<Item = (&'a str, &'a str)>) {
        let mut inner = self.lock();
        inner.generation += 1;
        for (t, k) in keys {
            inner.remove(t, k);
            match inner.table_writes.get_mut(t) {
                Some(n) => *n += 1,
                None => {
                    inner.table_writes.insert(t.to_string(), 1);
                }
            }
        }
    }

    pub fn clear(&self) {
        drop(self.take_all());
    }

    /// Empties the cache and returns what it held, for the caller to free off the lock.
    pub fn take_all(&self) -> HashMap<String, HashMap<String, Entry>> {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.clears += 1;
        inner.len = 0;
        std::mem::take(&mut inner.tables)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(version: u64) -> RawRecord {
        RawRecord {
            doc: version.to_string().into_bytes(),
            sealed: None,
            version,
        }
    }

    #[test]
    fn decoded_values_stay_with_the_version_they_came_from() {
        let cache = Cache::new(8, None);
        let g = cache.generation();
        cache.fill(g, "t", "k", raw(2));
        // Decoded from another version of the record: not attached.
        cache.attach(g, "t", "k", 1, Arc::new(1u64));
        assert!(cache.decoded::<u64>("t", "k").is_none());
        cache.attach(g, "t", "k", 2, Arc::new(2u64));
        assert_eq!(cache.decoded::<u64>("t", "k").as_deref(), Some(&2));
        // A different type is not confused with it.
        assert!(cache.decoded::<String>("t", "k").is_none());
        // An invalidation drops it, and a decode begun before it is not attached.
        cache.invalidate([("t", "k")]);
        assert!(cache.decoded::<u64>("t", "k").is_none());
        cache.fill(cache.generation(), "t", "k", raw(2));
        cache.attach(g, "t", "k", 2, Arc::new(2u64));
        assert!(cache.decoded::<u64>("t", "k").is_none());
    }

    #[test]
    fn stays_within_capacity() {
        let cache = Cache::new(3, None);
        for i in 0..10u64 {
            cache.fill(cache.generation(), "t", &i.to_string(), raw(1));
        }
        assert_eq!(cache.lock().len, 3);
        let cached = (0..10u64)
            .filter(|i| cache.get("t", &i.to_string()).is_some())
            .count();
        assert_eq!(cached, 3);
    }
}
