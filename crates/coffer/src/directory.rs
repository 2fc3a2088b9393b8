//! The key directory of a running server: access keys read from the store (its cache of sealed
//! records keeps the hot path off disk), so a key disabled or deleted through IAM stops
//! authenticating at once.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};

use coffer_audit::{SessionAttributes, SessionContext, SessionIssuer};
use coffer_auth::SecretAccessKey;
use coffer_iam::access_keys::{self, KeyStatus};
use coffer_iam::service_access;
use coffer_model::context::{Principal, PrincipalKind};
use coffer_model::AwsError;
use coffer_server::{Clock, Directory, KeyEntry, SessionBinding, SystemClock};
use coffer_store::Store;
use coffer_sts::sessions::{self, SessionKind};
use futures_util::future::BoxFuture;

pub struct StoreDirectory {
    store: Store,
    clock: Arc<dyn Clock>,
    /// Last use recorded per key (seconds, service, region), so that the store is written at most
    /// once per key, service and region per minute, off the request path.
    recorded: Mutex<Recent<String, (i64, String, String)>>,
    /// Last attempt recorded (seconds) per entity, service, action and region, for service
    /// last-accessed data: written at most once a minute each, off the request path. Keyed by a
    /// keyed SipHash of the four, so that checking costs no allocation on every request (a
    /// collision, with a random key per process, would at worst delay one record by a minute).
    attempts: Mutex<Recent<u64, i64>>,
    attempt_keys: RandomState,
}

/// Entries a once-a-minute map may hold before its stale ones (older than the minute that makes
/// them matter) are dropped: keys, sessions and entities come and go over a server's life, and
/// the maps must not keep every one ever seen. Pruning happens when the map has doubled since
/// the last prune (at least this many), so its cost is spread over the insertions.
const PRUNE_AT_LEAST: usize = 1024;

/// What was written recently, per key: a map that forgets its stale entries as it grows.
struct Recent<K, V> {
    entries: HashMap<K, V>,
    /// The size at which the next prune happens.
    prune_at: usize,
}

impl<K, V> Default for Recent<K, V> {
    fn default() -> Self {
        Recent {
            entries: HashMap::new(),
            prune_at: PRUNE_AT_LEAST,
        }
    }
}

impl<K, V> Recent<K, V> {
    /// Drops the entries whose time (`at`) is `window` seconds or more before `now`, once the
    /// map has grown to its prune size; the next prune then waits for twice what is left.
    fn prune_stale(&mut self, now: i64, window: i64, at: impl Fn(&V) -> i64) {
        if self.entries.len() < self.prune_at {
            return;
        }
        self.entries.retain(|_, v| now - at(v) < window);
        self.prune_at = (self.entries.len() * 2).max(PRUNE_AT_LEAST);
    }
}

impl StoreDirectory {
    pub fn new(store: Store) -> Self {
        StoreDirectory {
            store,
            clock: Arc::new(SystemClock),
            recorded: Mutex::new(Recent::default()),
            attempts: Mutex::new(Recent::default()),
            attempt_keys: RandomState::new(),
        }
    }

