//! Instance profiles: containers for (at most) one role, as EC2 uses them.

use coffer_model::context::RequestContext;
use coffer_model::iam::*;
use coffer_model::types::Timestamp;
use coffer_store::Txn;
use serde::{Deserialize, Serialize};

use crate::error::{delete_conflict, quota, Fail, TxResult};
use crate::ids;
use crate::paging;
use crate::policy_entities::all_of;
use crate::records;
use crate::roles;
use crate::tags;
use crate::IamService;

pub const INSTANCE_PROFILES: &str = "iam_instance_profiles";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceProfileDoc {
    pub name: String,
    /// `AIPA…`
    pub instance_profile_id: String,
    pub path: String,
    /// Seconds since the epoch.
    pub created: i64,
    /// The role's name as created (roles cannot be renamed).
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl InstanceProfileDoc {
    pub fn arn(&self, account: &str) -> String {
        format!(
            "arn:aws:iam::{account}:instance-profile{}{}",
            self.path, self.name
        )
    }

    pub(crate) fn to_shape(
        &self,
        txn: &mut dyn Txn,
        account: &str,
        with_tags: bool,
    ) -> TxResult<InstanceProfile> {
        let mut roles_shown = Vec::new();
        if let Some(name) = &self.role {
            if let Some(role) = roles::find(txn, account, name)? {
                roles_shown.push(role.listed(txn, account)?);
            }
        }
        Ok(InstanceProfile {
            path: self.path.clone(),
            instance_profile_name: self.name.clone(),
            instance_profile_id: self.instance_profile_id.clone(),
            arn: self.arn(account),
            create_date: Timestamp::from_secs(self.created),
            roles: roles_shown,
            tags: (with_tags && !self.tags.is_empty()).then(|| self.tags.clone()),
        })
    }
}

fn not_found(name: &str) -> Fail {
    IamError::no_such_entity(format!("Instance Profile {name} cannot be found.")).into()
}

fn load(txn: &mut dyn Txn, account: &str, name: &str) -> TxResult<(String, InstanceProfileDoc)> {
    let key = records::key(account, name);
    records::get::<InstanceProfileDoc>(txn, INSTANCE_PROFILES, &key)?
        .map(|doc| (key, doc))
        .ok_or_else(|| not_found(name))
}

/// Reads one instance profile, for authorization (its path and tags).
pub fn find(
    txn: &mut dyn Txn,
    account: &str,
    name: &str,
) -> Result<Option<InstanceProfileDoc>, coffer_store::StoreError> {
    records::get(txn, INSTANCE_PROFILES, &records::key(account, name))
}

fn save(txn: &mut dyn Txn, key: &str, doc: &InstanceProfileDoc) -> TxResult<()> {
    records::put(txn, INSTANCE_PROFILES, key, doc)?;
    Ok(())
}

fn has_role(doc: &InstanceProfileDoc, role: &str) -> bool {
    doc.role
        .as_deref()
        .is_some_and(|r| r.to_lowercase() == role.to_lowercase())
}

pub(crate) fn any_with_role(txn: &mut dyn Txn, account: &str, role: &str) -> TxResult<bool> {
    Ok(
        all_of::<InstanceProfileDoc>(txn, INSTANCE_PROFILES, account)?
            .iter()
            .any(|p| has_role(p, role)),
    )
}

pub(crate) async fn create_instance_profile(
    svc: &IamService,
    ctx: &RequestContext,
    input: CreateInstanceProfileRequest,
) -> Result<CreateInstanceProfileResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let id = ids::unique_id(ids::INSTANCE_PROFILE_PREFIX);
    let now = records::now_secs(ctx);
    svc.write(move |txn| {
        let key = records::key(&account, &input.instance_profile_name);
        if records::get::<InstanceProfileDoc>(txn, INSTANCE_PROFILES, &key)?.is_some() {
            return Err(IamError::entity_already_exists(format!(
                "Instance Profile {} already exists.",
                input.instance_profile_name
            ))
            .into());
        }
        let mut doc = InstanceProfileDoc {
            name: input.instance_profile_name.clone(),
            instance_profile_id: id.clone(),
            path: input.path.clone().unwrap_or_else(|| "/".to_string()),
            created: now,
            role: None,
            tags: Vec::new(),
        };
        tags::merge(
            &mut doc.tags,
            input.tags.as_deref().unwrap_or(&[]),
            "TagsPerInstanceProfile",
        )?;
        save(txn, &key, &doc)?;
        Ok(CreateInstanceProfileResponse {
            instance_profile: doc.to_shape(txn, &account, true)?,
        })
    })
    .await
}

pub(crate) async fn get_instance_profile(
    svc: &IamService,
    ctx: &RequestContext,
    input: GetInstanceProfileRequest,
) -> Result<GetInstanceProfileResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    svc.read(move |txn| {
        let (_, doc) = load(txn, &account, &input.instance_profile_name)?;
        Ok(GetInstanceProfileResponse {
            instance_profile: doc.to_shape(txn, &account, true)?,
        })
    })
    .await
}

pub(crate) async fn delete_instance_profile(
    svc: &IamService,
    ctx: &RequestContext,
    input: DeleteInstanceProfileRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    svc.write(move |txn| {
        let (key, doc) = load(txn, &account, &input.instance_profile_name)?;
        if doc.role.is_some() {
            return Err(delete_conflict(
                "must remove roles from instance profile first.",
            ));
        }
        txn.delete(INSTANCE_PROFILES, &key)?;
        Ok(())
    })
    .await
}

