//! Server certificates (`UploadServerCertificate` and friends): TLS certificates with their
//! private keys, as load balancers and CloudFront read them from IAM. The private key must match
//! the certificate and is kept only in the record's sealed part; no API returns it.

use aws_lc_rs::signature::{
    EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING,
    ECDSA_P521_SHA512_ASN1_SIGNING,
};
use coffer_model::context::RequestContext;
use coffer_model::iam::*;
use coffer_model::types::Timestamp;
use coffer_store::{NewRecord, Txn};
use serde::{Deserialize, Serialize};

use crate::accounts::to_json;
use crate::error::{Fail, TxResult};
use crate::ids;
use crate::paging;
use crate::records;
use crate::tags;
use crate::x509;
use crate::IamService;

/// `<account>/<lower-cased name>` → the certificate.
pub const SERVER_CERTIFICATES: &str = "iam_server_certificates";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ServerCertDoc {
    name: String,
    id: String,
    path: String,
    body: String,
    #[serde(default)]
    chain: Option<String>,
    /// Seconds since the epoch.
    uploaded: i64,
    expiration: i64,
    #[serde(default)]
    tags: Vec<Tag>,
}

impl ServerCertDoc {
    fn metadata(&self, account: &str) -> ServerCertificateMetadata {
        ServerCertificateMetadata {
            path: self.path.clone(),
            server_certificate_name: self.name.clone(),
            server_certificate_id: self.id.clone(),
            arn: format!(
                "arn:aws:iam::{account}:server-certificate{}{}",
                self.path, self.name
            ),
            upload_date: Some(Timestamp::from_secs(self.uploaded)),
            expiration: Some(Timestamp::from_secs(self.expiration)),
        }
    }
}

fn malformed_certificate() -> IamError {
    IamError::malformed_certificate(
        "Unable to parse certificate. Please ensure the certificate is in PEM format.",
    )
}

fn malformed_chain() -> IamError {
    IamError::malformed_certificate(
        "Unable to parse certificate chain. Please ensure the certificate chain is in PEM format.",
    )
}

fn malformed_key() -> IamError {
    IamError::malformed_certificate(
        "Unable to parse private key. Please ensure the private key is in PEM format.",
    )
}

fn not_found(name: &str) -> Fail {
    IamError::no_such_entity(format!(
        "The Server Certificate with name {name} cannot be found."
    ))
    .into()
}

fn exists(name: &str) -> Fail {
    IamError::entity_already_exists(format!(
        "The Server Certificate with name {name} already exists."
    ))
    .into()
}

/// The public key of a PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC), in the form a
/// certificate's subjectPublicKey holds it.
fn public_key_of(pem: &str) -> Result<Vec<u8>, IamError> {
    let key = x509::private_key(pem).ok_or_else(malformed_key)?;
    let der = key.secret_der();
    if let Ok(k) =
        aws_lc_rs::rsa::KeyPair::from_pkcs8(der).or_else(|_| aws_lc_rs::rsa::KeyPair::from_der(der))
    {
        return Ok(k.public_key().as_ref().to_vec());
    }
    for alg in [
        &ECDSA_P256_SHA256_ASN1_SIGNING,
        &ECDSA_P384_SHA384_ASN1_SIGNING,
        &ECDSA_P521_SHA512_ASN1_SIGNING,
    ] {
        if let Ok(k) = EcdsaKeyPair::from_private_key_der(alg, der) {
            return Ok(k.public_key().as_ref().to_vec());
        }
    }
    Err(malformed_key())
}

fn check_path(path: &str) -> Result<(), IamError> {
    if !path.starts_with('/') || !path.ends_with('/') {
        return Err(IamError::validation(
            "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.",
        ));
    }
    Ok(())
}

fn load(txn: &mut dyn Txn, account: &str, name: &str) -> TxResult<(String, ServerCertDoc)> {
    let key = records::key(account, name);
    records::get::<ServerCertDoc>(txn, SERVER_CERTIFICATES, &key)?
        .map(|d| (key, d))
        .ok_or_else(|| not_found(name))
}

