use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::backend::memory::MemoryBackend;
use crate::backend::postgres::PostgresBackend;
use crate::backend::sqlite::SqliteBackend;
use crate::backend::Backend;
use crate::cache::Cache;
use crate::config::{BackendConfig, StoreConfig};
use crate::envelope;
use crate::error::StoreError;
use crate::job::{RawJob, TypedJob};
use crate::keyring::{KeyManager, KeyState, Keyring, KEY_STATE};
use crate::observer::{CacheKind, StoreObserver, TransactionKind};
use crate::record::Record;
use crate::txn::{RawTxn, SealingTxn, Txn};

const PG_CACHE_TTL: Duration = Duration::from_secs(1);
const MEMORY_DECODED_ENTRIES: usize = 1024;

/// Handle to the record store; cheap to clone, shareable between tasks.
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub backend: Box<dyn Backend>,
    pub keys: Arc<KeyManager>,
    pub cache: Arc<Cache>,
    pub kind: BackendKind,
    pub observer: OnceLock<Arc<dyn StoreObserver>>,
}

/// Which engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Memory,
    Sqlite,
    Postgres,
}

impl Store {
    /// Opens (creating or migrating if needed) the configured backend and verifies the master key
    /// against the stored key check value before anything is written.
    pub async fn open(config: StoreConfig) -> Result<Store, StoreError> {
        let store = tokio::task::spawn_blocking(move || open_blocking(config))
            .await
            .map_err(|_| StoreError::Backend("store opening task failed".to_string()))??;
        if store.rotation_pending() {
            // A rotation was interrupted (crash or restart); finish it with the keys we now hold.
            store.finish_rotation().await?;
        }
        Ok(store)
    }

    /// Closes the store and waits until its backend released the storage: for SQLite, every
    /// connection is closed and the WAL checkpointed, so the database file can be moved (as a
    /// staged restore does). Fails if other handles (clones) of this store are still alive.
    pub async fn close(self) -> Result<(), StoreError> {
        let inner = Arc::try_unwrap(self.inner).map_err(|_| {
            StoreError::Backend("the store is still in use by other handles".to_string())
        })?;
        tokio::task::spawn_blocking(move || inner.backend.close())
            .await
            .map_err(|_| StoreError::Backend("store closing task failed".to_string()))
    }

    /// A key for another purpose derived from the master key that seals new values
    /// ([`crate::MasterKey::derive_subkey`]), e.g. the audit trail's signing key.
    pub fn derive_subkey(&self, info: &[u8]) -> zeroize::Zeroizing<[u8; 32]> {
        self.inner.keys.ring().sealer().derive_subkey(info)
    }

    pub fn backend_kind(&self) -> BackendKind {
        self.inner.kind
    }

    /// Reports every later transaction and cache lookup to `observer` (the server's metrics).
    /// Only the first observer set is kept; returns whether this one was.
    pub fn set_observer(&self, observer: Arc<dyn StoreObserver>) -> bool {
        self.inner.observer.set(observer).is_ok()
    }

    fn observe_transaction(&self, writable: bool, started: Instant, failure: Option<&StoreError>) {
        if let Some(observer) = self.inner.observer.get() {
            let kind = if writable {
                TransactionKind::Write
            } else {
                TransactionKind::Read
            };
            observer.transaction(kind, started.elapsed(), failure);
        }
    }

    fn observe_cache(&self, cache: CacheKind, hit: bool) {
        if let Some(observer) = self.inner.observer.get() {
            observer.cache_lookup(cache, hit);
        }
    }

    /// Deletes every record of every table, keeping what the store needs to open (its schema
    /// version and master-key state), and empties the caches; returns how many records there
    /// were. For `--dev`'s reset between tests: in memory it swaps the tables for empty ones
    /// (microseconds, whatever they held); on SQLite or PostgreSQL it is one `DELETE`. Other
    /// nodes sharing a PostgreSQL database see it within their cache's lifetime (a second).
    pub async fn reset(&self) -> Result<u64, StoreError> {
        let started = Instant::now();
        let (removed, garbage) = match self.inner.backend.clear_records() {
            Some(result) => {
                self.observe_transaction(true, started, result.as_ref().err());
                let (removed, garbage) = result?;
                (removed, Some(garbage))
            }
            None => (self.run_raw(true, |raw| raw.clear_records()).await?, None),
        };
        // After the records are gone: a read that began before the reset and fills the cache
        // after this point is refused by the cache's generation check.
        let cached = self.inner.cache.take_all();
        // Freeing what was held costs more than the reset itself: another thread does it.
        let free = move || drop((garbage, cached));
        if std::thread::Builder::new()
            .name("coffer-store-free".to_string())
            .spawn(free)
            .is_err()
        {
            tracing::debug!("no thread to free the reset records on; freed them here");
        }
        Ok(removed)
    }

