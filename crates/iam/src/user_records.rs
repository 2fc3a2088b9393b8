//! Records a user holds several of (signing certificates, SSH public keys, service-specific
//! credentials), stored under `<account>/<lower-cased user name>/<id>` so renaming or deleting
//! the user finds them by prefix.

use coffer_model::iam::{IamError, StatusType};
use coffer_store::Txn;
use serde::de::DeserializeOwned;

use crate::error::{Fail, TxResult};
use crate::records;
use crate::users;

pub(crate) fn prefix(account: &str, user: &str) -> String {
    format!("{account}/{}/", user.to_lowercase())
}

pub(crate) fn key_of(account: &str, user: &str, id: &str) -> String {
    format!("{}{id}", prefix(account, user))
}

/// A user's records of `table`, in key order (IAM allows a handful per user).
pub(crate) fn of_user<T: DeserializeOwned>(
    txn: &mut dyn Txn,
    table: &str,
    account: &str,
    user: &str,
) -> TxResult<Vec<(String, T)>> {
    let mut out = Vec::new();
    for (k, r) in txn.scan(table, &prefix(account, user), None, 64)? {
        out.push((k, records::decode::<T>(&r.doc)?));
    }
    Ok(out)
}

/// Record `id` of `user`: the user's own `NoSuchEntity` when the user is missing, `not_found(id)`
/// when the record is.
pub(crate) fn load<T: DeserializeOwned>(
    txn: &mut dyn Txn,
    table: &str,
    account: &str,
    user: &str,
    id: &str,
    not_found: fn(&str) -> Fail,
) -> TxResult<(String, T)> {
    let (_, u) = users::load(txn, account, user)?;
    let key = key_of(account, &u.name, id);
    records::get::<T>(txn, table, &key)?
        .map(|d| (key, d))
        .ok_or_else(|| not_found(id))
}

pub(crate) fn status(active: bool) -> StatusType {
    if active {
        StatusType::Active
    } else {
        StatusType::Inactive
    }
}

/// Whether an Update… request activates the record; these operations do not accept `Expired`.
pub(crate) fn activates(status: StatusType) -> Result<bool, IamError> {
    match status {
        StatusType::Active => Ok(true),
        StatusType::Inactive => Ok(false),
        StatusType::Expired => Err(IamError::validation(
            "1 validation error detected: Value 'Expired' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]",
        )),
    }
}
