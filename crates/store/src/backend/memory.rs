//! In-memory backend for `--dev`: one lock, writers exclusive, readers shared, undo log for rollback.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::RwLock;

use crate::backend::{Backend, Garbage};
use crate::error::StoreError;
use crate::job::{Attempt, Job};
use crate::record::RawRecord;
use crate::txn::{in_scan, rev_upper_bound, RawTxn};

#[derive(Default)]
struct MemState {
    tables: Tables,
    meta: BTreeMap<String, Vec<u8>>,
}

type Tables = BTreeMap<String, Table>;
type Table = BTreeMap<Box<str>, MemRecord>;

/// A record as this backend holds it: boxed slices rather than vectors (no spare capacity, two
/// words each), so that a map slot is 56 bytes (key and record) instead of 80. `--dev` keeps
/// every record of every table here; with ListSecrets' index entries (an empty record under
/// a key) the slots are a good part of its memory per secret (bench/NOTES.md, "Memory").
#[derive(Clone)]
struct MemRecord {
    doc: Box<[u8]>,
    sealed: Option<Box<[u8]>>,
    version: u64,
}

impl MemRecord {
    fn raw(&self) -> RawRecord {
        RawRecord {
            doc: self.doc.to_vec(),
            sealed: self.sealed.as_deref().map(<[u8]>::to_vec),
            version: self.version,
        }
    }
}

impl From<&RawRecord> for MemRecord {
    fn from(r: &RawRecord) -> Self {
        MemRecord {
            doc: r.doc.as_slice().into(),
            sealed: r.sealed.as_deref().map(Box::from),
            version: r.version,
        }
    }
}

enum Undo {
    Record(String, Box<str>, Option<MemRecord>),
    Meta(String, Option<Vec<u8>>),
    /// Every table as it was before `clear_records`.
    Tables(Tables),
}

fn count(tables: &Tables) -> u64 {
    tables.values().map(|t| t.len() as u64).sum()
}

#[derive(Default)]
pub(crate) struct MemoryBackend {
    state: RwLock<MemState>,
}

impl MemoryBackend {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Backend for MemoryBackend {
    fn write(&self, mut job: Box<dyn Job>) {
        let outcome = {
            let mut guard = self.state.write().unwrap_or_else(|p| p.into_inner());
            let mut txn = MemTxn {
                state: State::Write(&mut guard),
                undo: Vec::new(),
            };
            match job.run(&mut txn) {
                Attempt::Commit => Ok(()),
                Attempt::Rollback => {
                    txn.rollback();
                    Ok(())
                }
                Attempt::Abort(e) => {
                    txn.rollback();
                    Err(e)
                }
            }
        };
        job.finish(outcome);
    }

    fn read(&self, mut job: Box<dyn Job>) {
        let outcome = {
            let guard = self.state.read().unwrap_or_else(|p| p.into_inner());
            let mut txn = MemTxn {
                state: State::Read(&guard),
                undo: Vec::new(),
            };
            match job.run(&mut txn) {
                Attempt::Commit | Attempt::Rollback => Ok(()),
                Attempt::Abort(e) => Err(e),
            }
        };
        job.finish(outcome);
    }

    /// Swaps the tables for empty ones under the lock, so writers and readers wait only for the
    /// swap; the old records are handed back to be freed elsewhere (10,000 secrets take
    /// milliseconds to free).
    fn clear_records(&self) -> Option<Result<(u64, Garbage), StoreError>> {
        let old = {
            let mut guard = self.state.write().unwrap_or_else(|p| p.into_inner());
            std::mem::take(&mut guard.tables)
        };
        Some(Ok((count(&old), Box::new(old))))
    }

    fn get_now(&self, table: &str, key: &str) -> Option<Result<Option<RawRecord>, StoreError>> {
        let guard = self.state.read().unwrap_or_else(|p| p.into_inner());
        Some(Ok(guard
            .tables
            .get(table)
            .and_then(|m| m.get(key))
            .map(MemRecord::raw)))
    }
}

enum State<'a> {
    Read(&'a MemState),
    Write(&'a mut MemState),
}

struct MemTxn<'a> {
    state: State<'a>,
    undo: Vec<Undo>,
}

impl MemTxn<'_> {
    fn view(&self) -> &MemState {
        match &self.state {
            State::Read(s) => s,
            State::Write(s) => s,
        }
    }

    fn stored(&self, table: &str, key: &str) -> Option<&MemRecord> {
        self.view().tables.get(table)?.get(key)
    }

    fn state_mut(&mut self) -> Result<&mut MemState, StoreError> {
        match &mut self.state {
            State::Read(_) => Err(StoreError::ReadOnly),
            State::Write(s) => Ok(s),
        }
    }

    fn set(&mut self, table: &str, key: &str, record: Option<MemRecord>) -> Result<(), StoreError> {
        let state = self.state_mut()?;
        let map = match state.tables.get_mut(table) {
            Some(map) => map,
            None => state.tables.entry(table.to_string()).or_default(),
        };
        let previous = match record {
            Some(r) => map.insert(key.into(), r),
            None => map.remove(key),
        };
        self.undo
            .push(Undo::Record(table.to_string(), key.into(), previous));
        Ok(())
    }

