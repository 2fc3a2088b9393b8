//! SSH public keys of IAM users (`UploadSSHPublicKey` and friends), as CodeCommit uses them. IAM
//! takes RSA keys of at least 2048 bits; Coffer reads them in OpenSSH format (`ssh-rsa AAAA…`).
//! The fingerprint is the MD5 of the key blob, as `ssh-keygen -E md5` shows it.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use coffer_model::context::RequestContext;
use coffer_model::iam::*;
use coffer_model::types::Timestamp;
use coffer_store::Txn;
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use crate::error::{quota, Fail, TxResult};
use crate::ids;
use crate::paging;
use crate::records;
use crate::user_records::{self, key_of, prefix, status};
use crate::users;
use crate::IamService;

/// `<account>/<lower-cased user>/<key id>` → the key.
pub const SSH_KEYS: &str = "iam_ssh_public_keys";

const KEYS_PER_USER: usize = 5;
const MIN_RSA_BITS: usize = 2048;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SshKeyDoc {
    id: String,
    user_name: String,
    body: String,
    fingerprint: String,
    /// The key as `n` and `e` (big-endian, no leading zeros), for PEM answers.
    modulus: Vec<u8>,
    exponent: Vec<u8>,
    active: bool,
    /// Seconds since the epoch.
    uploaded: i64,
}

fn of_user(txn: &mut dyn Txn, account: &str, user: &str) -> TxResult<Vec<(String, SshKeyDoc)>> {
    user_records::of_user(txn, SSH_KEYS, account, user)
}

fn load(txn: &mut dyn Txn, account: &str, user: &str, id: &str) -> TxResult<(String, SshKeyDoc)> {
    user_records::load(txn, SSH_KEYS, account, user, id, not_found)
}

pub(crate) fn user_has_keys(txn: &mut dyn Txn, account: &str, user: &str) -> TxResult<bool> {
    Ok(records::any_under(txn, SSH_KEYS, &prefix(account, user))?)
}

pub(crate) fn rename_user(txn: &mut dyn Txn, account: &str, old: &str, new: &str) -> TxResult<()> {
    for (k, mut doc) in of_user(txn, account, old)? {
        txn.delete(SSH_KEYS, &k)?;
        doc.user_name = new.to_string();
        records::put(txn, SSH_KEYS, &key_of(account, new, &doc.id), &doc)?;
    }
    Ok(())
}

fn unrecognized() -> IamError {
    IamError::unrecognized_public_key_encoding(
        "The request was rejected because the public key encoding format is unsupported or unrecognized.",
    )
}

fn invalid() -> IamError {
    IamError::invalid_public_key(
        "The request was rejected because the public key is malformed or otherwise invalid.",
    )
}

fn not_found(id: &str) -> Fail {
    IamError::no_such_entity(format!("The Public Key with id {id} cannot be found.")).into()
}

/// Reads one length-prefixed field of the SSH wire format.
fn field<'a>(blob: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    let value = blob.get(4..4 + len)?;
    *blob = &blob[4 + len..];
    Some(value)
}

fn strip_zeros(v: &[u8]) -> Vec<u8> {
    let first = v.iter().position(|b| *b != 0).unwrap_or(v.len());
    v[first..].to_vec()
}

/// A parsed RSA public key: its SSH blob, exponent and modulus.
struct RsaKey {
    blob: Vec<u8>,
    e: Vec<u8>,
    n: Vec<u8>,
}

/// `ssh-rsa <base64> [comment]`.
fn parse(body: &str) -> Result<RsaKey, IamError> {
    let mut parts = body.split_whitespace();
    let kind = parts.next().ok_or_else(unrecognized)?;
    if kind != "ssh-rsa" {
        return Err(unrecognized());
    }
    let blob = STANDARD
        .decode(parts.next().ok_or_else(unrecognized)?)
        .map_err(|_| unrecognized())?;
    let mut rest = blob.as_slice();
    let name = field(&mut rest).ok_or_else(invalid)?;
    let e = field(&mut rest).ok_or_else(invalid)?;
    let n = field(&mut rest).ok_or_else(invalid)?;
    if name != b"ssh-rsa" || !rest.is_empty() {
        return Err(invalid());
    }
    let (e, n) = (strip_zeros(e), strip_zeros(n));
    let bits = n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize);
    if e.is_empty() || bits < MIN_RSA_BITS {
        return Err(invalid());
    }
    Ok(RsaKey { blob, e, n })
}

