//! CreateSecret.

use coffer_model::context::RequestContext;
use coffer_model::secretsmanager::{
    CreateSecretRequest, CreateSecretResponse, SecretsManagerError,
};
use coffer_store::Store;

use crate::common::{random_suffix, scope};
use crate::error::{Fail, OpResult};
use crate::labels::add_version;
use crate::lookup::check_name;
use crate::ops::tags::check_tags;
use crate::replication::{add_replicas, check_regions};
use crate::state::{
    load, purge_if_expired, read_version, save, write_version, RotationState, SecretDoc, AWSCURRENT,
};
use crate::value::{take_value, version_id_for};

pub(crate) async fn run(
    store: &Store,
    ctx: &RequestContext,
    input: CreateSecretRequest,
) -> OpResult<CreateSecretResponse> {
    check_name(&input.name)?;
    let value = take_value(input.secret_string, input.secret_binary)?;
    let version_id = version_id_for(input.client_request_token.as_deref(), value.is_some())?;
    if let Some(tags) = &input.tags {
        check_tags(tags)?;
    }
    let scope = scope(ctx);
    let regions = input.add_replica_regions.unwrap_or_default();
    check_regions(&scope, &regions)?;
    let force = input.force_overwrite_replica_secret.unwrap_or(false);
    let now = ctx.now_millis;
    let suffix = random_suffix();
    let name = input.name;
    let fresh = SecretDoc {
        name: name.clone(),
        suffix,
        description: input.description,
        kms_key_id: input.kms_key_id,
        created_ms: now,
        last_changed_ms: now,
        last_accessed_ms: None,
        deleted_ms: None,
        deletion_ms: None,
        tags: input.tags,
        versions: Vec::new(),
        rotation: RotationState::default(),
        policy: None,
        policy_principal_ids: Default::default(),
        r#type: input.r#type,
        primary_region: None,
        replicas: Vec::new(),
    };
    let out = store
        .write(move |txn| {
            purge_if_expired(txn, &scope, &name, now)?;
            if let Some(existing) = load(txn, &scope, &name, now)? {
                if existing.is_deleted() {
                    return Err(Fail::Aws(SecretsManagerError::invalid_request(
                        "You can't create this secret because a secret with this name is already scheduled for deletion.",
                    )));
                }
                // A retried request (same token, same value) succeeds without creating anything.
                if let (Some(id), Some(v)) = (&version_id, &value) {
                    if existing.version(id).is_some() {
                        if let Some(stored) = read_version(txn, &scope, &existing, id)? {
                            if stored.same_as(v) {
                                return Ok(CreateSecretResponse {
                                    arn: Some(existing.arn(&scope)),
                                    name: Some(existing.name.clone()),
                                    version_id: Some(id.clone()),
                                    replication_status: None,
                                });
                            }
                        }
                    }
                }
                return Err(Fail::Aws(SecretsManagerError::resource_exists(format!(
                    "The operation failed because the secret {name} already exists."
                ))));
            }
            let mut doc = fresh.clone();
            if let (Some(id), Some(v)) = (&version_id, &value) {
                add_version(&mut doc, id, now, &[AWSCURRENT.to_string()]);
                write_version(txn, &scope, &doc, id, v)?;
            }
            add_replicas(txn, &scope, &mut doc, &regions, force, now)?;
            save(txn, &scope, &doc)?;
            Ok(CreateSecretResponse {
                arn: Some(doc.arn(&scope)),
                name: Some(doc.name.clone()),
                version_id: version_id.clone(),
                replication_status: (!doc.replicas.is_empty())
                    .then(|| doc.replicas.iter().map(|r| r.to_wire()).collect()),
            })
        })
        .await
        .map_err(Fail::into_aws)?;
    Ok(out)
}
