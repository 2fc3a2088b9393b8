//! Temporary credentials (`ASIA…` keys) as stored: who the session is, what narrows it, when it
//! ends. The secret access key and session token live in the record's sealed (encrypted) part;
//! an index by expiry lets the maintenance task purge ended sessions without a full scan.

use coffer_store::{NewRecord, Record, StoreError, Txn};
use serde::{Deserialize, Serialize};

pub const SESSIONS: &str = "sts_sessions";
/// `<expiry millis, zero-padded>/<access key id>`, so a prefix scan returns the oldest first.
pub const SESSION_EXPIRY: &str = "sts_session_expiry";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionKind {
    /// `AssumeRole*`: the role's permissions, narrowed by session policies.
    AssumedRole,
    /// `GetFederationToken`: the calling user's permissions ∩ the session policies.
    FederatedUser,
    /// `GetSessionToken`: the calling user (or root) itself, possibly MFA-authenticated.
    SessionToken,
    /// `GetDelegatedAccessToken` for an IAM user or the root user that accepted a delegation
    /// request: its permissions ∩ the delegated permissions (the session policy). A role
    /// session that accepted one yields an `AssumedRole` session instead.
    Delegated,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRole {
    pub name: String,
    /// `/` or `/a/b/`.
    pub path: String,
    /// `AROA…`: a role deleted and re-created under the same name is another role.
    pub role_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionDoc {
    pub kind: SessionKind,
    pub account_id: String,
    /// `arn:aws:sts::A:assumed-role/R/S`, `arn:aws:sts::A:federated-user/N`, or for session
    /// tokens the user's (or root's) own ARN.
    pub arn: String,
    /// `AROA…:S`, `A:N`, `AIDA…` or the account id.
    pub user_id: String,
    pub issued_at_millis: i64,
    pub expires_at_millis: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<SessionRole>,
    /// The IAM user behind a federation or session token; `None` for root (and role sessions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// The long-term identity's ARN that obtained a federation token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_arn: Option<String>,
    /// The unique id (`AIDA…`) of the IAM user behind a session or federation token: the
    /// credentials end with that user, whoever takes its name later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub session_policies: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_arns: Vec<String>,
    /// Session tags, in the order given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitive_tag_keys: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
    /// When the MFA code was verified, for `aws:MultiFactorAuthAge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_authenticated_at_millis: Option<i64>,
    /// Whether a role session was obtained with another role session's credentials.
    #[serde(default)]
    pub chained: bool,
}

/// The sealed part of a session record.
#[derive(Serialize, Deserialize)]
struct SealedCredentials {
    secret: String,
    token: String,
}

pub struct FoundSession {
    pub doc: SessionDoc,
    pub secret_access_key: String,
    pub session_token: String,
}

impl std::fmt::Debug for FoundSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FoundSession")
            .field("doc", &self.doc)
            .finish_non_exhaustive()
    }
}

pub const TEMPORARY_KEY_PREFIX: &str = "ASIA";

const UPPER_BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn random(prefix: &str, len: usize, alphabet: &[u8]) -> String {
    coffer_iam::ids::random_string(prefix, len, alphabet)
}

