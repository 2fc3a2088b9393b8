//! `GetAccountAuthorizationDetails`: every user, group, role and managed policy in use, with
//! their policies' documents (URL-encoded, as IAM returns them), in one paged answer. The pages
//! run through users, then groups, then roles, then policies; `MaxItems` counts entities of all
//! kinds together.

use coffer_model::context::RequestContext;
use coffer_model::iam::*;
use coffer_model::types::Timestamp;
use coffer_store::Txn;

use crate::documents::url_encode;
use crate::error::TxResult;
use crate::groups::{self, GroupDoc, GROUPS};
use crate::holders::Permissions;
use crate::instance_profiles::{InstanceProfileDoc, INSTANCE_PROFILES};
use crate::membership;
use crate::paging;
use crate::policies::{self, version_id, PolicyDoc, POLICIES};
use crate::policy_entities::all_of;
use crate::roles::{RoleDoc, ROLES};
use crate::users::{UserDoc, USERS};
use crate::{aws_managed, IamService};

enum Item {
    User(UserDoc),
    Group(GroupDoc),
    Role(RoleDoc),
    Policy(PolicyDoc),
}

fn inline(p: &Permissions) -> Option<Vec<PolicyDetail>> {
    Some(
        p.inline
            .iter()
            .map(|i| PolicyDetail {
                policy_name: Some(i.name.clone()),
                policy_document: Some(url_encode(&i.document)),
            })
            .collect(),
    )
}

fn attached(p: &Permissions) -> Option<Vec<AttachedPolicy>> {
    Some(
        p.attached
            .iter()
            .map(|arn| AttachedPolicy {
                policy_name: policies::parse_arn(arn).map(|a| a.name),
                policy_arn: Some(arn.clone()),
            })
            .collect(),
    )
}

fn boundary(arn: &Option<String>) -> Option<AttachedPermissionsBoundary> {
    arn.as_ref().map(|arn| AttachedPermissionsBoundary {
        permissions_boundary_type: Some(
            PermissionsBoundaryAttachmentType::PermissionsBoundaryPolicy,
        ),
        permissions_boundary_arn: Some(arn.clone()),
    })
}

fn user_detail(txn: &mut dyn Txn, account: &str, u: &UserDoc) -> TxResult<UserDetail> {
    let mut group_names = Vec::new();
    for lower in membership::groups_of(txn, account, &u.name)? {
        if let Some(g) = groups::find(txn, account, &lower)? {
            group_names.push(g.name);
        }
    }
    Ok(UserDetail {
        path: Some(u.path.clone()),
        user_name: Some(u.name.clone()),
        user_id: Some(u.user_id.clone()),
        arn: Some(u.arn(account)),
        create_date: Some(Timestamp::from_secs(u.created)),
        user_policy_list: inline(&u.permissions),
        group_list: Some(group_names),
        attached_managed_policies: attached(&u.permissions),
        permissions_boundary: boundary(&u.permissions_boundary),
        tags: Some(u.tags.clone()),
    })
}

fn group_detail(account: &str, g: &GroupDoc) -> GroupDetail {
    GroupDetail {
        path: Some(g.path.clone()),
        group_name: Some(g.name.clone()),
        group_id: Some(g.group_id.clone()),
        arn: Some(g.arn(account)),
        create_date: Some(Timestamp::from_secs(g.created)),
        group_policy_list: inline(&g.permissions),
        attached_managed_policies: attached(&g.permissions),
    }
}

fn role_detail(
    txn: &mut dyn Txn,
    account: &str,
    r: &RoleDoc,
    profiles: &[InstanceProfileDoc],
) -> TxResult<RoleDetail> {
    let mut instance_profiles = Vec::new();
    for p in profiles {
        if p.role.as_deref().map(str::to_lowercase) == Some(r.name.to_lowercase()) {
            instance_profiles.push(p.to_shape(txn, account, false)?);
        }
    }
    Ok(RoleDetail {
        path: Some(r.path.clone()),
        role_name: Some(r.name.clone()),
        role_id: Some(r.role_id.clone()),
        arn: Some(r.arn(account)),
        create_date: Some(Timestamp::from_secs(r.created)),
        assume_role_policy_document: Some(url_encode(&r.trust_policy(txn)?)),
        instance_profile_list: Some(instance_profiles),
        role_policy_list: inline(&r.permissions),
        attached_managed_policies: attached(&r.permissions),
        permissions_boundary: boundary(&r.permissions_boundary),
        tags: Some(r.tags.clone()),
        role_last_used: Some(r.last_used(txn, account)?),
    })
}

