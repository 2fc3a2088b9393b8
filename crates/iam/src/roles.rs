//! IAM roles: `CreateRole`, `GetRole`, `UpdateRole`, `UpdateRoleDescription`, `DeleteRole`,
//! `ListRoles`, `UpdateAssumeRolePolicy` and role tags.

use coffer_model::context::RequestContext;
use coffer_model::iam::*;
use coffer_model::types::Timestamp;
use coffer_store::Txn;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::boundaries;
use crate::documents;
use crate::error::{delete_conflict, Fail, TxResult};
use crate::holders::{self, Bounded, Holder, Permissions};
use crate::ids;
use crate::instance_profiles;
use crate::paging;
use crate::principal_ids::{self, PrincipalIds};
use crate::records;
use crate::tags;
use crate::IamService;

pub const ROLES: &str = "iam_roles";
/// A session's default and minimum maximum duration, in seconds.
pub const DEFAULT_MAX_SESSION: i32 = 3600;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleDoc {
    pub name: String,
    /// `AROA…`
    pub role_id: String,
    pub path: String,
    /// Seconds since the epoch.
    pub created: i64,
    /// The trust policy, as the caller sent it.
    pub assume_role_policy: String,
    /// The users and roles the trust policy named when it was saved, by unique id: only they
    /// are trusted, not whoever takes their names later (see [`crate::principal_ids`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub trust_principal_ids: PrincipalIds,
    #[serde(default)]
    pub description: Option<String>,
    /// Seconds a session of this role may last at most.
    pub max_session_duration: i32,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub permissions: Permissions,
    #[serde(default)]
    pub permissions_boundary: Option<String>,
}

/// Which fields an answer carries: `CreateRole`, `GetRole` and `ListRoles` each report a different
/// subset, as AWS does.
#[derive(Clone, Copy, PartialEq, Eq)]
enum View {
    Created,
    Get,
    List,
}

impl RoleDoc {
    pub fn arn(&self, account: &str) -> String {
        format!("arn:aws:iam::{account}:role{}{}", self.path, self.name)
    }

    /// The trust policy as AWS shows and evaluates it now: principals deleted (or re-created)
    /// since it was saved appear as their old unique ids.
    pub fn trust_policy(
        &self,
        txn: &mut dyn Txn,
    ) -> Result<std::borrow::Cow<'_, str>, coffer_store::StoreError> {
        principal_ids::effective_document(txn, &self.assume_role_policy, &self.trust_principal_ids)
    }

    fn shape_now(&self, txn: &mut dyn Txn, account: &str, view: View) -> TxResult<Role> {
        let trust = self.trust_policy(txn)?.into_owned();
        let mut role = self.to_shape(account, view, &trust);
        if view == View::Get {
            role.role_last_used = Some(self.last_used(txn, account)?);
        }
        Ok(role)
    }

    /// When a session of the role last made a request, and in which region, from the attempts
    /// the server records for service last-accessed data; empty for a role never used, as AWS
    /// answers.
    pub(crate) fn last_used(&self, txn: &mut dyn Txn, account: &str) -> TxResult<RoleLastUsed> {
        let last = crate::service_access::last_use(txn, account, &self.role_id)?;
        Ok(RoleLastUsed {
            last_used_date: last.as_ref().map(|m| Timestamp::from_secs(m.at)),
            region: last.map(|m| m.region),
        })
    }

    fn to_shape(&self, account: &str, view: View, trust: &str) -> Role {
        Role {
            path: self.path.clone(),
            role_name: self.name.clone(),
            role_id: self.role_id.clone(),
            arn: self.arn(account),
            create_date: Timestamp::from_secs(self.created),
            assume_role_policy_document: Some(documents::url_encode(trust)),
            description: self.description.clone(),
            max_session_duration: (view != View::Created).then_some(self.max_session_duration),
            permissions_boundary: self.permissions_boundary.as_ref().map(|arn| {
                AttachedPermissionsBoundary {
                    permissions_boundary_type: Some(
                        PermissionsBoundaryAttachmentType::PermissionsBoundaryPolicy,
                    ),
                    permissions_boundary_arn: Some(arn.clone()),
                }
            }),
            tags: (view != View::List && !self.tags.is_empty()).then(|| self.tags.clone()),
            // `GetRole` fills it in (`shape_now`).
            role_last_used: None,
        }
    }
}

impl RoleDoc {
    /// The role as lists (and instance profiles) show it.
    pub(crate) fn listed(&self, txn: &mut dyn Txn, account: &str) -> TxResult<Role> {
        self.shape_now(txn, account, View::List)
    }

