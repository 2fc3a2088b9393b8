//! Indexes of a region's secrets in every ListSecrets order, so that a page of ListSecrets (and of
//! BatchGetSecretValue by filters) reads about as many secrets as it returns instead of all.
//!
//! One table per sorted date: creation, last change and last-accessed day. Keys are
//! `<account>/<region>/<value as 20 order-preserving digits>/<name>`, which sort exactly as the
//! `(value, name)` positions of list tokens do; the store scans them forwards for ascending orders
//! and backwards for descending ones, and the name order is the secret records' own key order. An
//! entry's key is all it holds (its record is empty): the position it encodes tells the secret to
//! load, and lets an entry that no longer matches its secret be recognised and skipped. So an
//! index costs one short key per secret, which matters most in `--dev`, where every entry is a
//! string in memory (see bench/NOTES.md, "Memory").
//!
//! Entries are written with the secret record (`state::put_doc`, which moves only the entries
//! whose value changed, so the GetSecretValue that changes the access day — once a day per
//! secret — moves one entry and the other reads none) and removed with it (`state::purge`).
//! Secrets stored before an index existed have no entries in it, so a region's indexes are
//! trusted only once its marker in `sm_index_built` records the current `INDEX_VERSION`:
//! `ensure_built` writes it in the transaction that rebuilds the region's indexes (dropping the
//! tables of earlier versions), and the write of a region's first secret writes it at once. Until
//! then listing falls back to reading every secret.

use coffer_model::secretsmanager::SortByType;
use coffer_store::{NewRecord, Store, StoreError, Txn};
use serde::{Deserialize, Serialize};

use crate::error::Fail;
use crate::state::{Scope, SecretDoc, SECRETS};

pub(crate) const BY_CREATED: &str = "sm_by_created";
pub(crate) const BY_CHANGED: &str = "sm_by_changed";
pub(crate) const BY_ACCESSED: &str = "sm_by_accessed";
/// Every index table of this version.
pub(crate) const TABLES: [&str; 3] = [BY_CREATED, BY_CHANGED, BY_ACCESSED];
/// Tables of version 2, whose keys ran against their order (the store scanned forwards only), each
/// entry holding its position again as JSON. A rebuild empties them.
pub(crate) const LEGACY_TABLES: [&str; 4] = [
    "sm_by_created_desc",
    "sm_by_changed_desc",
    "sm_by_accessed_desc",
    "sm_by_name_desc",
];
const BUILT: &str = "sm_index_built";
const BUILD_BATCH: usize = 500;

/// Which indexes a region's marker vouches for: 1 was the creation date alone (its marker is
/// `{}`), 2 added the other dates and a table per descending order, 3 has one table per date,
/// walked both ways, with empty entries.
const INDEX_VERSION: u32 = 3;

/// Where a secret sorts: its sort value and its name (names are unique in a region, so the pair
/// orders secrets totally). Also what pagination tokens hold.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct Position {
    pub k: i64,
    pub n: String,
}

/// The index table of an order, or `None` for the name, which is the secret records' own key
/// order.
pub(crate) fn table_for(sort_by: SortByType) -> Option<&'static str> {
    match sort_by {
        SortByType::CreatedDate => Some(BY_CREATED),
        SortByType::LastChangedDate => Some(BY_CHANGED),
        SortByType::LastAccessedDate => Some(BY_ACCESSED),
        SortByType::Name => None,
    }
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

/// The orders kept in tables (the name needs none).
const INDEXED: [SortByType; 3] = [
    SortByType::CreatedDate,
    SortByType::LastChangedDate,
    SortByType::LastAccessedDate,
];

/// Digits of a sort value in an entry's key.
const VALUE_DIGITS: usize = 20;

/// `i64` order as unsigned order (flipping the sign bit), so that fixed-width digits sort right.
fn biased(k: i64) -> u64 {
    (k as u64) ^ (1 << 63)
}

/// The key of the entry at `p`.
pub(crate) fn entry_key(prefix: &str, p: &Position) -> String {
    format!("{prefix}{:020}/{}", biased(p.k), p.n)
}

