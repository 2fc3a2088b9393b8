//! Online backup and restore.
//!
//! A backup is one consistent snapshot written as JSON lines: a header (format, schema version, the
//! key state) and one line per record with its sealed value still encrypted, so the file is as safe
//! as the database and restores onto any backend opened with the same master key.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::keyring::{KeyState, Keyring, KEY_STATE};
use crate::master_key::MasterKey;
use crate::record::RawRecord;
use crate::schema::SCHEMA_VERSION;
use crate::store::Store;
use crate::txn::SealingTxn;

const FORMAT: &str = "coffer-backup";

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    schema: i64,
    key_state: String,
}

#[derive(Serialize, Deserialize)]
struct Line {
    t: String,
    k: String,
    v: u64,
    d: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    s: Option<String>,
}

/// What a backup or restore covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupReport {
    pub records: u64,
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::Backup(format!("{}: {e}", path.display()))
}

impl Store {
    /// Writes a consistent snapshot of every record to `path` (replaced atomically when complete),
    /// mode 0600 whatever the umask.
    pub async fn backup(&self, path: &Path) -> Result<BackupReport, StoreError> {
        let target = path.to_path_buf();
        let mut tmp = target.clone().into_os_string();
        tmp.push(".partial");
        let tmp = PathBuf::from(tmp);
        let tmp_in = tmp.clone();
        let records = self
            .run(false, move |t: &mut SealingTxn<'_>| {
                write_snapshot(t, &tmp_in)
            })
            .await?;
        std::fs::rename(&tmp, &target).map_err(|e| io_error(&target, e))?;
        if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| io_error(dir, e))?;
        }
        Ok(BackupReport { records })
    }

    /// Loads a backup into this store, which must hold no records and be opened with the master key
    /// the backup was sealed under (or, for a backup taken mid-rotation, either of the two keys).
    pub async fn restore(&self, path: &Path) -> Result<BackupReport, StoreError> {
        let source = path.to_path_buf();
        let (state, rows) = tokio::task::spawn_blocking(move || read_backup(&source))
            .await
            .map_err(|_| StoreError::Backend("backup reading task failed".to_string()))??;
        // Refuse before writing anything if none of our keys opens the backup.
        Keyring::build(&state, &self.inner.keys.known()).map_err(|_| different_key())?;
        let state_in = state.clone();
        let records = self
            .run(true, move |t: &mut SealingTxn<'_>| {
                if !t.scan_all(None, 1)?.is_empty() {
                    return Err(StoreError::NotEmpty);
                }
                for (table, key, record) in &rows {
                    t.put_exact(table, key, record)?;
                }
                t.meta_put(KEY_STATE, &state_in)?;
                Ok(rows.len() as u64)
            })
            .await?;
        self.inner.keys.refresh(&state)?;
        if KeyState::decode(&state)?.pending.is_some() {
            self.finish_rotation().await?;
        }
        Ok(BackupReport { records })
    }
}

/// Checks, reading only its header, that `key` opens the backup at `path` (for a backup taken
/// mid-rotation, either of the two keys does): lets a restore refuse before it writes anything.
pub fn verify_backup_key(path: &Path, key: &MasterKey) -> Result<(), StoreError> {
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let mut first = String::new();
    BufReader::new(file)
        .read_line(&mut first)
        .map_err(|e| io_error(path, e))?;
    if first.is_empty() {
        return Err(io_error(path, "empty file"));
    }
    let state = read_header(path, &first)?;
    Keyring::build(&state, std::slice::from_ref(key))
        .map(|_| ())
        .map_err(|_| different_key())
}

fn different_key() -> StoreError {
    StoreError::Backup(
        "the backup was sealed under a different master key than this store's".to_string(),
    )
}

/// The key state recorded in a backup's header line.
fn read_header(path: &Path, first: &str) -> Result<Vec<u8>, StoreError> {
    let header: Header =
        serde_json::from_str(first).map_err(|_| io_error(path, "not a coffer backup"))?;
    if header.format != FORMAT {
        return Err(io_error(path, "not a coffer backup"));
    }
    if header.schema > SCHEMA_VERSION {
        return Err(io_error(
            path,
            format!(
                "made by a newer Coffer (schema {} > {SCHEMA_VERSION})",
                header.schema
            ),
        ));
    }
    let state = STANDARD
        .decode(&header.key_state)
        .map_err(|_| io_error(path, "line 1: bad base64"))?;
    KeyState::decode(&state)?;
    Ok(state)
}

fn write_snapshot(t: &mut SealingTxn<'_>, path: &Path) -> Result<u64, StoreError> {
    // Called again from scratch if the snapshot transaction is retried, hence a fresh file each
    // time. Owner-only: a backup is as sensitive as the database.
    let file = crate::private_file::create_new(path).map_err(|e| io_error(path, e))?;
    let mut out = BufWriter::new(file);
    let state = t
        .meta_get(KEY_STATE)?
        .ok_or_else(|| StoreError::Corrupt("key state missing".to_string()))?;
    let header = Header {
        format: FORMAT.to_string(),
        schema: SCHEMA_VERSION,
        key_state: STANDARD.encode(&state),
    };
    write_line(&mut out, &header, path)?;
    let mut count = 0u64;
    let mut after: Option<(String, String)> = None;
    loop {
        let from = after.as_ref().map(|(a, b)| (a.as_str(), b.as_str()));
        let rows = t.scan_all(from, 1000)?;
        let Some(last) = rows.last() else { break };
        after = Some((last.0.clone(), last.1.clone()));
        for (table, key, record) in rows {
            let line = Line {
                t: table,
                k: key,
                v: record.version,
                d: STANDARD.encode(&record.doc),
                s: record.sealed.as_ref().map(|s| STANDARD.encode(s)),
            };
            write_line(&mut out, &line, path)?;
            count += 1;
        }
    }
    let file = out.into_inner().map_err(|e| io_error(path, e.error()))?;
    file.sync_all().map_err(|e| io_error(path, e))?;
    Ok(count)
}

fn write_line<T: Serialize>(
    out: &mut impl Write,
    value: &T,
    path: &Path,
) -> Result<(), StoreError> {
    serde_json::to_writer(&mut *out, value).map_err(|e| io_error(path, e))?;
    out.write_all(b"\n").map_err(|e| io_error(path, e))
}

type Rows = Vec<(String, String, RawRecord)>;

fn read_backup(path: &Path) -> Result<(Vec<u8>, Rows), StoreError> {
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let mut lines = BufReader::new(file).lines();
    let first = lines
        .next()
        .ok_or_else(|| io_error(path, "empty file"))?
        .map_err(|e| io_error(path, e))?;
    let state = read_header(path, &first)?;
    let b64 = |s: &str, n: usize| {
        STANDARD
            .decode(s)
            .map_err(|_| io_error(path, format!("line {n}: bad base64")))
    };
    let mut rows = Vec::new();
    for (i, line) in lines.enumerate() {
        let n = i + 2;
        let line = line.map_err(|e| io_error(path, e))?;
        if line.is_empty() {
            continue;
        }
        let l: Line =
            serde_json::from_str(&line).map_err(|e| io_error(path, format!("line {n}: {e}")))?;
        let record = RawRecord {
            doc: b64(&l.d, n)?,
            sealed: l.s.as_deref().map(|s| b64(s, n)).transpose()?,
            version: l.v,
        };
        rows.push((l.t, l.k, record));
    }
    Ok((state, rows))
}