fn policy_detail(account: &str, p: &PolicyDoc) -> ManagedPolicyDetail {
    ManagedPolicyDetail {
        policy_name: Some(p.name.clone()),
        policy_id: Some(p.policy_id.clone()),
        arn: Some(p.arn(account)),
        path: Some(p.path.clone()),
        default_version_id: Some(version_id(p.default_version)),
        attachment_count: Some(p.attachment_count as i32),
        permissions_boundary_usage_count: Some(p.boundary_count as i32),
        is_attachable: Some(true),
        description: p.description.clone(),
        create_date: Some(Timestamp::from_secs(p.created)),
        update_date: Some(Timestamp::from_secs(p.updated)),
        policy_version_list: Some(
            p.versions
                .iter()
                .map(|v| PolicyVersion {
                    document: Some(url_encode(&v.document)),
                    version_id: Some(version_id(v.id)),
                    is_default_version: Some(v.id == p.default_version),
                    create_date: Some(Timestamp::from_secs(v.created)),
                })
                .collect(),
        ),
    }
}

pub(crate) async fn get_account_authorization_details(
    svc: &IamService,
    ctx: &RequestContext,
    input: GetAccountAuthorizationDetailsRequest,
) -> Result<GetAccountAuthorizationDetailsResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let filter = input.filter.clone().unwrap_or_default();
    let wants = move |t: EntityType| filter.is_empty() || filter.contains(&t);
    svc.read(move |txn| {
        // Sort keys: kind first, so pages resume in the right list.
        let mut items: Vec<(String, Item)> = Vec::new();
        if wants(EntityType::User) {
            for u in all_of::<UserDoc>(txn, USERS, &account)? {
                items.push((format!("1/{}", u.name.to_lowercase()), Item::User(u)));
            }
        }
        if wants(EntityType::Group) {
            for g in all_of::<GroupDoc>(txn, GROUPS, &account)? {
                items.push((format!("2/{}", g.name.to_lowercase()), Item::Group(g)));
            }
        }
        if wants(EntityType::Role) {
            for r in all_of::<RoleDoc>(txn, ROLES, &account)? {
                items.push((format!("3/{}", r.name.to_lowercase()), Item::Role(r)));
            }
        }
        if wants(EntityType::AWSManagedPolicy) {
            // Only the AWS managed policies the account uses, as IAM reports them.
            for (name, usage) in aws_managed::usage_by_name(txn, &account)? {
                if usage.attachment_count == 0 && usage.boundary_count == 0 {
                    continue;
                }
                if let Some(p) = aws_managed::catalogue().by_name(&name) {
                    items.push((
                        format!("4/{name}/aws"),
                        Item::Policy(aws_managed::doc(txn, &account, p)?),
                    ));
                }
            }
        }
        if wants(EntityType::LocalManagedPolicy) {
            for p in all_of::<PolicyDoc>(txn, POLICIES, &account)? {
                items.push((
                    format!("4/{}/local", p.name.to_lowercase()),
                    Item::Policy(p),
                ));
            }
        }
        items.sort_by(|a, b| a.0.cmp(&b.0));
        let page = paging::in_memory(
            items,
            |(k, _)| k.clone(),
            input.marker.as_deref(),
            input.max_items,
        )?;
        let profiles = if page.items.iter().any(|(_, i)| matches!(i, Item::Role(_))) {
            all_of::<InstanceProfileDoc>(txn, INSTANCE_PROFILES, &account)?
        } else {
            Vec::new()
        };
        let mut out = GetAccountAuthorizationDetailsResponse {
            user_detail_list: Some(Vec::new()),
            group_detail_list: Some(Vec::new()),
            role_detail_list: Some(Vec::new()),
            policies: Some(Vec::new()),
            is_truncated: Some(page.marker.is_some()),
            marker: page.marker.clone(),
        };
        for (_, item) in &page.items {
            match item {
                Item::User(u) => {
                    let d = user_detail(txn, &account, u)?;
                    out.user_detail_list.get_or_insert_with(Vec::new).push(d);
                }
                Item::Group(g) => out
                    .group_detail_list
                    .get_or_insert_with(Vec::new)
                    .push(group_detail(&account, g)),
                Item::Role(r) => {
                    let d = role_detail(txn, &account, r, &profiles)?;
                    out.role_detail_list.get_or_insert_with(Vec::new).push(d);
                }
                Item::Policy(p) => out
                    .policies
                    .get_or_insert_with(Vec::new)
                    .push(policy_detail(&account, p)),
            }
        }
        Ok(out)
    })
    .await
}
