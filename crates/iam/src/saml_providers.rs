//! SAML 2.0 identity providers, which `AssumeRoleWithSAML` trusts. The provider holds the IdP's
//! metadata document (an `EntityDescriptor`); its ARN is
//! `arn:aws:iam::<acct>:saml-provider/<name>`. It may also hold up to two RSA private keys that
//! decrypt the IdP's encrypted assertions (`AddPrivateKey`, two during a rotation): they live
//! only in the record's sealed (encrypted) part and no API returns them; `GetSAMLProvider`
//! lists their ids and upload times.

use coffer_model::context::RequestContext;
use coffer_model::iam::*;
use coffer_model::types::Timestamp;
use coffer_model::Sensitive;
use coffer_store::{NewRecord, Txn};
use quick_xml::events::Event;
use quick_xml::Reader;
use serde::{Deserialize, Serialize};

use crate::accounts::to_json;
use crate::error::{invalid_arn, quota, Fail, TxResult};
use crate::ids;
use crate::policy_entities::all_of;
use crate::records;
use crate::tags;
use crate::IamService;

pub const SAML_PROVIDERS: &str = "iam_saml_providers";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamlProviderDoc {
    pub name: String,
    pub uuid: String,
    pub metadata: String,
    /// Seconds since the epoch.
    pub created: i64,
    /// The metadata's `validUntil`, seconds since the epoch.
    #[serde(default)]
    pub valid_until: Option<i64>,
    #[serde(default)]
    pub encryption_required: bool,
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// The private keys' ids and upload times (seconds); the keys are in the sealed part.
    #[serde(default)]
    pub private_keys: Vec<PrivateKeyDoc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrivateKeyDoc {
    pub key_id: String,
    pub uploaded: i64,
}

/// The record's sealed part: each private key (PEM, as uploaded) by id.
#[derive(Default, Serialize, Deserialize)]
struct SealedKeys {
    keys: Vec<SealedKey>,
}

#[derive(Serialize, Deserialize)]
struct SealedKey {
    key_id: String,
    pem: Sensitive<String>,
}

/// AWS's quota of private keys per SAML provider: the current one and its successor.
const PRIVATE_KEYS_PER_PROVIDER: usize = 2;
/// Key ids: `[A-Z0-9]{22,64}` in AWS's model; 26 base32 characters (130 random bits).
const KEY_ID_LEN: usize = 26;
const KEY_ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A provider as `AssumeRoleWithSAML` needs it: its document and its private keys (PEM).
pub struct SamlProvider {
    pub doc: SamlProviderDoc,
    pub private_keys: Vec<Sensitive<String>>,
}

impl SamlProviderDoc {
    pub fn arn(&self, account: &str) -> String {
        format!("arn:aws:iam::{account}:saml-provider/{}", self.name)
    }
}

/// The provider an ARN names in `account`, with its private keys, for STS SAML federation.
pub fn find(
    txn: &mut dyn Txn,
    account: &str,
    arn: &str,
) -> Result<Option<SamlProvider>, coffer_store::StoreError> {
    let Ok(Some(key)) = key_of_arn(account, arn) else {
        return Ok(None);
    };
    let Some((doc, sealed)) = read(txn, &key)? else {
        return Ok(None);
    };
    Ok(Some(SamlProvider {
        doc,
        private_keys: sealed.keys.into_iter().map(|k| k.pem).collect(),
    }))
}

/// The document and sealed keys stored under `key`.
fn read(
    txn: &mut dyn Txn,
    key: &str,
) -> Result<Option<(SamlProviderDoc, SealedKeys)>, coffer_store::StoreError> {
    let Some(record) = txn.get(SAML_PROVIDERS, key)? else {
        return Ok(None);
    };
    let doc = records::decode(&record.doc)?;
    let sealed = match &record.sealed {
        Some(bytes) => records::decode(bytes.expose())?,
        None => SealedKeys::default(),
    };
    Ok(Some((doc, sealed)))
}

/// Writes the document and the sealed keys (no sealed part without keys).
fn write(
    txn: &mut dyn Txn,
    key: &str,
    doc: &SamlProviderDoc,
    sealed: &SealedKeys,
) -> Result<(), coffer_store::StoreError> {
    let mut record = NewRecord::new(to_json(doc)?);
    if !sealed.keys.is_empty() {
        record = record.with_sealed(to_json(sealed)?);
    }
    txn.put(SAML_PROVIDERS, key, record)
}

fn key_of_arn(account: &str, arn: &str) -> TxResult<Option<String>> {
    let rest = arn.strip_prefix("arn:aws:iam::").ok_or_else(invalid_arn)?;
    let (owner, resource) = rest.split_once(':').ok_or_else(invalid_arn)?;
    let name = resource
        .strip_prefix("saml-provider/")
        .ok_or_else(invalid_arn)?;
    Ok((owner == account && !name.is_empty()).then(|| records::key(account, name)))
}

fn not_found(arn: &str) -> Fail {
    IamError::no_such_entity(format!("Manifest not found for arn {arn}")).into()
}

fn load(txn: &mut dyn Txn, account: &str, arn: &str) -> TxResult<(String, SamlProviderDoc)> {
    let (key, doc, _) = load_with_keys(txn, account, arn)?;
    Ok((key, doc))
}

fn load_with_keys(
    txn: &mut dyn Txn,
    account: &str,
    arn: &str,
) -> TxResult<(String, SamlProviderDoc, SealedKeys)> {
    let Some(key) = key_of_arn(account, arn)? else {
        return Err(not_found(arn));
    };
    read(txn, &key)?
        .map(|(doc, sealed)| (key, doc, sealed))
        .ok_or_else(|| not_found(arn))
}

fn unparsable() -> IamError {
    IamError::invalid_input("Could not parse metadata")
}

/// Checks that `doc` is well-formed XML whose root is a SAML metadata `EntityDescriptor`;
/// returns its `validUntil`, if any.
fn parse_metadata(doc: &str) -> Result<Option<i64>, IamError> {
    let mut reader = Reader::from_str(doc);
    let mut valid_until = None;
    let mut saw_root = false;
    let mut depth: usize = 0;
    loop {
        let event = reader.read_event().map_err(|_| unparsable())?;
        let event_kind = match &event {
            Event::Start(_) => Kind::Start,
            _ => Kind::Other,
        };
        match event {
            Event::Start(e) | Event::Empty(e) if !saw_root => {
                if e.local_name().as_ref() != b"EntityDescriptor" {
                    return Err(unparsable());
                }
                saw_root = true;
                for attr in e.attributes() {
                    let attr = attr.map_err(|_| unparsable())?;
                    if attr.key.local_name().as_ref() == b"validUntil" {
                        let value = attr.unescape_value().map_err(|_| unparsable())?;
                        let ts = Timestamp::parse_iso8601(&value).ok_or_else(unparsable)?;
                        valid_until = Some(ts.as_secs_f64() as i64);
                    }
                }
                if matches!(event_kind, Kind::Start) {
                    depth = 1;
                }
            }
            // A second root element.
            Event::Start(_) | Event::Empty(_) if depth == 0 => return Err(unparsable()),
            Event::Start(_) => depth += 1,
            Event::End(_) => depth = depth.saturating_sub(1),
            // Text outside the root element.
            Event::Text(t) if depth == 0 && !t.iter().all(u8::is_ascii_whitespace) => {
                return Err(unparsable());
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_root || depth != 0 {
        return Err(unparsable());
    }
    Ok(valid_until)
}

enum Kind {
    Start,
    Other,
}

/// `AddPrivateKey` must be an RSA private key in PEM (PKCS#8 or PKCS#1): assertions are
/// decrypted with RSA-OAEP.
fn check_private_key(pem: &str) -> Result<(), IamError> {
    let der = crate::x509::private_key(pem).map(|k| k.secret_der().to_vec());
    let rsa = der.is_some_and(|der| {
        aws_lc_rs::rsa::KeyPair::from_pkcs8(&der).is_ok()
            || aws_lc_rs::rsa::KeyPair::from_der(&der).is_ok()
    });
    if rsa {
        Ok(())
    } else {
        Err(IamError::invalid_input(
            "The private key is not a valid RSA private key in PEM format.",
        ))
    }
}

/// Adds `pem` under a new key id, within the quota.
fn add_private_key(
    doc: &mut SamlProviderDoc,
    sealed: &mut SealedKeys,
    pem: &str,
    now: i64,
) -> TxResult<()> {
    if doc.private_keys.len() >= PRIVATE_KEYS_PER_PROVIDER {
        return Err(quota(
            "PrivateKeysPerSAMLProvider",
            PRIVATE_KEYS_PER_PROVIDER,
        ));
    }
    let key_id = ids::random_string("", KEY_ID_LEN, KEY_ID_ALPHABET);
    doc.private_keys.push(PrivateKeyDoc {
        key_id: key_id.clone(),
        uploaded: now,
    });
    sealed.keys.push(SealedKey {
        key_id,
        pem: Sensitive::new(pem.to_string()),
    });
    Ok(())
}

fn uuid() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

pub(crate) async fn create_saml_provider(
    svc: &IamService,
    ctx: &RequestContext,
    input: CreateSAMLProviderRequest,
) -> Result<CreateSAMLProviderResponse, IamError> {
    if let Some(pem) = &input.add_private_key {
        check_private_key(pem.expose())?;
    }
    let account = ctx.principal.account_id.clone();
    let now = records::now_secs(ctx);
    let valid_until = parse_metadata(&input.saml_metadata_document)?;
    let id = uuid();
    svc.write(move |txn| {
        let key = records::key(&account, &input.name);
        if txn.get(SAML_PROVIDERS, &key)?.is_some() {
            return Err(IamError::entity_already_exists(format!(
                "SAMLProvider {} already exists",
                input.name
            ))
            .into());
        }
        let mut doc = SamlProviderDoc {
            name: input.name.clone(),
            uuid: id.clone(),
            metadata: input.saml_metadata_document.clone(),
            created: now,
            valid_until,
            encryption_required: input.assertion_encryption_mode
                == Some(AssertionEncryptionModeType::Required),
            tags: Vec::new(),
            private_keys: Vec::new(),
        };
        tags::merge(
            &mut doc.tags,
            input.tags.as_deref().unwrap_or(&[]),
            "TagsPerSAMLProvider",
        )?;
        let mut sealed = SealedKeys::default();
        if let Some(pem) = &input.add_private_key {
            add_private_key(&mut doc, &mut sealed, pem.expose(), now)?;
        }
        write(txn, &key, &doc, &sealed)?;
        Ok(CreateSAMLProviderResponse {
            saml_provider_arn: Some(doc.arn(&account)),
            tags: (!doc.tags.is_empty()).then(|| doc.tags.clone()),
        })
    })
    .await
}

pub(crate) async fn get_saml_provider(
    svc: &IamService,
    ctx: &RequestContext,
    input: GetSAMLProviderRequest,
) -> Result<GetSAMLProviderResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let doc = svc
        .read(move |txn| Ok(load(txn, &account, &input.saml_provider_arn)?.1))
        .await?;
    Ok(GetSAMLProviderResponse {
        saml_provider_uuid: Some(doc.uuid),
        saml_metadata_document: Some(doc.metadata),
        create_date: Some(Timestamp::from_secs(doc.created)),
        valid_until: doc.valid_until.map(Timestamp::from_secs),
        tags: (!doc.tags.is_empty()).then_some(doc.tags),
        assertion_encryption_mode: Some(if doc.encryption_required {
            AssertionEncryptionModeType::Required
        } else {
            AssertionEncryptionModeType::Allowed
        }),
        private_key_list: (!doc.private_keys.is_empty()).then(|| {
            doc.private_keys
                .iter()
                .map(|k| SAMLPrivateKey {
                    key_id: Some(k.key_id.clone()),
                    timestamp: Some(Timestamp::from_secs(k.uploaded)),
                })
                .collect()
        }),
    })
}

pub(crate) async fn list_saml_providers(
    svc: &IamService,
    ctx: &RequestContext,
    _input: ListSAMLProvidersRequest,
) -> Result<ListSAMLProvidersResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let list = svc
        .read(move |txn| {
            Ok(all_of::<SamlProviderDoc>(txn, SAML_PROVIDERS, &account)?
                .iter()
                .map(|p| SAMLProviderListEntry {
                    arn: Some(p.arn(&account)),
                    valid_until: p.valid_until.map(Timestamp::from_secs),
                    create_date: Some(Timestamp::from_secs(p.created)),
                })
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(ListSAMLProvidersResponse {
        saml_provider_list: Some(list),
    })
}

pub(crate) async fn update_saml_provider(
    svc: &IamService,
    ctx: &RequestContext,
    input: UpdateSAMLProviderRequest,
) -> Result<UpdateSAMLProviderResponse, IamError> {
    // AWS: "To rotate private keys, add your new private key and then remove the old key in a
    // separate request."
    if input.add_private_key.is_some() && input.remove_private_key.is_some() {
        return Err(IamError::invalid_input(
            "AddPrivateKey and RemovePrivateKey cannot be used in the same request.",
        ));
    }
    if let Some(pem) = &input.add_private_key {
        check_private_key(pem.expose())?;
    }
    let account = ctx.principal.account_id.clone();
    let now = records::now_secs(ctx);
    let valid_until = match &input.saml_metadata_document {
        Some(m) => Some(parse_metadata(m)?),
        None => None,
    };
    svc.write(move |txn| {
        let (key, mut doc, mut sealed) = load_with_keys(txn, &account, &input.saml_provider_arn)?;
        if let Some(m) = &input.saml_metadata_document {
            doc.metadata = m.clone();
            doc.valid_until = valid_until.flatten();
        }
        if let Some(mode) = input.assertion_encryption_mode {
            doc.encryption_required = mode == AssertionEncryptionModeType::Required;
        }
        if let Some(pem) = &input.add_private_key {
            add_private_key(&mut doc, &mut sealed, pem.expose(), now)?;
        }
        if let Some(key_id) = &input.remove_private_key {
            if !doc.private_keys.iter().any(|k| &k.key_id == key_id) {
                return Err(IamError::no_such_entity(format!(
                    "The private key with id {key_id} does not exist for this SAML provider."
                ))
                .into());
            }
            doc.private_keys.retain(|k| &k.key_id != key_id);
            sealed.keys.retain(|k| &k.key_id != key_id);
        }
        write(txn, &key, &doc, &sealed)?;
        Ok(UpdateSAMLProviderResponse {
            saml_provider_arn: Some(doc.arn(&account)),
        })
    })
    .await
}

pub(crate) async fn delete_saml_provider(
    svc: &IamService,
    ctx: &RequestContext,
    input: DeleteSAMLProviderRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    svc.write(move |txn| {
        let (key, _) = load(txn, &account, &input.saml_provider_arn)?;
        txn.delete(SAML_PROVIDERS, &key)?;
        Ok(())
    })
    .await
}

impl tags::TaggedRecord for SamlProviderDoc {
    const TAG_QUOTA: &'static str = "TagsPerSAMLProvider";
    type Key = String;
    fn load(txn: &mut dyn Txn, account: &str, id: &str) -> TxResult<(String, Self)> {
        load(txn, account, id)
    }
    /// Keeps the sealed private keys: only the document changes.
    fn save(&self, txn: &mut dyn Txn, key: &String) -> TxResult<()> {
        let sealed = read(txn, key)?
            .map(|(_, sealed)| sealed)
            .unwrap_or_default();
        write(txn, key, self, &sealed)?;
        Ok(())
    }
    fn tags_mut(&mut self) -> &mut Vec<Tag> {
        &mut self.tags
    }
}

pub(crate) async fn tag_saml_provider(
    svc: &IamService,
    ctx: &RequestContext,
    input: TagSAMLProviderRequest,
) -> Result<(), IamError> {
    tags::tag::<SamlProviderDoc>(svc, ctx, input.saml_provider_arn, input.tags).await
}

pub(crate) async fn untag_saml_provider(
    svc: &IamService,
    ctx: &RequestContext,
    input: UntagSAMLProviderRequest,
) -> Result<(), IamError> {
    tags::untag::<SamlProviderDoc>(svc, ctx, input.saml_provider_arn, input.tag_keys).await
}

pub(crate) async fn list_saml_provider_tags(
    svc: &IamService,
    ctx: &RequestContext,
    input: ListSAMLProviderTagsRequest,
) -> Result<ListSAMLProviderTagsResponse, IamError> {
    let page = tags::list::<SamlProviderDoc>(
        svc,
        ctx,
        input.saml_provider_arn,
        input.marker,
        input.max_items,
    )
    .await?;
    Ok(ListSAMLProviderTagsResponse {
        is_truncated: Some(page.is_truncated()),
        marker: page.marker,
        tags: page.items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_must_be_an_entity_descriptor() {
        let ok = r#"<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com" validUntil="2030-01-01T00:00:00Z">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/>
</md:EntityDescriptor>"#;
        assert_eq!(parse_metadata(ok).ok(), Some(Some(1_893_456_000)));
        assert!(parse_metadata("<EntityDescriptor/>").is_ok());
        assert!(parse_metadata("<EntitiesDescriptor/>").is_err());
        assert!(parse_metadata("not xml at all").is_err());
        assert!(parse_metadata("<EntityDescriptor><a></EntityDescriptor>").is_err());
        assert!(parse_metadata("<EntityDescriptor></EntityDescriptor><x/>").is_err());
        assert!(parse_metadata("<EntityDescriptor>").is_err());
    }
}