    /// Reads the time of a key's last use from `clock` (the server's) instead of the system's.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

impl StoreDirectory {
    /// Temporary credentials: the session's principal, and the token that must accompany the key
    /// (authentication answers AWS's errors for a wrong or missing token and for an ended session).
    async fn lookup_session(
        &self,
        access_key_id: &str,
    ) -> Result<Option<Arc<KeyEntry>>, coffer_store::StoreError> {
        let entry = self
            .store
            .get_decoded(sessions::SESSIONS, access_key_id, |record| {
                session_entry(access_key_id, record)
            })
            .await?;
        Ok(entry)
    }
}

/// The credential a session record holds.
fn session_entry(
    access_key_id: &str,
    record: coffer_store::Record,
) -> Result<KeyEntry, coffer_store::StoreError> {
    let found = sessions::from_record(record)?;
    let doc = found.doc;
    let kind = match doc.kind {
        SessionKind::AssumedRole => PrincipalKind::AssumedRole,
        SessionKind::FederatedUser => PrincipalKind::FederatedUser,
        SessionKind::SessionToken | SessionKind::Delegated if doc.user_name.is_some() => {
            PrincipalKind::User
        }
        SessionKind::SessionToken | SessionKind::Delegated => PrincipalKind::Root,
    };
    Ok(KeyEntry {
        secret: SecretAccessKey::new(found.secret_access_key),
        active: true,
        session: Some(SessionBinding {
            token: SecretAccessKey::new(found.session_token),
            expires_at_millis: doc.expires_at_millis,
            context: Some(session_context(&doc)),
        }),
        principal: Principal {
            kind,
            account_id: doc.account_id,
            arn: doc.arn,
            user_id: doc.user_id,
            access_key_id: access_key_id.to_string(),
        },
    })
}

/// How a session's credentials were obtained, as the audit record's `userIdentity.sessionContext`
/// shows it: the role (or the user or root behind a federation token) that issued them, when,
/// and whether with MFA. `GetSessionToken` credentials answer as their user: no issuer.
fn session_context(doc: &sessions::SessionDoc) -> SessionContext {
    let account_id = doc.account_id.clone();
    let session_issuer = match doc.kind {
        SessionKind::AssumedRole => doc.role.as_ref().map(|role| SessionIssuer {
            issuer_type: "Role".into(),
            principal_id: role.role_id.clone(),
            arn: format!("arn:aws:iam::{account_id}:role{}{}", role.path, role.name),
            account_id: account_id.clone(),
            user_name: Some(role.name.clone()),
        }),
        SessionKind::FederatedUser | SessionKind::Delegated => Some(match &doc.user_name {
            Some(name) => SessionIssuer {
                issuer_type: "IAMUser".into(),
                principal_id: doc.source_user_id.clone().unwrap_or_default(),
                arn: doc.source_arn.clone().unwrap_or_default(),
                account_id: account_id.clone(),
                user_name: Some(name.clone()),
            },
            None => SessionIssuer {
                issuer_type: "Root".into(),
                principal_id: account_id.clone(),
                arn: format!("arn:aws:iam::{account_id}:root"),
                account_id: account_id.clone(),
                user_name: None,
            },
        }),
        SessionKind::SessionToken => None,
    };
    let issued = chrono::DateTime::from_timestamp_millis(doc.issued_at_millis).unwrap_or_default();
    SessionContext {
        session_issuer,
        attributes: SessionAttributes {
            creation_date: coffer_audit::event::cloudtrail_time(issued),
            mfa_authenticated: doc.mfa_authenticated_at_millis.is_some().to_string(),
        },
        source_identity: doc.source_identity.clone(),
    }
}

impl Directory for StoreDirectory {
    fn lookup<'a>(
        &'a self,
        access_key_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<KeyEntry>>, AwsError>> {
        Box::pin(async move {
            let unavailable = |e: coffer_store::StoreError| {
                tracing::error!(error = %e, "access key lookup failed");
                AwsError::new(
                    503,
                    "ServiceUnavailable",
                    "The service is unavailable. Please try again later.",
                )
            };
            if access_key_id.starts_with(sessions::TEMPORARY_KEY_PREFIX) {
                return self
                    .lookup_session(access_key_id)
                    .await
                    .map_err(unavailable);
            }
            let entry = self
                .store
                .get_decoded(access_keys::ACCESS_KEYS, access_key_id, |record| {
                    key_entry(access_key_id, record)
                })
                .await
                .map_err(unavailable)?;
            Ok(entry)
        })
    }

    fn record_use(&self, access_key_id: &str, service: &str, region: &str) {
        // `GetAccessKeyLastUsed` concerns long-term keys only.
        if access_key_id.starts_with(sessions::TEMPORARY_KEY_PREFIX) {
            return;
        }
        let now = self.clock.now().timestamp();
        {
            let mut recorded = self.recorded.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((at, s, r)) = recorded.entries.get(access_key_id) {
                if s == service && r == region && now - at < access_keys::LAST_USED_GRANULARITY_SECS
                {
                    return;
                }
            }
            recorded.entries.insert(
                access_key_id.to_string(),
                (now, service.to_string(), region.to_string()),
            );
            recorded.prune_stale(
                now,
                access_keys::LAST_USED_GRANULARITY_SECS,
                |(at, _, _)| *at,
            );
        }
        let store = self.store.clone();
        let (key, service, region) = (
            access_key_id.to_string(),
            service.to_string(),
            region.to_string(),
        );
        tokio::spawn(async move {
            let written = store
                .write(move |txn| access_keys::record_use(txn, &key, now, &service, &region))
                .await;
            if let Err(e) = written {
                tracing::warn!(error = %e, "recording an access key's last use failed");
            }
        });
    }

