//! What IAM's service last-accessed reports are made of: when each IAM user and role last
//! attempted to use each service, and each action of it, from which region. AWS counts attempts,
//! denied ones included; the server records a request once its caller is authenticated and its
//! operation known, in the background (see `coffer::directory::StoreDirectory::record_access`).
//!
//! One record per entity and service, keyed by the entity's unique id (`AIDA…` / `AROA…`), so a
//! user deleted and re-created under the same name starts with no history, as on AWS.

use std::collections::BTreeMap;

use coffer_model::context::{Principal, PrincipalKind};
use coffer_store::{StoreError, Txn};
use serde::{Deserialize, Serialize};

use crate::records;

/// `<account>/<unique id>/<service namespace>` → [`ServiceAccess`].
pub const SERVICE_ACCESS: &str = "iam_service_access";

/// Uses of the same action from the same region closer together than this are recorded once:
/// every request would otherwise write.
pub const GRANULARITY_SECS: i64 = 60;

/// One access: when (seconds since the epoch) and from which region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessMark {
    pub at: i64,
    pub region: String,
}

/// An entity's use of one service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceAccess {
    /// The most recent attempt on any action of the service.
    pub last: Option<AccessMark>,
    /// The most recent attempt on each action (`GetSecretValue`).
    #[serde(default)]
    pub actions: BTreeMap<String, AccessMark>,
}

/// The IAM entity a caller's use counts for: an IAM user (long-term keys or its session
/// tokens) or a role (its sessions), by unique id. Root, federated users and anonymous callers
/// have no service last-accessed data.
pub fn tracked_entity(principal: &Principal) -> Option<&str> {
    match principal.kind {
        PrincipalKind::User if principal.user_id.starts_with("AIDA") => {
            Some(principal.user_id.as_str())
        }
        // `AROA…:session-name`.
        PrincipalKind::AssumedRole => principal
            .user_id
            .split_once(':')
            .map(|(role_id, _)| role_id)
            .filter(|id| id.starts_with("AROA")),
        _ => None,
    }
}

fn key(account: &str, unique_id: &str, service: &str) -> String {
    format!("{account}/{unique_id}/{service}")
}

/// Records an attempt by entity `unique_id` on `service:action` at `now` from `region`.
/// Returns whether anything was written (nothing when the same use is already recorded at
/// most [`GRANULARITY_SECS`] earlier).
pub fn record(
    txn: &mut dyn Txn,
    account: &str,
    unique_id: &str,
    service: &str,
    action: &str,
    region: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let key = key(account, unique_id, service);
    let mut access: ServiceAccess = records::get(txn, SERVICE_ACCESS, &key)?.unwrap_or_default();
    let mark = AccessMark {
        at: now,
        region: region.to_string(),
    };
    let recent = |m: &AccessMark| m.region == region && now - m.at < GRANULARITY_SECS;
    if access.actions.get(action).is_some_and(recent) {
        return Ok(false);
    }
    if access.last.as_ref().is_none_or(|last| last.at <= now) {
        access.last = Some(mark.clone());
    }
    let later = access
        .actions
        .get(action)
        .is_none_or(|previous| previous.at <= now);
    if later {
        access.actions.insert(action.to_string(), mark);
    }
    records::put(txn, SERVICE_ACCESS, &key, &access)?;
    Ok(true)
}

/// Every service entity `unique_id` has used, by namespace.
pub fn of_entity(
    txn: &mut dyn Txn,
    account: &str,
    unique_id: &str,
) -> Result<BTreeMap<String, ServiceAccess>, StoreError> {
    let prefix = format!("{account}/{unique_id}/");
    let mut out = BTreeMap::new();
    let mut after: Option<String> = None;
    loop {
        let rows = txn.scan(SERVICE_ACCESS, &prefix, after.as_deref(), 256)?;
        let done = rows.len() < 256;
        for (k, record) in rows {
            if let Some(service) = k.strip_prefix(&prefix) {
                out.insert(service.to_string(), records::decode(&record.doc)?);
            }
            after = Some(k);
        }
        if done {
            return Ok(out);
        }
    }
}

/// The entity's most recent attempt on any service (a role's `RoleLastUsed`).
pub fn last_use(
    txn: &mut dyn Txn,
    account: &str,
    unique_id: &str,
) -> Result<Option<AccessMark>, StoreError> {
    Ok(of_entity(txn, account, unique_id)?
        .into_values()
        .filter_map(|a| a.last)
        .max_by_key(|m| m.at))
}
