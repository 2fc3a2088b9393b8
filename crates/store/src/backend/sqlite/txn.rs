use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::error::StoreError;
use crate::record::RawRecord;
use crate::txn::{rev_upper_bound, RawTxn};

/// `RawTxn` over a connection that already has a transaction (or savepoint) open.
pub(super) struct SqliteTxn<'c> {
    pub conn: &'c Connection,
    pub writable: bool,
}

fn raw_record(row: &Row<'_>, first: usize) -> rusqlite::Result<RawRecord> {
    let version: i64 = row.get(first)?;
    Ok(RawRecord {
        version: version as u64,
        doc: row.get(first + 1)?,
        sealed: row.get(first + 2)?,
    })
}

impl SqliteTxn<'_> {
    fn writable(&self) -> Result<(), StoreError> {
        if self.writable {
            Ok(())
        } else {
            Err(StoreError::ReadOnly)
        }
    }
}

impl RawTxn for SqliteTxn<'_> {
    fn get(&mut self, table: &str, key: &str) -> Result<Option<RawRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT version, doc, sealed FROM coffer_records WHERE tbl = ?1 AND key = ?2",
        )?;
        Ok(stmt
            .query_row(params![table, key], |row| raw_record(row, 0))
            .optional()?)
    }

    fn put(
        &mut self,
        table: &str,
        key: &str,
        doc: &[u8],
        sealed: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        self.writable()?;
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO coffer_records (tbl, key, version, doc, sealed) VALUES (?1, ?2, 1, ?3, ?4) \
             ON CONFLICT (tbl, key) DO UPDATE SET version = version + 1, doc = excluded.doc, sealed = excluded.sealed",
        )?;
        stmt.execute(params![table, key, doc, sealed])?;
        Ok(())
    }

    fn insert(
        &mut self,
        table: &str,
        key: &str,
        doc: &[u8],
        sealed: Option<&[u8]>,
    ) -> Result<bool, StoreError> {
        self.writable()?;
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO coffer_records (tbl, key, version, doc, sealed) VALUES (?1, ?2, 1, ?3, ?4) \
             ON CONFLICT (tbl, key) DO NOTHING",
        )?;
        Ok(stmt.execute(params![table, key, doc, sealed])? == 1)
    }

    fn delete(&mut self, table: &str, key: &str) -> Result<bool, StoreError> {
        self.writable()?;
        let mut stmt = self
            .conn
            .prepare_cached("DELETE FROM coffer_records WHERE tbl = ?1 AND key = ?2")?;
        Ok(stmt.execute(params![table, key])? > 0)
    }

    fn scan(
        &mut self,
        table: &str,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, RawRecord)>, StoreError> {
        // Keys sharing a prefix are contiguous in byte order (TEXT compares with memcmp), so the first
        // key without the prefix ends the scan. Rows are stepped lazily and the loop stops there:
        // collecting the whole `LIMIT` first read every later key of the table (and its blobs) on
        // each scan, which made PutSecretValue and ListSecrets O(secrets stored).
        let limit = limit.min(i64::MAX as usize) as i64;
        let map = |row: &Row<'_>| Ok((row.get::<_, String>(0)?, raw_record(row, 1)?));
        let mut out = Vec::new();
        let mut take = |rows: &mut dyn Iterator<Item = rusqlite::Result<(String, RawRecord)>>| {
            for row in rows {
                let (key, record) = row?;
                if !key.starts_with(prefix) {
                    break;
                }
                out.push((key, record));
            }
            Ok::<_, StoreError>(())
        };
        // One lower bound only: given both `key >= prefix` and `key > after`, SQLite seeks on the
        // first and filters the second row by row, so every page rescanned the prefix from its
        // start. `after` below the prefix adds nothing to `key >= prefix`.
        match start_after.filter(|after| *after >= prefix) {
            Some(after) => {
                let mut stmt = self.conn.prepare_cached(
                    "SELECT key, version, doc, sealed FROM coffer_records \
                     WHERE tbl = ?1 AND key > ?2 ORDER BY key LIMIT ?3",
                )?;
                take(&mut stmt.query_map(params![table, after, limit], map)?)?;
            }
            None => {
                let mut stmt = self.conn.prepare_cached(
                    "SELECT key, version, doc, sealed FROM coffer_records \
                     WHERE tbl = ?1 AND key >= ?2 ORDER BY key LIMIT ?3",
                )?;
                take(&mut stmt.query_map(params![table, prefix, limit], map)?)?;
            }
        }
        Ok(out)
    }

    fn scan_rev(
        &mut self,
        table: &str,
        prefix: &str,
        start_before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, RawRecord)>, StoreError> {
        // As `scan`, downwards from one upper bound: the keys with the prefix are the ones below
        // its end, and the first key below the prefix ends the scan.
        let limit = limit.min(i64::MAX as usize) as i64;
        let map = |row: &Row<'_>| Ok((row.get::<_, String>(0)?, raw_record(row, 1)?));
        let mut out = Vec::new();
        let mut take = |rows: &mut dyn Iterator<Item = rusqlite::Result<(String, RawRecord)>>| {
            for row in rows {
                let (key, record) = row?;
                if !key.starts_with(prefix) {
                    break;
                }
                out.push((key, record));
            }
            Ok::<_, StoreError>(())
        };
        match rev_upper_bound(prefix, start_before) {
            Some(upper) if upper.as_str() <= prefix => {}
            Some(upper) => {
                let mut stmt = self.conn.prepare_cached(
                    "SELECT key, version, doc, sealed FROM coffer_records \
                     WHERE tbl = ?1 AND key < ?2 ORDER BY key DESC LIMIT ?3",
                )?;
                take(&mut stmt.query_map(params![table, upper, limit], map)?)?;
            }
            None => {
                let mut stmt = self.conn.prepare_cached(
                    "SELECT key, version, doc, sealed FROM coffer_records \
                     WHERE tbl = ?1 ORDER BY key DESC LIMIT ?2",
                )?;
                take(&mut stmt.query_map(params![table, limit], map)?)?;
            }
        }
        Ok(out)
    }

    fn scan_all(
        &mut self,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<(String, String, RawRecord)>, StoreError> {
        let limit = limit.min(i64::MAX as usize) as i64;
        let map = |row: &Row<'_>| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                raw_record(row, 2)?,
            ))
        };
        let rows = match after {
            Some((t, k)) => {
                let mut stmt = self.conn.prepare_cached(
                    "SELECT tbl, key, version, doc, sealed FROM coffer_records \
                     WHERE (tbl, key) > (?1, ?2) ORDER BY tbl, key LIMIT ?3",
                )?;
                let rows = stmt.query_map(params![t, k, limit], map)?;
                rows.collect::<rusqlite::Result<_>>()?
            }
            None => {
                let mut stmt = self.conn.prepare_cached(
                    "SELECT tbl, key, version, doc, sealed FROM coffer_records ORDER BY tbl, key LIMIT ?1",
                )?;
                let rows = stmt.query_map(params![limit], map)?;
                rows.collect::<rusqlite::Result<_>>()?
            }
        };
        Ok(rows)
    }

    fn put_exact(&mut self, table: &str, key: &str, record: &RawRecord) -> Result<(), StoreError> {
        self.writable()?;
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO coffer_records (tbl, key, version, doc, sealed) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (tbl, key) DO UPDATE SET version = excluded.version, doc = excluded.doc, sealed = excluded.sealed",
        )?;
        stmt.execute(params![
            table,
            key,
            record.version as i64,
            record.doc,
            record.sealed
        ])?;
        Ok(())
    }

    fn meta_get(&mut self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT value FROM coffer_meta WHERE name = ?1")?;
        Ok(stmt.query_row(params![name], |r| r.get(0)).optional()?)
    }

    fn meta_put(&mut self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        self.writable()?;
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO coffer_meta (name, value) VALUES (?1, ?2) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )?;
        stmt.execute(params![name, value])?;
        Ok(())
    }

    fn clear_records(&mut self) -> Result<u64, StoreError> {
        self.writable()?;
        Ok(self.conn.execute("DELETE FROM coffer_records", [])? as u64)
    }
}
