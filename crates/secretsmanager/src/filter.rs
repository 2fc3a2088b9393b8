//! ListSecrets / BatchGetSecretValue filters: prefix matching per key, `!` negation, several
//! values of one filter ORed, several filters ANDed.

use coffer_model::secretsmanager::{Filter, FilterNameStringType, SecretsManagerError};

use crate::replication::primary_region;
use crate::state::{Scope, SecretDoc};

/// What the model cannot say: every filter needs a key and values. The messages are AWS's as
/// getmoto/moto quotes them (`test_with_no_filter_key`, `test_with_no_filter_values`, written
/// against AWS in 2020); an unknown key or an empty `Values` list fails the model's own
/// constraints before this runs (`ValidationException`).
pub(crate) fn check_filters(filters: &[Filter]) -> Result<(), SecretsManagerError> {
    for f in filters {
        let Some(key) = f.key else {
            return Err(SecretsManagerError::invalid_parameter("Invalid filter key"));
        };
        if f.values.as_ref().is_none_or(|v| v.is_empty()) {
            return Err(SecretsManagerError::invalid_parameter(format!(
                "Invalid filter values for key: {}",
                key.as_str()
            )));
        }
    }
    Ok(())
}

/// Every word of `query` is a prefix of some word of `text` (case-insensitive).
fn words_match(text: &str, query: &str) -> bool {
    let text = text.to_lowercase();
    let words: Vec<&str> = text.split_whitespace().collect();
    let query = query.to_lowercase();
    let mut any = false;
    for q in query.split_whitespace() {
        any = true;
        if !words.iter().any(|w| w.starts_with(q)) {
            return false;
        }
    }
    any
}

fn tag_keys(doc: &SecretDoc) -> impl Iterator<Item = &str> {
    doc.tags.iter().flatten().filter_map(|t| t.key.as_deref())
}

fn tag_values(doc: &SecretDoc) -> impl Iterator<Item = &str> {
    doc.tags.iter().flatten().filter_map(|t| t.value.as_deref())
}

fn value_matches(doc: &SecretDoc, scope: &Scope, key: FilterNameStringType, value: &str) -> bool {
    match key {
        FilterNameStringType::Name => doc.name.starts_with(value),
        FilterNameStringType::Description => {
            words_match(doc.description.as_deref().unwrap_or(""), value)
        }
        FilterNameStringType::TagKey => tag_keys(doc).any(|k| k.starts_with(value)),
        FilterNameStringType::TagValue => tag_values(doc).any(|v| v.starts_with(value)),
        FilterNameStringType::PrimaryRegion => {
            primary_region(doc, scope).is_some_and(|r| r.starts_with(value))
        }
        // Only AWS services own secrets, and none creates them here.
        FilterNameStringType::OwningService => false,
        FilterNameStringType::All => {
            let value = value.to_lowercase();
            let words: Vec<&str> = value.split_whitespace().collect();
            !words.is_empty()
                && words.iter().all(|w| {
                    doc.name.to_lowercase().starts_with(w)
                        || words_match(doc.description.as_deref().unwrap_or(""), w)
                        || tag_keys(doc).any(|k| k.to_lowercase().starts_with(w))
                        || tag_values(doc).any(|v| v.to_lowercase().starts_with(w))
                })
        }
    }
}

fn filter_matches(doc: &SecretDoc, scope: &Scope, f: &Filter) -> bool {
    let Some(key) = f.key else { return false };
    let values = f.values.as_deref().unwrap_or(&[]);
    let mut positives = values.iter().filter(|v| !v.starts_with('!')).peekable();
    let has_positive = positives.peek().is_some();
    let positive_ok = !has_positive || positives.any(|v| value_matches(doc, scope, key, v));
    let negative_ok = values
        .iter()
        .filter_map(|v| v.strip_prefix('!'))
        .all(|v| !value_matches(doc, scope, key, v));
    positive_ok && negative_ok
}

pub(crate) fn matches(doc: &SecretDoc, scope: &Scope, filters: &[Filter]) -> bool {
    filters.iter().all(|f| filter_matches(doc, scope, f))
}
