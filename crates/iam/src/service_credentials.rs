//! Service-specific credentials: a user name and password an IAM user presents to CodeCommit (Git
//! over HTTPS) or Amazon Keyspaces (Cassandra), and Amazon Bedrock's long-term API keys (a bearer
//! secret, optionally expiring after `CredentialAgeDays`). The password or key is generated here,
//! returned once by Create/Reset, and kept only in the record's sealed part.

use coffer_model::context::RequestContext;
use coffer_model::iam::*;
use coffer_model::sensitive::Sensitive;
use coffer_model::types::Timestamp;
use coffer_store::{NewRecord, Txn};
use serde::{Deserialize, Serialize};

use crate::accounts::to_json;
use crate::caller::named_user;
use crate::error::{quota, Fail, TxResult};
use crate::ids;
use crate::paging;
use crate::records;
use crate::user_records::{self, prefix, status};
use crate::users;
use crate::IamService;

/// `<account>/<lower-cased user>/<credential id>` → the credential.
pub const SERVICE_CREDENTIALS: &str = "iam_service_specific_credentials";

const PER_USER_PER_SERVICE: usize = 2;
const BEDROCK: &str = "bedrock.amazonaws.com";
const SERVICES: &[&str] = &[
    "codecommit.amazonaws.com",
    "cassandra.amazonaws.com",
    BEDROCK,
];
const PASSWORD_LEN: usize = 44;
const PASSWORD_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
/// A Bedrock API key is `ABSK` and the base64 of `<service user name>:<secret>`, the form AWS's
/// long-term keys take, so that Bedrock clients that read the key's parts find them.
const BEDROCK_KEY_PREFIX: &str = "ABSK";
const BEDROCK_SECRET_LEN: usize = 60;
const SECONDS_PER_DAY: i64 = 86_400;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct CredentialDoc {
    id: String,
    user_name: String,
    service_name: String,
    service_user_name: String,
    active: bool,
    /// Seconds since the epoch.
    created: i64,
    /// Bedrock API keys created with `CredentialAgeDays`: when they stop working (seconds).
    #[serde(default)]
    expires: Option<i64>,
}

impl CredentialDoc {
    fn is_bedrock(&self) -> bool {
        self.service_name == BEDROCK
    }

    /// `Expired` once an expiring key's time has come, whatever its `Active`/`Inactive` setting.
    fn status(&self, now: i64) -> StatusType {
        if self.expires.is_some_and(|end| now >= end) {
            StatusType::Expired
        } else {
            status(self.active)
        }
    }

    /// For Bedrock API keys, the public part of the key: the IAM user name and a suffix with
    /// the key format's version and the creation time.
    fn alias(&self) -> Option<String> {
        self.is_bedrock()
            .then(|| format!("{}+1.{}", self.user_name, self.created))
    }
}

/// A new secret: a password, or for Bedrock the API key.
fn new_secret(service_name: &str, service_user_name: &str) -> String {
    if service_name == BEDROCK {
        use base64::Engine;
        let secret = ids::random_string("", BEDROCK_SECRET_LEN, PASSWORD_CHARS);
        let encoded = base64::engine::general_purpose::STANDARD
            .encode(format!("{service_user_name}:{secret}"));
        format!("{BEDROCK_KEY_PREFIX}{encoded}")
    } else {
        ids::random_string("", PASSWORD_LEN, PASSWORD_CHARS)
    }
}

pub(crate) fn user_has_credentials(txn: &mut dyn Txn, account: &str, user: &str) -> TxResult<bool> {
    Ok(records::any_under(
        txn,
        SERVICE_CREDENTIALS,
        &prefix(account, user),
    )?)
}

pub(crate) fn rename_user(txn: &mut dyn Txn, account: &str, old: &str, new: &str) -> TxResult<()> {
    for (k, mut doc) in of_user(txn, account, old)? {
        let Some(record) = txn.get(SERVICE_CREDENTIALS, &k)? else {
            continue;
        };
        txn.delete(SERVICE_CREDENTIALS, &k)?;
        doc.user_name = new.to_string();
        doc.service_user_name = service_user_name(new, account);
        let mut fresh = NewRecord::new(to_json(&doc)?);
        fresh.sealed = record.sealed;
        txn.put(
            SERVICE_CREDENTIALS,
            &format!("{}{}", prefix(account, new), doc.id),
            fresh,
        )?;
    }
    Ok(())
}

fn of_user(txn: &mut dyn Txn, account: &str, user: &str) -> TxResult<Vec<(String, CredentialDoc)>> {
    user_records::of_user(txn, SERVICE_CREDENTIALS, account, user)
}

fn load(
    txn: &mut dyn Txn,
    account: &str,
    user: &str,
    id: &str,
) -> TxResult<(String, CredentialDoc)> {
    user_records::load(txn, SERVICE_CREDENTIALS, account, user, id, not_found)
}

fn service_user_name(user: &str, account: &str) -> String {
    format!("{user}-at-{account}")
}

