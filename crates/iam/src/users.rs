//! IAM users: `CreateUser`, `GetUser`, `UpdateUser`, `DeleteUser`, `ListUsers` and user tags.

use coffer_model::context::RequestContext;
use coffer_model::iam::*;
use coffer_model::types::Timestamp;
use coffer_store::Txn;
use serde::{Deserialize, Serialize};

use crate::access_keys::{self, AccessKeyDoc};
use crate::boundaries;
use crate::caller::{subject, Subject};
use crate::error::{delete_conflict, no_such_user, user_exists, Fail, TxResult};
use crate::holders::{self, Bounded, Holder, Permissions};
use crate::ids;
use crate::membership;
use crate::paging;
use crate::records;
use crate::tags;
use crate::IamService;

pub const USERS: &str = "iam_users";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserDoc {
    pub name: String,
    /// `AIDA…`
    pub user_id: String,
    pub path: String,
    /// Seconds since the epoch.
    pub created: i64,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub permissions: Permissions,
    #[serde(default)]
    pub permissions_boundary: Option<String>,
}

impl UserDoc {
    pub fn arn(&self, account: &str) -> String {
        user_arn(account, &self.path, &self.name)
    }

    pub(crate) fn to_shape(&self, account: &str, with_tags: bool) -> User {
        User {
            path: self.path.clone(),
            user_name: self.name.clone(),
            user_id: self.user_id.clone(),
            arn: self.arn(account),
            create_date: Timestamp::from_secs(self.created),
            password_last_used: None,
            permissions_boundary: self.permissions_boundary.as_ref().map(|arn| {
                AttachedPermissionsBoundary {
                    permissions_boundary_type: Some(
                        PermissionsBoundaryAttachmentType::PermissionsBoundaryPolicy,
                    ),
                    permissions_boundary_arn: Some(arn.clone()),
                }
            }),
            tags: (with_tags && !self.tags.is_empty()).then(|| self.tags.clone()),
        }
    }
}

impl Holder for UserDoc {
    const TABLE: &'static str = USERS;
    const ENTITY: &'static str = "user";
    const INLINE_QUOTA: usize = coffer_policy::limits::USER_INLINE;
    const ATTACHED_QUOTA: &'static str = "PoliciesPerUser";

