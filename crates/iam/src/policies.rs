//! Customer managed policies: `CreatePolicy`, `GetPolicy`, `DeletePolicy`, `ListPolicies`.
//! Versions are in `policy_versions.rs`; attachments in `attachments.rs`.

use std::collections::HashMap;

use coffer_model::context::RequestContext;
use coffer_model::iam::*;
use coffer_model::types::Timestamp;
use coffer_store::Txn;
use serde::{Deserialize, Serialize};

use crate::aws_managed;
use crate::documents;
use crate::error::{invalid_arn, policy_exists, policy_not_found, Fail, TxResult};
use crate::ids;
use crate::paging;
use crate::records;
use crate::tags;
use crate::IamService;

pub const POLICIES: &str = "iam_policies";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyDoc {
    pub name: String,
    /// `ANPA…`
    pub policy_id: String,
    pub path: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Seconds since the epoch.
    pub created: i64,
    /// Last change of the default version.
    pub updated: i64,
    pub default_version: u32,
    /// Number the next version gets (`v<n>`); numbers are never reused.
    pub next_version: u32,
    /// Oldest first.
    pub versions: Vec<VersionDoc>,
    /// Users, groups and roles the policy is attached to.
    pub attachment_count: u32,
    #[serde(default)]
    pub boundary_count: u32,
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// One of the AWS managed policies (never stored; built from `aws_managed.rs`, whose listings
    /// leave `versions` empty).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub aws_managed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionDoc {
    pub id: u32,
    /// As the caller sent it.
    pub document: String,
    pub created: i64,
}

impl PolicyDoc {
    pub fn arn(&self, account: &str) -> String {
        let owner = if self.aws_managed { "aws" } else { account };
        format!("arn:aws:iam::{owner}:policy{}{}", self.path, self.name)
    }

    pub fn default_document(&self) -> Option<&str> {
        self.version(self.default_version)
            .map(|v| v.document.as_str())
    }

    pub(crate) fn version(&self, id: u32) -> Option<&VersionDoc> {
        self.versions.iter().find(|v| v.id == id)
    }

    /// `full` adds what only `GetPolicy` / `CreatePolicy` report (description and tags).
    pub(crate) fn to_shape(&self, account: &str, full: bool) -> Policy {
        Policy {
            policy_name: Some(self.name.clone()),
            policy_id: Some(self.policy_id.clone()),
            arn: Some(self.arn(account)),
            path: Some(self.path.clone()),
            default_version_id: Some(version_id(self.default_version)),
            attachment_count: Some(self.attachment_count as i32),
            permissions_boundary_usage_count: Some(self.boundary_count as i32),
            is_attachable: Some(true),
            description: if full { self.description.clone() } else { None },
            create_date: Some(Timestamp::from_secs(self.created)),
            update_date: Some(Timestamp::from_secs(self.updated)),
            tags: (full && !self.tags.is_empty()).then(|| self.tags.clone()),
        }
    }
}

pub(crate) fn version_id(n: u32) -> String {
    format!("v{n}")
}

/// `v3` → 3.
pub(crate) fn parse_version_id(id: &str) -> Option<u32> {
    id.strip_prefix('v')?.parse().ok().filter(|n| *n > 0)
}

/// The parts of `arn:aws:iam::<account>:policy<path><name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PolicyArn {
    pub account: String,
    pub path: String,
    pub name: String,
}

pub(crate) fn parse_arn(arn: &str) -> Option<PolicyArn> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let path_and_name = resource.strip_prefix("policy")?;
    if !path_and_name.starts_with('/') {
        return None;
    }
    let cut = path_and_name.rfind('/')? + 1;
    let (path, name) = path_and_name.split_at(cut);
    if name.is_empty() || account.is_empty() {
        return None;
    }
    Some(PolicyArn {
        account: account.to_string(),
        path: path.to_string(),
        name: name.to_string(),
    })
}