/// The position an entry's key encodes (the inverse of `entry_key`).
pub(crate) fn entry_position(prefix: &str, key: &str) -> Result<Position, Fail> {
    let bad = || corrupt("secret index", format!("unexpected key {key:?}"));
    let rest = key.strip_prefix(prefix).ok_or_else(bad)?;
    let (digits, name) = rest.split_at_checked(VALUE_DIGITS).ok_or_else(bad)?;
    let name = name.strip_prefix('/').ok_or_else(bad)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let biased: u64 = digits.parse().map_err(|_| bad())?;
    Ok(Position {
        k: (biased ^ (1 << 63)) as i64,
        n: name.to_string(),
    })
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> Fail {
    Fail::Store(StoreError::Corrupt(format!("{what}: {e}")))
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
        let Some(table) = table_for(sort_by) else {
            continue;
        };
        let new = position(after, sort_by, name);
        if let Some(old) = before.map(|b| position(b, sort_by, name)) {
            if old == new {
                continue;
            }
            txn.delete(table, &entry_key(prefix, &old))?;
        }
        txn.put(table, &entry_key(prefix, &new), NewRecord::default())?;
    }
    Ok(())
}

/// Removes every entry of a secret whose record held `values`.
pub(crate) fn remove(
    txn: &mut dyn Txn,
    prefix: &str,
    name: &str,
    values: &SortValues,
) -> Result<(), StoreError> {
    for sort_by in INDEXED {
        if let Some(table) = table_for(sort_by) {
            txn.delete(table, &entry_key(prefix, &position(values, sort_by, name)))?;
        }
    }
    Ok(())
}

/// What a region's marker holds.
#[derive(Serialize, Deserialize)]
struct Built {
    #[serde(default)]
    version: u32,
}

/// Whether every secret of the region has its entries in every index of this version.
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
        // An empty region can still hold entries of an earlier version (its secrets were deleted
        // since): they must not be read as this version's.
        clear(txn, &prefix)?;
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

/// Deletes every entry of the region in the tables of this version and of earlier ones.
fn clear(txn: &mut dyn Txn, prefix: &str) -> Result<(), Fail> {
    for table in TABLES.into_iter().chain(LEGACY_TABLES) {
        loop {
            let rows = txn.scan(table, prefix, None, BUILD_BATCH)?;
            for (key, _) in &rows {
                txn.delete(table, key)?;
            }
            if rows.len() < BUILD_BATCH {
                break;
            }
        }
    }
    Ok(())
}

/// Rebuilds the region's indexes once when they are missing or of an earlier version: every
/// entry of this version's and earlier versions' tables is dropped, then every secret indexed.
/// A failure only leaves listing on the full scan, so it is logged rather than failing the
/// request.
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
            clear(txn, &prefix)?;
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
    fn keys_sort_like_positions_and_give_them_back() {
        let mut ps = Vec::new();
        for k in [i64::MIN, -5, -1, 0, 1, 9, 10, 1_700_000_000_000, i64::MAX] {
            for n in ["", "a", "a/b", "ab", "abc", "b", "a-b", "Z", "é", "a\u{7f}"] {
                ps.push(pos(k, n));
            }
        }
        let mut by_pos = ps.clone();
        by_pos.sort();
        let mut by_key = ps.clone();
        by_key.sort_by_key(|p| entry_key("1/r/", p));
        assert_eq!(by_key, by_pos);
        for p in ps {
            assert_eq!(entry_position("1/r/", &entry_key("1/r/", &p)).unwrap(), p);
        }
    }

    #[test]
    fn a_malformed_entry_key_is_reported_as_corrupt() {
        let good = entry_key("1/r/", &pos(5, "n"));
        assert!(entry_position("1/r/", &good).is_ok());
        for bad in [
            "1/r/",
            "1/r/123",
            "2/r/09223372036854775813/n",
            "1/r/0922337203685477581x/n",
            "1/r/+9223372036854775813/n",
            "1/r/09223372036854775813n",
            "1/r/99999999999999999999/n",
        ] {
            assert!(
                matches!(
                    entry_position("1/r/", bad),
                    Err(Fail::Store(StoreError::Corrupt(_)))
                ),
                "{bad}"
            );
        }
    }
}
