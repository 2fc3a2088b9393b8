//! The stored policies that decide what an IAM user may do, compiled for the policy engine.

use coffer_policy::{AttachedPolicy, Policy, PolicyKind, PolicySource};
use coffer_store::{StoreError, Txn};

use crate::aws_managed;
use crate::groups;
use crate::holders::Permissions;
use crate::membership;
use crate::policies;
use crate::roles;
use crate::users;

/// Every table an identity's policies are read from: a write to any of them may change what some
/// principal is allowed to do, so caches of compiled policies are keyed on their generation.
pub const POLICY_TABLES: &[&str] = &[
    users::USERS,
    groups::GROUPS,
    membership::GROUP_MEMBERS,
    membership::USER_GROUPS,
    policies::POLICIES,
    roles::ROLES,
];

/// An identity's identity-based policies and permissions boundary.
#[derive(Debug, Clone)]
pub struct IdentityPolicies {
    /// The identity's unique id (`AIDA…`, `AROA…`; the account id for root).
    pub unique_id: String,
    /// The identity's inline and managed policies (for a user, then those of each of its groups).
    pub identity: Vec<AttachedPolicy>,
    pub boundary: Option<AttachedPolicy>,
    /// The identity's own tags: `aws:PrincipalTag/*` for its requests.
    pub tags: Vec<(String, String)>,
}

fn compile(document: &str) -> Result<Policy, StoreError> {
    // Documents were validated when stored; one that no longer parses is corrupt data.
    Policy::parse(document, PolicyKind::Identity)
        .map_err(|e| StoreError::Corrupt(format!("stored policy document: {}", e.message())))
}

fn managed(
    txn: &mut dyn Txn,
    account: &str,
    arn: &str,
    kind: PolicyKind,
) -> Result<Option<AttachedPolicy>, StoreError> {
    if let Some(p) = aws_managed::find_arn(arn) {
        // Compiled once per process: AWS managed documents never change.
        let policy = aws_managed::catalogue()
            .compiled(p, kind)
            .map_err(|e| StoreError::Corrupt(format!("AWS managed policy {arn}: {e}")))?;
        return Ok(Some(AttachedPolicy {
            id: arn.to_string(),
            source: PolicySource::AwsManaged,
            policy,
        }));
    }
    let Some(doc) = policies::find_by_arn(txn, account, arn)? else {
        return Ok(None);
    };
    let Some(document) = doc.default_document() else {
        return Ok(None);
    };
    let policy = Policy::parse(document, kind)
        .map_err(|e| StoreError::Corrupt(format!("stored policy {arn}: {}", e.message())))?;
    let source = if doc.aws_managed {
        PolicySource::AwsManaged
    } else {
        PolicySource::UserManaged
    };
    Ok(Some(AttachedPolicy::new(arn, source, policy)))
}

fn collect(
    txn: &mut dyn Txn,
    account: &str,
    permissions: &Permissions,
    inline_source: PolicySource,
    out: &mut Vec<AttachedPolicy>,
) -> Result<(), StoreError> {
    for inline in &permissions.inline {
        out.push(AttachedPolicy::new(
            inline.name.clone(),
            inline_source,
            compile(&inline.document)?,
        ));
    }
    for arn in &permissions.attached {
        if let Some(p) = managed(txn, account, arn, PolicyKind::Identity)? {
            out.push(p);
        }
    }
    Ok(())
}

/// `None` when the user does not exist (deleted since its key authenticated).
pub fn user_policies(
    txn: &mut dyn Txn,
    account: &str,
    user_name: &str,
) -> Result<Option<IdentityPolicies>, StoreError> {
    let Some(user) = users::find(txn, account, user_name)? else {
        return Ok(None);
    };
    let mut identity = Vec::new();
    collect(
        txn,
        account,
        &user.permissions,
        PolicySource::User,
        &mut identity,
    )?;
    for group_name in membership::groups_of(txn, account, &user.name)? {
        if let Some(group) = groups::find(txn, account, &group_name)? {
            collect(
                txn,
                account,
                &group.permissions,
                PolicySource::Group,
                &mut identity,
            )?;
        }
    }
    let boundary = match &user.permissions_boundary {
        Some(arn) => managed(txn, account, arn, PolicyKind::PermissionsBoundary)?,
        None => None,
    };
    let tags = user.tags.into_iter().map(|t| (t.key, t.value)).collect();
    Ok(Some(IdentityPolicies {
        unique_id: user.user_id,
        identity,
        boundary,
        tags,
    }))
}

/// `None` when the role does not exist (deleted since its session began).
pub fn role_policies(
    txn: &mut dyn Txn,
    account: &str,
    role_name: &str,
) -> Result<Option<IdentityPolicies>, StoreError> {
    let Some(role) = roles::find(txn, account, role_name)? else {
        return Ok(None);
    };
    let mut identity = Vec::new();
    collect(
        txn,
        account,
        &role.permissions,
        PolicySource::Role,
        &mut identity,
    )?;
    let boundary = match &role.permissions_boundary {
        Some(arn) => managed(txn, account, arn, PolicyKind::PermissionsBoundary)?,
        None => None,
    };
    let tags = role.tags.into_iter().map(|t| (t.key, t.value)).collect();
    Ok(Some(IdentityPolicies {
        unique_id: role.role_id,
        identity,
        boundary,
        tags,
    }))
}