fn fingerprint(blob: &[u8]) -> String {
    Md5::digest(blob)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// DER: tag, length, contents.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

fn der_uint(v: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(v.len() + 1);
    if v.first().is_some_and(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(v);
    der(0x02, &content)
}

/// The key as a PEM `PUBLIC KEY` (X.509 SubjectPublicKeyInfo).
fn pem(n: &[u8], e: &[u8]) -> String {
    const RSA_ALGORITHM: &[u8] = &[
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let rsa_key = der(0x30, &[der_uint(n), der_uint(e)].concat());
    let mut bits = vec![0u8];
    bits.extend(rsa_key);
    let spki = der(0x30, &[RSA_ALGORITHM.to_vec(), der(0x03, &bits)].concat());
    let b64 = STANDARD.encode(spki);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        lines.join("\n")
    )
}

fn shape(doc: &SshKeyDoc, body: String) -> SSHPublicKey {
    SSHPublicKey {
        user_name: doc.user_name.clone(),
        ssh_public_key_id: doc.id.clone(),
        fingerprint: doc.fingerprint.clone(),
        ssh_public_key_body: body,
        status: status(doc.active),
        upload_date: Some(Timestamp::from_secs(doc.uploaded)),
    }
}

pub(crate) async fn upload_ssh_public_key(
    svc: &IamService,
    ctx: &RequestContext,
    input: UploadSSHPublicKeyRequest,
) -> Result<UploadSSHPublicKeyResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let now = records::now_secs(ctx);
    let RsaKey { blob, e, n } = parse(&input.ssh_public_key_body)?;
    let fp = fingerprint(&blob);
    let id = ids::ssh_public_key_id();
    let doc = svc
        .write(move |txn| {
            let (_, user) = users::load(txn, &account, &input.user_name)?;
            let existing = of_user(txn, &account, &user.name)?;
            if existing.iter().any(|(_, k)| k.fingerprint == fp) {
                return Err(IamError::duplicate_ssh_public_key(
                    "The request was rejected because the SSH public key is already associated with the specified IAM user.",
                )
                .into());
            }
            if existing.len() >= KEYS_PER_USER {
                return Err(quota("PublicKeysPerUser", KEYS_PER_USER));
            }
            let doc = SshKeyDoc {
                id: id.clone(),
                user_name: user.name.clone(),
                body: input.ssh_public_key_body.trim().to_string(),
                fingerprint: fp.clone(),
                modulus: n.clone(),
                exponent: e.clone(),
                active: true,
                uploaded: now,
            };
            records::put(txn, SSH_KEYS, &key_of(&account, &user.name, &id), &doc)?;
            Ok(doc)
        })
        .await?;
    Ok(UploadSSHPublicKeyResponse {
        ssh_public_key: Some(shape(&doc, doc.body.clone())),
    })
}

pub(crate) async fn get_ssh_public_key(
    svc: &IamService,
    ctx: &RequestContext,
    input: GetSSHPublicKeyRequest,
) -> Result<GetSSHPublicKeyResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let encoding = input.encoding;
    let (_, doc) = svc
        .read(move |txn| load(txn, &account, &input.user_name, &input.ssh_public_key_id))
        .await?;
    let body = match encoding {
        EncodingType::Ssh => doc.body.clone(),
        EncodingType::Pem => pem(&doc.modulus, &doc.exponent),
    };
    Ok(GetSSHPublicKeyResponse {
        ssh_public_key: Some(shape(&doc, body)),
    })
}

pub(crate) async fn list_ssh_public_keys(
    svc: &IamService,
    ctx: &RequestContext,
    input: ListSSHPublicKeysRequest,
) -> Result<ListSSHPublicKeysResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let subject = crate::caller::subject(ctx, input.user_name)?;
    let page = svc
        .read(move |txn| {
            let keys = match subject.user_name() {
                Some(name) => {
                    let (_, user) = users::load(txn, &account, name)?;
                    of_user(txn, &account, &user.name)?
                }
                None => Vec::new(),
            };
            paging::in_memory(
                keys,
                |(k, _)| k.clone(),
                input.marker.as_deref(),
                input.max_items,
            )
        })
        .await?;
    Ok(ListSSHPublicKeysResponse {
        is_truncated: Some(page.is_truncated()),
        marker: page.marker.clone(),
        ssh_public_keys: Some(
            page.items
                .into_iter()
                .map(|(_, d)| SSHPublicKeyMetadata {
                    user_name: d.user_name,
                    ssh_public_key_id: d.id,
                    status: status(d.active),
                    upload_date: Timestamp::from_secs(d.uploaded),
                })
                .collect(),
        ),
    })
}

pub(crate) async fn update_ssh_public_key(
    svc: &IamService,
    ctx: &RequestContext,
    input: UpdateSSHPublicKeyRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    let active = user_records::activates(input.status)?;
    svc.write(move |txn| {
        let (key, mut doc) = load(txn, &account, &input.user_name, &input.ssh_public_key_id)?;
        doc.active = active;
        records::put(txn, SSH_KEYS, &key, &doc)?;
        Ok(())
    })
    .await
}

pub(crate) async fn delete_ssh_public_key(
    svc: &IamService,
    ctx: &RequestContext,
    input: DeleteSSHPublicKeyRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    svc.write(move |txn| {
        let (key, _) = load(txn, &account, &input.user_name, &input.ssh_public_key_id)?;
        txn.delete(SSH_KEYS, &key)?;
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ssh_rsa(e: &[u8], n: &[u8]) -> String {
        let mut blob = Vec::new();
        for f in [b"ssh-rsa".as_slice(), e, n] {
            blob.extend((f.len() as u32).to_be_bytes());
            blob.extend_from_slice(f);
        }
        format!("ssh-rsa {} me@host", STANDARD.encode(blob))
    }

    #[test]
    fn rsa_keys_of_2048_bits_or_more_are_read() {
        let mut n = vec![0u8];
        n.extend(vec![0xC5; 256]);
        let RsaKey { e, n: m, .. } = parse(&ssh_rsa(&[1, 0, 1], &n)).ok().unwrap();
        assert_eq!(e, vec![1, 0, 1]);
        assert_eq!(m.len(), 256);
        let short = vec![0x7f; 128];
        assert!(parse(&ssh_rsa(&[1, 0, 1], &short)).is_err());
        assert!(parse("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA").is_err());
        assert!(parse("ssh-rsa !!!").is_err());
        let p = pem(&m, &e);
        assert!(p.starts_with(
            "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"
        ));
    }
}