    fn record_access(&self, principal: &Principal, service: &str, action: &str, region: &str) {
        let Some(entity) = service_access::tracked_entity(principal) else {
            return;
        };
        let now = self.clock.now().timestamp();
        if !self.attempt_is_new([entity, service, action, region], now) {
            return;
        }
        let store = self.store.clone();
        let (account, entity, service, action, region) = (
            principal.account_id.clone(),
            entity.to_string(),
            service.to_string(),
            action.to_string(),
            region.to_string(),
        );
        tokio::spawn(async move {
            let written = store
                .write(move |txn| {
                    service_access::record(txn, &account, &entity, &service, &action, &region, now)
                })
                .await;
            if let Err(e) = written {
                tracing::warn!(error = %e, "recording a service's last access failed");
            }
        });
    }
}

impl StoreDirectory {
    /// Whether an attempt must be written: not when the same one was, less than a minute ago.
    fn attempt_is_new(&self, attempt: [&str; 4], now: i64) -> bool {
        let key = self.attempt_keys.hash_one(attempt);
        let mut attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        match attempts.entries.get(&key) {
            Some(at) if now - at < service_access::GRANULARITY_SECS => false,
            _ => {
                attempts.entries.insert(key, now);
                attempts.prune_stale(now, service_access::GRANULARITY_SECS, |at| *at);
                true
            }
        }
    }
}

/// The credential an access key record holds.
fn key_entry(
    access_key_id: &str,
    record: coffer_store::Record,
) -> Result<KeyEntry, coffer_store::StoreError> {
    let found = access_keys::from_record(access_key_id, record)?;
    let secret = String::from_utf8(found.secret.expose().to_vec())
        .map_err(|_| coffer_store::StoreError::Corrupt("access key secret is not UTF-8".into()))?;
    let doc = found.doc;
    Ok(KeyEntry {
        secret: SecretAccessKey::new(secret),
        principal: Principal {
            kind: if doc.user_name.is_some() {
                PrincipalKind::User
            } else {
                PrincipalKind::Root
            },
            account_id: doc.account_id,
            arn: doc.arn,
            user_id: doc.user_id,
            access_key_id: access_key_id.to_string(),
        },
        active: doc.status == KeyStatus::Active,
        session: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_attempt_is_written_once_a_minute() {
        let store = Store::open(coffer_store::StoreConfig::memory())
            .await
            .expect("store");
        let directory = StoreDirectory::new(store);
        let attempt = ["AIDAEXAMPLE", "iam", "GetUser", "us-east-1"];
        assert!(directory.attempt_is_new(attempt, 1_000));
        assert!(!directory.attempt_is_new(attempt, 1_059));
        // Another region, action or entity is another attempt.
        assert!(directory.attempt_is_new(["AIDAEXAMPLE", "iam", "GetUser", "eu-west-1"], 1_059));
        assert!(directory.attempt_is_new(["AIDAEXAMPLE", "iam", "ListUsers", "us-east-1"], 1_059));
        assert!(directory.attempt_is_new(["AIDAOTHER", "iam", "GetUser", "us-east-1"], 1_059));
        assert!(directory.attempt_is_new(attempt, 1_060));
    }

    #[tokio::test]
    async fn the_once_a_minute_maps_forget_what_is_stale() {
        let store = Store::open(coffer_store::StoreConfig::memory())
            .await
            .expect("store");
        let directory = StoreDirectory::new(store);
        // Entities seen long ago, then a stream of new ones a minute later: the old ones go.
        for n in 0..PRUNE_AT_LEAST {
            let entity = format!("AIDAOLD{n}");
            assert!(directory.attempt_is_new([&entity, "iam", "GetUser", "us-east-1"], 1_000));
        }
        for n in 0..PRUNE_AT_LEAST {
            let entity = format!("AIDANEW{n}");
            assert!(directory.attempt_is_new([&entity, "iam", "GetUser", "us-east-1"], 2_000));
        }
        let attempts = directory.attempts.lock().unwrap();
        assert!(
            attempts.entries.len() <= PRUNE_AT_LEAST,
            "{} kept",
            attempts.entries.len()
        );
    }

    #[test]
    fn pruning_keeps_recent_entries_and_waits_for_the_map_to_double() {
        let mut recent = Recent {
            entries: (0..2000u32)
                .map(|n| (n, if n < 1500 { 0 } else { 100 }))
                .collect(),
            prune_at: 4000,
        };
        recent.prune_stale(120, 60, |at| *at);
        assert_eq!(
            recent.entries.len(),
            2000,
            "below its prune size: untouched"
        );
        recent.prune_at = 2000;
        recent.prune_stale(120, 60, |at| *at);
        assert_eq!(recent.entries.len(), 500);
        assert!(recent.entries.values().all(|at| *at == 100));
        assert_eq!(recent.prune_at, PRUNE_AT_LEAST);
    }
}
