//! PostgreSQL backend for several Coffer nodes on one database.
//!
//! Every write runs at SERIALIZABLE isolation and is retried on serialization failures and deadlocks
//! (SQLSTATE 40001 / 40P01); reads run on a REPEATABLE READ READ ONLY snapshot. The SQL is kept to
//! what CockroachDB and YugabyteDB also accept: no advisory locks, no sequences, no stored procedures,
//! BYTEA keys (byte order without collations), `INSERT … ON CONFLICT`, row-value comparisons.
//! LISTEN/NOTIFY only speeds up cache invalidation on other nodes; correctness never depends on it
//! (cached entries expire after a second, and databases without LISTEN simply skip it).

mod listener;
mod txn;
mod worker;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use postgres::error::SqlState;
use postgres::{Client, Config, NoTls};

use crate::backend::Backend;
use crate::cache::Cache;
use crate::error::StoreError;
use crate::job::Job;
use crate::schema::{self, SCHEMA_META, SCHEMA_VERSION};

pub(super) const CHANNEL: &str = "coffer_changes";

/// DDL that brings a database from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 0 -> 1
    "CREATE TABLE coffer_meta (name TEXT PRIMARY KEY, value BYTEA NOT NULL);
     CREATE TABLE coffer_records (
         tbl BYTEA NOT NULL,
         key BYTEA NOT NULL,
         version BIGINT NOT NULL,
         doc BYTEA NOT NULL,
         sealed BYTEA,
         PRIMARY KEY (tbl, key)
     );",
];

// Adding a schema version means adding its migration step.
const _: () = assert!(MIGRATIONS.len() as i64 == SCHEMA_VERSION);

pub(super) struct Work {
    pub job: Box<dyn Job>,
    pub writable: bool,
}

pub(crate) struct PostgresBackend {
    jobs: Sender<Work>,
    stop: Arc<AtomicBool>,
}

/// Maps a driver error; conflicts become `Contention` (retried), lost connections `Unavailable`.
pub(super) fn pg_error(e: postgres::Error) -> StoreError {
    if let Some(code) = e.code() {
        if *code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::T_R_DEADLOCK_DETECTED
            // Concurrent inserts of one key can surface as unique violations despite ON CONFLICT.
            || *code == SqlState::UNIQUE_VIOLATION
        {
            return StoreError::Contention { attempts: 0 };
        }
        if *code == SqlState::ADMIN_SHUTDOWN
            || *code == SqlState::CRASH_SHUTDOWN
            || *code == SqlState::CANNOT_CONNECT_NOW
            || code.code().starts_with("08")
        {
            return StoreError::Unavailable(e.to_string());
        }
        return StoreError::Backend(e.to_string());
    }
    if e.is_closed() || e.as_db_error().is_none() {
        return StoreError::Unavailable(e.to_string());
    }
    StoreError::Backend(e.to_string())
}

pub(super) fn connect(config: &Config) -> Result<Client, StoreError> {
    config
        .connect(NoTls)
        .map_err(|e| StoreError::Unavailable(format!("cannot connect to PostgreSQL: {e}")))
}

impl PostgresBackend {
    pub fn open(url: &str, connections: usize, cache: Arc<Cache>) -> Result<Self, StoreError> {
        let mut config: Config = url
            .parse()
            .map_err(|e| StoreError::Config(format!("invalid PostgreSQL URL: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        config.application_name("coffer");
        let mut client = connect(&config)?;
        migrate(&mut client)?;
        // Databases without LISTEN/NOTIFY (CockroachDB) rely on the cache TTL alone.
        let notify = client
            .batch_execute(&format!("LISTEN {CHANNEL}; UNLISTEN {CHANNEL}"))
            .is_ok();
        if !notify {
            tracing::info!(
                "database has no LISTEN/NOTIFY; other nodes' writes reach the cache by expiry"
            );
        }

        let (tx, rx) = channel::<Work>();
        let rx = Arc::new(Mutex::new(rx));
        let mut first = Some(client);
        for i in 0..connections.max(1) {
            let worker = worker::Worker::new(config.clone(), first.take(), notify);
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("coffer-pg-{i}"))
                .spawn(move || worker.run(rx))?;
        }
        let stop = Arc::new(AtomicBool::new(false));
        if notify {
            let (config, stop) = (config.clone(), stop.clone());
            let (listening_tx, listening) = std::sync::mpsc::sync_channel(1);
            std::thread::Builder::new()
                .name("coffer-pg-listen".to_string())
                .spawn(move || listener::run(config, cache, stop, listening_tx))?;
            // Until the listener is subscribed, other nodes' writes would reach this cache only by
            // expiry; waiting also keeps the listener's first full invalidation out of the way of
            // callers that snapshot `tables_generation` right after opening.
            if listening.recv_timeout(Duration::from_secs(10)).is_err() {
                tracing::warn!("change listener not subscribed yet; continuing without waiting");
            }
        }
        Ok(PostgresBackend { jobs: tx, stop })
    }
}

impl Drop for PostgresBackend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Backend for PostgresBackend {
    fn write(&self, job: Box<dyn Job>) {
        let _ = self.jobs.send(Work {
            job,
            writable: true,
        });
    }

    fn read(&self, job: Box<dyn Job>) {
        let _ = self.jobs.send(Work {
            job,
            writable: false,
        });
    }
}

fn stored_version(client: &mut Client) -> Result<i64, StoreError> {
    let row = client
        .query_one(
            "SELECT count(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = 'coffer_meta'",
            &[],
        )
        .map_err(pg_error)?;
    let tables: i64 = row.try_get(0).map_err(pg_error)?;
    if tables == 0 {
        return Ok(0);
    }
    let rows = client
        .query(
            "SELECT value FROM coffer_meta WHERE name = $1",
            &[&SCHEMA_META],
        )
        .map_err(pg_error)?;
    match rows.first() {
        None => Ok(0),
        Some(r) => schema::decode_version(&r.try_get::<_, Vec<u8>>(0).map_err(pg_error)?),
    }
}

fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match try_migrate(client) {
            // Two nodes migrating at once: the loser conflicts, retries and finds the work done.
            Err(StoreError::Contention { .. }) if attempt < 5 => continue,
            Err(StoreError::Backend(msg)) if attempt < 5 && msg.contains("already exists") => {
                continue
            }
            other => return other,
        }
    }
}

fn try_migrate(client: &mut Client) -> Result<(), StoreError> {
    let found = stored_version(client)?;
    schema::check_not_newer(found)?;
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    client
        .batch_execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
        .map_err(pg_error)?;
    let result = (|| {
        let found = stored_version(client)?;
        schema::check_not_newer(found)?;
        for step in MIGRATIONS.iter().skip(found as usize) {
            client.batch_execute(step).map_err(pg_error)?;
        }
        client
            .execute(
                "INSERT INTO coffer_meta (name, value) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                &[&SCHEMA_META, &schema::encode_version(SCHEMA_VERSION)],
            )
            .map_err(pg_error)?;
        Ok::<(), StoreError>(())
    })();
    match result {
        Ok(()) => client.batch_execute("COMMIT").map_err(pg_error),
        Err(e) => {
            let _ = client.batch_execute("ROLLBACK");
            Err(e)
        }
    }
}
