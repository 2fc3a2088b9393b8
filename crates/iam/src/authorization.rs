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

/// An identity's policies with who holds each one ([`held_policies`]).
#[derive(Debug, Clone)]
pub struct Held {
    pub unique_id: String,
    pub identity: Vec<HeldPolicy>,
    pub boundary: Option<AttachedPolicy>,
    pub tags: Vec<(String, String)>,
}

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

/// Why an identity's policies could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored document that no longer parses: it was validated when stored, so this is corrupt
    /// data. `policy` is the inline policy's name or the managed policy's ARN.
    #[error("stored policy {policy} does not parse: {message}")]
    Unevaluable { policy: String, message: String },
}

/// Enforcement fails closed on corrupt data as on any other storage failure.
impl From<LoadError> for StoreError {
    fn from(e: LoadError) -> StoreError {
        match e {
            LoadError::Store(e) => e,
            unevaluable => StoreError::Corrupt(unevaluable.to_string()),
        }
    }
}

/// Documents were validated when stored, so one that no longer parses is corrupt data: logged,
/// and answered as IAM answers a policy it cannot evaluate.
impl From<LoadError> for crate::error::Fail {
    fn from(e: LoadError) -> crate::error::Fail {
        match e {
            LoadError::Store(e) => e.into(),
            LoadError::Unevaluable { policy, message } => {
                tracing::error!(policy, error = message, "stored policy does not parse");
                coffer_model::iam::IamError::policy_evaluation(format!(
                    "The policy {policy} could not be evaluated."
                ))
                .into()
            }
        }
    }
}

