//! OpenID Connect identity providers, which `AssumeRoleWithWebIdentity` trusts. The provider's
//! ARN is its URL without the scheme: `arn:aws:iam::<acct>:oidc-provider/<host>/<path>`.

use coffer_model::context::RequestContext;
use coffer_model::iam::*;
use coffer_model::types::Timestamp;
use coffer_store::Txn;
use serde::{Deserialize, Serialize};

use crate::error::{invalid_arn, Fail, TxResult};
use crate::policy_entities::all_of;
use crate::records;
use crate::tags;
use crate::IamService;

pub const OIDC_PROVIDERS: &str = "iam_oidc_providers";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OidcProviderDoc {
    /// Without the scheme: `token.actions.githubusercontent.com`.
    pub url: String,
    pub client_ids: Vec<String>,
    pub thumbprints: Vec<String>,
    /// Seconds since the epoch.
    pub created: i64,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl OidcProviderDoc {
    pub fn arn(&self, account: &str) -> String {
        format!("arn:aws:iam::{account}:oidc-provider/{}", self.url)
    }
}

/// `https://host/path/` → `host/path`.
fn strip_url(url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://")?;
    let rest = rest.trim_end_matches('/');
    (!rest.is_empty()).then(|| rest.to_string())
}

fn key(account: &str, url: &str) -> String {
    format!("{account}/{url}")
}

/// The provider an issuer (`iss` claim, `https://…`) names, for STS web identity federation.
pub fn find_by_issuer(
    txn: &mut dyn Txn,
    account: &str,
    issuer: &str,
) -> Result<Option<OidcProviderDoc>, coffer_store::StoreError> {
    match strip_url(issuer) {
        Some(url) => records::get(txn, OIDC_PROVIDERS, &key(account, &url)),
        None => Ok(None),
    }
}

fn not_found(arn: &str) -> Fail {
    IamError::no_such_entity(format!("OpenIDConnect Provider not found for arn {arn}")).into()
}

/// The store key an ARN names in the caller's account (`None`: another account's provider).
fn key_of_arn(account: &str, arn: &str) -> TxResult<Option<String>> {
    let rest = arn.strip_prefix("arn:aws:iam::").ok_or_else(invalid_arn)?;
    let (owner, resource) = rest.split_once(':').ok_or_else(invalid_arn)?;
    let url = resource
        .strip_prefix("oidc-provider/")
        .ok_or_else(invalid_arn)?;
    Ok((owner == account && !url.is_empty()).then(|| key(account, url)))
}

fn load(txn: &mut dyn Txn, account: &str, arn: &str) -> TxResult<(String, OidcProviderDoc)> {
    let Some(key) = key_of_arn(account, arn)? else {
        return Err(not_found(arn));
    };
    records::get::<OidcProviderDoc>(txn, OIDC_PROVIDERS, &key)?
        .map(|doc| (key, doc))
        .ok_or_else(|| not_found(arn))
}

fn save(txn: &mut dyn Txn, key: &str, doc: &OidcProviderDoc) -> TxResult<()> {
    records::put(txn, OIDC_PROVIDERS, key, doc)?;
    Ok(())
}

/// IAM keeps at most five thumbprints per provider.
const MAX_THUMBPRINTS: usize = 5;

fn check_thumbprints(list: &[String]) -> TxResult<()> {
    if list.len() > MAX_THUMBPRINTS {
        return Err(
            IamError::invalid_input("Thumbprint list must contain fewer than 5 entries.").into(),
        );
    }
    Ok(())
}

fn dedup(list: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for item in list {
        if !out.contains(item) {
            out.push(item.clone());
        }
    }
    out
}

pub(crate) async fn create_open_id_connect_provider(
    svc: &IamService,
    ctx: &RequestContext,
    input: CreateOpenIDConnectProviderRequest,
) -> Result<CreateOpenIDConnectProviderResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let now = records::now_secs(ctx);
    let url = strip_url(&input.url)
        .ok_or_else(|| IamError::validation("Invalid Open ID Connect Provider URL"))?;
    let thumbprints = dedup(input.thumbprint_list.as_deref().unwrap_or(&[]));
    check_thumbprints(&thumbprints)?;
    svc.write(move |txn| {
        let key = key(&account, &url);
        if records::get::<OidcProviderDoc>(txn, OIDC_PROVIDERS, &key)?.is_some() {
            return Err(IamError::entity_already_exists(format!(
                "Provider with url https://{url} already exists."
            ))
            .into());
        }
        let mut doc = OidcProviderDoc {
            url: url.clone(),
            client_ids: dedup(input.client_id_list.as_deref().unwrap_or(&[])),
            thumbprints: thumbprints.clone(),
            created: now,
            tags: Vec::new(),
        };
        tags::merge(
            &mut doc.tags,
            input.tags.as_deref().unwrap_or(&[]),
            "TagsPerOpenIdConnectProvider",
        )?;
        save(txn, &key, &doc)?;
        Ok(CreateOpenIDConnectProviderResponse {
            open_id_connect_provider_arn: Some(doc.arn(&account)),
            tags: (!doc.tags.is_empty()).then(|| doc.tags.clone()),
        })
    })
    .await
}

