//! Embedded SQLite backend: one file, WAL, `synchronous=FULL`, one group-committing writer thread and
//! a small pool of read-only snapshot connections.

mod reader;
mod txn;
mod writer;

use std::path::Path;
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use crate::backend::Backend;
use crate::error::StoreError;
use crate::job::Job;
use crate::schema::{self, SCHEMA_META, SCHEMA_VERSION};

/// DDL that brings a database from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 0 -> 1
    "CREATE TABLE coffer_meta (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
     CREATE TABLE coffer_records (
         tbl TEXT NOT NULL,
         key TEXT NOT NULL,
         version INTEGER NOT NULL,
         doc BLOB NOT NULL,
         sealed BLOB,
         PRIMARY KEY (tbl, key)
     ) WITHOUT ROWID;",
];

// Adding a schema version means adding its migration step.
const _: () = assert!(MIGRATIONS.len() as i64 == SCHEMA_VERSION);

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) struct SqliteBackend {
    writer: Sender<Box<dyn Job>>,
    readers: Sender<Box<dyn Job>>,
    /// The connection threads, the writer's first, joined by `close` (each ends when its channel
    /// closes).
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl SqliteBackend {
    pub fn open(path: &Path, readers: usize) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        // Sealed records and password hashes: owner-only, whatever the umask.
        crate::private_file::prepare_sqlite_database(path)?;
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Config(format!(
                "{} cannot use WAL journaling (got {mode})",
                path.display()
            )));
        }
        // FULL: a COMMIT that returned has been fsynced to the WAL, so acknowledged writes survive
        // kill -9 and power loss.
        conn.execute_batch("PRAGMA synchronous = FULL")?;
        migrate(&conn)?;

        let (writer_tx, writer_rx) = channel::<Box<dyn Job>>();
        let mut threads = vec![std::thread::Builder::new()
            .name("coffer-sqlite-writer".to_string())
            .spawn(move || writer::run(conn, writer_rx))?];

        let (reader_tx, reader_rx) = channel::<Box<dyn Job>>();
        let reader_rx = Arc::new(Mutex::new(reader_rx));
        for i in 0..readers.max(1) {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.busy_timeout(BUSY_TIMEOUT)?;
            let rx = reader_rx.clone();
            threads.push(
                std::thread::Builder::new()
                    .name(format!("coffer-sqlite-reader-{i}"))
                    .spawn(move || reader::run(conn, rx))?,
            );
        }
        Ok(SqliteBackend {
            writer: writer_tx,
            readers: reader_tx,
            threads,
        })
    }
}

/// The schema version recorded in the file (0 for a new file).
fn stored_version(conn: &Connection) -> Result<i64, StoreError> {
    let has_meta: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'coffer_meta')",
        [],
        |r| r.get(0),
    )?;
    if !has_meta {
        return Ok(0);
    }
    let value: Option<Vec<u8>> = conn
        .query_row(
            "SELECT value FROM coffer_meta WHERE name = ?1",
            params![SCHEMA_META],
            |r| r.get(0),
        )
        .optional()?;
    value.map_or(Ok(0), |v| schema::decode_version(&v))
}

fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let found = stored_version(conn)?;
    schema::check_not_newer(found)?;
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let result = (|| {
        // Re-read under the write lock: another process may have migrated meanwhile.
        let found = stored_version(conn)?;
        schema::check_not_newer(found)?;
        for step in MIGRATIONS.iter().skip(found as usize) {
            conn.execute_batch(step)?;
        }
        conn.execute(
            "INSERT INTO coffer_meta (name, value) VALUES (?1, ?2) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            params![SCHEMA_META, schema::encode_version(SCHEMA_VERSION)],
        )?;
        Ok::<(), StoreError>(())
    })();
    match result {
        Ok(()) => {
            conn.execute_batch("COMMIT")?;
            if found > 0 {
                tracing::info!(from = found, to = SCHEMA_VERSION, "migrated sqlite schema");
            }
            Ok(())
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

impl Backend for SqliteBackend {
    fn write(&self, job: Box<dyn Job>) {
        // On send failure the job comes back and is dropped, which answers its caller `Closed`.
        let _ = self.writer.send(job);
    }

    fn read(&self, job: Box<dyn Job>) {
        let _ = self.readers.send(job);
    }

    fn close(self: Box<Self>) {
        let SqliteBackend {
            writer,
            readers,
            threads,
        } = *self;
        // Closing a channel ends its threads once their queued jobs ran, and each connection
        // closes with its thread. Readers first: the last connection to close checkpoints the WAL
        // into the database file and removes it, which a read-only connection cannot do.
        let mut threads = threads.into_iter();
        let writer_thread = threads.next();
        drop(readers);
        for reader in threads {
            let _ = reader.join();
        }
        drop(writer);
        if let Some(thread) = writer_thread {
            let _ = thread.join();
        }
    }
}
