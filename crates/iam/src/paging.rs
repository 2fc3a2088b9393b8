//! `Marker` / `MaxItems` / `IsTruncated` as IAM pages every list. A marker is the opaque
//! (Base64) sort key of the last item returned; the next page starts strictly after it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use coffer_store::Txn;

use crate::error::{invalid_marker, TxResult};

const DEFAULT_MAX_ITEMS: i32 = 100;
/// Rows read per storage round trip while filtering.
const SCAN_CHUNK: usize = 256;

pub(crate) struct Page<T> {
    pub items: Vec<T>,
    /// `Some` when more items follow.
    pub marker: Option<String>,
}

impl<T> Page<T> {
    pub fn is_truncated(&self) -> bool {
        self.marker.is_some()
    }
}

fn max_items(max: Option<i32>) -> usize {
    max.unwrap_or(DEFAULT_MAX_ITEMS).max(1) as usize
}

fn encode(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key.as_bytes())
}

fn decode(marker: Option<&str>) -> TxResult<Option<String>> {
    marker
        .map(|m| {
            URL_SAFE_NO_PAD
                .decode(m)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(invalid_marker)
        })
        .transpose()
}

/// Pages a table by key under `prefix`, keeping the rows `keep` maps to `Some`.
pub(crate) fn scan<T>(
    txn: &mut dyn Txn,
    table: &str,
    prefix: &str,
    marker: Option<&str>,
    max: Option<i32>,
    mut keep: impl FnMut(&str, &[u8]) -> TxResult<Option<T>>,
) -> TxResult<Page<T>> {
    let max = max_items(max);
    let mut after = decode(marker)?;
    let mut items = Vec::new();
    let mut last_key = None;
    loop {
        let rows = txn.scan(table, prefix, after.as_deref(), SCAN_CHUNK)?;
        let exhausted = rows.len() < SCAN_CHUNK;
        for (key, record) in rows {
            if let Some(item) = keep(&key, &record.doc)? {
                if items.len() == max {
                    return Ok(Page {
                        items,
                        marker: last_key.as_deref().map(encode),
                    });
                }
                items.push(item);
                last_key = Some(key.clone());
            }
            after = Some(key);
        }
        if exhausted {
            return Ok(Page {
                items,
                marker: None,
            });
        }
    }
}

/// Pages a list already in memory and sorted by `key`.
pub(crate) fn in_memory<T>(
    all: Vec<T>,
    key: impl Fn(&T) -> String,
    marker: Option<&str>,
    max: Option<i32>,
) -> TxResult<Page<T>> {
    let max = max_items(max);
    let after = decode(marker)?;
    let mut rest: Vec<T> = all
        .into_iter()
        .filter(|item| after.as_deref().is_none_or(|a| key(item).as_str() > a))
        .collect();
    if rest.len() <= max {
        return Ok(Page {
            items: rest,
            marker: None,
        });
    }
    rest.truncate(max);
    let marker = rest.last().map(|item| encode(&key(item)));
    Ok(Page {
        items: rest,
        marker,
    })
}

/// Like [`in_memory`], for lists whose sort keys are costly to build: `after(item, key)` says
/// whether `item` sorts after the key a marker holds, and `key` is built only for the last item
/// of a page. `all` must be sorted.
pub(crate) fn in_memory_by<T>(
    all: impl IntoIterator<Item = T>,
    after: impl Fn(&T, &str) -> bool,
    key: impl Fn(&T) -> String,
    marker: Option<&str>,
    max: Option<i32>,
) -> TxResult<Page<T>> {
    let max = max_items(max);
    let start = decode(marker)?;
    let mut items: Vec<T> = all
        .into_iter()
        .filter(|item| start.as_deref().is_none_or(|s| after(item, s)))
        .take(max + 1)
        .collect();
    if items.len() <= max {
        return Ok(Page {
            items,
            marker: None,
        });
    }
    items.truncate(max);
    let marker = items.last().map(|item| encode(&key(item)));
    Ok(Page { items, marker })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_memory_pages_resume_after_the_marker() {
        let all: Vec<String> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let first = in_memory(all.clone(), |s| s.clone(), None, Some(2))
            .ok()
            .unwrap();
        assert_eq!(first.items, vec!["a", "b"]);
        let second = in_memory(all.clone(), |s| s.clone(), first.marker.as_deref(), Some(2))
            .ok()
            .unwrap();
        assert_eq!(second.items, vec!["c", "d"]);
        let third = in_memory(all, |s| s.clone(), second.marker.as_deref(), Some(2))
            .ok()
            .unwrap();
        assert_eq!(third.items, vec!["e"]);
        assert!(!third.is_truncated());
    }

    #[test]
    fn lazily_keyed_pages_resume_after_the_marker() {
        let all = ["a", "b", "c", "d", "e"];
        let page = |marker: Option<&str>| {
            in_memory_by(all, |s, key| *s > key, |s| s.to_string(), marker, Some(2))
                .ok()
                .unwrap()
        };
        let first = page(None);
        assert_eq!(first.items, ["a", "b"]);
        let second = page(first.marker.as_deref());
        assert_eq!(second.items, ["c", "d"]);
        let third = page(second.marker.as_deref());
        assert_eq!(third.items, ["e"]);
        assert!(!third.is_truncated());
        assert!(in_memory_by(all, |_, _| true, |s| s.to_string(), Some("!!"), None).is_err());
    }

    #[test]
    fn garbage_marker_is_refused() {
        assert!(in_memory(vec!["a".to_string()], |s| s.clone(), Some("!!"), None).is_err());
    }
}
