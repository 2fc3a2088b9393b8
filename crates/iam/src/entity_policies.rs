//! The user and group operations on managed (attached) and inline policies.

use coffer_model::context::RequestContext;
use coffer_model::iam::*;

use crate::attachments;
use crate::documents::url_encode;
use crate::groups::GroupDoc;
use crate::inline_policies;
use crate::roles::RoleDoc;
use crate::users::UserDoc;
use crate::IamService;

pub(crate) async fn attach_user_policy(
    svc: &IamService,
    ctx: &RequestContext,
    input: AttachUserPolicyRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    svc.write(move |txn| {
        attachments::attach::<UserDoc>(txn, &account, &input.user_name, &input.policy_arn)
    })
    .await
}

pub(crate) async fn detach_user_policy(
    svc: &IamService,
    ctx: &RequestContext,
    input: DetachUserPolicyRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    svc.write(move |txn| {
        attachments::detach::<UserDoc>(txn, &account, &input.user_name, &input.policy_arn)
    })
    .await
}

pub(crate) async fn attach_group_policy(
    svc: &IamService,
    ctx: &RequestContext,
    input: AttachGroupPolicyRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    svc.write(move |txn| {
        attachments::attach::<GroupDoc>(txn, &account, &input.group_name, &input.policy_arn)
    })
    .await
}

pub(crate) async fn detach_group_policy(
    svc: &IamService,
    ctx: &RequestContext,
    input: DetachGroupPolicyRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    svc.write(move |txn| {
        attachments::detach::<GroupDoc>(txn, &account, &input.group_name, &input.policy_arn)
    })
    .await
}

pub(crate) async fn list_attached_user_policies(
    svc: &IamService,
    ctx: &RequestContext,
    input: ListAttachedUserPoliciesRequest,
) -> Result<ListAttachedUserPoliciesResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let page = svc
        .read(move |txn| {
            attachments::list::<UserDoc>(
                txn,
                &account,
                &input.user_name,
                input.path_prefix.as_deref(),
                input.marker.as_deref(),
                input.max_items,
            )
        })
        .await?;
    Ok(ListAttachedUserPoliciesResponse {
        is_truncated: Some(page.is_truncated()),
        marker: page.marker,
        attached_policies: Some(page.items),
    })
}

pub(crate) async fn list_attached_group_policies(
    svc: &IamService,
    ctx: &RequestContext,
    input: ListAttachedGroupPoliciesRequest,
) -> Result<ListAttachedGroupPoliciesResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let page = svc
        .read(move |txn| {
            attachments::list::<GroupDoc>(
                txn,
                &account,
                &input.group_name,
                input.path_prefix.as_deref(),
                input.marker.as_deref(),
                input.max_items,
            )
        })
        .await?;
    Ok(ListAttachedGroupPoliciesResponse {
        is_truncated: Some(page.is_truncated()),
        marker: page.marker,
        attached_policies: Some(page.items),
    })
}

pub(crate) async fn put_user_policy(
    svc: &IamService,
    ctx: &RequestContext,
    input: PutUserPolicyRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    svc.write(move |txn| {
        inline_policies::put::<UserDoc>(
            txn,
            &account,
            &input.user_name,
            &input.policy_name,
            &input.policy_document,
        )
    })
    .await
}

pub(crate) async fn get_user_policy(
    svc: &IamService,
    ctx: &RequestContext,
    input: GetUserPolicyRequest,
) -> Result<GetUserPolicyResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let (user_name, policy) = svc
        .read(move |txn| {
            inline_policies::get::<UserDoc>(txn, &account, &input.user_name, &input.policy_name)
        })
        .await?;
    Ok(GetUserPolicyResponse {
        user_name,
        policy_name: policy.name,
        policy_document: url_encode(&policy.document),
    })
}

pub(crate) async fn delete_user_policy(
    svc: &IamService,
    ctx: &RequestContext,
    input: DeleteUserPolicyRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    svc.write(move |txn| {
        inline_policies::delete::<UserDoc>(txn, &account, &input.user_name, &input.policy_name)
    })
    .await
}

pub(crate) async fn list_user_policies(
    svc: &IamService,
    ctx: &RequestContext,
    input: ListUserPoliciesRequest,
) -> Result<ListUserPoliciesResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let page = svc
        .read(move |txn| {
            inline_policies::list::<UserDoc>(
                txn,
                &account,
                &input.user_name,
                input.marker.as_deref(),
                input.max_items,
            )
        })
        .await?;
    Ok(ListUserPoliciesResponse {
        is_truncated: Some(page.is_truncated()),
        marker: page.marker,
        policy_names: page.items,
    })
}

pub(crate) async fn put_group_policy(
    svc: &IamService,
    ctx: &RequestContext,
    input: PutGroupPolicyRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    svc.write(move |txn| {
        inline_policies::put::<GroupDoc>(
            txn,
            &account,
            &input.group_name,
            &input.policy_name,
            &input.policy_document,
        )
    })
    .await
}