    fn rollback(&mut self) {
        let undo = std::mem::take(&mut self.undo);
        let Ok(state) = self.state_mut() else { return };
        for entry in undo.into_iter().rev() {
            match entry {
                Undo::Record(t, k, prev) => {
                    let map = state.tables.entry(t).or_default();
                    match prev {
                        Some(r) => map.insert(k, r),
                        None => map.remove(&*k),
                    };
                }
                Undo::Meta(name, prev) => {
                    match prev {
                        Some(v) => state.meta.insert(name, v),
                        None => state.meta.remove(&name),
                    };
                }
                Undo::Tables(tables) => state.tables = tables,
            }
        }
    }
}

fn scan_map(
    map: &Table,
    prefix: &str,
    start_after: Option<&str>,
    limit: usize,
) -> Vec<(String, RawRecord)> {
    let lower = match start_after {
        Some(s) if s >= prefix => Bound::Excluded(s),
        _ => Bound::Included(prefix),
    };
    map.range::<str, _>((lower, Bound::Unbounded))
        .take_while(|(k, _)| k.starts_with(prefix))
        .filter(|(k, _)| in_scan(k, prefix, start_after))
        .take(limit)
        .map(|(k, v)| (k.to_string(), v.raw()))
        .collect()
}

fn scan_map_rev(
    map: &Table,
    prefix: &str,
    start_before: Option<&str>,
    limit: usize,
) -> Vec<(String, RawRecord)> {
    let upper = rev_upper_bound(prefix, start_before);
    let upper = match upper.as_deref() {
        // `range` panics on bounds out of order.
        Some(u) if u <= prefix => return Vec::new(),
        Some(u) => Bound::Excluded(u),
        None => Bound::Unbounded,
    };
    map.range::<str, _>((Bound::Included(prefix), upper))
        .rev()
        .filter(|(k, _)| k.starts_with(prefix))
        .take(limit)
        .map(|(k, v)| (k.to_string(), v.raw()))
        .collect()
}

impl RawTxn for MemTxn<'_> {
    fn get(&mut self, table: &str, key: &str) -> Result<Option<RawRecord>, StoreError> {
        Ok(self.stored(table, key).map(MemRecord::raw))
    }

    fn put(
        &mut self,
        table: &str,
        key: &str,
        doc: &[u8],
        sealed: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        let version = self.stored(table, key).map_or(1, |r| r.version + 1);
        let record = MemRecord {
            doc: doc.into(),
            sealed: sealed.map(Box::from),
            version,
        };
        self.set(table, key, Some(record))
    }

    fn insert(
        &mut self,
        table: &str,
        key: &str,
        doc: &[u8],
        sealed: Option<&[u8]>,
    ) -> Result<bool, StoreError> {
        self.state_mut()?;
        if self.stored(table, key).is_some() {
            return Ok(false);
        }
        self.put(table, key, doc, sealed)?;
        Ok(true)
    }

    fn delete(&mut self, table: &str, key: &str) -> Result<bool, StoreError> {
        self.state_mut()?;
        if self.stored(table, key).is_none() {
            return Ok(false);
        }
        self.set(table, key, None)?;
        Ok(true)
    }

    fn scan(
        &mut self,
        table: &str,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, RawRecord)>, StoreError> {
        Ok(self
            .view()
            .tables
            .get(table)
            .map(|m| scan_map(m, prefix, start_after, limit))
            .unwrap_or_default())
    }

    fn scan_rev(
        &mut self,
        table: &str,
        prefix: &str,
        start_before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, RawRecord)>, StoreError> {
        Ok(self
            .view()
            .tables
            .get(table)
            .map(|m| scan_map_rev(m, prefix, start_before, limit))
            .unwrap_or_default())
    }

    fn scan_all(
        &mut self,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<(String, String, RawRecord)>, StoreError> {
        let mut out = Vec::new();
        let first_table = after.map_or(Bound::Unbounded, |(t, _)| Bound::Included(t));
        for (table, map) in self
            .view()
            .tables
            .range::<str, _>((first_table, Bound::Unbounded))
        {
            let start_after = after.filter(|(t, _)| *t == table.as_str()).map(|(_, k)| k);
            for (k, r) in scan_map(map, "", start_after, limit - out.len()) {
                out.push((table.clone(), k, r));
            }
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    fn put_exact(&mut self, table: &str, key: &str, record: &RawRecord) -> Result<(), StoreError> {
        self.set(table, key, Some(record.into()))
    }

    fn meta_get(&mut self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.view().meta.get(name).cloned())
    }

    fn meta_put(&mut self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        let state = self.state_mut()?;
        let prev = state.meta.insert(name.to_string(), value.to_vec());
        self.undo.push(Undo::Meta(name.to_string(), prev));
        Ok(())
    }

    fn clear_records(&mut self) -> Result<u64, StoreError> {
        let state = self.state_mut()?;
        let old = std::mem::take(&mut state.tables);
        let removed = count(&old);
        self.undo.push(Undo::Tables(old));
        Ok(removed)
    }
}