/// A certificate's path and tags, for authorization.
pub fn path_and_tags(
    txn: &mut dyn Txn,
    account: &str,
    name: &str,
) -> Result<Option<(String, Vec<Tag>)>, coffer_store::StoreError> {
    Ok(
        records::get::<ServerCertDoc>(txn, SERVER_CERTIFICATES, &records::key(account, name))?
            .map(|d| (d.path, d.tags)),
    )
}

/// Rewrites a certificate's document, keeping its sealed private key.
fn rewrite(txn: &mut dyn Txn, old_key: &str, new_key: &str, doc: &ServerCertDoc) -> TxResult<()> {
    let Some(record) = txn.get(SERVER_CERTIFICATES, old_key)? else {
        return Err(not_found(&doc.name));
    };
    if old_key != new_key {
        txn.delete(SERVER_CERTIFICATES, old_key)?;
    }
    let mut fresh = NewRecord::new(to_json(doc)?);
    fresh.sealed = record.sealed;
    txn.put(SERVER_CERTIFICATES, new_key, fresh)?;
    Ok(())
}

pub(crate) async fn upload_server_certificate(
    svc: &IamService,
    ctx: &RequestContext,
    input: UploadServerCertificateRequest,
) -> Result<UploadServerCertificateResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let now = records::now_secs(ctx);
    let path = input.path.clone().unwrap_or_else(|| "/".to_string());
    check_path(&path)?;
    let cert = x509::parse(&input.certificate_body).ok_or_else(malformed_certificate)?;
    if let Some(chain) = &input.certificate_chain {
        x509::parse_chain(chain).ok_or_else(malformed_chain)?;
    }
    if public_key_of(input.private_key.expose())? != cert.public_key {
        return Err(IamError::key_pair_mismatch(
            "The request was rejected because the public key certificate and the private key do not match.",
        ));
    }
    if cert.not_after <= now {
        return Err(IamError::malformed_certificate(
            "The certificate has expired.",
        ));
    }
    let id = ids::unique_id("ASCA");
    let private_key = input.private_key.expose().clone();
    let doc = svc
        .write(move |txn| {
            let key = records::key(&account, &input.server_certificate_name);
            if txn.get(SERVER_CERTIFICATES, &key)?.is_some() {
                return Err(exists(&input.server_certificate_name));
            }
            let mut doc = ServerCertDoc {
                name: input.server_certificate_name.clone(),
                id: id.clone(),
                path: path.clone(),
                body: input.certificate_body.clone(),
                chain: input.certificate_chain.clone(),
                uploaded: now,
                expiration: cert.not_after,
                tags: Vec::new(),
            };
            tags::merge(
                &mut doc.tags,
                input.tags.as_deref().unwrap_or(&[]),
                "TagsPerServerCertificate",
            )?;
            let record =
                NewRecord::new(to_json(&doc)?).with_sealed(private_key.as_bytes().to_vec());
            txn.put(SERVER_CERTIFICATES, &key, record)?;
            Ok(doc)
        })
        .await?;
    Ok(UploadServerCertificateResponse {
        server_certificate_metadata: Some(doc.metadata(&ctx.principal.account_id)),
        tags: (!doc.tags.is_empty()).then(|| doc.tags.clone()),
    })
}

pub(crate) async fn get_server_certificate(
    svc: &IamService,
    ctx: &RequestContext,
    input: GetServerCertificateRequest,
) -> Result<GetServerCertificateResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let (_, doc) = svc
        .read(move |txn| load(txn, &account, &input.server_certificate_name))
        .await?;
    Ok(GetServerCertificateResponse {
        server_certificate: ServerCertificate {
            server_certificate_metadata: doc.metadata(&ctx.principal.account_id),
            certificate_body: doc.body.clone(),
            certificate_chain: doc.chain.clone(),
            tags: (!doc.tags.is_empty()).then(|| doc.tags.clone()),
        },
    })
}

