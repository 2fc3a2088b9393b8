//! `ListEntitiesForPolicy` and policy tags (`TagPolicy`, `UntagPolicy`, `ListPolicyTags`).

use coffer_model::context::RequestContext;
use coffer_model::iam::*;
use coffer_store::Txn;
use serde::de::DeserializeOwned;

use crate::error::TxResult;
use crate::groups::{GroupDoc, GROUPS};
use crate::holders::Holder;
use crate::paging;
use crate::policies::{self, PolicyDoc};
use crate::records;
use crate::roles::{RoleDoc, ROLES};
use crate::tags;
use crate::users::{UserDoc, USERS};
use crate::IamService;

/// Every record of a table for one account (IAM quotas keep these in the thousands at most).
pub(crate) fn all_of<T: DeserializeOwned>(
    txn: &mut dyn Txn,
    table: &str,
    account: &str,
) -> TxResult<Vec<T>> {
    let page = paging::scan(
        txn,
        table,
        &format!("{account}/"),
        None,
        Some(i32::MAX),
        |_, raw| Ok(Some(records::decode::<T>(raw)?)),
    )?;
    Ok(page.items)
}

enum Entity {
    User(PolicyUser),
    Group(PolicyGroup),
    Role(PolicyRole),
}

/// Whether `holder` uses the policy as `usage` asks (either way when not asked).
fn uses(
    attached: &[String],
    boundary: Option<&String>,
    arn: &str,
    usage: Option<PolicyUsageType>,
) -> bool {
    let as_policy = attached.iter().any(|a| a == arn);
    let as_boundary = boundary.is_some_and(|b| b == arn);
    match usage {
        None => as_policy || as_boundary,
        Some(PolicyUsageType::PermissionsPolicy) => as_policy,
        Some(PolicyUsageType::PermissionsBoundary) => as_boundary,
    }
}

pub(crate) async fn list_entities_for_policy(
    svc: &IamService,
    ctx: &RequestContext,
    input: ListEntitiesForPolicyRequest,
) -> Result<ListEntitiesForPolicyResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let page = svc
        .read(move |txn| {
            let (_, policy) = policies::load_by_arn(txn, &account, &input.policy_arn)?;
            let arn = policy.arn(&account);
            let prefix = input.path_prefix.clone().unwrap_or_else(|| "/".to_string());
            let usage = input.policy_usage_filter;
            let wants = |kind: EntityType| input.entity_filter.is_none_or(|f| f == kind);
            let mut found: Vec<(String, Entity)> = Vec::new();
            if wants(EntityType::Group) {
                for g in all_of::<GroupDoc>(txn, GROUPS, &account)? {
                    if g.path.starts_with(&prefix)
                        && uses(&g.permissions().attached, None, &arn, usage)
                    {
                        let key = format!("group/{}", g.name.to_lowercase());
                        found.push((
                            key,
                            Entity::Group(PolicyGroup {
                                group_name: Some(g.name),
                                group_id: Some(g.group_id),
                            }),
                        ));
                    }
                }
            }
            if wants(EntityType::Role) {
                for r in all_of::<RoleDoc>(txn, ROLES, &account)? {
                    let used = uses(
                        &r.permissions().attached,
                        r.permissions_boundary.as_ref(),
                        &arn,
                        usage,
                    );
                    if r.path.starts_with(&prefix) && used {
                        let key = format!("role/{}", r.name.to_lowercase());
                        found.push((
                            key,
                            Entity::Role(PolicyRole {
                                role_name: Some(r.name),
                                role_id: Some(r.role_id),
                            }),
                        ));
                    }
                }
            }
            if wants(EntityType::User) {
                for u in all_of::<UserDoc>(txn, USERS, &account)? {
                    let used = uses(
                        &u.permissions().attached,
                        u.permissions_boundary.as_ref(),
                        &arn,
                        usage,
                    );
                    if u.path.starts_with(&prefix) && used {
                        let key = format!("user/{}", u.name.to_lowercase());
                        found.push((
                            key,
                            Entity::User(PolicyUser {
                                user_name: Some(u.name),
                                user_id: Some(u.user_id),
                            }),
                        ));
                    }
                }
            }
            paging::in_memory(
                found,
                |(k, _)| k.clone(),
                input.marker.as_deref(),
                input.max_items,
            )
        })
        .await?;
    let (mut groups, mut users, mut roles) = (Vec::new(), Vec::new(), Vec::new());
    let truncated = page.is_truncated();
    for (_, entity) in page.items {
        match entity {
            Entity::Group(g) => groups.push(g),
            Entity::User(u) => users.push(u),
            Entity::Role(r) => roles.push(r),
        }
    }
    Ok(ListEntitiesForPolicyResponse {
        policy_groups: Some(groups),
        policy_users: Some(users),
        policy_roles: Some(roles),
        is_truncated: Some(truncated),
        marker: page.marker,
    })
}

impl tags::TaggedRecord for PolicyDoc {
    const TAG_QUOTA: &'static str = "TagsPerPolicy";
    type Key = String;
    fn load(txn: &mut dyn Txn, account: &str, id: &str) -> TxResult<(String, Self)> {
        policies::load_by_arn(txn, account, id)
    }
    fn save(&self, txn: &mut dyn Txn, key: &String) -> TxResult<()> {
        policies::save(txn, key, self)
    }
    fn tags_mut(&mut self) -> &mut Vec<Tag> {
        &mut self.tags
    }
    fn ensure_taggable(&self, ctx: &RequestContext, untag: bool, arn: &str) -> TxResult<()> {
        let operation = if untag { "UntagPolicy" } else { "TagPolicy" };
        policies::ensure_modifiable(ctx, self, operation, arn)
    }
}

pub(crate) async fn tag_policy(
    svc: &IamService,
    ctx: &RequestContext,
    input: TagPolicyRequest,
) -> Result<(), IamError> {
    tags::tag::<PolicyDoc>(svc, ctx, input.policy_arn, input.tags).await
}

pub(crate) async fn untag_policy(
    svc: &IamService,
    ctx: &RequestContext,
    input: UntagPolicyRequest,
) -> Result<(), IamError> {
    tags::untag::<PolicyDoc>(svc, ctx, input.policy_arn, input.tag_keys).await
}

pub(crate) async fn list_policy_tags(
    svc: &IamService,
    ctx: &RequestContext,
    input: ListPolicyTagsRequest,
) -> Result<ListPolicyTagsResponse, IamError> {
    let page =
        tags::list::<PolicyDoc>(svc, ctx, input.policy_arn, input.marker, input.max_items).await?;
    Ok(ListPolicyTagsResponse {
        is_truncated: Some(page.is_truncated()),
        marker: page.marker,
        tags: page.items,
    })
}