/// The policy an ARN names in the caller's account: `Err` (ValidationError) when the ARN does not
/// parse, `None` when no such policy is visible.
pub(crate) fn lookup(
    txn: &mut dyn Txn,
    account: &str,
    arn: &str,
) -> TxResult<Option<(String, PolicyDoc)>> {
    let parsed = parse_arn(arn).ok_or_else(invalid_arn)?;
    if parsed.account == "aws" {
        return match aws_managed::find(&parsed.path, &parsed.name) {
            Some(p) => Ok(Some((
                aws_managed::usage_key(account, p.name),
                aws_managed::doc(txn, account, p)?,
            ))),
            None => Ok(None),
        };
    }
    if parsed.account != account {
        return Ok(None);
    }
    let key = records::key(account, &parsed.name);
    Ok(records::get::<PolicyDoc>(txn, POLICIES, &key)?
        .filter(|doc| doc.path == parsed.path && doc.name == parsed.name)
        .map(|doc| (key, doc)))
}

/// Like `lookup`, answering `NoSuchEntity` (`Policy <arn> was not found.`) when missing.
pub(crate) fn load_by_arn(
    txn: &mut dyn Txn,
    account: &str,
    arn: &str,
) -> TxResult<(String, PolicyDoc)> {
    lookup(txn, account, arn)?.ok_or_else(|| policy_not_found(arn))
}

/// Reads a customer managed policy by ARN, for callers outside this crate (authorization).
pub fn find_by_arn(
    txn: &mut dyn Txn,
    account: &str,
    arn: &str,
) -> Result<Option<PolicyDoc>, coffer_store::StoreError> {
    let Some(parsed) = parse_arn(arn) else {
        return Ok(None);
    };
    if parsed.account == "aws" {
        return match aws_managed::find(&parsed.path, &parsed.name) {
            Some(p) => aws_managed::doc(txn, account, p)
                .map(Some)
                .map_err(|f| match f {
                    Fail::Store(e) => e,
                    Fail::Iam(e) => coffer_store::StoreError::Corrupt(e.to_string()),
                }),
            None => Ok(None),
        };
    }
    if parsed.account != account {
        return Ok(None);
    }
    Ok(
        records::get::<PolicyDoc>(txn, POLICIES, &records::key(account, &parsed.name))?
            .filter(|doc| doc.path == parsed.path && doc.name == parsed.name),
    )
}

/// Writes a policy back under the key `lookup` returned; for an AWS managed policy only the
/// account's usage counts are stored.
pub(crate) fn save(txn: &mut dyn Txn, key: &str, doc: &PolicyDoc) -> TxResult<()> {
    if doc.aws_managed {
        let usage = aws_managed::Usage {
            attachment_count: doc.attachment_count,
            boundary_count: doc.boundary_count,
        };
        records::put(txn, aws_managed::AWS_POLICY_USAGE, key, &usage)?;
    } else {
        records::put(txn, POLICIES, key, doc)?;
    }
    Ok(())
}

/// AWS managed policies belong to AWS: IAM refuses every change to them.
pub(crate) fn ensure_modifiable(
    ctx: &RequestContext,
    doc: &PolicyDoc,
    operation: &str,
    arn: &str,
) -> TxResult<()> {
    if !doc.aws_managed {
        return Ok(());
    }
    Err(IamError::Other(coffer_model::AwsError::new(
        403,
        "AccessDenied",
        format!(
            "User: {} is not authorized to perform: iam:{operation} on resource: policy {arn}",
            ctx.principal.arn
        ),
    ))
    .into())
}

pub(crate) async fn create_policy(
    svc: &IamService,
    ctx: &RequestContext,
    input: CreatePolicyRequest,
) -> Result<CreatePolicyResponse, IamError> {
    documents::check_managed(&input.policy_document)?;
    let account = ctx.principal.account_id.clone();
    let policy_id = ids::unique_id(ids::POLICY_PREFIX);
    let now = records::now_secs(ctx);
    let policy = svc
        .write(move |txn| {
            let key = records::key(&account, &input.policy_name);
            if records::get::<PolicyDoc>(txn, POLICIES, &key)?.is_some() {
                return Err(policy_exists(&input.policy_name));
            }
            let mut doc = PolicyDoc {
                name: input.policy_name.clone(),
                policy_id: policy_id.clone(),
                path: input.path.clone().unwrap_or_else(|| "/".to_string()),
                description: input.description.clone(),
                created: now,
                updated: now,
                default_version: 1,
                next_version: 2,
                versions: vec![VersionDoc {
                    id: 1,
                    document: input.policy_document.clone(),
                    created: now,
                }],
                attachment_count: 0,
                boundary_count: 0,
                tags: Vec::new(),
                aws_managed: false,
            };
            tags::merge(
                &mut doc.tags,
                input.tags.as_deref().unwrap_or(&[]),
                "TagsPerPolicy",
            )?;
            save(txn, &key, &doc)?;
            Ok(doc.to_shape(&account, true))
        })
        .await?;
    Ok(CreatePolicyResponse {
        policy: Some(policy),
    })
}

