//! Who owns an access key. Authentication asks the directory for the key's secret and principal;
//! the directory is backed by storage (cached) in production and answers anything in `--dev` mode.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use coffer_auth::SecretAccessKey;
use coffer_model::context::Principal;
use coffer_model::AwsError;
use futures_util::future::BoxFuture;

/// An access key as authentication needs it.
#[derive(Debug)]
pub struct KeyEntry {
    pub secret: SecretAccessKey,
    pub principal: Principal,
    /// An inactive key stops authenticating at once (AWS answers as for an unknown key).
    pub active: bool,
    /// Temporary credentials: the session token that must accompany the key, and when it expires.
    pub session: Option<SessionBinding>,
}

#[derive(Debug)]
pub struct SessionBinding {
    pub token: SecretAccessKey,
    pub expires_at_millis: i64,
    /// How the credentials were obtained, for the audit trail's `userIdentity.sessionContext`.
    pub context: Option<coffer_audit::SessionContext>,
}

pub trait Directory: Send + Sync {
    /// `Ok(None)` for an unknown key; `Err` when the directory cannot answer (storage down), which
    /// the client sees as a retryable AWS error rather than as a bad key.
    fn lookup<'a>(
        &'a self,
        access_key_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<KeyEntry>>, AwsError>>;

    /// Called after a request authenticated with the key, for `GetAccessKeyLastUsed`. Must not
    /// delay the request: implementations record in the background.
    fn record_use(&self, _access_key_id: &str, _service: &str, _region: &str) {}

    /// Called once an authenticated request's action is known, whether or not it is then
    /// allowed, for IAM's service last-accessed data (`action` is `GetSecretValue` for
    /// `secretsmanager:GetSecretValue`). Must not delay the request either.
    fn record_access(&self, _principal: &Principal, _service: &str, _action: &str, _region: &str) {}
}

/// Keys held in memory: the root keys of the accounts the server was started with.
#[derive(Default)]
pub struct MemoryDirectory {
    keys: RwLock<HashMap<String, Arc<KeyEntry>>>,
}

impl MemoryDirectory {
    pub fn insert(&self, access_key_id: impl Into<String>, entry: KeyEntry) {
        // A poisoned lock only means another thread panicked mid-insert; the map itself is intact.
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        keys.insert(access_key_id.into(), Arc::new(entry));
    }
}

impl Directory for MemoryDirectory {
    fn lookup<'a>(
        &'a self,
        access_key_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<KeyEntry>>, AwsError>> {
        let found = self
            .keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(access_key_id)
            .cloned();
        Box::pin(async move { Ok(found) })
    }
}