pub(crate) async fn get_open_id_connect_provider(
    svc: &IamService,
    ctx: &RequestContext,
    input: GetOpenIDConnectProviderRequest,
) -> Result<GetOpenIDConnectProviderResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let doc = svc
        .read(move |txn| Ok(load(txn, &account, &input.open_id_connect_provider_arn)?.1))
        .await?;
    Ok(GetOpenIDConnectProviderResponse {
        url: Some(doc.url),
        client_id_list: Some(doc.client_ids),
        thumbprint_list: Some(doc.thumbprints),
        create_date: Some(Timestamp::from_secs(doc.created)),
        tags: (!doc.tags.is_empty()).then_some(doc.tags),
    })
}

pub(crate) async fn delete_open_id_connect_provider(
    svc: &IamService,
    ctx: &RequestContext,
    input: DeleteOpenIDConnectProviderRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    // Deleting a provider that does not exist succeeds, as in IAM.
    svc.write(move |txn| {
        if let Some(key) = key_of_arn(&account, &input.open_id_connect_provider_arn)? {
            txn.delete(OIDC_PROVIDERS, &key)?;
        }
        Ok(())
    })
    .await
}

pub(crate) async fn list_open_id_connect_providers(
    svc: &IamService,
    ctx: &RequestContext,
    _input: ListOpenIDConnectProvidersRequest,
) -> Result<ListOpenIDConnectProvidersResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let arns = svc
        .read(move |txn| {
            Ok(all_of::<OidcProviderDoc>(txn, OIDC_PROVIDERS, &account)?
                .iter()
                .map(|p| p.arn(&account))
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(ListOpenIDConnectProvidersResponse {
        open_id_connect_provider_list: Some(
            arns.into_iter()
                .map(|arn| OpenIDConnectProviderListEntry { arn: Some(arn) })
                .collect(),
        ),
    })
}

/// Applies `change` to the provider an ARN names.
async fn modify(
    svc: &IamService,
    ctx: &RequestContext,
    arn: String,
    change: impl Fn(&mut OidcProviderDoc) -> TxResult<()> + Send + 'static,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    svc.write(move |txn| {
        let (key, mut doc) = load(txn, &account, &arn)?;
        change(&mut doc)?;
        save(txn, &key, &doc)
    })
    .await
}

pub(crate) async fn add_client_id_to_open_id_connect_provider(
    svc: &IamService,
    ctx: &RequestContext,
    input: AddClientIDToOpenIDConnectProviderRequest,
) -> Result<(), IamError> {
    let client_id = input.client_id;
    modify(svc, ctx, input.open_id_connect_provider_arn, move |doc| {
        if !doc.client_ids.contains(&client_id) {
            doc.client_ids.push(client_id.clone());
        }
        Ok(())
    })
    .await
}

pub(crate) async fn remove_client_id_from_open_id_connect_provider(
    svc: &IamService,
    ctx: &RequestContext,
    input: RemoveClientIDFromOpenIDConnectProviderRequest,
) -> Result<(), IamError> {
    let client_id = input.client_id;
    // Removing a client id the provider does not have succeeds, as in IAM.
    modify(svc, ctx, input.open_id_connect_provider_arn, move |doc| {
        doc.client_ids.retain(|c| c != &client_id);
        Ok(())
    })
    .await
}

pub(crate) async fn update_open_id_connect_provider_thumbprint(
    svc: &IamService,
    ctx: &RequestContext,
    input: UpdateOpenIDConnectProviderThumbprintRequest,
) -> Result<(), IamError> {
    let thumbprints = dedup(&input.thumbprint_list);
    check_thumbprints(&thumbprints)?;
    modify(svc, ctx, input.open_id_connect_provider_arn, move |doc| {
        doc.thumbprints = thumbprints.clone();
        Ok(())
    })
    .await
}

impl tags::TaggedRecord for OidcProviderDoc {
    const TAG_QUOTA: &'static str = "TagsPerOpenIdConnectProvider";
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

pub(crate) async fn tag_open_id_connect_provider(
    svc: &IamService,
    ctx: &RequestContext,
    input: TagOpenIDConnectProviderRequest,
) -> Result<(), IamError> {
    tags::tag::<OidcProviderDoc>(svc, ctx, input.open_id_connect_provider_arn, input.tags).await
}

pub(crate) async fn untag_open_id_connect_provider(
    svc: &IamService,
    ctx: &RequestContext,
    input: UntagOpenIDConnectProviderRequest,
) -> Result<(), IamError> {
    tags::untag::<OidcProviderDoc>(svc, ctx, input.open_id_connect_provider_arn, input.tag_keys)
        .await
}

pub(crate) async fn list_open_id_connect_provider_tags(
    svc: &IamService,
    ctx: &RequestContext,
    input: ListOpenIDConnectProviderTagsRequest,
) -> Result<ListOpenIDConnectProviderTagsResponse, IamError> {
    let page = tags::list::<OidcProviderDoc>(
        svc,
        ctx,
        input.open_id_connect_provider_arn,
        input.marker,
        input.max_items,
    )
    .await?;
    Ok(ListOpenIDConnectProviderTagsResponse {
        is_truncated: Some(page.is_truncated()),
        marker: page.marker,
        tags: page.items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_scheme_and_trailing_slash() {
        assert_eq!(
            strip_url("https://token.actions.githubusercontent.com/"),
            Some("token.actions.githubusercontent.com".to_string())
        );
        assert_eq!(
            strip_url("https://oidc.eks.us-east-1.amazonaws.com/id/ABC"),
            Some("oidc.eks.us-east-1.amazonaws.com/id/ABC".to_string())
        );
        assert_eq!(strip_url("http://insecure.example.com"), None);
        assert_eq!(strip_url("https://"), None);
    }
}