pub(crate) async fn get_policy(
    svc: &IamService,
    ctx: &RequestContext,
    input: GetPolicyRequest,
) -> Result<GetPolicyResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let policy = svc
        .read(move |txn| {
            let (_, doc) = load_by_arn(txn, &account, &input.policy_arn)?;
            Ok(doc.to_shape(&account, true))
        })
        .await?;
    Ok(GetPolicyResponse {
        policy: Some(policy),
    })
}

pub(crate) async fn delete_policy(
    svc: &IamService,
    ctx: &RequestContext,
    input: DeletePolicyRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    let ctx = ctx.clone();
    svc.write(move |txn| {
        let (key, doc) = load_by_arn(txn, &account, &input.policy_arn)?;
        ensure_modifiable(&ctx, &doc, "DeletePolicy", &input.policy_arn)?;
        if doc.attachment_count > 0 || doc.boundary_count > 0 {
            return Err(IamError::delete_conflict("Cannot delete a policy attached to entities.").into());
        }
        if doc.versions.len() > 1 {
            return Err(IamError::delete_conflict(
                "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
            )
            .into());
        }
        txn.delete(POLICIES, &key)?;
        Ok(())
    })
    .await
}

/// Every customer managed policy of the account.
fn all_local(txn: &mut dyn Txn, account: &str) -> TxResult<Vec<PolicyDoc>> {
    let page = paging::scan(
        txn,
        POLICIES,
        &format!("{account}/"),
        None,
        Some(i32::MAX),
        |_, raw| Ok(Some(records::decode::<PolicyDoc>(raw)?)),
    )?;
    Ok(page.items)
}

/// A policy as `ListPolicies` sees it: AWS managed ones stay index entries (no document, no
/// allocation) until they are on the page.
enum Listed {
    Aws(&'static aws_managed::AwsManaged, aws_managed::Usage),
    Local(Box<PolicyDoc>),
}

impl Listed {
    fn name(&self) -> &str {
        match self {
            Listed::Aws(p, _) => p.name,
            Listed::Local(doc) => &doc.name,
        }
    }

    fn path(&self) -> &str {
        match self {
            Listed::Aws(p, _) => p.path,
            Listed::Local(doc) => &doc.path,
        }
    }

    /// (attachments, uses as a permissions boundary)
    fn counts(&self) -> (u32, u32) {
        match self {
            Listed::Aws(_, usage) => (usage.attachment_count, usage.boundary_count),
            Listed::Local(doc) => (doc.attachment_count, doc.boundary_count),
        }
    }

    /// The sort key, byte by byte: the lower-cased name, then which kind of policy it is (an AWS
    /// managed policy and a customer one may share a name). The separator sorts before every
    /// character a name may hold, so `Admin` comes before `Admin-Amplify`.
    fn key(&self) -> impl Iterator<Item = u8> + '_ {
        let kind: &[u8] = match self {
            Listed::Aws(..) => b"aws",
            Listed::Local(_) => b"local",
        };
        self.name()
            .bytes()
            .map(|b| b.to_ascii_lowercase())
            .chain(std::iter::once(b'\t'))
            .chain(kind.iter().copied())
    }

    fn to_shape(&self, account: &str) -> Policy {
        match self {
            Listed::Aws(p, usage) => aws_managed::listing(p, usage).to_shape(account, false),
            Listed::Local(doc) => doc.to_shape(account, false),
        }
    }
}