fn not_found(id: &str) -> Fail {
    IamError::no_such_entity(format!(
        "The Service Specific Credential with id {id} cannot be found."
    ))
    .into()
}

/// The credential with its secret, as Create and Reset return it (the only times it is shown):
/// a Bedrock key as `ServiceCredentialSecret`, a password as `ServicePassword`.
fn full(doc: &CredentialDoc, secret: String, now: i64) -> ServiceSpecificCredential {
    let (service_password, service_credential_secret) = if doc.is_bedrock() {
        (None, Some(Sensitive::new(secret)))
    } else {
        (Some(Sensitive::new(secret)), None)
    };
    ServiceSpecificCredential {
        create_date: Timestamp::from_secs(doc.created),
        expiration_date: doc.expires.map(Timestamp::from_secs),
        service_name: doc.service_name.clone(),
        service_user_name: Some(doc.service_user_name.clone()),
        service_password,
        service_credential_alias: doc.alias(),
        service_credential_secret,
        service_specific_credential_id: doc.id.clone(),
        user_name: doc.user_name.clone(),
        status: doc.status(now),
    }
}

fn write(txn: &mut dyn Txn, account: &str, doc: &CredentialDoc, secret: &str) -> TxResult<()> {
    let record = NewRecord::new(to_json(doc)?).with_sealed(secret.as_bytes().to_vec());
    txn.put(
        SERVICE_CREDENTIALS,
        &format!("{}{}", prefix(account, &doc.user_name), doc.id),
        record,
    )?;
    Ok(())
}

pub(crate) async fn create_service_specific_credential(
    svc: &IamService,
    ctx: &RequestContext,
    input: CreateServiceSpecificCredentialRequest,
) -> Result<CreateServiceSpecificCredentialResponse, IamError> {
    if !SERVICES.contains(&input.service_name.as_str()) {
        return Err(IamError::service_not_supported(format!(
            "The specified service, {}, is not supported.",
            input.service_name
        )));
    }
    if input.credential_age_days.is_some() && input.service_name != BEDROCK {
        return Err(IamError::invalid_input(
            "CredentialAgeDays is only valid for Bedrock API keys.",
        ));
    }
    let account = ctx.principal.account_id.clone();
    let now = records::now_secs(ctx);
    let id = ids::unique_id("ACCA");
    let expires = input
        .credential_age_days
        .map(|days| now.saturating_add(i64::from(days).saturating_mul(SECONDS_PER_DAY)));
    let (secret, doc) = svc
        .write(move |txn| {
            let (_, user) = users::load(txn, &account, &input.user_name)?;
            let same_service = of_user(txn, &account, &user.name)?
                .into_iter()
                .filter(|(_, d)| d.service_name == input.service_name)
                .count();
            if same_service >= PER_USER_PER_SERVICE {
                return Err(quota(
                    "ServiceSpecificCredentialsPerUserPerService",
                    PER_USER_PER_SERVICE,
                ));
            }
            let doc = CredentialDoc {
                id: id.clone(),
                user_name: user.name.clone(),
                service_name: input.service_name.clone(),
                service_user_name: service_user_name(&user.name, &account),
                active: true,
                created: now,
                expires,
            };
            let secret = new_secret(&doc.service_name, &doc.service_user_name);
            write(txn, &account, &doc, &secret)?;
            Ok((secret, doc))
        })
        .await?;
    Ok(CreateServiceSpecificCredentialResponse {
        service_specific_credential: Some(full(&doc, secret, now)),
    })
}

pub(crate) async fn reset_service_specific_credential(
    svc: &IamService,
    ctx: &RequestContext,
    input: ResetServiceSpecificCredentialRequest,
) -> Result<ResetServiceSpecificCredentialResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let user = named_user(ctx, input.user_name)?;
    let now = records::now_secs(ctx);
    let (secret, doc) = svc
        .write(move |txn| {
            let (_, doc) = load(txn, &account, &user, &input.service_specific_credential_id)?;
            let secret = new_secret(&doc.service_name, &doc.service_user_name);
            write(txn, &account, &doc, &secret)?;
            Ok((secret, doc))
        })
        .await?;
    Ok(ResetServiceSpecificCredentialResponse {
        service_specific_credential: Some(full(&doc, secret, now)),
    })
}

pub(crate) async fn update_service_specific_credential(
    svc: &IamService,
    ctx: &RequestContext,
    input: UpdateServiceSpecificCredentialRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    let user = named_user(ctx, input.user_name)?;
    let active = user_records::activates(input.status)?;
    svc.write(move |txn| {
        let (key, mut doc) = load(txn, &account, &user, &input.service_specific_credential_id)?;
        let Some(record) = txn.get(SERVICE_CREDENTIALS, &key)? else {
            return Err(not_found(&input.service_specific_credential_id));
        };
        doc.active = active;
        let mut fresh = NewRecord::new(to_json(&doc)?);
        fresh.sealed = record.sealed;
        txn.put(SERVICE_CREDENTIALS, &key, fresh)?;
        Ok(())
    })
    .await
}

