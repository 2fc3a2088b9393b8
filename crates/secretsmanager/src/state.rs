//! How a secret is stored: one metadata record per secret (names, tags, labels, dates — never a
//! value) and one record per version whose sealed part holds the value, encrypted at rest.
//!
//! Keys start with `<account>/<region>/` so that regions are isolated and a prefix scan lists a
//! region. Version keys add `|<arn suffix>|<version id>`: `|` cannot occur in a secret name, so a
//! secret's versions never share a prefix with another secret's, and the ARN suffix keeps a
//! re-created secret from ever seeing versions of a force-deleted one with the same name.

use std::collections::BTreeMap;

use coffer_iam::principal_ids::PrincipalIds;
use coffer_model::secretsmanager::{RotationRulesType, Tag};
use coffer_store::{NewRecord, Record, SecretBytes, Txn};
use serde::{Deserialize, Serialize};

use crate::error::Fail;
use crate::index::SortValues;

pub(crate) const SECRETS: &str = "sm_secret";
pub(crate) const VERSIONS: &str = "sm_version";

pub(crate) const AWSCURRENT: &str = "AWSCURRENT";
pub(crate) const AWSPREVIOUS: &str = "AWSPREVIOUS";
pub(crate) const AWSPENDING: &str = "AWSPENDING";

pub(crate) const DAY_MS: i64 = 86_400_000;

/// Where a request's secrets live: the caller's account and the signed region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scope {
    pub account: String,
    pub region: String,
}

impl Scope {
    pub fn prefix(&self) -> String {
        format!("{}/{}/", self.account, self.region)
    }

    pub fn secret_key(&self, name: &str) -> String {
        format!("{}/{}/{}", self.account, self.region, name)
    }

    pub fn arn(&self, name: &str, suffix: &str) -> String {
        format!(
            "arn:aws:secretsmanager:{}:{}:secret:{}-{}",
            self.region, self.account, name, suffix
        )
    }

    pub fn version_key(&self, name: &str, suffix: &str, version_id: &str) -> String {
        format!(
            "{}/{}/{}|{}|{}",
            self.account, self.region, name, suffix, version_id
        )
    }
}

/// One version's bookkeeping, kept in the secret's record so that DescribeSecret and
/// ListSecretVersionIds read a single record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct VersionMeta {
    pub id: String,
    pub created_ms: i64,
    #[serde(default)]
    pub stages: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_accessed_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub(crate) struct RotationState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<RotationRulesType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rotated_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_rotation_ms: Option<i64>,
}

/// The metadata record of a secret. Never holds a secret value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SecretDoc {
    pub name: String,
    /// The 6 random characters ending the ARN, fixed for the life of the secret.
    pub suffix: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    pub created_ms: i64,
    pub last_changed_ms: i64,
    /// Midnight UTC of the day of the last GetSecretValue (AWS reports the day only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_accessed_ms: Option<i64>,
    /// When DeleteSecret was called; set while the secret is scheduled for deletion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_ms: Option<i64>,
    /// When the recovery window ends and the secret is purged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_ms: Option<i64>,
    /// `None` until tagged: AWS omits `Tags` until then, but answers `[]` once the last is removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
    /// Versions in creation order, including deprecated (unlabeled) ones.
    #[serde(default)]
    pub versions: Vec<VersionMeta>,
    #[serde(default)]
    pub rotation: RotationState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The IAM users and roles `policy` named when it was saved, by unique id (see
    /// `coffer_iam::principal_ids`): a user re-created under a deleted one's name is not granted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub policy_principal_ids: PrincipalIds,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// Set on a replica: the region of the primary it mirrors. Replicas are read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_region: Option<String>,
    /// On a primary: the regions it replicates to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<crate::replication::ReplicaState>,
}

impl SecretDoc {
    pub fn arn(&self, scope: &Scope) -> String {
        scope.arn(&self.name, &self.suffix)
    }

    pub fn is_deleted(&self) -> bool {
        self.deleted_ms.is_some()
    }

    /// A secret whose recovery window has ended no longer exists, purged or not yet.
    pub fn is_expired(&self, now_ms: i64) -> bool {
        self.deletion_ms.is_some_and(|d| d <= now_ms)
    }

    pub fn version(&self, id: &str) -> Option<&VersionMeta> {
        self.versions.iter().find(|v| v.id == id)
    }

    pub fn version_mut(&mut self, id: &str) -> Option<&mut VersionMeta> {
        self.versions.iter_mut().find(|v| v.id == id)
    }

    pub fn version_with_stage(&self, stage: &str) -> Option<&VersionMeta> {
        self.versions
            .iter()
            .find(|v| v.stages.iter().any(|s| s == stage))
    }