pub(crate) async fn list_policies(
    svc: &IamService,
    ctx: &RequestContext,
    input: ListPoliciesRequest,
) -> Result<ListPoliciesResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let page = svc
        .read(move |txn| {
            let scope = input.scope.unwrap_or(PolicyScopeType::All);
            let mut all = Vec::new();
            if scope != PolicyScopeType::Local {
                let catalogue = aws_managed::catalogue();
                let usage: HashMap<&str, aws_managed::Usage> =
                    aws_managed::usage_by_name(txn, &account)?
                        .into_iter()
                        .filter_map(|(name, usage)| {
                            catalogue.by_name(&name).map(|p| (p.name, usage))
                        })
                        .collect();
                for p in catalogue.all() {
                    let used = usage.get(p.name).cloned().unwrap_or_default();
                    all.push(Listed::Aws(p, used));
                }
            }
            if scope != PolicyScopeType::Aws {
                all.extend(
                    all_local(txn, &account)?
                        .into_iter()
                        .map(|doc| Listed::Local(Box::new(doc))),
                );
            }
            let prefix = input.path_prefix.clone().unwrap_or_else(|| "/".to_string());
            let only_attached = input.only_attached.unwrap_or(false);
            let usage = input.policy_usage_filter;
            all.retain(|listed| {
                let (attachments, boundaries) = listed.counts();
                listed.path().starts_with(&prefix)
                    && (!only_attached || attachments > 0 || boundaries > 0)
                    && match usage {
                        None => true,
                        Some(PolicyUsageType::PermissionsPolicy) => attachments > 0,
                        Some(PolicyUsageType::PermissionsBoundary) => boundaries > 0,
                    }
            });
            all.sort_by(|a, b| a.key().cmp(b.key()));
            let page = paging::in_memory_by(
                all,
                |listed, after| listed.key().cmp(after.bytes()) == std::cmp::Ordering::Greater,
                |listed| String::from_utf8_lossy(&listed.key().collect::<Vec<u8>>()).into_owned(),
                input.marker.as_deref(),
                input.max_items,
            )?;
            Ok(paging::Page {
                marker: page.marker,
                items: page
                    .items
                    .iter()
                    .map(|listed| listed.to_shape(&account))
                    .collect::<Vec<_>>(),
            })
        })
        .await?;
    Ok(ListPoliciesResponse {
        is_truncated: Some(page.is_truncated()),
        marker: page.marker,
        policies: Some(page.items),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_split_into_account_path_and_name() {
        assert_eq!(
            parse_arn("arn:aws:iam::123456789012:policy/a/b/ReadOnly"),
            Some(PolicyArn {
                account: "123456789012".into(),
                path: "/a/b/".into(),
                name: "ReadOnly".into()
            })
        );
        assert_eq!(
            parse_arn("arn:aws:iam::aws:policy/AdministratorAccess").map(|a| a.path),
            Some("/".to_string())
        );
        assert_eq!(parse_arn("ReadOnly"), None);
        assert_eq!(parse_arn("arn:aws:iam::123456789012:policy/"), None);
        assert_eq!(parse_arn("arn:aws:iam::123456789012:user/bob"), None);
    }

    #[test]
    fn names_sort_before_their_extensions() {
        let admin = crate::aws_managed::catalogue()
            .by_name("AdministratorAccess")
            .unwrap();
        let amplify = crate::aws_managed::catalogue()
            .by_name("AdministratorAccess-Amplify")
            .unwrap();
        let mut local = crate::aws_managed::listing(admin, &Default::default());
        local.aws_managed = false;
        let mut listed = [
            Listed::Aws(amplify, Default::default()),
            Listed::Local(Box::new(local)),
            Listed::Aws(admin, Default::default()),
        ];
        listed.sort_by(|a, b| a.key().cmp(b.key()));
        let keys: Vec<String> = listed
            .iter()
            .map(|l| String::from_utf8(l.key().collect()).unwrap())
            .collect();
        assert_eq!(
            keys,
            [
                "administratoraccess\taws",
                "administratoraccess\tlocal",
                "administratoraccess-amplify\taws"
            ]
        );
    }

    #[test]
    fn version_ids() {
        assert_eq!(parse_version_id("v12"), Some(12));
        assert_eq!(parse_version_id("v0"), None);
        assert_eq!(parse_version_id("12"), None);
        assert_eq!(version_id(3), "v3");
    }
}