pub(crate) async fn delete_service_specific_credential(
    svc: &IamService,
    ctx: &RequestContext,
    input: DeleteServiceSpecificCredentialRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    let user = named_user(ctx, input.user_name)?;
    svc.write(move |txn| {
        let (key, _) = load(txn, &account, &user, &input.service_specific_credential_id)?;
        txn.delete(SERVICE_CREDENTIALS, &key)?;
        Ok(())
    })
    .await
}

pub(crate) async fn list_service_specific_credentials(
    svc: &IamService,
    ctx: &RequestContext,
    input: ListServiceSpecificCredentialsRequest,
) -> Result<ListServiceSpecificCredentialsResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let now = records::now_secs(ctx);
    let all_users = input.all_users.unwrap_or(false);
    let user = if all_users {
        None
    } else {
        Some(named_user(ctx, input.user_name.clone())?)
    };
    let page = svc
        .read(move |txn| {
            let mut creds: Vec<(String, CredentialDoc)> = match &user {
                Some(name) => {
                    let (_, u) = users::load(txn, &account, name)?;
                    of_user(txn, &account, &u.name)?
                }
                None => {
                    let p = format!("{account}/");
                    let mut out = Vec::new();
                    for k in records::keys_under(txn, SERVICE_CREDENTIALS, &p)? {
                        if let Some(d) =
                            records::get::<CredentialDoc>(txn, SERVICE_CREDENTIALS, &k)?
                        {
                            out.push((k, d));
                        }
                    }
                    out
                }
            };
            if let Some(service) = &input.service_name {
                creds.retain(|(_, d)| &d.service_name == service);
            }
            paging::in_memory(
                creds,
                |(k, _)| k.clone(),
                input.marker.as_deref(),
                input.max_items,
            )
        })
        .await?;
    Ok(ListServiceSpecificCredentialsResponse {
        is_truncated: Some(page.is_truncated()),
        marker: page.marker.clone(),
        service_specific_credentials: Some(
            page.items
                .into_iter()
                .map(|(_, d)| ServiceSpecificCredentialMetadata {
                    status: d.status(now),
                    service_credential_alias: d.alias(),
                    expiration_date: d.expires.map(Timestamp::from_secs),
                    user_name: d.user_name,
                    service_user_name: Some(d.service_user_name),
                    create_date: Timestamp::from_secs(d.created),
                    service_specific_credential_id: d.id,
                    service_name: d.service_name,
                })
                .collect(),
        ),
    })
}

/// The service of `user`'s credential `id` (the `iam:ServiceSpecificCredentialServiceName`
/// condition key of the operations naming a credential); `None` when there is no such credential.
pub fn service_name_of(
    txn: &mut dyn Txn,
    account: &str,
    user: &str,
    id: &str,
) -> Result<Option<String>, coffer_store::StoreError> {
    let key = user_records::key_of(account, user, id);
    Ok(records::get::<CredentialDoc>(txn, SERVICE_CREDENTIALS, &key)?.map(|doc| doc.service_name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn doc(service: &str, expires: Option<i64>) -> CredentialDoc {
        CredentialDoc {
            id: "ACCAEXAMPLE".into(),
            user_name: "alice".into(),
            service_name: service.into(),
            service_user_name: service_user_name("alice", "123456789012"),
            active: true,
            created: 1_000,
            expires,
        }
    }

    #[test]
    fn a_bedrock_key_carries_its_service_user_name_and_a_secret() {
        let key = new_secret(BEDROCK, "alice-at-123456789012");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(key.strip_prefix(BEDROCK_KEY_PREFIX).unwrap())
            .unwrap();
        let decoded = String::from_utf8(decoded).unwrap();
        let (user, secret) = decoded.split_once(':').unwrap();
        assert_eq!(user, "alice-at-123456789012");
        assert_eq!(secret.len(), BEDROCK_SECRET_LEN);
        assert_ne!(key, new_secret(BEDROCK, "alice-at-123456789012"));
        // Other services get a password.
        assert_eq!(
            new_secret("codecommit.amazonaws.com", "x").len(),
            PASSWORD_LEN
        );
    }

    #[test]
    fn an_expiring_key_is_expired_from_its_expiration_on() {
        let expiring = doc(BEDROCK, Some(2_000));
        assert_eq!(expiring.status(1_999), StatusType::Active);
        assert_eq!(expiring.status(2_000), StatusType::Expired);
        let inactive = CredentialDoc {
            active: false,
            ..expiring
        };
        assert_eq!(inactive.status(1_999), StatusType::Inactive);
        assert_eq!(inactive.status(2_000), StatusType::Expired);
        assert_eq!(doc(BEDROCK, None).status(i64::MAX), StatusType::Active);
        // Only Bedrock keys have an alias, naming the user.
        assert_eq!(doc(BEDROCK, None).alias().as_deref(), Some("alice+1.1000"));
        assert_eq!(doc("codecommit.amazonaws.com", None).alias(), None);
    }
}