    /// Runs `f` in one serializable read-write transaction and returns once its changes are durable.
    /// `f` may run more than once (serialization conflicts on PostgreSQL), so it must not have side
    /// effects outside the transaction. If `f` returns `Err`, nothing it wrote is kept.
    pub async fn write<R, E, F>(&self, mut f: F) -> Result<R, E>
    where
        F: FnMut(&mut dyn Txn) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.run(true, move |t: &mut SealingTxn<'_>| f(t)).await
    }

    /// Runs `f` on one consistent read-only snapshot. Writes fail with `StoreError::ReadOnly`.
    pub async fn read<R, E, F>(&self, mut f: F) -> Result<R, E>
    where
        F: FnMut(&mut dyn Txn) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.run(false, move |t: &mut SealingTxn<'_>| f(t)).await
    }

    /// A number that changes whenever a write to any of `tables` may have happened: on this node at
    /// once, on other nodes sharing a PostgreSQL database when their notification arrives. Lets
    /// caches derived from whole tables (compiled policies) know when to rebuild.
    pub fn tables_generation(&self, tables: &[&str]) -> u64 {
        self.inner.cache.tables_generation(tables)
    }

    /// How long a value derived from the store may be used before it must be re-read because a
    /// write by another node could have gone unnoticed (a lost notification); `None` when every
    /// write goes through this process.
    pub fn staleness_bound(&self) -> Option<Duration> {
        matches!(self.inner.kind, BackendKind::Postgres).then_some(PG_CACHE_TTL)
    }

    /// Point read of the latest committed record, served from the cache of sealed records when hot
    /// (one decryption, no storage access). Linearizable for writes made through this process; writes
    /// by other nodes sharing a PostgreSQL database become visible within a second.
    pub async fn get(&self, table: &str, key: &str) -> Result<Option<Record>, StoreError> {
        let cache = &self.inner.cache;
        if let Some(raw) = cache.get(table, key) {
            let ring = self.inner.keys.ring();
            let known = raw
                .sealed
                .as_deref()
                .is_none_or(|b| envelope::key_id(b).is_some_and(|id| ring.find(id).is_some()));
            if known {
                self.observe_cache(CacheKind::Records, true);
                return open_with(&ring, table, key, raw).map(Some);
            }
        }
        self.observe_cache(CacheKind::Records, false);
        let generation = cache.generation();
        let raw = match self.inner.backend.get_now(table, key) {
            Some(read) => read?,
            None => {
                let (t, k) = (table.to_string(), key.to_string());
                self.run_raw(false, move |raw: &mut dyn RawTxn| raw.get(&t, &k))
                    .await?
            }
        };
        let Some(raw) = raw else { return Ok(None) };
        cache.fill(generation, table, key, raw.clone());
        let ring = self.inner.keys.ring();
        match raw.sealed.as_deref().and_then(envelope::key_id) {
            Some(id) if ring.find(id).is_none() => {
                // Sealed under a key this node has not learned yet (rotation elsewhere): the
                // transactional path refreshes the key ring from the database.
                let (t, k) = (table.to_string(), key.to_string());
                self.read(move |txn| txn.get(&t, &k)).await
            }
            _ => open_with(&ring, table, key, raw).map(Some),
        }
    }

    /// [`Store::get`], then `decode`, memoized: the decoded value is kept with the cached record
    /// and dropped whenever the record is invalidated, so a hit skips decryption and decoding and
    /// is never staler than `get`. `decode` must depend on the record alone.
    pub async fn get_decoded<T, E>(
        &self,
        table: &str,
        key: &str,
        decode: impl FnOnce(Record) -> Result<T, E>,
    ) -> Result<Option<Arc<T>>, E>
    where
        T: Send + Sync + 'static,
        E: From<StoreError>,
    {
        let cache = &self.inner.cache;
        if let Some(hit) = cache.decoded::<T>(table, key) {
            self.observe_cache(CacheKind::Decoded, true);
            return Ok(Some(hit));
        }
        self.observe_cache(CacheKind::Decoded, false);
        let generation = cache.generation();
        let Some(record) = self.get(table, key).await? else {
            return Ok(None);
        };
        let version = record.version;
        let value = Arc::new(decode(record)?);
        cache.attach(generation, table, key, version, value.clone());
        Ok(Some(value))
    }

