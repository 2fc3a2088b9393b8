use std::sync::Arc;

use crate::envelope;
use crate::error::StoreError;
use crate::keyring::{KeyManager, Keyring, KEY_STATE};
use crate::record::{NewRecord, RawRecord, Record};

/// One transaction, as seen by the closure passed to `Store::write` / `Store::read`.
///
/// Keys are compared as bytes. A backend failure inside the transaction (lost connection, serialization
/// conflict) fails the whole attempt: `write` retries the closure or reports the error, whatever the
/// closure returned.
pub trait Txn {
    fn get(&mut self, table: &str, key: &str) -> Result<Option<Record>, StoreError>;
    /// Inserts or replaces.
    fn put(&mut self, table: &str, key: &str, record: NewRecord) -> Result<(), StoreError>;
    /// Inserts; fails with `StoreError::Conflict` (changing nothing) if the key exists.
    fn insert(&mut self, table: &str, key: &str, record: NewRecord) -> Result<(), StoreError>;
    /// Returns whether a record was deleted.
    fn delete(&mut self, table: &str, key: &str) -> Result<bool, StoreError>;
    /// Keys in byte order strictly after `start_after` with the given prefix, at most `limit`.
    fn scan(
        &mut self,
        table: &str,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Record)>, StoreError>;
    /// Keys in descending byte order strictly before `start_before` with the given prefix, at most
    /// `limit`: `scan` backwards, so that one ordered table serves both directions of a listing.
    fn scan_rev(
        &mut self,
        table: &str,
        prefix: &str,
        start_before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Record)>, StoreError>;
}

/// Storage operations a backend provides inside one transaction; values are already sealed.
pub(crate) trait RawTxn {
    fn get(&mut self, table: &str, key: &str) -> Result<Option<RawRecord>, StoreError>;
    /// Inserts with version 1 or replaces with version + 1.
    fn put(
        &mut self,
        table: &str,
        key: &str,
        doc: &[u8],
        sealed: Option<&[u8]>,
    ) -> Result<(), StoreError>;
    /// Inserts with version 1; returns false (changing nothing) if the key exists.
    fn insert(
        &mut self,
        table: &str,
        key: &str,
        doc: &[u8],
        sealed: Option<&[u8]>,
    ) -> Result<bool, StoreError>;
    fn delete(&mut self, table: &str, key: &str) -> Result<bool, StoreError>;
    fn scan(
        &mut self,
        table: &str,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, RawRecord)>, StoreError>;
    fn scan_rev(
        &mut self,
        table: &str,
        prefix: &str,
        start_before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, RawRecord)>, StoreError>;
    /// Every record of every table in (table, key) order, strictly after `after`.
    fn scan_all(
        &mut self,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<(String, String, RawRecord)>, StoreError>;
    /// Writes a record exactly as given, version included (restore, re-wrapping).
    fn put_exact(&mut self, table: &str, key: &str, record: &RawRecord) -> Result<(), StoreError>;
    fn meta_get(&mut self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;
    fn meta_put(&mut self, name: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Deletes every record of every table, keeping the metadata (schema version, key state);
    /// returns how many records there were.
    fn clear_records(&mut self) -> Result<u64, StoreError>;
}

/// Keys in byte order: `String`'s `Ord` is byte order for UTF-8, which all backends match.
pub(crate) fn in_scan(key: &str, prefix: &str, start_after: Option<&str>) -> bool {
    key.starts_with(prefix) && start_after.is_none_or(|s| key > s)
}

/// The least string above every string that starts with `prefix` (`None`: no such bound, for the
/// empty prefix), so that `prefix <= key < prefix_end(prefix)` selects exactly the keys with the
/// prefix in byte order (which is code point order for UTF-8). The last character is replaced by
/// the next one, skipping the surrogates; a last character that has no next one is dropped first.
pub(crate) fn prefix_end(prefix: &str) -> Option<String> {
    let mut end = prefix.to_string();
    while let Some(last) = end.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(u32::from(c) + 1),
        };
        if let Some(next) = next {
            end.push(next);
            return Some(end);
        }
    }
    None
}

/// The exclusive upper bound of a reverse scan: the lower of the cursor and the prefix's end;
/// `None` when neither bounds it. A cursor at or below the prefix leaves nothing to scan, which
/// the caller sees as `Some(bound) <= prefix`.
pub(crate) fn rev_upper_bound(prefix: &str, start_before: Option<&str>) -> Option<String> {
    match (start_before, prefix_end(prefix)) {
        (Some(before), Some(end)) if before < end.as_str() => Some(before.to_string()),
        (Some(_), Some(end)) => Some(end),
        (Some(before), None) => Some(before.to_string()),
        (None, end) => end,
    }
}

/// The `Txn` handed to closures: seals and opens values around a backend's `RawTxn`.
pub(crate) struct SealingTxn<'a> {
    raw: &'a mut dyn RawTxn,
    keys: &'a KeyManager,
    writable: bool,
    /// Ring confirmed against the stored key state in this transaction (read before the first seal,
    /// so a rotation committed by another node is noticed and conflicts under serializable isolation).
    fresh_ring: Option<Arc<Keyring>>,
    touched: &'a mut Vec<(String, String)>,
    /// First backend failure; the attempt is aborted whatever the closure returns.
    pub failure: Option<StoreError>,
}

