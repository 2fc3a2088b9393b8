//! X.509 signing certificates of IAM users (`UploadSigningCertificate` and friends), which some
//! older AWS services used for SOAP request signing. Coffer checks that the body is one PEM
//! certificate with X.509's DER structure and stores it; nothing signs with it.

use coffer_model::context::RequestContext;
use coffer_model::iam::*;
use coffer_model::types::Timestamp;
use coffer_store::Txn;
use serde::{Deserialize, Serialize};

use crate::caller::named_user;
use crate::error::{quota, Fail, TxResult};
use crate::paging;
use crate::records;
use crate::user_records::{self, prefix, status};
use crate::users;
use crate::IamService;

/// `<account>/<lower-cased user>/<certificate id>` → the certificate.
pub const SIGNING_CERTIFICATES: &str = "iam_signing_certificates";

const PER_USER: usize = 2;
const ID_LEN: usize = 32;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct CertDoc {
    id: String,
    user_name: String,
    body: String,
    /// The DER bytes, Base64: duplicates are the same certificate whatever its PEM layout.
    der: String,
    active: bool,
    /// Seconds since the epoch.
    uploaded: i64,
}

/// Base32 like IAM's other ids (AWS's examples: `TA7SMP42TDN5Z26OBPJE7EXAMPLE`).
fn certificate_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    crate::ids::random_string("", ID_LEN, ALPHABET)
}

fn malformed() -> IamError {
    IamError::malformed_certificate(
        "Unable to parse certificate. Please ensure the certificate is in PEM format.",
    )
}

fn not_found(id: &str) -> Fail {
    IamError::no_such_entity(format!("The Certificate with id {id} cannot be found.")).into()
}

fn parse_pem(body: &str) -> Result<Vec<u8>, IamError> {
    crate::x509::parse(body)
        .map(|c| c.der)
        .ok_or_else(malformed)
}

fn of_user(txn: &mut dyn Txn, account: &str, user: &str) -> TxResult<Vec<(String, CertDoc)>> {
    user_records::of_user(txn, SIGNING_CERTIFICATES, account, user)
}

fn load(txn: &mut dyn Txn, account: &str, user: &str, id: &str) -> TxResult<(String, CertDoc)> {
    user_records::load(txn, SIGNING_CERTIFICATES, account, user, id, not_found)
}

fn shape(d: &CertDoc) -> SigningCertificate {
    SigningCertificate {
        user_name: d.user_name.clone(),
        certificate_id: d.id.clone(),
        certificate_body: d.body.clone(),
        status: status(d.active),
        upload_date: Some(Timestamp::from_secs(d.uploaded)),
    }
}

/// (active, uploaded) of a user's certificates, oldest first, for the credential report.
pub(crate) fn summary(txn: &mut dyn Txn, account: &str, user: &str) -> TxResult<Vec<(bool, i64)>> {
    let mut certs: Vec<(bool, i64)> = of_user(txn, account, user)?
        .into_iter()
        .map(|(_, d)| (d.active, d.uploaded))
        .collect();
    certs.sort_by_key(|c| c.1);
    Ok(certs)
}

pub(crate) fn user_has_certificates(
    txn: &mut dyn Txn,
    account: &str,
    user: &str,
) -> TxResult<bool> {
    Ok(records::any_under(
        txn,
        SIGNING_CERTIFICATES,
        &prefix(account, user),
    )?)
}

pub(crate) fn rename_user(txn: &mut dyn Txn, account: &str, old: &str, new: &str) -> TxResult<()> {
    for (k, mut doc) in of_user(txn, account, old)? {
        txn.delete(SIGNING_CERTIFICATES, &k)?;
        doc.user_name = new.to_string();
        records::put(
            txn,
            SIGNING_CERTIFICATES,
            &format!("{}{}", prefix(account, new), doc.id),
            &doc,
        )?;
    }
    Ok(())
}

pub(crate) async fn upload_signing_certificate(
    svc: &IamService,
    ctx: &RequestContext,
    input: UploadSigningCertificateRequest,
) -> Result<UploadSigningCertificateResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let now = records::now_secs(ctx);
    let user = named_user(ctx, input.user_name)?;
    let der = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        parse_pem(&input.certificate_body)?,
    );
    let id = certificate_id();
    let doc = svc
        .write(move |txn| {
            let (_, u) = users::load(txn, &account, &user)?;
            // A certificate belongs to one user of the account at most.
            for k in records::keys_under(txn, SIGNING_CERTIFICATES, &format!("{account}/"))? {
                if let Some(other) = records::get::<CertDoc>(txn, SIGNING_CERTIFICATES, &k)? {
                    if other.der == der {
                        return Err(IamError::duplicate_certificate(
                            "The request was rejected because the same certificate is associated with an IAM user in the account.",
                        )
                        .into());
                    }
                }
            }
            if of_user(txn, &account, &u.name)?.len() >= PER_USER {
                return Err(quota("SigningCertificatesPerUser", PER_USER));
            }
            let doc = CertDoc {
                id: id.clone(),
                user_name: u.name.clone(),
                body: input.certificate_body.clone(),
                der: der.clone(),
                active: true,
                uploaded: now,
            };
            records::put(
                txn,
                SIGNING_CERTIFICATES,
                &format!("{}{}", prefix(&account, &u.name), doc.id),
                &doc,
            )?;
            Ok(doc)
        })
        .await?;
    Ok(UploadSigningCertificateResponse {
        certificate: shape(&doc),
    })
}

pub(crate) async fn list_signing_certificates(
    svc: &IamService,
    ctx: &RequestContext,
    input: ListSigningCertificatesRequest,
) -> Result<ListSigningCertificatesResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let user = named_user(ctx, input.user_name)?;
    let page = svc
        .read(move |txn| {
            let (_, u) = users::load(txn, &account, &user)?;
            let certs = of_user(txn, &account, &u.name)?;
            paging::in_memory(
                certs,
                |(k, _)| k.clone(),
                input.marker.as_deref(),
                input.max_items,
            )
        })
        .await?;
    Ok(ListSigningCertificatesResponse {
        is_truncated: Some(page.is_truncated()),
        marker: page.marker.clone(),
        certificates: page.items.iter().map(|(_, d)| shape(d)).collect(),
    })
}

pub(crate) async fn update_signing_certificate(
    svc: &IamService,
    ctx: &RequestContext,
    input: UpdateSigningCertificateRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    let user = named_user(ctx, input.user_name)?;
    let active = user_records::activates(input.status)?;
    svc.write(move |txn| {
        let (key, mut doc) = load(txn, &account, &user, &input.certificate_id)?;
        doc.active = active;
        records::put(txn, SIGNING_CERTIFICATES, &key, &doc)?;
        Ok(())
    })
    .await
}

pub(crate) async fn delete_signing_certificate(
    svc: &IamService,
    ctx: &RequestContext,
    input: DeleteSigningCertificateRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    let user = named_user(ctx, input.user_name)?;
    svc.write(move |txn| {
        let (key, _) = load(txn, &account, &user, &input.certificate_id)?;
        txn.delete(SIGNING_CERTIFICATES, &key)?;
        Ok(())
    })
    .await
}
