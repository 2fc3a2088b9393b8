//! Policy documents: validated by the policy engine on the way in (IAM's
//! `MalformedPolicyDocument` wording and size quotas), URL-encoded on the way out as IAM returns
//! them in XML (`<PolicyDocument>%7B%22Version%22…`).

use coffer_model::iam::IamError;
use coffer_policy::limits;
use coffer_policy::{ParseOptions, Policy, PolicyKind};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::error::{Fail, TxResult};
use crate::principal_ids::{self, PrincipalIds};

/// RFC 3986 unreserved characters stay as they are; everything else is percent-encoded.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

pub(crate) fn url_encode(document: &str) -> String {
    utf8_percent_encode(document, ENCODE).to_string()
}

fn malformed(e: coffer_policy::MalformedPolicy) -> Fail {
    IamError::malformed_policy_document(e.message().to_string()).into()
}

/// A managed policy version (`CreatePolicy`, `CreatePolicyVersion`).
pub(crate) fn check_managed(document: &str) -> TxResult<()> {
    if limits::size_excluding_whitespace(document) > limits::MANAGED_POLICY {
        return Err(IamError::limit_exceeded(limits::managed_policy_message(
            limits::MANAGED_POLICY,
        ))
        .into());
    }
    Policy::parse_with(
        document,
        ParseOptions {
            kind: PolicyKind::Identity,
            require_current_version: true,
            authored_by_aws: false,
        },
    )
    .map(|_| ())
    .map_err(malformed)
}

/// An inline policy; `total_size` counts every inline policy of the entity once this one is put,
/// against the entity's quota (`entity` is `user` or `group`).
pub(crate) fn check_inline(
    document: &str,
    total_size: usize,
    quota: usize,
    entity: &str,
    name: &str,
) -> TxResult<()> {
    Policy::parse(document, PolicyKind::Identity).map_err(malformed)?;
    if total_size > quota {
        return Err(
            IamError::limit_exceeded(limits::inline_policy_message(quota, entity, name)).into(),
        );
    }
    Ok(())
}

/// A role's trust policy, and the unique ids of the users and roles it names (see
/// [`crate::principal_ids`]). IAM refuses trust in a user or role it cannot find: one of the
/// caller's account, or of another account this store holds; ARNs of accounts Coffer does not
/// hold are kept unbound, as nothing can sign in as them.
pub(crate) fn check_trust(
    txn: &mut dyn coffer_store::Txn,
    account: &str,
    document: &str,
) -> TxResult<PrincipalIds> {
    let policy = Policy::parse(document, PolicyKind::Trust).map_err(malformed)?;
    if size(document) > limits::TRUST_POLICY {
        return Err(crate::error::quota("ACLSizePerRole", limits::TRUST_POLICY));
    }
    let (ids, missing) = principal_ids::bind(txn, policy.principal_arns())?;
    for arn in missing {
        let owner = arn.split(':').nth(4).unwrap_or_default();
        if owner == account || crate::accounts::get(txn, owner)?.is_some() {
            return Err(malformed(
                coffer_policy::MalformedPolicy::invalid_principal("AWS", &arn),
            ));
        }
    }
    Ok(ids)
}

pub(crate) fn size(document: &str) -> usize {
    limits::size_excluding_whitespace(document)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_matches_iam() {
        assert_eq!(
            url_encode("{\n  \"Statement\": \"a:b/c~d\"}"),
            "%7B%0A%20%20%22Statement%22%3A%20%22a%3Ab%2Fc~d%22%7D"
        );
    }

    #[test]
    fn malformed_documents_are_refused() {
        assert!(check_managed("not json").is_err());
        let ok = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
        assert!(check_managed(ok).is_ok());
        let old = r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
        assert!(check_managed(old).is_err());
        assert!(check_inline(old, 10, 2048, "user", "u").is_ok());
        assert!(check_inline(ok, 4000, 2048, "user", "u").is_err());
    }
}