/// New temporary credentials: `ASIA…` (20 characters), a 40-character secret and an opaque token
/// (random, so it carries nothing a client could read or forge).
pub fn new_credentials() -> (String, String, String) {
    (
        random(TEMPORARY_KEY_PREFIX, 20, UPPER_BASE32),
        random("", 40, BASE64),
        random("IQoJb3JpZ2luX2VjE", 356, BASE64),
    )
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn expiry_key(expires_at_millis: i64, access_key_id: &str) -> String {
    format!("{:020}/{access_key_id}", expires_at_millis.max(0))
}

pub fn insert(
    txn: &mut dyn Txn,
    access_key_id: &str,
    secret_access_key: &str,
    session_token: &str,
    doc: &SessionDoc,
) -> Result<(), StoreError> {
    let sealed = serde_json::to_vec(&SealedCredentials {
        secret: secret_access_key.to_string(),
        token: session_token.to_string(),
    })
    .map_err(corrupt)?;
    let record = NewRecord::new(serde_json::to_vec(doc).map_err(corrupt)?).with_sealed(sealed);
    txn.insert(SESSIONS, access_key_id, record)?;
    txn.put(
        SESSION_EXPIRY,
        &expiry_key(doc.expires_at_millis, access_key_id),
        NewRecord::new(b"{}".to_vec()),
    )
}

pub fn find(txn: &mut dyn Txn, access_key_id: &str) -> Result<Option<FoundSession>, StoreError> {
    txn.get(SESSIONS, access_key_id)?
        .map(from_record)
        .transpose()
}

/// Decodes a record of the sessions table (one read with `Store::get` on the hot path).
pub fn from_record(record: Record) -> Result<FoundSession, StoreError> {
    let doc: SessionDoc = serde_json::from_slice(&record.doc).map_err(corrupt)?;
    let sealed = record
        .sealed
        .ok_or_else(|| corrupt("a temporary credential has no secret"))?;
    let creds: SealedCredentials = serde_json::from_slice(sealed.expose()).map_err(corrupt)?;
    Ok(FoundSession {
        doc,
        secret_access_key: creds.secret,
        session_token: creds.token,
    })
}

/// Deletes up to `limit` sessions that ended before `now_millis`; returns how many.
pub fn purge_expired(
    txn: &mut dyn Txn,
    now_millis: i64,
    limit: usize,
) -> Result<usize, StoreError> {
    let rows = txn.scan(SESSION_EXPIRY, "", None, limit)?;
    let mut purged = 0;
    for (key, _) in rows {
        let Some((at, access_key_id)) = key.split_once('/') else {
            txn.delete(SESSION_EXPIRY, &key)?;
            continue;
        };
        let at: i64 = at.parse().unwrap_or(0);
        if at >= now_millis {
            break;
        }
        txn.delete(SESSIONS, access_key_id)?;
        txn.delete(SESSION_EXPIRY, &key)?;
        purged += 1;
    }
    Ok(purged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(expires: i64) -> SessionDoc {
        SessionDoc {
            kind: SessionKind::SessionToken,
            account_id: "111122223333".into(),
            arn: "arn:aws:iam::111122223333:user/alice".into(),
            user_id: "AIDAEXAMPLE".into(),
            issued_at_millis: 0,
            expires_at_millis: expires,
            role: None,
            user_name: Some("alice".into()),
            source_user_id: None,
            source_arn: None,
            session_policies: vec![],
            policy_arns: vec![],
            tags: vec![],
            transitive_tag_keys: vec![],
            source_identity: None,
            mfa_authenticated_at_millis: None,
            chained: false,
        }
    }

    #[test]
    fn credentials_have_aws_shapes() {
        let (id, secret, token) = new_credentials();
        assert_eq!(id.len(), 20);
        assert!(id.starts_with("ASIA"));
        assert_eq!(secret.len(), 40);
        assert!(token.len() > 300);
        assert_ne!(new_credentials().0, id);
    }

    #[tokio::test]
    async fn sessions_round_trip_sealed_and_expired_ones_are_purged() {
        let store = coffer_store::Store::open(coffer_store::StoreConfig::memory())
            .await
            .unwrap();
        store
            .write(|txn| {
                insert(txn, "ASIAOLD0000000000000", "s1", "t1", &doc(1_000))?;
                insert(txn, "ASIANEW0000000000000", "s2", "t2", &doc(5_000))
            })
            .await
            .unwrap();
        let found = store
            .read(|txn| find(txn, "ASIAOLD0000000000000"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.secret_access_key, "s1");
        assert_eq!(found.session_token, "t1");
        assert_eq!(found.doc, doc(1_000));
        let raw = store
            .get(SESSIONS, "ASIAOLD0000000000000")
            .await
            .unwrap()
            .unwrap();
        assert!(!String::from_utf8_lossy(&raw.doc).contains("t1"));
        let purged = store
            .write(|txn| purge_expired(txn, 2_000, 100))
            .await
            .unwrap();
        assert_eq!(purged, 1);
        let (old, new) = store
            .read(|txn| {
                Ok::<_, StoreError>((
                    find(txn, "ASIAOLD0000000000000")?.is_some(),
                    find(txn, "ASIANEW0000000000000")?.is_some(),
                ))
            })
            .await
            .unwrap();
        assert!(!old);
        assert!(new);
    }
}