    /// The role as `CreateRole` (and `CreateServiceLinkedRole`) report it.
    pub(crate) fn created(&self, account: &str) -> Role {
        self.to_shape(account, View::Created, &self.assume_role_policy)
    }

    /// Service-linked roles belong to their service: only it may change or delete them.
    pub fn is_service_linked(&self) -> bool {
        self.path
            .starts_with(crate::service_linked_roles::PATH_PREFIX)
    }
}

impl Holder for RoleDoc {
    const TABLE: &'static str = ROLES;
    const ENTITY: &'static str = "role";
    const INLINE_QUOTA: usize = coffer_policy::limits::ROLE_INLINE;
    const ATTACHED_QUOTA: &'static str = "PoliciesPerRole";

    fn not_found(name: &str) -> Fail {
        IamError::no_such_entity(format!("The role with name {name} cannot be found.")).into()
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn permissions(&self) -> &Permissions {
        &self.permissions
    }
    fn permissions_mut(&mut self) -> &mut Permissions {
        &mut self.permissions
    }
}

impl tags::TaggedRecord for RoleDoc {
    const TAG_QUOTA: &'static str = "TagsPerRole";
    type Key = String;
    fn load(txn: &mut dyn Txn, account: &str, name: &str) -> TxResult<(String, Self)> {
        holders::load(txn, account, name)
    }
    fn save(&self, txn: &mut dyn Txn, key: &String) -> TxResult<()> {
        holders::save(txn, key, self)
    }
    fn tags_mut(&mut self) -> &mut Vec<Tag> {
        &mut self.tags
    }
}

impl Bounded for RoleDoc {
    fn boundary_mut(&mut self) -> &mut Option<String> {
        &mut self.permissions_boundary
    }
}

fn role_exists(name: &str) -> Fail {
    IamError::entity_already_exists(format!("Role with name {name} already exists.")).into()
}

pub(crate) fn load(txn: &mut dyn Txn, account: &str, name: &str) -> TxResult<(String, RoleDoc)> {
    holders::load::<RoleDoc>(txn, account, name)
}

/// Reads one role of an account, for callers outside this crate (STS `AssumeRole`, authorization).
pub fn find(
    txn: &mut dyn Txn,
    account: &str,
    name: &str,
) -> Result<Option<RoleDoc>, coffer_store::StoreError> {
    records::get(txn, ROLES, &records::key(account, name))
}

pub(crate) async fn create_role(
    svc: &IamService,
    ctx: &RequestContext,
    input: CreateRoleRequest,
) -> Result<CreateRoleResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let role_id = ids::unique_id(ids::ROLE_PREFIX);
    let now = records::now_secs(ctx);
    let role = svc
        .write(move |txn| {
            let key = records::key(&account, &input.role_name);
            if records::get::<RoleDoc>(txn, ROLES, &key)?.is_some() {
                return Err(role_exists(&input.role_name));
            }
            let trust_principal_ids =
                documents::check_trust(txn, &account, &input.assume_role_policy_document)?;
            let boundary = match &input.permissions_boundary {
                Some(arn) => Some(boundaries::take(txn, &account, arn)?),
                None => None,
            };
            let mut doc = RoleDoc {
                name: input.role_name.clone(),
                role_id: role_id.clone(),
                path: input.path.clone().unwrap_or_else(|| "/".to_string()),
                created: now,
                assume_role_policy: input.assume_role_policy_document.clone(),
                trust_principal_ids,
                description: input.description.clone(),
                max_session_duration: input.max_session_duration.unwrap_or(DEFAULT_MAX_SESSION),
                tags: Vec::new(),
                permissions: Permissions::default(),
                permissions_boundary: boundary,
            };
            tags::merge(
                &mut doc.tags,
                input.tags.as_deref().unwrap_or(&[]),
                "TagsPerRole",
            )?;
            records::put(txn, ROLES, &key, &doc)?;
            Ok(doc.created(&account))
        })
        .await?;
    Ok(CreateRoleResponse { role })
}

pub(crate) async fn get_role(
    svc: &IamService,
    ctx: &RequestContext,
    input: GetRoleRequest,
) -> Result<GetRoleResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let role = svc
        .read(move |txn| {
            load(txn, &account, &input.role_name)?
                .1
                .shape_now(txn, &account, View::Get)
        })
        .await?;
    Ok(GetRoleResponse { role })
}

