//! Indexes of a region's secrets by creation date, so that a page of ListSecrets (and of
//! BatchGetSecretValue by filters) reads about as many secrets as it returns instead of all.
//!
//! `sm_by_created` keys are `<account>/<region>/<created as 20 order-preserving digits>/<name>`,
//! which sort exactly as the `(created, name)` positions of list tokens do. The store scans
//! forward only, so descending pages use `sm_by_created_desc`, whose keys sort in the reverse
//! order: the inverted date, then the name's bytes inverted and written as hex, ended by `g`
//! (above every hex digit, so that a name sorts after the longer names it starts). Both records
//! hold the position, which tells the name to load and lets a stale entry be recognised.
//!
//! Entries are written with the secret record (`state::put_doc`) and removed with it
//! (`state::purge`); a secret's creation date never changes. Secrets stored before the indexes
//! existed have no entries, so a region's indexes are trusted only once its marker in
//! `sm_index_built` exists: `ensure_built` writes it in the transaction that indexes every secret
//! of the region. Until then listing falls back to reading every secret.

use coffer_store::{NewRecord, Store, Txn};
use serde::{Deserialize, Serialize};

use crate::error::Fail;
use crate::state::{Scope, SECRETS};

pub(crate) const BY_CREATED: &str = "sm_by_created";
pub(crate) const BY_CREATED_DESC: &str = "sm_by_created_desc";
const BUILT: &str = "sm_index_built";
const BUILD_BATCH: usize = 500;

/// Where a secret sorts: its sort value and its name (names are unique in a region, so the pair
/// orders secrets totally). Also what pagination tokens hold.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct Position {
    pub k: i64,
    pub n: String,
}

/// The creation date of a stored record, without decoding the rest.
#[derive(Deserialize)]
struct Created {
    created_ms: i64,
}

/// `i64` order as unsigned order (flipping the sign bit), so that fixed-width digits sort right.
fn biased(k: i64) -> u64 {
    (k as u64) ^ (1 << 63)
}

pub(crate) fn asc_key(prefix: &str, p: &Position) -> String {
    format!("{prefix}{:020}/{}", biased(p.k), p.n)
}

pub(crate) fn desc_key(prefix: &str, p: &Position) -> String {
    let mut key = format!("{prefix}{:020}/", u64::MAX - biased(p.k));
    key.reserve(p.n.len() * 2 + 1);
    for b in p.n.bytes() {
        key.push_str(&format!("{:02x}", 255 - b));
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

/// The creation date stored in a secret record.
pub(crate) fn created_of(doc: &[u8]) -> Result<i64, Fail> {
    serde_json::from_slice::<Created>(doc)
        .map(|c| c.created_ms)
        .map_err(|e| corrupt("secret metadata", e))
}

pub(crate) fn add(txn: &mut dyn Txn, prefix: &str, created: i64, name: &str) -> Result<(), Fail> {
    let p = Position {
        k: created,
        n: name.to_string(),
    };
    let bytes = serde_json::to_vec(&p).map_err(|e| corrupt("secret index", e))?;
    txn.put(
        BY_CREATED,
        &asc_key(prefix, &p),
        NewRecord::new(bytes.clone()),
    )?;
    txn.put(
        BY_CREATED_DESC,
        &desc_key(prefix, &p),
        NewRecord::new(bytes),
    )?;
    Ok(())
}

pub(crate) fn remove(
    txn: &mut dyn Txn,
    prefix: &str,
    created: i64,
    name: &str,
) -> Result<(), coffer_store::StoreError> {
    let p = Position {
        k: created,
        n: name.to_string(),
    };
    txn.delete(BY_CREATED, &asc_key(prefix, &p))?;
    txn.delete(BY_CREATED_DESC, &desc_key(prefix, &p))?;
    Ok(())
}

/// Whether every secret of the region has its entries.
pub(crate) fn is_built(txn: &mut dyn Txn, scope: &Scope) -> Result<bool, Fail> {
    Ok(txn.get(BUILT, &scope.prefix())?.is_some())
}

/// Indexes the region's secrets stored before the indexes existed, once. A failure only leaves
/// listing on the full scan, so it is logged rather than failing the request.
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
                    let created = created_of(&rec.doc)?;
                    add(txn, &prefix, created, &key[prefix.len()..])?;
                    after = Some(key);
                }
                if done {
                    break;
                }
            }
            txn.put(BUILT, &prefix, NewRecord::new(b"{}".to_vec()))?;
            Ok(())
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
