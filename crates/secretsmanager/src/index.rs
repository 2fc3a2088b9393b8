//! Indexes of a region's secrets in every ListSecrets order, so that a page of ListSecrets (and of
//! BatchGetSecretValue by filters) reads about as many secrets as it returns instead of all.
//!
//! One table per order and direction: creation date, last-changed date and last-accessed day, each
//! ascending and descending, and name descending (name ascending is the key order of the secret
//! records themselves). Ascending keys are `<account>/<region>/<value as 20 order-preserving
//! digits>/<name>`, which sort exactly as the `(value, name)` positions of list tokens do. The
//! store scans forward only, so descending orders have tables whose keys sort in the reverse
//! order: the inverted value, then the name's bytes inverted and written as hex, ended by `g`
//! (above every hex digit, so that a name sorts after the longer names it starts). The name
//! order's value is the constant 0. Every entry holds its position, which tells the name to load
//! and lets an entry that no longer matches its secret be recognised and skipped.
//!
//! Entries are written with the secret record (`state::put_doc`, which moves only the entries
//! whose value changed, so the GetSecretValue that changes the access day — once a day per
//! secret — moves two entries and the other reads none) and removed with it (`state::purge`).
//! Secrets stored before an index existed have no entries in it, so a region's indexes are
//! trusted only once its marker in `sm_index_built` records the current `INDEX_VERSION`:
//! `ensure_built` writes it in the transaction that indexes every secret of the region, and the
//! write of a region's first secret writes it at once. Until then listing falls back to reading
//! every secret.

use coffer_model::secretsmanager::SortByType;
use coffer_store::{NewRecord, Store, Txn};
use serde::{Deserialize, Serialize};

use crate::error::Fail;
use crate::state::{Scope, SecretDoc, SECRETS};

pub(crate) const BY_CREATED: &str = "sm_by_created";
pub(crate) const BY_CREATED_DESC: &str = "sm_by_created_desc";
pub(crate) const BY_CHANGED: &str = "sm_by_changed";
pub(crate) const BY_CHANGED_DESC: &str = "sm_by_changed_desc";
pub(crate) const BY_ACCESSED: &str = "sm_by_accessed";
pub(crate) const BY_ACCESSED_DESC: &str = "sm_by_accessed_desc";
pub(crate) const BY_NAME_DESC: &str = "sm_by_name_desc";
const BUILT: &str = "sm_index_built";
const BUILD_BATCH: usize = 500;

/// Which indexes a region's marker vouches for: 1 was the creation date alone (its marker is
/// `{}`), 2 adds the last-changed and last-accessed dates and name descending.
const INDEX_VERSION: u32 = 2;

/// Where a secret sorts: its sort value and its name (names are unique in a region, so the pair
/// orders secrets totally). Also what pagination tokens hold.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct Position {
    pub k: i64,
    pub n: String,
}

/// One index table: which order it serves, and whether its keys run against that order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IndexTable {
    pub name: &'static str,
    pub descending: bool,
}

impl IndexTable {
    /// The key of the entry at `p`.
    pub fn key(&self, prefix: &str, p: &Position) -> String {
        if self.descending {
            desc_key(prefix, p)
        } else {
            asc_key(prefix, p)
        }
    }
}

/// The table that lists secrets in an order, or `None` for name ascending, which is the secret
/// records' own key order.
pub(crate) fn table_for(sort_by: SortByType, descending: bool) -> Option<IndexTable> {
    let name = match (sort_by, descending) {
        (SortByType::CreatedDate, false) => BY_CREATED,
        (SortByType::CreatedDate, true) => BY_CREATED_DESC,
        (SortByType::LastChangedDate, false) => BY_CHANGED,
        (SortByType::LastChangedDate, true) => BY_CHANGED_DESC,
        (SortByType::LastAccessedDate, false) => BY_ACCESSED,
        (SortByType::LastAccessedDate, true) => BY_ACCESSED_DESC,
        (SortByType::Name, false) => return None,
        (SortByType::Name, true) => BY_NAME_DESC,
    };
    Some(IndexTable { name, descending })
}