    fn not_found(name: &str) -> Fail {
        no_such_user(name)
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

impl tags::TaggedRecord for UserDoc {
    const TAG_QUOTA: &'static str = "TagsPerUser";
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

impl Bounded for UserDoc {
    fn boundary_mut(&mut self) -> &mut Option<String> {
        &mut self.permissions_boundary
    }
}

pub fn user_arn(account: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:user{path}{name}")
}

pub(crate) fn load(txn: &mut dyn Txn, account: &str, name: &str) -> TxResult<(String, UserDoc)> {
    holders::load::<UserDoc>(txn, account, name)
}

/// Reads one user of an account, for callers outside this crate (authorization, STS).
pub fn find(
    txn: &mut dyn Txn,
    account: &str,
    name: &str,
) -> Result<Option<UserDoc>, coffer_store::StoreError> {
    records::get(txn, USERS, &records::key(account, name))
}

pub(crate) async fn create_user(
    svc: &IamService,
    ctx: &RequestContext,
    input: CreateUserRequest,
) -> Result<CreateUserResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let user_id = ids::unique_id(ids::USER_PREFIX);
    let now = records::now_secs(ctx);
    let user = svc
        .write(move |txn| {
            let key = records::key(&account, &input.user_name);
            if records::get::<UserDoc>(txn, USERS, &key)?.is_some() {
                return Err(user_exists(&input.user_name));
            }
            let boundary = match &input.permissions_boundary {
                Some(arn) => Some(boundaries::take(txn, &account, arn)?),
                None => None,
            };
            let mut doc = UserDoc {
                name: input.user_name.clone(),
                user_id: user_id.clone(),
                path: input.path.clone().unwrap_or_else(|| "/".to_string()),
                created: now,
                tags: Vec::new(),
                permissions: Permissions::default(),
                permissions_boundary: boundary,
            };
            tags::merge(
                &mut doc.tags,
                input.tags.as_deref().unwrap_or(&[]),
                "TagsPerUser",
            )?;
            records::put(txn, USERS, &key, &doc)?;
            Ok(doc.to_shape(&account, true))
        })
        .await?;
    Ok(CreateUserResponse { user: Some(user) })
}

pub(crate) async fn get_user(
    svc: &IamService,
    ctx: &RequestContext,
    input: GetUserRequest,
) -> Result<GetUserResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let subject = subject(ctx, input.user_name)?;
    let user = svc
        .read(move |txn| match &subject {
            Subject::User(name) => Ok(load(txn, &account, name)?.1.to_shape(&account, true)),
            Subject::Root => {
                let created = crate::accounts::get(txn, &account)?
                    .map(|a| a.created)
                    .unwrap_or_default();
                // AWS describes the root user by its account: no name, no path.
                Ok(User {
                    user_id: account.clone(),
                    arn: format!("arn:aws:iam::{account}:root"),
                    create_date: Timestamp::from_secs(created.trunc() as i64),
                    ..User::default()
                })
            }
        })
        .await?;
    Ok(GetUserResponse { user })
}

pub(crate) async fn update_user(
    svc: &IamService,
    ctx: &RequestContext,
    input: UpdateUserRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    svc.write(move |txn| {
        let (old_key, mut doc) = load(txn, &account, &input.user_name)?;
        let old_name = doc.name.clone();
        if let Some(new_name) = &input.new_user_name {
            let new_key = records::key(&account, new_name);
            if new_key != old_key && records::get::<UserDoc>(txn, USERS, &new_key)?.is_some() {
                return Err(user_exists(new_name));
            }
            doc.name = new_name.clone();
        }
        if let Some(path) = &input.new_path {
            doc.path = path.clone();
        }
        let new_key = records::key(&account, &doc.name);
        if new_key != old_key {
            txn.delete(USERS, &old_key)?;
            membership::rename_user(txn, &account, &old_name, &doc.name)?;
            crate::mfa::rename_user(txn, &account, &old_name, &doc.name)?;
            crate::login_profiles::rename_user(txn, &account, &old_name, &doc.name)?;
            crate::ssh_keys::rename_user(txn, &account, &old_name, &doc.name)?;
            crate::signing_certificates::rename_user(txn, &account, &old_name, &doc.name)?;
            crate::service_credentials::rename_user(txn, &account, &old_name, &doc.name)?;
        }
        records::put(txn, USERS, &new_key, &doc)?;
        rekey_access_keys(txn, &account, &old_name, &doc)?;
        Ok(())
    })
    .await
}

/// Keys name their user and its ARN (authentication reports both), so a rename or a new path
/// rewrites them and their index rows.
fn rekey_access_keys(
    txn: &mut dyn Txn,
    account: &str,
    old_name: &str,
    user: &UserDoc,
) -> TxResult<()> {
    for id in access_keys::ids_of(txn, account, Some(old_name))? {
        let Some(found) = access_keys::find(txn, &id)? else {
            continue;
        };
        let doc = AccessKeyDoc {
            user_name: Some(user.name.clone()),
            arn: user.arn(account),
            ..found.doc.clone()
        };
        access_keys::update_doc(txn, &id, &found, &doc)?;
    }
    Ok(())
}

pub(crate) async fn delete_user(
    svc: &IamService,
    ctx: &RequestContext,
    input: DeleteUserRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    svc.write(move |txn| {
        let (key, doc) = load(txn, &account, &input.user_name)?;
        if !access_keys::ids_of(txn, &account, Some(&doc.name))?.is_empty() {
            return Err(delete_conflict("must delete access keys first."));
        }
        if crate::login_profiles::exists(txn, &account, &doc.name)? {
            return Err(delete_conflict("must delete login profile first."));
        }
        if crate::mfa::user_has_devices(txn, &account, &doc.name)? {
            return Err(delete_conflict("must delete MFA device first."));
        }
        if crate::signing_certificates::user_has_certificates(txn, &account, &doc.name)? {
            return Err(delete_conflict("must delete signing certificates first."));
        }
        if crate::ssh_keys::user_has_keys(txn, &account, &doc.name)? {
            return Err(delete_conflict("must delete SSH public keys first."));
        }
        if crate::service_credentials::user_has_credentials(txn, &account, &doc.name)? {
            return Err(delete_conflict(
                "must delete service specific credentials first.",
            ));
        }
        if !doc.permissions.inline.is_empty() {
            return Err(delete_conflict("must delete policies first."));
        }
        if !doc.permissions.attached.is_empty() {
            return Err(delete_conflict("must detach all policies first."));
        }
        if membership::user_has_groups(txn, &account, &doc.name)? {
            return Err(delete_conflict("must remove referenced objects first."));
        }
        if let Some(arn) = &doc.permissions_boundary {
            boundaries::release(txn, &account, arn)?;
        }
        txn.delete(USERS, &key)?;
        Ok(())
    })
    .await
}

pub(crate) async fn list_users(
    svc: &IamService,
    ctx: &RequestContext,
    input: ListUsersRequest,
) -> Result<ListUsersResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let page = svc
        .read(move |txn| {
            let prefix = input.path_prefix.clone().unwrap_or_else(|| "/".to_string());
            paging::scan(
                txn,
                USERS,
                &format!("{account}/"),
                input.marker.as_deref(),
                input.max_items,
                |_, raw| {
                    let doc: UserDoc = records::decode(raw)?;
                    Ok(doc
                        .path
                        .starts_with(&prefix)
                        .then(|| doc.to_shape(&account, false)))
                },
            )
        })
        .await?;
    Ok(ListUsersResponse {
        is_truncated: Some(page.is_truncated()),
        marker: page.marker,
        users: page.items,
    })
}

pub(crate) async fn tag_user(
    svc: &IamService,
    ctx: &RequestContext,
    input: TagUserRequest,
) -> Result<(), IamError> {
    tags::tag::<UserDoc>(svc, ctx, input.user_name, input.tags).await
}

pub(crate) async fn untag_user(
    svc: &IamService,
    ctx: &RequestContext,
    input: UntagUserRequest,
) -> Result<(), IamError> {
    tags::untag::<UserDoc>(svc, ctx, input.user_name, input.tag_keys).await
}

pub(crate) async fn list_user_tags(
    svc: &IamService,
    ctx: &RequestContext,
    input: ListUserTagsRequest,
) -> Result<ListUserTagsResponse, IamError> {
    let page =
        tags::list::<UserDoc>(svc, ctx, input.user_name, input.marker, input.max_items).await?;
    Ok(ListUserTagsResponse {
        is_truncated: Some(page.is_truncated()),
        marker: page.marker,
        tags: page.items,
    })
}
