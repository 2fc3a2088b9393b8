//! Resolving a `SecretId` (name, full ARN or partial ARN) to a stored secret, and name rules.

use std::sync::Arc;

use coffer_model::secretsmanager::SecretsManagerError;
use coffer_store::{Store, Txn};

use crate::error::{invalid_name, not_found, Fail};
use crate::state::{decode_doc, load, Scope, SecretDoc, SECRETS};

/// Names may hold ASCII letters, digits and `/_+=.@-` (AWS API reference, CreateSecret `Name`).
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 512
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_+=.@-".contains(&b))
}

pub(crate) fn check_name(name: &str) -> Result<(), SecretsManagerError> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(invalid_name())
    }
}

/// What a `SecretId` names, before looking anything up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SecretRef {
    Name(String),
    /// A full ARN: the name and the 6-character suffix must both match.
    Arn {
        name: String,
        suffix: String,
    },
    /// An ARN without the suffix.
    PartialArn(String),
    /// An ARN of another account, region or service: never found here.
    Foreign,
}

impl SecretRef {
    /// Whether `doc` is the secret this reference names (its region and account are the scope's).
    pub(crate) fn names(&self, doc: &SecretDoc) -> bool {
        match self {
            SecretRef::Name(name) | SecretRef::PartialArn(name) => *name == doc.name,
            SecretRef::Arn { name, suffix } => *name == doc.name && *suffix == doc.suffix,
            SecretRef::Foreign => false,
        }
    }
}

/// Parses a `SecretId`. As AWS documents, an ARN whose last segment ends in `-` and 6 characters
/// is taken as a full ARN, even when the caller meant a partial ARN of a name ending that way.
pub(crate) fn parse_secret_id(id: &str, scope: &Scope) -> Result<SecretRef, SecretsManagerError> {
    let Some(rest) = id.strip_prefix("arn:") else {
        check_name(id)?;
        return Ok(SecretRef::Name(id.to_string()));
    };
    let parts: Vec<&str> = rest.splitn(6, ':').collect();
    let [_partition, service, region, account, kind, resource] = parts.as_slice() else {
        return Err(invalid_name());
    };
    if *service != "secretsmanager" || *kind != "secret" {
        return Ok(SecretRef::Foreign);
    }
    if !valid_name(resource) {
        return Err(invalid_name());
    }
    if *region != scope.region || *account != scope.account {
        return Ok(SecretRef::Foreign);
    }
    if let Some((name, suffix)) = split_suffix(resource) {
        return Ok(SecretRef::Arn {
            name: name.to_string(),
            suffix: suffix.to_string(),
        });
    }
    Ok(SecretRef::PartialArn(resource.to_string()))
}

fn split_suffix(resource: &str) -> Option<(&str, &str)> {
    let (name, suffix) = resource.rsplit_once('-')?;
    let ok =
        !name.is_empty() && suffix.len() == 6 && suffix.bytes().all(|b| b.is_ascii_alphanumeric());
    ok.then_some((name, suffix))
}

/// Finds the secret a reference names, or `None` (expired secrets count as gone).
pub(crate) fn find(
    txn: &mut dyn Txn,
    scope: &Scope,
    secret: &SecretRef,
    now_ms: i64,
) -> Result<Option<SecretDoc>, Fail> {
    match secret {
        SecretRef::Name(name) | SecretRef::PartialArn(name) => load(txn, scope, name, now_ms),
        SecretRef::Arn { name, suffix } => {
            Ok(load(txn, scope, name, now_ms)?.filter(|doc| &doc.suffix == suffix))
        }
        SecretRef::Foreign => Ok(None),
    }
}

/// Like [`find`], outside a transaction: the latest committed record, served from the store's
/// cache when hot, already decoded (a write on this node invalidates the cache before it returns,
/// so the next request sees it). Authorization calls this; GetSecretValue then runs on the record
/// authorization read (`AuthorizedSecret`), and other operations find it here again, in the cache.
pub(crate) async fn find_latest(
    store: &Store,
    scope: &Scope,
    secret: &SecretRef,
    now_ms: i64,
) -> Result<Option<Arc<SecretDoc>>, Fail> {
    let (name, suffix) = match secret {
        SecretRef::Name(name) | SecretRef::PartialArn(name) => (name, None),
        SecretRef::Arn { name, suffix } => (name, Some(suffix)),
        SecretRef::Foreign => return Ok(None),
    };
    let Some(doc) = store
        .get_decoded(SECRETS, &scope.secret_key(name), |r| decode_doc(&r))
        .await?
    else {
        return Ok(None);
    };
    if doc.is_expired(now_ms) || suffix.is_some_and(|s| *s != doc.suffix) {
        return Ok(None);
    }
    Ok(Some(doc))
}

/// Like [`find`], answering AWS's ResourceNotFoundException when nothing matches.
pub(crate) fn require(
    txn: &mut dyn Txn,
    scope: &Scope,
    secret: &SecretRef,
    now_ms: i64,
) -> Result<SecretDoc, Fail> {
    find(txn, scope, secret, now_ms)?.ok_or_else(|| Fail::Aws(not_found()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        Scope {
            account: "123456789012".into(),
            region: "us-east-1".into(),
        }
    }

    #[test]
    fn names_allow_documented_punctuation_only() {
        assert!(valid_name("Valid/_+=.@-Name"));
        for bad in [
            "Inv Name",
            "Inv*Name",
            "Inv?Name",
            "Inv]Name",
            "Inv\\Name",
            "",
            "a:b",
            "a|b",
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
        assert!(valid_name(&"a".repeat(512)));
        assert!(!valid_name(&"a".repeat(513)));
    }

    #[test]
    fn arns_full_partial_and_foreign() {
        let s = scope();
        assert_eq!(
            parse_secret_id(
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:db/pw-AbC123",
                &s
            ),
            Ok(SecretRef::Arn {
                name: "db/pw".into(),
                suffix: "AbC123".into()
            })
        );
        assert_eq!(
            parse_secret_id(
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:db/pw",
                &s
            ),
            Ok(SecretRef::PartialArn("db/pw".into()))
        );
        assert_eq!(
            parse_secret_id(
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db",
                &s
            ),
            Ok(SecretRef::Foreign)
        );
        assert_eq!(
            parse_secret_id("plain", &s),
            Ok(SecretRef::Name("plain".into()))
        );
        assert!(parse_secret_id("bad name", &s).is_err());
    }
}
