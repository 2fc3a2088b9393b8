//! GetSecretValue, and the version selection BatchGetSecretValue shares.

use coffer_model::context::RequestContext;
use coffer_model::secretsmanager::{
    GetSecretValueRequest, GetSecretValueResponse, SecretsManagerError,
};
use coffer_store::{Store, Txn};

use crate::access::AuthorizedSecret;
use crate::common::{check_cross_account_value, scope_of, ts};
use crate::error::{
    marked_for_deletion, no_value_for_stage, no_value_for_version, not_found, Fail, OpResult,
};
use crate::lookup::{find_latest, parse_secret_id, require, SecretRef};
use crate::state::{
    load, midnight, put_doc, read_version, Scope, SecretDoc, SecretValue, AWSCURRENT, VERSIONS,
};
use crate::value::response_members;

/// Picks the version a GetSecretValue names: by id, by stage, or AWSCURRENT.
pub(crate) fn select_version(
    doc: &SecretDoc,
    version_id: Option<&str>,
    stage: Option<&str>,
) -> Result<String, SecretsManagerError> {
    if let Some(id) = version_id {
        let v = doc.version(id).ok_or_else(|| no_value_for_version(id))?;
        if let Some(stage) = stage {
            if !v.stages.iter().any(|s| s == stage) {
                return Err(SecretsManagerError::invalid_request(
                    "You provided a VersionStage that is not associated to the provided VersionId.",
                ));
            }
        }
        return Ok(v.id.clone());
    }
    let stage = stage.unwrap_or(AWSCURRENT);
    doc.version_with_stage(stage)
        .map(|v| v.id.clone())
        .ok_or_else(|| no_value_for_stage(stage))
}

/// Reads one secret's value inside a read transaction: the response and whether the access
/// dates must be recorded.
pub(crate) fn read_value(
    txn: &mut dyn Txn,
    scope: &Scope,
    secret: &SecretRef,
    version_id: Option<&str>,
    stage: Option<&str>,
    now: i64,
) -> Result<(GetSecretValueResponse, Option<(String, String)>), Fail> {
    let doc = require(txn, scope, secret, now)?;
    let id = choose(&doc, version_id, stage)?;
    let value =
        read_version(txn, scope, &doc, &id)?.ok_or_else(|| Fail::Aws(no_value_for_version(&id)))?;
    Ok(respond(&doc, scope, id, &value, now))
}

fn choose(doc: &SecretDoc, version_id: Option<&str>, stage: Option<&str>) -> Result<String, Fail> {
    if doc.is_deleted() {
        return Err(Fail::Aws(marked_for_deletion()));
    }
    Ok(select_version(doc, version_id, stage)?)
}

fn respond(
    doc: &SecretDoc,
    scope: &Scope,
    id: String,
    value: &SecretValue,
    now: i64,
) -> (GetSecretValueResponse, Option<(String, String)>) {
    let meta = doc.version(&id).cloned();
    let (secret_string, secret_binary) = response_members(value);
    let today = midnight(now);
    let stale = doc.last_accessed_ms != Some(today)
        || meta.as_ref().and_then(|m| m.last_accessed_ms) != Some(today);
    (
        GetSecretValueResponse {
            arn: Some(doc.arn(scope)),
            name: Some(doc.name.clone()),
            version_id: Some(id.clone()),
            secret_binary,
            secret_string,
            version_stages: meta.as_ref().map(|m| m.stages.clone()),
            created_date: meta.map(|m| ts(m.created_ms)),
        },
        stale.then(|| (doc.name.clone(), id)),
    )
}

/// The hot path: the version's sealed value by a point read through the store's cache, from the
/// secret's record already in hand. `None`: the version was pruned since the record was read.
async fn read_value_cached(
    store: &Store,
    scope: &Scope,
    doc: &SecretDoc,
    version_id: Option<&str>,
    stage: Option<&str>,
    now: i64,
) -> Result<Option<(GetSecretValueResponse, Option<(String, String)>)>, Fail> {
    let id = choose(doc, version_id, stage)?;
    let key = scope.version_key(&doc.name, &doc.suffix, &id);
    let Some(sealed) = store.get(VERSIONS, &key).await?.and_then(|r| r.sealed) else {
        return Ok(None);
    };
    let value = SecretValue::unseal(&sealed)?;
    Ok(Some(respond(doc, scope, id, &value, now)))
}

/// A secret (by name) and version whose access date must be recorded, in its scope.
pub(crate) type Accessed = (Scope, String, String);

/// Records the day of access on the secrets and the versions read. Losing this write (a conflict,
/// the store briefly down) costs only the date's freshness, so failures are logged, not returned.
pub(crate) async fn touch(store: &Store, accessed: Vec<Accessed>, now: i64) {
    if accessed.is_empty() {
        return;
    }
    let today = midnight(now);
    let result: Result<(), Fail> = store
        .write(move |txn| {
            for (scope, name, version) in &accessed {
                if let Some(mut doc) = load(txn, scope, name, now)? {
                    doc.last_accessed_ms = Some(today);
                    if let Some(v) = doc.version_mut(version) {
                        v.last_accessed_ms = Some(today);
                    }
                    put_doc(txn, scope, &doc)?;
                }
            }
            Ok(())
        })
        .await;
    if let Err(e) = result {
        tracing::warn!(error = ?e, "could not record secret access date");
    }
}

/// GetSecretValue. `authorized`: the secret as authorization read it (outside `--dev`), which is
/// the record the value is read from; `None`: look it up here.
pub(crate) async fn run(
    store: &Store,
    ctx: &RequestContext,
    input: GetSecretValueRequest,
    authorized: Option<AuthorizedSecret>,
) -> OpResult<GetSecretValueResponse> {
    let scope = scope_of(ctx, &input.secret_id);
    let secret = parse_secret_id(&input.secret_id, &scope)?;
    let now = ctx.now_millis;
    let version_id = input.version_id;
    let stage = input.version_stage;
    let doc = match authorized {
        Some(AuthorizedSecret(doc)) => {
            // Only ever the record of the secret this input names (authorization resolved it
            // from this very input; a mismatch is a bug, answered as no such secret).
            doc.filter(|doc| secret.names(doc))
        }
        None => find_latest(store, &scope, &secret, now)
            .await
            .map_err(Fail::into_aws)?,
    }
    .ok_or_else(not_found)?;
    if scope.account != ctx.principal.account_id {
        check_cross_account_value(ctx, &scope, &doc)?;
    }
    let cached = read_value_cached(
        store,
        &scope,
        &doc,
        version_id.as_deref(),
        stage.as_deref(),
        now,
    )
    .await
    .map_err(Fail::into_aws)?;
    let (out, accessed) = match cached {
        Some(found) => found,
        None => {
            // Read again in one transaction, but only this secret: by its full ARN, never a
            // secret re-created under its name since it was authorized.
            let this_secret = SecretRef::Arn {
                name: doc.name.clone(),
                suffix: doc.suffix.clone(),
            };
            let s = scope.clone();
            store
                .read(move |txn| {
                    read_value(
                        txn,
                        &s,
                        &this_secret,
                        version_id.as_deref(),
                        stage.as_deref(),
                        now,
                    )
                })
                .await
                .map_err(Fail::into_aws)?
        }
    };
    let accessed = accessed.map(|(name, version)| (scope, name, version));
    touch(store, accessed.into_iter().collect(), now).await;
    Ok(out)
}