pub(crate) async fn get_group_policy(
    svc: &IamService,
    ctx: &RequestContext,
    input: GetGroupPolicyRequest,
) -> Result<GetGroupPolicyResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let (group_name, policy) = svc
        .read(move |txn| {
            inline_policies::get::<GroupDoc>(txn, &account, &input.group_name, &input.policy_name)
        })
        .await?;
    Ok(GetGroupPolicyResponse {
        group_name,
        policy_name: policy.name,
        policy_document: url_encode(&policy.document),
    })
}

pub(crate) async fn delete_group_policy(
    svc: &IamService,
    ctx: &RequestContext,
    input: DeleteGroupPolicyRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    svc.write(move |txn| {
        inline_policies::delete::<GroupDoc>(txn, &account, &input.group_name, &input.policy_name)
    })
    .await
}

pub(crate) async fn list_group_policies(
    svc: &IamService,
    ctx: &RequestContext,
    input: ListGroupPoliciesRequest,
) -> Result<ListGroupPoliciesResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let page = svc
        .read(move |txn| {
            inline_policies::list::<GroupDoc>(
                txn,
                &account,
                &input.group_name,
                input.marker.as_deref(),
                input.max_items,
            )
        })
        .await?;
    Ok(ListGroupPoliciesResponse {
        is_truncated: Some(page.is_truncated()),
        marker: page.marker,
        policy_names: page.items,
    })
}

/// Only its service changes a service-linked role's policies.
fn protect_service_linked(
    txn: &mut dyn coffer_store::Txn,
    account: &str,
    role_name: &str,
) -> crate::error::TxResult<()> {
    let (_, role) = crate::roles::load(txn, account, role_name)?;
    crate::service_linked_roles::refuse_protected(&role)
}

pub(crate) async fn attach_role_policy(
    svc: &IamService,
    ctx: &RequestContext,
    input: AttachRolePolicyRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    svc.write(move |txn| {
        protect_service_linked(txn, &account, &input.role_name)?;
        attachments::attach::<RoleDoc>(txn, &account, &input.role_name, &input.policy_arn)
    })
    .await
}

pub(crate) async fn detach_role_policy(
    svc: &IamService,
    ctx: &RequestContext,
    input: DetachRolePolicyRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    svc.write(move |txn| {
        protect_service_linked(txn, &account, &input.role_name)?;
        attachments::detach::<RoleDoc>(txn, &account, &input.role_name, &input.policy_arn)
    })
    .await
}

pub(crate) async fn list_attached_role_policies(
    svc: &IamService,
    ctx: &RequestContext,
    input: ListAttachedRolePoliciesRequest,
) -> Result<ListAttachedRolePoliciesResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let page = svc
        .read(move |txn| {
            attachments::list::<RoleDoc>(
                txn,
                &account,
                &input.role_name,
                input.path_prefix.as_deref(),
                input.marker.as_deref(),
                input.max_items,
            )
        })
        .await?;
    Ok(ListAttachedRolePoliciesResponse {
        is_truncated: Some(page.is_truncated()),
        marker: page.marker,
        attached_policies: Some(page.items),
    })
}

pub(crate) async fn put_role_policy(
    svc: &IamService,
    ctx: &RequestContext,
    input: PutRolePolicyRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    svc.write(move |txn| {
        protect_service_linked(txn, &account, &input.role_name)?;
        inline_policies::put::<RoleDoc>(
            txn,
            &account,
            &input.role_name,
            &input.policy_name,
            &input.policy_document,
        )
    })
    .await
}

pub(crate) async fn get_role_policy(
    svc: &IamService,
    ctx: &RequestContext,
    input: GetRolePolicyRequest,
) -> Result<GetRolePolicyResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let (role_name, policy) = svc
        .read(move |txn| {
            inline_policies::get::<RoleDoc>(txn, &account, &input.role_name, &input.policy_name)
        })
        .await?;
    Ok(GetRolePolicyResponse {
        role_name,
        policy_name: policy.name,
        policy_document: url_encode(&policy.document),
    })
}

pub(crate) async fn delete_role_policy(
    svc: &IamService,
    ctx: &RequestContext,
    input: DeleteRolePolicyRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    svc.write(move |txn| {
        inline_policies::delete::<RoleDoc>(txn, &account, &input.role_name, &input.policy_name)
    })
    .await
}

pub(crate) async fn list_role_policies(
    svc: &IamService,
    ctx: &RequestContext,
    input: ListRolePoliciesRequest,
) -> Result<ListRolePoliciesResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let page = svc
        .read(move |txn| {
            inline_policies::list::<RoleDoc>(
                txn,
                &account,
                &input.role_name,
                input.marker.as_deref(),
                input.max_items,
            )
        })
        .await?;
    Ok(ListRolePoliciesResponse {
        is_truncated: Some(page.is_truncated()),
        marker: page.marker,
        policy_names: page.items,
    })
}