impl<'a> SealingTxn<'a> {
    pub fn new(
        raw: &'a mut dyn RawTxn,
        keys: &'a KeyManager,
        writable: bool,
        touched: &'a mut Vec<(String, String)>,
    ) -> Self {
        SealingTxn {
            raw,
            keys,
            writable,
            fresh_ring: None,
            touched,
            failure: None,
        }
    }

    fn check(&mut self) -> Result<(), StoreError> {
        match &self.failure {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    fn note<T>(&mut self, r: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(e) = &r {
            self.failure.get_or_insert_with(|| e.clone());
        }
        r
    }

    fn writable(&mut self) -> Result<(), StoreError> {
        self.check()?;
        if self.writable {
            Ok(())
        } else {
            Err(StoreError::ReadOnly)
        }
    }

    // Raw access for the store's own maintenance (rotation, backup, restore). Failures are noted like
    // any backend failure so that serialization conflicts still retry the whole closure.

    pub fn scan_all(
        &mut self,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<(String, String, RawRecord)>, StoreError> {
        self.check()?;
        let r = self.raw.scan_all(after, limit);
        self.note(r)
    }

    pub fn put_exact(
        &mut self,
        table: &str,
        key: &str,
        record: &RawRecord,
    ) -> Result<(), StoreError> {
        self.writable()?;
        let r = self.raw.put_exact(table, key, record);
        self.note(r)?;
        self.touch(table, key);
        Ok(())
    }

    pub fn meta_get(&mut self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.check()?;
        let r = self.raw.meta_get(name);
        self.note(r)
    }

    pub fn meta_put(&mut self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        self.writable()?;
        let r = self.raw.meta_put(name, value);
        self.note(r)
    }

    pub fn touch(&mut self, table: &str, key: &str) {
        self.touched.push((table.to_string(), key.to_string()));
    }

    /// The ring matching the key state stored in this transaction.
    pub fn fresh_ring(&mut self) -> Result<Arc<Keyring>, StoreError> {
        if let Some(ring) = &self.fresh_ring {
            return Ok(ring.clone());
        }
        let state = self.raw.meta_get(KEY_STATE);
        let state = self
            .note(state)?
            .ok_or_else(|| StoreError::Corrupt("key state missing".to_string()))?;
        let ring = self.keys.refresh(&state)?;
        self.fresh_ring = Some(ring.clone());
        Ok(ring)
    }

    pub fn open_raw(
        &mut self,
        table: &str,
        key: &str,
        raw: RawRecord,
    ) -> Result<Record, StoreError> {
        let sealed = match raw.sealed {
            None => None,
            Some(blob) => {
                let id = envelope::key_id(&blob).ok_or_else(|| StoreError::Decrypt {
                    table: table.to_string(),
                    key: key.to_string(),
                })?;
                let mut ring = self.fresh_ring.clone().unwrap_or_else(|| self.keys.ring());
                if ring.find(id).is_none() && self.fresh_ring.is_none() {
                    ring = self.fresh_ring()?;
                }
                let master = ring.find(id).ok_or_else(|| StoreError::Decrypt {
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

    fn seal(
        &mut self,
        table: &str,
        key: &str,
        record: &NewRecord,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        match &record.sealed {
            None => Ok(None),
            Some(plain) => {
                let ring = self.fresh_ring()?;
                Ok(Some(envelope::seal(
                    ring.sealer(),
                    table,
                    key,
                    plain.expose(),
                )?))
            }
        }
    }
}

impl Txn for SealingTxn<'_> {
    fn get(&mut self, table: &str, key: &str) -> Result<Option<Record>, StoreError> {
        self.check()?;
        let r = self.raw.get(table, key);
        match self.note(r)? {
            None => Ok(None),
            Some(raw) => self.open_raw(table, key, raw).map(Some),
        }
    }

    fn put(&mut self, table: &str, key: &str, record: NewRecord) -> Result<(), StoreError> {
        self.writable()?;
        let sealed = self.seal(table, key, &record)?;
        let r = self.raw.put(table, key, &record.doc, sealed.as_deref());
        self.note(r)?;
        self.touch(table, key);
        Ok(())
    }

    fn insert(&mut self, table: &str, key: &str, record: NewRecord) -> Result<(), StoreError> {
        self.writable()?;
        let sealed = self.seal(table, key, &record)?;
        let r = self.raw.insert(table, key, &record.doc, sealed.as_deref());
        if self.note(r)? {
            self.touch(table, key);
            Ok(())
        } else {
            Err(StoreError::Conflict {
                table: table.to_string(),
                key: key.to_string(),
            })
        }
    }

    fn delete(&mut self, table: &str, key: &str) -> Result<bool, StoreError> {
        self.writable()?;
        let r = self.raw.delete(table, key);
        let deleted = self.note(r)?;
        if deleted {
            self.touch(table, key);
        }
        Ok(deleted)
    }

    fn scan(
        &mut self,
        table: &str,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Record)>, StoreError> {
        self.check()?;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let r = self.raw.scan(table, prefix, start_after, limit);
        let rows = self.note(r)?;
        self.open_rows(table, rows)
    }

    fn scan_rev(
        &mut self,
        table: &str,
        prefix: &str,
        start_before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Record)>, StoreError> {
        self.check()?;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let r = self.raw.scan_rev(table, prefix, start_before, limit);
        let rows = self.note(r)?;
        self.open_rows(table, rows)
    }
}

impl SealingTxn<'_> {
    fn open_rows(
        &mut self,
        table: &str,
        rows: Vec<(String, RawRecord)>,
    ) -> Result<Vec<(String, Record)>, StoreError> {
        rows.into_iter()
            .map(|(k, raw)| {
                let rec = self.open_raw(table, &k, raw)?;
                Ok((k, rec))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_bounds_exactly_the_keys_with_the_prefix() {
        assert_eq!(prefix_end("1/us-east-1/").as_deref(), Some("1/us-east-10"));
        assert_eq!(prefix_end(""), None);
        assert_eq!(prefix_end("a\u{D7FF}").as_deref(), Some("a\u{E000}"));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{10FFFF}\u{10FFFF}"), None);
        let keys = [
            "",
            "a",
            "a/",
            "a/b",
            "a/\u{10FFFF}",
            "a/\u{10FFFF}x",
            "a0",
            "a.",
            "a\u{10FFFF}",
            "b",
            "a/\u{7f}",
            "a/\u{80}",
            "\u{D7FF}",
            "\u{E000}",
        ];
        for prefix in ["", "a", "a/", "a/\u{10FFFF}", "\u{D7FF}", "\u{10FFFF}"] {
            let end = prefix_end(prefix);
            for key in keys {
                let bounded = key >= prefix && end.as_deref().is_none_or(|e| key < e);
                assert_eq!(bounded, key.starts_with(prefix), "{prefix:?} {key:?}");
            }
        }
    }

    #[test]
    fn rev_upper_bound_is_the_lower_of_cursor_and_prefix_end() {
        assert_eq!(rev_upper_bound("a/", None).as_deref(), Some("a0"));
        assert_eq!(rev_upper_bound("a/", Some("a/m")).as_deref(), Some("a/m"));
        assert_eq!(rev_upper_bound("a/", Some("b")).as_deref(), Some("a0"));
        assert_eq!(rev_upper_bound("", Some("b")).as_deref(), Some("b"));
        assert_eq!(rev_upper_bound("", None), None);
    }
}