    pub fn current(&self) -> Option<&VersionMeta> {
        self.version_with_stage(AWSCURRENT)
    }
}

pub(crate) fn decode_doc(record: &Record) -> Result<SecretDoc, Fail> {
    serde_json::from_slice(&record.doc).map_err(|e| {
        Fail::Store(coffer_store::StoreError::Corrupt(format!(
            "secret metadata: {e}"
        )))
    })
}

pub(crate) fn encode_doc(doc: &SecretDoc) -> Result<Vec<u8>, Fail> {
    serde_json::to_vec(doc).map_err(|e| {
        Fail::Store(coffer_store::StoreError::Corrupt(format!(
            "secret metadata: {e}"
        )))
    })
}

/// Reads a secret's record, treating one whose recovery window ended as already purged.
pub(crate) fn load(
    txn: &mut dyn Txn,
    scope: &Scope,
    name: &str,
    now_ms: i64,
) -> Result<Option<SecretDoc>, Fail> {
    match txn.get(SECRETS, &scope.secret_key(name))? {
        None => Ok(None),
        Some(rec) => {
            let doc = decode_doc(&rec)?;
            if doc.is_expired(now_ms) {
                Ok(None)
            } else {
                Ok(Some(doc))
            }
        }
    }
}

/// Writes a changed secret, refusing changes to a replica and carrying every change of a primary
/// to its replicas in the same transaction.
pub(crate) fn save(txn: &mut dyn Txn, scope: &Scope, doc: &SecretDoc) -> Result<(), Fail> {
    if doc.primary_region.is_some() {
        return Err(Fail::Aws(crate::replication::replica_read_only()));
    }
    put_doc(txn, scope, doc)?;
    crate::replication::sync(txn, scope, doc)
}

/// Writes the record as is (access dates, replicas themselves), and moves its index entries whose
/// sort value changed (all of them when the record is new).
pub(crate) fn put_doc(txn: &mut dyn Txn, scope: &Scope, doc: &SecretDoc) -> Result<(), Fail> {
    let key = scope.secret_key(&doc.name);
    let before = match txn.get(SECRETS, &key)? {
        Some(rec) => Some(SortValues::decode(&rec.doc)?),
        None => None,
    };
    if before.is_none() {
        crate::index::mark_built_if_empty(txn, scope)?;
    }
    let after = SortValues::of(doc);
    if before.as_ref() != Some(&after) {
        crate::index::update(txn, &scope.prefix(), &doc.name, before.as_ref(), &after)?;
    }
    let bytes = encode_doc(doc)?;
    txn.put(SECRETS, &key, NewRecord::new(bytes))?;
    Ok(())
}

/// Removes a secret and every version it holds.
pub(crate) fn purge(txn: &mut dyn Txn, scope: &Scope, doc: &SecretDoc) -> Result<(), Fail> {
    for v in &doc.versions {
        txn.delete(VERSIONS, &scope.version_key(&doc.name, &doc.suffix, &v.id))?;
    }
    let key = scope.secret_key(&doc.name);
    // The entries are where the stored record put them, whatever the caller changed in `doc`.
    if let Some(rec) = txn.get(SECRETS, &key)? {
        let stored = SortValues::decode(&rec.doc)?;
        crate::index::remove(txn, &scope.prefix(), &doc.name, &stored)?;
    }
    txn.delete(SECRETS, &key)?;
    Ok(())
}

/// Removes a secret whose recovery window ended, if it is still stored; returns whether it was.
pub(crate) fn purge_if_expired(
    txn: &mut dyn Txn,
    scope: &Scope,
    name: &str,
    now_ms: i64,
) -> Result<bool, Fail> {
    if let Some(rec) = txn.get(SECRETS, &scope.secret_key(name))? {
        let doc = decode_doc(&rec)?;
        if doc.is_expired(now_ms) {
            purge(txn, scope, &doc)?;
            return Ok(true);
        }
    }
    Ok(false)
}

/// A stored secret value: which member it came in, and its bytes.
pub(crate) enum SecretValue {
    String(String),
    Binary(Vec<u8>),
}

impl zeroize::Zeroize for SecretValue {
    fn zeroize(&mut self) {
        match self {
            SecretValue::String(s) => s.zeroize(),
            SecretValue::Binary(b) => b.zeroize(),
        }
    }
}

impl Drop for SecretValue {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(self);
    }
}

const KIND_STRING: u8 = b's';
const KIND_BINARY: u8 = b'b';

