use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{Client, Row, Statement};

use super::pg_error;
use crate::error::StoreError;
use crate::record::RawRecord;
use crate::txn::{rev_upper_bound, RawTxn};

/// `RawTxn` over a client with a transaction open. Keys and table names are BYTEA so that ordering is
/// byte order whatever the database collation (and the same on CockroachDB and YugabyteDB).
pub(super) struct PgTxn<'c> {
    pub client: &'c mut Client,
    pub statements: &'c mut HashMap<&'static str, Statement>,
    pub writable: bool,
}

fn text(bytes: Vec<u8>) -> Result<String, StoreError> {
    String::from_utf8(bytes).map_err(|_| StoreError::Corrupt("key is not UTF-8".to_string()))
}

fn raw_record(row: &Row, first: usize) -> Result<RawRecord, StoreError> {
    let version: i64 = row.try_get(first).map_err(pg_error)?;
    Ok(RawRecord {
        version: version as u64,
        doc: row.try_get(first + 1).map_err(pg_error)?,
        sealed: row.try_get(first + 2).map_err(pg_error)?,
    })
}

impl PgTxn<'_> {
    fn statement(&mut self, sql: &'static str) -> Result<Statement, StoreError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql).map_err(pg_error)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }

    fn query(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let s = self.statement(sql)?;
        self.client.query(&s, params).map_err(pg_error)
    }

    fn execute(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        self.writable()?;
        let s = self.statement(sql)?;
        self.client.execute(&s, params).map_err(pg_error)
    }

    fn writable(&self) -> Result<(), StoreError> {
        if self.writable {
            Ok(())
        } else {
            Err(StoreError::ReadOnly)
        }
    }
}

fn limit(n: usize) -> i64 {
    n.min(i64::MAX as usize) as i64
}