fn list_page(
    txn: &mut dyn Txn,
    account: &str,
    keep: impl Fn(&InstanceProfileDoc) -> bool,
    marker: Option<&str>,
    max_items: Option<i32>,
) -> TxResult<paging::Page<InstanceProfile>> {
    let page = paging::scan(
        txn,
        INSTANCE_PROFILES,
        &format!("{account}/"),
        marker,
        max_items,
        |_, raw| {
            let doc: InstanceProfileDoc = records::decode(raw)?;
            Ok(keep(&doc).then_some(doc))
        },
    )?;
    let mut shown = Vec::with_capacity(page.items.len());
    for doc in &page.items {
        shown.push(doc.to_shape(txn, account, false)?);
    }
    Ok(paging::Page {
        items: shown,
        marker: page.marker,
    })
}

pub(crate) async fn list_instance_profiles(
    svc: &IamService,
    ctx: &RequestContext,
    input: ListInstanceProfilesRequest,
) -> Result<ListInstanceProfilesResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let page = svc
        .read(move |txn| {
            let prefix = input.path_prefix.clone().unwrap_or_else(|| "/".to_string());
            list_page(
                txn,
                &account,
                |p| p.path.starts_with(&prefix),
                input.marker.as_deref(),
                input.max_items,
            )
        })
        .await?;
    Ok(ListInstanceProfilesResponse {
        is_truncated: Some(page.is_truncated()),
        marker: page.marker,
        instance_profiles: page.items,
    })
}

pub(crate) async fn list_instance_profiles_for_role(
    svc: &IamService,
    ctx: &RequestContext,
    input: ListInstanceProfilesForRoleRequest,
) -> Result<ListInstanceProfilesForRoleResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let page = svc
        .read(move |txn| {
            let (_, role) = roles::load(txn, &account, &input.role_name)?;
            list_page(
                txn,
                &account,
                |p| has_role(p, &role.name),
                input.marker.as_deref(),
                input.max_items,
            )
        })
        .await?;
    Ok(ListInstanceProfilesForRoleResponse {
        is_truncated: Some(page.is_truncated()),
        marker: page.marker,
        instance_profiles: page.items,
    })
}

pub(crate) async fn add_role_to_instance_profile(
    svc: &IamService,
    ctx: &RequestContext,
    input: AddRoleToInstanceProfileRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    svc.write(move |txn| {
        let (key, mut doc) = load(txn, &account, &input.instance_profile_name)?;
        let (_, role) = roles::load(txn, &account, &input.role_name)?;
        if doc.role.is_some() {
            return Err(quota("InstanceSessionsPerInstanceProfile", 1));
        }
        doc.role = Some(role.name);
        save(txn, &key, &doc)
    })
    .await
}

pub(crate) async fn remove_role_from_instance_profile(
    svc: &IamService,
    ctx: &RequestContext,
    input: RemoveRoleFromInstanceProfileRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    svc.write(move |txn| {
        let (key, mut doc) = load(txn, &account, &input.instance_profile_name)?;
        let (_, role) = roles::load(txn, &account, &input.role_name)?;
        if !has_role(&doc, &role.name) {
            return Err(IamError::no_such_entity(format!(
                "The role with name {} cannot be found.",
                input.role_name
            ))
            .into());
        }
        doc.role = None;
        save(txn, &key, &doc)
    })
    .await
}

impl tags::TaggedRecord for InstanceProfileDoc {
    const TAG_QUOTA: &'static str = "TagsPerInstanceProfile";
    type Key = String;
    fn load(txn: &mut dyn Txn, account: &str, id: &str) -> TxResult<(String, Self)> {
        load(txn, account, id)
    }
    fn save(&self, txn: &mut dyn Txn, key: &String) -> TxResult<()> {
        save(txn, key, self)
    }
    fn tags_mut(&mut self) -> &mut Vec<Tag> {
        &mut self.tags
    }
}

pub(crate) async fn tag_instance_profile(
    svc: &IamService,
    ctx: &RequestContext,
    input: TagInstanceProfileRequest,
) -> Result<(), IamError> {
    tags::tag::<InstanceProfileDoc>(svc, ctx, input.instance_profile_name, input.tags).await
}

pub(crate) async fn untag_instance_profile(
    svc: &IamService,
    ctx: &RequestContext,
    input: UntagInstanceProfileRequest,
) -> Result<(), IamError> {
    tags::untag::<InstanceProfileDoc>(svc, ctx, input.instance_profile_name, input.tag_keys).await
}

pub(crate) async fn list_instance_profile_tags(
    svc: &IamService,
    ctx: &RequestContext,
    input: ListInstanceProfileTagsRequest,
) -> Result<ListInstanceProfileTagsResponse, IamError> {
    let page = tags::list::<InstanceProfileDoc>(
        svc,
        ctx,
        input.instance_profile_name,
        input.marker,
        input.max_items,
    )
    .await?;
    Ok(ListInstanceProfileTagsResponse {
        is_truncated: Some(page.is_truncated()),
        marker: page.marker,
        tags: page.items,
    })
}