/// An identity that holds permissions policies.
#[derive(Debug, Clone, Copy)]
pub enum Holder<'a> {
    User(&'a str),
    Group(&'a str),
    Role(&'a str),
}

/// A managed policy (AWS's or the account's) by ARN, compiled as `kind`; `None` when the account
/// has no such policy or it has no default version.
pub fn managed_policy(
    txn: &mut dyn Txn,
    account: &str,
    arn: &str,
    kind: PolicyKind,
) -> Result<Option<AttachedPolicy>, LoadError> {
    if let Some(p) = aws_managed::find_arn(arn) {
        // Compiled once per process: AWS managed documents never change.
        let policy = aws_managed::catalogue()
            .compiled(p, kind)
            .map_err(|message| LoadError::Unevaluable {
                policy: arn.to_string(),
                message,
            })?;
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
    let policy = Policy::parse(document, kind).map_err(|e| LoadError::Unevaluable {
        policy: arn.to_string(),
        message: e.message().to_string(),
    })?;
    let source = if doc.aws_managed {
        PolicySource::AwsManaged
    } else {
        PolicySource::UserManaged
    };
    Ok(Some(AttachedPolicy::new(arn, source, policy)))
}

/// A loaded permissions policy and the identity that holds it (for a user, itself or one of its
/// groups).
#[derive(Debug, Clone)]
pub struct HeldPolicy {
    pub policy: AttachedPolicy,
    /// `PolicySource::User`, `Group` or `Role`, and the holder's name.
    pub held_by: (PolicySource, String),
}

fn collect(
    txn: &mut dyn Txn,
    account: &str,
    permissions: &Permissions,
    (inline_source, holder_name): (PolicySource, &str),
    out: &mut Vec<HeldPolicy>,
) -> Result<(), LoadError> {
    for inline in &permissions.inline {
        let policy = Policy::parse(&inline.document, PolicyKind::Identity).map_err(|e| {
            LoadError::Unevaluable {
                policy: inline.name.clone(),
                message: e.message().to_string(),
            }
        })?;
        out.push(HeldPolicy {
            policy: AttachedPolicy::new(inline.name.clone(), inline_source, policy),
            held_by: (inline_source, holder_name.to_string()),
        });
    }
    for arn in &permissions.attached {
        if let Some(policy) = managed_policy(txn, account, arn, PolicyKind::Identity)? {
            out.push(HeldPolicy {
                policy,
                held_by: (inline_source, holder_name.to_string()),
            });
        }
    }
    Ok(())
}

fn boundary(
    txn: &mut dyn Txn,
    account: &str,
    arn: Option<&str>,
) -> Result<Option<AttachedPolicy>, LoadError> {
    match arn {
        Some(arn) => managed_policy(txn, account, arn, PolicyKind::PermissionsBoundary),
        None => Ok(None),
    }
}

/// The one loader of stored permissions: what enforcement, both simulator operations and the
/// access advisor compile. A user's policies are its own, then each of its groups'. Managed
/// policies are named by ARN (the simulator shows their names). `None` when the holder does not
/// exist (e.g. deleted since its key authenticated).
pub fn held_policies(
    txn: &mut dyn Txn,
    account: &str,
    holder: Holder<'_>,
) -> Result<Option<Held>, LoadError> {
    let mut identity = Vec::new();
    let loaded = match holder {
        Holder::User(name) => {
            let Some(user) = users::find(txn, account, name)? else {
                return Ok(None);
            };
            collect(
                txn,
                account,
                &user.permissions,
                (PolicySource::User, &user.name),
                &mut identity,
            )?;
            for group_name in membership::groups_of(txn, account, &user.name)? {
                if let Some(group) = groups::find(txn, account, &group_name)? {
                    collect(
                        txn,
                        account,
                        &group.permissions,
                        (PolicySource::Group, &group.name),
                        &mut identity,
                    )?;
                }
            }
            Held {
                boundary: boundary(txn, account, user.permissions_boundary.as_deref())?,
                unique_id: user.user_id,
                identity,
                tags: user.tags.into_iter().map(|t| (t.key, t.value)).collect(),
            }
        }
        Holder::Group(name) => {
            let Some(group) = groups::find(txn, account, name)? else {
                return Ok(None);
            };
            collect(
                txn,
                account,
                &group.permissions,
                (PolicySource::Group, &group.name),
                &mut identity,
            )?;
            Held {
                unique_id: group.group_id,
                identity,
                boundary: None,
                tags: Vec::new(),
            }
        }
        Holder::Role(name) => {
            let Some(role) = roles::find(txn, account, name)? else {
                return Ok(None);
            };
            collect(
                txn,
                account,
                &role.permissions,
                (PolicySource::Role, &role.name),
                &mut identity,
            )?;
            Held {
                boundary: boundary(txn, account, role.permissions_boundary.as_deref())?,
                unique_id: role.role_id,
                identity,
                tags: role.tags.into_iter().map(|t| (t.key, t.value)).collect(),
            }
        }
    };
    Ok(Some(loaded))
}

/// [`held_policies`] without who holds each policy: what enforcement and the simulator need.
pub fn holder_policies(
    txn: &mut dyn Txn,
    account: &str,
    holder: Holder<'_>,
) -> Result<Option<IdentityPolicies>, LoadError> {
    Ok(
        held_policies(txn, account, holder)?.map(|held| IdentityPolicies {
            unique_id: held.unique_id,
            identity: held.identity.into_iter().map(|h| h.policy).collect(),
            boundary: held.boundary,
            tags: held.tags,
        }),
    )
}

/// A user's policies, for enforcement. `None` when the user does not exist.
pub fn user_policies(
    txn: &mut dyn Txn,
    account: &str,
    user_name: &str,
) -> Result<Option<IdentityPolicies>, StoreError> {
    Ok(holder_policies(txn, account, Holder::User(user_name))?)
}

/// A role's policies, for enforcement. `None` when the role does not exist.
pub fn role_policies(
    txn: &mut dyn Txn,
    account: &str,
    role_name: &str,
) -> Result<Option<IdentityPolicies>, StoreError> {
    Ok(holder_policies(txn, account, Holder::Role(role_name))?)
}