/// A secret's sort values, as stored in its record (read without decoding the rest, so that a
/// write can tell which entries move).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct SortValues {
    pub created_ms: i64,
    pub last_changed_ms: i64,
    #[serde(default)]
    pub last_accessed_ms: Option<i64>,
}

impl SortValues {
    pub fn of(doc: &SecretDoc) -> SortValues {
        SortValues {
            created_ms: doc.created_ms,
            last_changed_ms: doc.last_changed_ms,
            last_accessed_ms: doc.last_accessed_ms,
        }
    }

    /// The stored values of a secret record.
    pub fn decode(doc: &[u8]) -> Result<SortValues, Fail> {
        serde_json::from_slice(doc).map_err(|e| corrupt("secret metadata", e))
    }

    /// The value a secret sorts by in an order. A secret never read sorts before every read one
    /// (AWS omits its `LastAccessedDate`); names sort by their name alone.
    pub fn value(&self, sort_by: SortByType) -> i64 {
        match sort_by {
            SortByType::CreatedDate => self.created_ms,
            SortByType::LastChangedDate => self.last_changed_ms,
            SortByType::LastAccessedDate => self.last_accessed_ms.unwrap_or(i64::MIN),
            SortByType::Name => 0,
        }
    }
}

/// The orders kept in tables (name ascending needs none).
const INDEXED: [SortByType; 4] = [
    SortByType::CreatedDate,
    SortByType::LastChangedDate,
    SortByType::LastAccessedDate,
    SortByType::Name,
];

/// `i64` order as unsigned order (flipping the sign bit), so that fixed-width digits sort right.
fn biased(k: i64) -> u64 {
    (k as u64) ^ (1 << 63)
}

pub(crate) fn asc_key(prefix: &str, p: &Position) -> String {
    format!("{prefix}{:020}/{}", biased(p.k), p.n)
}