    pub(crate) async fn run<R, E, F>(&self, writable: bool, f: F) -> Result<R, E>
    where
        F: FnMut(&mut SealingTxn<'_>) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (job, rx) = TypedJob::boxed(
            f,
            self.inner.keys.clone(),
            self.inner.cache.clone(),
            writable,
        );
        let started = Instant::now();
        if writable {
            self.inner.backend.write(job);
        } else {
            self.inner.backend.read(job);
        }
        let (result, failure) = rx
            .await
            .unwrap_or_else(|_| (Err(E::from(StoreError::Closed)), Some(StoreError::Closed)));
        self.observe_transaction(writable, started, failure.as_ref());
        result
    }

    pub(crate) async fn run_raw<R, F>(&self, writable: bool, f: F) -> Result<R, StoreError>
    where
        F: FnMut(&mut dyn RawTxn) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        let (job, rx) = RawJob::boxed(f);
        let started = Instant::now();
        if writable {
            self.inner.backend.write(job);
        } else {
            self.inner.backend.read(job);
        }
        let result = rx.await.unwrap_or(Err(StoreError::Closed));
        self.observe_transaction(writable, started, result.as_ref().err());
        result
    }
}

fn open_with(
    ring: &Keyring,
    table: &str,
    key: &str,
    raw: crate::record::RawRecord,
) -> Result<Record, StoreError> {
    let sealed = match raw.sealed {
        None => None,
        Some(blob) => {
            let master = envelope::key_id(&blob)
                .and_then(|id| ring.find(id))
                .ok_or_else(|| StoreError::Decrypt {
                    table: table.to_string(),
                    key: key.to_string(),
                })?;
            Some(envelope::open(master, table, key, &blob)?)
        }
    };
    Ok(Record {
        doc: raw.doc,
        sealed,
        version: raw.version,
    })
}

/// Runs a bootstrap job and blocks for its answer (we are on a blocking thread during `open`).
fn run_blocking<R, F>(backend: &dyn Backend, writable: bool, f: F) -> Result<R, StoreError>
where
    F: FnMut(&mut dyn RawTxn) -> Result<R, StoreError> + Send + 'static,
    R: Send + 'static,
{
    let (job, rx) = RawJob::boxed(f);
    if writable {
        backend.write(job);
    } else {
        backend.read(job);
    }
    rx.blocking_recv().unwrap_or(Err(StoreError::Closed))
}

fn open_blocking(config: StoreConfig) -> Result<Store, StoreError> {
    // Every write of a single-process backend goes through this process and invalidates the cache
    // synchronously. Nodes sharing PostgreSQL learn of each other's writes by notification, and the
    // TTL bounds staleness when a notification is lost (or the database has no LISTEN/NOTIFY).
    let ttl = matches!(config.backend, BackendConfig::Postgres(_)).then_some(PG_CACHE_TTL);
    // The memory backend is its own cache of records; a few entries still keep what callers
    // decoded from the hottest ones (`get_decoded`).
    let entries = match config.backend {
        BackendConfig::Memory => config.cache_entries.min(MEMORY_DECODED_ENTRIES),
        _ => config.cache_entries,
    };
    let cache = Arc::new(Cache::new(entries, ttl));
    let (backend, kind): (Box<dyn Backend>, BackendKind) = match &config.backend {
        BackendConfig::Memory => (Box::new(MemoryBackend::new()), BackendKind::Memory),
        BackendConfig::Sqlite(path) => (
            Box::new(SqliteBackend::open(path, config.connections)?),
            BackendKind::Sqlite,
        ),
        BackendConfig::Postgres(url) => (
            Box::new(PostgresBackend::open(
                url,
                config.connections,
                cache.clone(),
            )?),
            BackendKind::Postgres,
        ),
    };
    let stored = run_blocking(&*backend, false, |raw| raw.meta_get(KEY_STATE))?;
    let (state, key) = match stored {
        Some(state) => (state, config.master_key.load()?),
        None => {
            let key = config.master_key.load_or_create()?;
            let fresh = KeyState::single(&key).encode();
            // Another node may initialise the same database concurrently; the first one wins and the
            // loser verifies its key against the winner's below.
            let state = run_blocking(&*backend, true, move |raw| {
                match raw.meta_get(KEY_STATE)? {
                    Some(existing) => Ok(existing),
                    None => {
                        raw.meta_put(KEY_STATE, &fresh)?;
                        Ok(fresh.clone())
                    }
                }
            })?;
            (state, key)
        }
    };
    let (ring, learned) = Keyring::build(&state, std::slice::from_ref(&key))?;
    let mut known = vec![key];
    known.extend(learned);
    let keys = Arc::new(KeyManager::new(ring, known));
    Ok(Store {
        inner: Arc::new(Inner {
            backend,
            keys,
            cache,
            kind,
            observer: OnceLock::new(),
        }),
    })
}