pub(crate) async fn list_server_certificates(
    svc: &IamService,
    ctx: &RequestContext,
    input: ListServerCertificatesRequest,
) -> Result<ListServerCertificatesResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let page = svc
        .read(move |txn| {
            let prefix = input.path_prefix.clone().unwrap_or_else(|| "/".to_string());
            paging::scan(
                txn,
                SERVER_CERTIFICATES,
                &format!("{account}/"),
                input.marker.as_deref(),
                input.max_items,
                |_, raw| {
                    let doc: ServerCertDoc = records::decode(raw)?;
                    Ok(doc
                        .path
                        .starts_with(&prefix)
                        .then(|| doc.metadata(&account)))
                },
            )
        })
        .await?;
    Ok(ListServerCertificatesResponse {
        is_truncated: Some(page.is_truncated()),
        marker: page.marker,
        server_certificate_metadata_list: page.items,
    })
}

pub(crate) async fn update_server_certificate(
    svc: &IamService,
    ctx: &RequestContext,
    input: UpdateServerCertificateRequest,
) -> Result<(), IamError> {
    if let Some(p) = &input.new_path {
        check_path(p)?;
    }
    let account = ctx.principal.account_id.clone();
    svc.write(move |txn| {
        let (old_key, mut doc) = load(txn, &account, &input.server_certificate_name)?;
        if let Some(new_name) = &input.new_server_certificate_name {
            let new_key = records::key(&account, new_name);
            if new_key != old_key && txn.get(SERVER_CERTIFICATES, &new_key)?.is_some() {
                return Err(exists(new_name));
            }
            doc.name = new_name.clone();
        }
        if let Some(p) = &input.new_path {
            doc.path = p.clone();
        }
        let new_key = records::key(&account, &doc.name);
        rewrite(txn, &old_key, &new_key, &doc)
    })
    .await
}

pub(crate) async fn delete_server_certificate(
    svc: &IamService,
    ctx: &RequestContext,
    input: DeleteServerCertificateRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    svc.write(move |txn| {
        let (key, _) = load(txn, &account, &input.server_certificate_name)?;
        txn.delete(SERVER_CERTIFICATES, &key)?;
        Ok(())
    })
    .await
}

impl tags::TaggedRecord for ServerCertDoc {
    const TAG_QUOTA: &'static str = "TagsPerServerCertificate";
    type Key = String;
    fn load(txn: &mut dyn Txn, account: &str, id: &str) -> TxResult<(String, Self)> {
        load(txn, account, id)
    }
    fn save(&self, txn: &mut dyn Txn, key: &String) -> TxResult<()> {
        rewrite(txn, key, key, self)
    }
    fn tags_mut(&mut self) -> &mut Vec<Tag> {
        &mut self.tags
    }
}

pub(crate) async fn tag_server_certificate(
    svc: &IamService,
    ctx: &RequestContext,
    input: TagServerCertificateRequest,
) -> Result<(), IamError> {
    tags::tag::<ServerCertDoc>(svc, ctx, input.server_certificate_name, input.tags).await
}

pub(crate) async fn untag_server_certificate(
    svc: &IamService,
    ctx: &RequestContext,
    input: UntagServerCertificateRequest,
) -> Result<(), IamError> {
    tags::untag::<ServerCertDoc>(svc, ctx, input.server_certificate_name, input.tag_keys).await
}

pub(crate) async fn list_server_certificate_tags(
    svc: &IamService,
    ctx: &RequestContext,
    input: ListServerCertificateTagsRequest,
) -> Result<ListServerCertificateTagsResponse, IamError> {
    let page = tags::list::<ServerCertDoc>(
        svc,
        ctx,
        input.server_certificate_name,
        input.marker,
        input.max_items,
    )
    .await?;
    Ok(ListServerCertificateTagsResponse {
        is_truncated: Some(page.is_truncated()),
        marker: page.marker,
        tags: page.items,
    })
}