impl RawTxn for PgTxn<'_> {
    fn get(&mut self, table: &str, key: &str) -> Result<Option<RawRecord>, StoreError> {
        let rows = self.query(
            "SELECT version, doc, sealed FROM coffer_records WHERE tbl = $1 AND key = $2",
            &[&table.as_bytes(), &key.as_bytes()],
        )?;
        rows.first().map(|r| raw_record(r, 0)).transpose()
    }

    fn put(
        &mut self,
        table: &str,
        key: &str,
        doc: &[u8],
        sealed: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO coffer_records (tbl, key, version, doc, sealed) VALUES ($1, $2, 1, $3, $4) \
             ON CONFLICT (tbl, key) DO UPDATE SET version = coffer_records.version + 1, \
             doc = excluded.doc, sealed = excluded.sealed",
            &[&table.as_bytes(), &key.as_bytes(), &doc, &sealed],
        )?;
        Ok(())
    }

    fn insert(
        &mut self,
        table: &str,
        key: &str,
        doc: &[u8],
        sealed: Option<&[u8]>,
    ) -> Result<bool, StoreError> {
        let n = self.execute(
            "INSERT INTO coffer_records (tbl, key, version, doc, sealed) VALUES ($1, $2, 1, $3, $4) \
             ON CONFLICT (tbl, key) DO NOTHING",
            &[&table.as_bytes(), &key.as_bytes(), &doc, &sealed],
        )?;
        Ok(n == 1)
    }

    fn delete(&mut self, table: &str, key: &str) -> Result<bool, StoreError> {
        let n = self.execute(
            "DELETE FROM coffer_records WHERE tbl = $1 AND key = $2",
            &[&table.as_bytes(), &key.as_bytes()],
        )?;
        Ok(n > 0)
    }

    fn scan(
        &mut self,
        table: &str,
        prefix: &str,
        start_after: Option<&str>,
        n: usize,
    ) -> Result<Vec<(String, RawRecord)>, StoreError> {
        let rows = match start_after {
            Some(after) => self.query(
                "SELECT key, version, doc, sealed FROM coffer_records \
                 WHERE tbl = $1 AND key >= $2 AND key > $3 ORDER BY key LIMIT $4",
                &[
                    &table.as_bytes(),
                    &prefix.as_bytes(),
                    &after.as_bytes(),
                    &limit(n),
                ],
            )?,
            None => self.query(
                "SELECT key, version, doc, sealed FROM coffer_records \
                 WHERE tbl = $1 AND key >= $2 ORDER BY key LIMIT $3",
                &[&table.as_bytes(), &prefix.as_bytes(), &limit(n)],
            )?,
        };
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let key = text(row.try_get(0).map_err(pg_error)?)?;
            // Keys sharing a prefix are contiguous in byte order.
            if !key.starts_with(prefix) {
                break;
            }
            out.push((key, raw_record(row, 1)?));
        }
        Ok(out)
    }

    fn scan_rev(
        &mut self,
        table: &str,
        prefix: &str,
        start_before: Option<&str>,
        n: usize,
    ) -> Result<Vec<(String, RawRecord)>, StoreError> {
        let rows = match rev_upper_bound(prefix, start_before) {
            Some(upper) if upper.as_str() <= prefix => return Ok(Vec::new()),
            Some(upper) => self.query(
                "SELECT key, version, doc, sealed FROM coffer_records \
                 WHERE tbl = $1 AND key >= $2 AND key < $3 ORDER BY key DESC LIMIT $4",
                &[
                    &table.as_bytes(),
                    &prefix.as_bytes(),
                    &upper.as_bytes(),
                    &limit(n),
                ],
            )?,
            None => self.query(
                "SELECT key, version, doc, sealed FROM coffer_records \
                 WHERE tbl = $1 AND key >= $2 ORDER BY key DESC LIMIT $3",
                &[&table.as_bytes(), &prefix.as_bytes(), &limit(n)],
            )?,
        };
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let key = text(row.try_get(0).map_err(pg_error)?)?;
            out.push((key, raw_record(row, 1)?));
        }
        Ok(out)
    }

    fn scan_all(
        &mut self,
        after: Option<(&str, &str)>,
        n: usize,
    ) -> Result<Vec<(String, String, RawRecord)>, StoreError> {
        let rows = match after {
            Some((t, k)) => self.query(
                "SELECT tbl, key, version, doc, sealed FROM coffer_records \
                 WHERE (tbl, key) > ($1, $2) ORDER BY tbl, key LIMIT $3",
                &[&t.as_bytes(), &k.as_bytes(), &limit(n)],
            )?,
            None => self.query(
                "SELECT tbl, key, version, doc, sealed FROM coffer_records ORDER BY tbl, key LIMIT $1",
                &[&limit(n)],
            )?,
        };
        rows.iter()
            .map(|row| {
                Ok((
                    text(row.try_get(0).map_err(pg_error)?)?,
                    text(row.try_get(1).map_err(pg_error)?)?,
                    raw_record(row, 2)?,
                ))
            })
            .collect()
    }

    fn put_exact(&mut self, table: &str, key: &str, record: &RawRecord) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO coffer_records (tbl, key, version, doc, sealed) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (tbl, key) DO UPDATE SET version = excluded.version, doc = excluded.doc, \
             sealed = excluded.sealed",
            &[
                &table.as_bytes(),
                &key.as_bytes(),
                &(record.version as i64),
                &record.doc,
                &record.sealed,
            ],
        )?;
        Ok(())
    }

    fn meta_get(&mut self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let rows = self.query("SELECT value FROM coffer_meta WHERE name = $1", &[&name])?;
        rows.first()
            .map(|r| r.try_get(0).map_err(pg_error))
            .transpose()
    }

    fn meta_put(&mut self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO coffer_meta (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            &[&name, &value],
        )?;
        Ok(())
    }

    fn clear_records(&mut self) -> Result<u64, StoreError> {
        self.execute("DELETE FROM coffer_records", &[])
    }
}