pub(crate) async fn update_role(
    svc: &IamService,
    ctx: &RequestContext,
    input: UpdateRoleRequest,
) -> Result<UpdateRoleResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    svc.write(move |txn| {
        let (key, mut doc) = load(txn, &account, &input.role_name)?;
        if let Some(d) = &input.description {
            doc.description = Some(d.clone());
        }
        if let Some(m) = input.max_session_duration {
            doc.max_session_duration = m;
        }
        records::put(txn, ROLES, &key, &doc)?;
        Ok(())
    })
    .await?;
    Ok(UpdateRoleResponse {})
}

pub(crate) async fn update_role_description(
    svc: &IamService,
    ctx: &RequestContext,
    input: UpdateRoleDescriptionRequest,
) -> Result<UpdateRoleDescriptionResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let role = svc
        .write(move |txn| {
            let (key, mut doc) = load(txn, &account, &input.role_name)?;
            doc.description = Some(input.description.clone());
            records::put(txn, ROLES, &key, &doc)?;
            doc.shape_now(txn, &account, View::Get)
        })
        .await?;
    Ok(UpdateRoleDescriptionResponse { role: Some(role) })
}

pub(crate) async fn update_assume_role_policy(
    svc: &IamService,
    ctx: &RequestContext,
    input: UpdateAssumeRolePolicyRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    svc.write(move |txn| {
        let (key, mut doc) = load(txn, &account, &input.role_name)?;
        crate::service_linked_roles::refuse_protected(&doc)?;
        doc.trust_principal_ids = documents::check_trust(txn, &account, &input.policy_document)?;
        doc.assume_role_policy = input.policy_document.clone();
        records::put(txn, ROLES, &key, &doc)?;
        Ok(())
    })
    .await
}

pub(crate) async fn delete_role(
    svc: &IamService,
    ctx: &RequestContext,
    input: DeleteRoleRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    svc.write(move |txn| {
        let (key, doc) = load(txn, &account, &input.role_name)?;
        crate::service_linked_roles::refuse_protected(&doc)?;
        if !doc.permissions.inline.is_empty() {
            return Err(delete_conflict("must delete policies first."));
        }
        if !doc.permissions.attached.is_empty() {
            return Err(delete_conflict("must detach all policies first."));
        }
        if instance_profiles::any_with_role(txn, &account, &doc.name)? {
            return Err(delete_conflict(
                "must remove roles from instance profile first.",
            ));
        }
        if let Some(arn) = &doc.permissions_boundary {
            boundaries::release(txn, &account, arn)?;
        }
        txn.delete(ROLES, &key)?;
        Ok(())
    })
    .await
}

pub(crate) async fn list_roles(
    svc: &IamService,
    ctx: &RequestContext,
    input: ListRolesRequest,
) -> Result<ListRolesResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let page = svc
        .read(move |txn| {
            let prefix = input.path_prefix.clone().unwrap_or_else(|| "/".to_string());
            let page = paging::scan(
                txn,
                ROLES,
                &format!("{account}/"),
                input.marker.as_deref(),
                input.max_items,
                |_, raw| {
                    let doc: RoleDoc = records::decode(raw)?;
                    Ok(doc.path.starts_with(&prefix).then_some(doc))
                },
            )?;
            let mut roles = Vec::with_capacity(page.items.len());
            for doc in &page.items {
                roles.push(doc.shape_now(txn, &account, View::List)?);
            }
            Ok((roles, page.marker.clone(), page.is_truncated()))
        })
        .await?;
    let (roles, marker, truncated) = page;
    Ok(ListRolesResponse {
        is_truncated: Some(truncated),
        marker,
        roles,
    })
}

pub(crate) async fn tag_role(
    svc: &IamService,
    ctx: &RequestContext,
    input: TagRoleRequest,
) -> Result<(), IamError> {
    tags::tag::<RoleDoc>(svc, ctx, input.role_name, input.tags).await
}

pub(crate) async fn untag_role(
    svc: &IamService,
    ctx: &RequestContext,
    input: UntagRoleRequest,
) -> Result<(), IamError> {
    tags::untag::<RoleDoc>(svc, ctx, input.role_name, input.tag_keys).await
}

pub(crate) async fn list_role_tags(
    svc: &IamService,
    ctx: &RequestContext,
    input: ListRoleTagsRequest,
) -> Result<ListRoleTagsResponse, IamError> {
    let page =
        tags::list::<RoleDoc>(svc, ctx, input.role_name, input.marker, input.max_items).await?;
    Ok(ListRoleTagsResponse {
        is_truncated: Some(page.is_truncated()),
        marker: page.marker,
        tags: page.items,
    })
}
