//! Principals in trust and resource policies are bound to the unique ids of the users and roles
//! they named when the policy was saved.
//!
//! AWS (IAM User Guide, "Principal" element): an ARN naming a specific IAM user or role is
//! transformed to that principal's unique id when the policy is saved, so deleting `bob` and
//! creating another `bob` does not hand the new one the old one's access; the policy then shows
//! the unique id (`AIDA…`, `AROA…`) in place of the ARN. Coffer keeps the document as the caller
//! sent it plus the ids it bound ([`PrincipalIds`]); [`effective_document`] yields the document
//! as AWS would show and evaluate it now: each ARN whose entity is gone or was re-created becomes
//! the old unique id, which matches nobody.

use std::borrow::Cow;
use std::collections::BTreeMap;

use coffer_store::{StoreError, Txn};
use serde_json::Value;

use crate::{roles, users};

/// Principal ARN (as written in the policy) → unique id of the user or role it named when saved.
pub type PrincipalIds = BTreeMap<String, String>;

/// The unique id of the IAM user or role `arn` names now (path included), in any account this
/// store holds; `None` when there is none, or the ARN names something else.
pub fn unique_id(txn: &mut dyn Txn, arn: &str) -> Result<Option<String>, StoreError> {
    let Some(rest) = arn.strip_prefix("arn:aws:iam::") else {
        return Ok(None);
    };
    let Some((account, resource)) = rest.split_once(':') else {
        return Ok(None);
    };
    let (kind, path_and_name) = match resource.split_once('/') {
        Some((kind @ ("user" | "role"), rest)) => (kind, rest),
        _ => return Ok(None),
    };
    let (path, name) = match path_and_name.rsplit_once('/') {
        Some((path, name)) => (format!("/{path}/"), name),
        None => ("/".to_string(), path_and_name),
    };
    if kind == "user" {
        Ok(users::find(txn, account, name)?
            .filter(|u| u.path == path)
            .map(|u| u.user_id))
    } else {
        Ok(roles::find(txn, account, name)?
            .filter(|r| r.path == path)
            .map(|r| r.role_id))
    }
}

/// Binds every IAM user and role ARN in `arns` that exists now; the ARNs that name no existing
/// user or role are returned apart, for the caller to refuse or leave unbound.
pub fn bind<'a>(
    txn: &mut dyn Txn,
    arns: impl IntoIterator<Item = &'a str>,
) -> Result<(PrincipalIds, Vec<String>), StoreError> {
    let mut ids = PrincipalIds::new();
    let mut missing = Vec::new();
    for arn in arns {
        if !is_user_or_role_arn(arn) {
            continue;
        }
        match unique_id(txn, arn)? {
            Some(id) => {
                ids.insert(arn.to_string(), id);
            }
            None => missing.push(arn.to_string()),
        }
    }
    Ok((ids, missing))
}

/// `arn:aws:iam::<account>:user/…` or `…:role/…`.
pub fn is_user_or_role_arn(arn: &str) -> bool {
    arn.strip_prefix("arn:aws:iam::")
        .and_then(|rest| rest.split_once(':'))
        .is_some_and(|(_, resource)| resource.starts_with("user/") || resource.starts_with("role/"))
}

/// The document as AWS shows and evaluates it now: bound ARNs whose user or role no longer has
/// the bound id are replaced by that id. Borrows `document` when nothing changed.
pub fn effective_document<'d>(
    txn: &mut dyn Txn,
    document: &'d str,
    ids: &PrincipalIds,
) -> Result<Cow<'d, str>, StoreError> {
    let mut stale = BTreeMap::new();
    for (arn, id) in ids {
        if unique_id(txn, arn)?.as_deref() != Some(id.as_str()) {
            stale.insert(arn.as_str(), id.as_str());
        }
    }
    if stale.is_empty() {
        return Ok(Cow::Borrowed(document));
    }
    Ok(replace_principals(document, &stale).map_or(Cow::Borrowed(document), Cow::Owned))
}

/// Replaces the `AWS` principal values found in `stale` inside every statement's `Principal` and
/// `NotPrincipal`; nothing else in the document (resources, conditions) is touched. `None` when
/// the document does not parse or nothing was replaced.
fn replace_principals(document: &str, stale: &BTreeMap<&str, &str>) -> Option<String> {
    let mut root: Value = serde_json::from_str(document).ok()?;
    let mut replaced = false;
    let statements = match root.get_mut("Statement")? {
        Value::Array(items) => items.iter_mut().collect::<Vec<_>>(),
        single @ Value::Object(_) => vec![single],
        _ => return None,
    };
    for statement in statements {
        for element in ["Principal", "NotPrincipal"] {
            let Some(aws) = statement.get_mut(element).and_then(|p| p.get_mut("AWS")) else {
                continue;
            };
            let values = match aws {
                Value::Array(items) => items.iter_mut().collect::<Vec<_>>(),
                one @ Value::String(_) => vec![one],
                _ => continue,
            };
            for value in values {
                if let Some(id) = value.as_str().and_then(|arn| stale.get(arn)) {
                    *value = Value::String((*id).to_string());
                    replaced = true;
                }
            }
        }
    }
    replaced
        .then(|| serde_json::to_string(&root).ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_principal_values_are_replaced() {
        let doc = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:user/bob","111122223333"]},
             "Action":"sts:AssumeRole",
             "Condition":{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/bob"}}},
            {"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:user/bob"},"Action":"*"}]}"#;
        let stale = BTreeMap::from([("arn:aws:iam::111122223333:user/bob", "AIDAOLDBOB")]);
        let out = replace_principals(doc, &stale).unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            v["Statement"][0]["Principal"]["AWS"],
            serde_json::json!(["AIDAOLDBOB", "111122223333"])
        );
        assert_eq!(
            v["Statement"][0]["Condition"]["ArnEquals"]["aws:PrincipalArn"],
            "arn:aws:iam::111122223333:user/bob"
        );
        assert_eq!(v["Statement"][1]["NotPrincipal"]["AWS"], "AIDAOLDBOB");
        // Statement as a single object.
        let single = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/bob"},"Action":"*"}}"#;
        assert!(replace_principals(single, &stale)
            .unwrap()
            .contains("AIDAOLDBOB"));
        // Nothing to replace.
        let other = BTreeMap::from([("arn:aws:iam::111122223333:user/carol", "AIDAC")]);
        assert_eq!(replace_principals(doc, &other), None);
    }

    #[test]
    fn user_and_role_arns() {
        assert!(is_user_or_role_arn("arn:aws:iam::111122223333:user/a/b"));
        assert!(is_user_or_role_arn("arn:aws:iam::111122223333:role/R"));
        assert!(!is_user_or_role_arn("arn:aws:iam::111122223333:root"));
        assert!(!is_user_or_role_arn(
            "arn:aws:sts::111122223333:assumed-role/R/s"
        ));
    }
}