pub(crate) fn desc_key(prefix: &str, p: &Position) -> String {
    use std::fmt::Write;
    let mut key = format!("{prefix}{:020}/", u64::MAX - biased(p.k));
    key.reserve(p.n.len() * 2 + 1);
    for b in p.n.bytes() {
        // Writing to a String cannot fail.
        let _ = write!(key, "{:02x}", 255 - b);
    }
    key.push('g');
    key
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> Fail {
    Fail::Store(coffer_store::StoreError::Corrupt(format!("{what}: {e}")))
}

pub(crate) fn decode_entry(doc: &[u8]) -> Result<Position, Fail> {
    serde_json::from_slice(doc).map_err(|e| corrupt("secret index", e))
}

/// The tables (both directions where kept) of one order.
fn tables_of(sort_by: SortByType) -> impl Iterator<Item = IndexTable> {
    [false, true]
        .into_iter()
        .filter_map(move |descending| table_for(sort_by, descending))
}

fn put_entries(
    txn: &mut dyn Txn,
    prefix: &str,
    sort_by: SortByType,
    p: &Position,
) -> Result<(), Fail> {
    let bytes = serde_json::to_vec(p).map_err(|e| corrupt("secret index", e))?;
    for table in tables_of(sort_by) {
        txn.put(
            table.name,
            &table.key(prefix, p),
            NewRecord::new(bytes.clone()),
        )?;
    }
    Ok(())
}

fn delete_entries(
    txn: &mut dyn Txn,
    prefix: &str,
    sort_by: SortByType,
    p: &Position,
) -> Result<(), coffer_store::StoreError> {
    for table in tables_of(sort_by) {
        txn.delete(table.name, &table.key(prefix, p))?;
    }
    Ok(())
}

fn position(values: &SortValues, sort_by: SortByType, name: &str) -> Position {
    Position {
        k: values.value(sort_by),
        n: name.to_string(),
    }
}

/// Moves a secret's entries from what its record held (`None`: no record) to its new values,
/// touching only the orders whose value changed.
pub(crate) fn update(
    txn: &mut dyn Txn,
    prefix: &str,
    name: &str,
    before: Option<&SortValues>,
    after: &SortValues,
) -> Result<(), Fail> {
    for sort_by in INDEXED {
        let new = position(after, sort_by, name);
        if let Some(old) = before.map(|b| position(b, sort_by, name)) {
            if old == new {
                continue;
            }
            delete_entries(txn, prefix, sort_by, &old)?;
        }
        put_entries(txn, prefix, sort_by, &new)?;
    }
    Ok(())
}

/// Removes every entry of a secret whose record held `values`.
pub(crate) fn remove(
    txn: &mut dyn Txn,
    prefix: &str,
    name: &str,
    values: &SortValues,
) -> Result<(), coffer_store::StoreError> {
    for sort_by in INDEXED {
        delete_entries(txn, prefix, sort_by, &position(values, sort_by, name))?;
    }
    Ok(())
}

/// What a region's marker holds.
#[derive(Serialize, Deserialize)]
struct Built {
    #[serde(default)]
    version: u32,
}

/// Whether every secret of the region has its entries in every index.
pub(crate) fn is_built(txn: &mut dyn Txn, scope: &Scope) -> Result<bool, Fail> {
    let Some(rec) = txn.get(BUILT, &scope.prefix())? else {
        return Ok(false);
    };
    let built: Built =
        serde_json::from_slice(&rec.doc).map_err(|e| corrupt("secret index marker", e))?;
    Ok(built.version >= INDEX_VERSION)
}

/// Records that the region's indexes are complete when its first secret is about to be written:
/// an empty region has nothing to index, so its first listing need not read every secret to build
/// them. Costs one point read per new secret once the marker exists.
pub(crate) fn mark_built_if_empty(txn: &mut dyn Txn, scope: &Scope) -> Result<(), Fail> {
    if is_built(txn, scope)? {
        return Ok(());
    }
    let prefix = scope.prefix();
    if txn.scan(SECRETS, &prefix, None, 1)?.is_empty() {
        write_marker(txn, &prefix)?;
    }
    Ok(())
}

fn write_marker(txn: &mut dyn Txn, prefix: &str) -> Result<(), Fail> {
    let marker = serde_json::to_vec(&Built {
        version: INDEX_VERSION,
    })
    .map_err(|e| corrupt("secret index marker", e))?;
    txn.put(BUILT, prefix, NewRecord::new(marker))?;
    Ok(())
}

/// Indexes the region's secrets stored before the indexes existed, once. Entries a secret already
/// has are rewritten as they are. A failure only leaves listing on the full scan, so it is logged
/// rather than failing the request.
pub(crate) async fn ensure_built(store: &Store, scope: &Scope) {
    let s = scope.clone();
    let built = store.read(move |txn| is_built(txn, &s)).await;
    if matches!(built, Ok(true)) {
        return;
    }
    let s = scope.clone();
    let result = store
        .write(move |txn| -> Result<(), Fail> {
            if is_built(txn, &s)? {
                return Ok(());
            }
            let prefix = s.prefix();
            let mut after: Option<String> = None;
            loop {
                let rows = txn.scan(SECRETS, &prefix, after.as_deref(), BUILD_BATCH)?;
                let done = rows.len() < BUILD_BATCH;
                for (key, rec) in rows {
                    let values = SortValues::decode(&rec.doc)?;
                    update(txn, &prefix, &key[prefix.len()..], None, &values)?;
                    after = Some(key);
                }
                if done {
                    break;
                }
            }
            write_marker(txn, &prefix)
        })
        .await;
    if let Err(e) = result {
        tracing::warn!(error = ?e, "could not index the secrets of a region; listing reads them all");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(k: i64, n: &str) -> Position {
        Position {
            k,
            n: n.to_string(),
        }
    }

    #[test]
    fn keys_sort_like_positions_both_ways() {
        let mut ps = Vec::new();
        for k in [i64::MIN, -5, -1, 0, 1, 9, 10, 1_700_000_000_000, i64::MAX] {
            for n in ["", "a", "a/b", "ab", "abc", "b", "a-b", "Z", "é", "a\u{7f}"] {
                ps.push(pos(k, n));
            }
        }
        let mut by_pos = ps.clone();
        by_pos.sort();
        let mut by_asc = ps.clone();
        by_asc.sort_by_key(|p| asc_key("1/r/", p));
        assert_eq!(by_asc, by_pos);
        let mut by_desc = ps;
        by_desc.sort_by_key(|p| desc_key("1/r/", p));
        by_pos.reverse();
        assert_eq!(by_desc, by_pos);
    }
}