impl SecretValue {
    pub fn bytes(&self) -> &[u8] {
        match self {
            SecretValue::String(s) => s.as_bytes(),
            SecretValue::Binary(b) => b,
        }
    }

    /// Same member and same bytes, compared in constant time.
    pub fn same_as(&self, other: &SecretValue) -> bool {
        let same_kind = matches!(
            (self, other),
            (SecretValue::String(_), SecretValue::String(_))
                | (SecretValue::Binary(_), SecretValue::Binary(_))
        );
        same_kind && SecretBytes::from(self.bytes()) == SecretBytes::from(other.bytes())
    }

    pub fn seal(&self) -> SecretBytes {
        let (kind, bytes) = match self {
            SecretValue::String(s) => (KIND_STRING, s.as_bytes()),
            SecretValue::Binary(b) => (KIND_BINARY, b.as_slice()),
        };
        let mut out = Vec::with_capacity(bytes.len() + 1);
        out.push(kind);
        out.extend_from_slice(bytes);
        SecretBytes::new(out)
    }

    pub fn unseal(sealed: &SecretBytes) -> Result<SecretValue, Fail> {
        let corrupt = || Fail::Store(coffer_store::StoreError::Corrupt("secret value".into()));
        let raw = sealed.expose();
        match raw.split_first() {
            Some((&KIND_STRING, rest)) => {
                let s = std::str::from_utf8(rest).map_err(|_| corrupt())?;
                Ok(SecretValue::String(s.to_owned()))
            }
            Some((&KIND_BINARY, rest)) => Ok(SecretValue::Binary(rest.to_vec())),
            _ => Err(corrupt()),
        }
    }
}

pub(crate) fn write_version(
    txn: &mut dyn Txn,
    scope: &Scope,
    doc: &SecretDoc,
    version_id: &str,
    value: &SecretValue,
) -> Result<(), Fail> {
    let key = scope.version_key(&doc.name, &doc.suffix, version_id);
    txn.put(
        VERSIONS,
        &key,
        NewRecord::new(b"{}".to_vec()).with_sealed(value.seal()),
    )?;
    Ok(())
}

pub(crate) fn read_version(
    txn: &mut dyn Txn,
    scope: &Scope,
    doc: &SecretDoc,
    version_id: &str,
) -> Result<Option<SecretValue>, Fail> {
    let key = scope.version_key(&doc.name, &doc.suffix, version_id);
    match txn.get(VERSIONS, &key)? {
        None => Ok(None),
        Some(rec) => match rec.sealed {
            Some(sealed) => SecretValue::unseal(&sealed).map(Some),
            None => Ok(None),
        },
    }
}

pub(crate) fn midnight(ms: i64) -> i64 {
    ms - ms.rem_euclid(DAY_MS)
}

/// Removes every expired secret of every scope (see `SecretsManagerService::purge_expired`).
pub(crate) async fn purge_all_expired(
    store: &coffer_store::Store,
    now_ms: i64,
) -> Result<usize, coffer_store::StoreError> {
    const BATCH: usize = 500;
    let mut after: Option<String> = None;
    let mut purged = 0;
    loop {
        let start = after.clone();
        // One transaction per batch keeps each short; a secret restored meanwhile is re-checked
        // inside the transaction that would delete it.
        let (count, last, done) = store
            .write(move |txn| -> Result<_, coffer_store::StoreError> {
                let rows = txn.scan(SECRETS, "", start.as_deref(), BATCH)?;
                let done = rows.len() < BATCH;
                let last = rows.last().map(|(k, _)| k.clone());
                let mut count = 0;
                for (key, rec) in rows {
                    let Ok(doc) = serde_json::from_slice::<SecretDoc>(&rec.doc) else {
                        continue;
                    };
                    if !doc.is_expired(now_ms) {
                        continue;
                    }
                    for v in &doc.versions {
                        let vkey = format!("{key}|{}|{}", doc.suffix, v.id);
                        txn.delete(VERSIONS, &vkey)?;
                    }
                    txn.delete(SECRETS, &key)?;
                    if let Some((prefix, name)) = split_secret_key(&key) {
                        crate::index::remove(txn, prefix, name, &SortValues::of(&doc))?;
                    }
                    count += 1;
                }
                Ok((count, last, done))
            })
            .await?;
        purged += count;
        if done || last.is_none() {
            return Ok(purged);
        }
        after = last;
    }
}

/// `<account>/<region>/` and the name of a secret record's key (names may contain `/`).
fn split_secret_key(key: &str) -> Option<(&str, &str)> {
    let first = key.find('/')?;
    let second = first + 1 + key[first + 1..].find('/')?;
    Some(key.split_at(second + 1))
}
