//! ReplicateSecretToRegions, RemoveRegionsFromReplication and StopReplicationToReplica.

use coffer_model::context::RequestContext;
use coffer_model::secretsmanager::{
    RemoveRegionsFromReplicationRequest, RemoveRegionsFromReplicationResponse,
    ReplicateSecretToRegionsRequest, ReplicateSecretToRegionsResponse, SecretsManagerError,
    StopReplicationToReplicaRequest, StopReplicationToReplicaResponse,
};
use coffer_store::Store;

use crate::common::scope_of;
use crate::error::{marked_for_deletion, Fail, OpResult};
use crate::lookup::{parse_secret_id, require};
use crate::replication::{
    add_replicas, check_regions, drop_replica, region_scope, replica_read_only,
};
use crate::state::{load, put_doc, save};

pub(crate) async fn replicate(
    store: &Store,
    ctx: &RequestContext,
    input: ReplicateSecretToRegionsRequest,
) -> OpResult<ReplicateSecretToRegionsResponse> {
    let scope = scope_of(ctx, &input.secret_id);
    let secret = parse_secret_id(&input.secret_id, &scope)?;
    check_regions(&scope, &input.add_replica_regions)?;
    let regions = input.add_replica_regions;
    let force = input.force_overwrite_replica_secret.unwrap_or(false);
    let now = ctx.now_millis;
    store
        .write(move |txn| {
            let mut doc = require(txn, &scope, &secret, now)?;
            if doc.primary_region.is_some() {
                return Err(Fail::Aws(replica_read_only()));
            }
            if doc.is_deleted() {
                return Err(Fail::Aws(marked_for_deletion()));
            }
            add_replicas(txn, &scope, &mut doc, &regions, force, now)?;
            doc.last_changed_ms = now;
            save(txn, &scope, &doc)?;
            Ok(ReplicateSecretToRegionsResponse {
                arn: Some(doc.arn(&scope)),
                replication_status: Some(doc.replicas.iter().map(|r| r.to_wire()).collect()),
            })
        })
        .await
        .map_err(Fail::into_aws)
}

pub(crate) async fn remove(
    store: &Store,
    ctx: &RequestContext,
    input: RemoveRegionsFromReplicationRequest,
) -> OpResult<RemoveRegionsFromReplicationResponse> {
    let scope = scope_of(ctx, &input.secret_id);
    let secret = parse_secret_id(&input.secret_id, &scope)?;
    let regions = input.remove_replica_regions;
    let now = ctx.now_millis;
    store
        .write(move |txn| {
            let mut doc = require(txn, &scope, &secret, now)?;
            if doc.primary_region.is_some() {
                return Err(Fail::Aws(replica_read_only()));
            }
            for region in &regions {
                if let Some(i) = doc.replicas.iter().position(|r| &r.region == region) {
                    let gone = doc.replicas.remove(i);
                    if gone.in_sync() {
                        drop_replica(txn, &scope, &doc, region)?;
                    }
                }
            }
            doc.last_changed_ms = now;
            save(txn, &scope, &doc)?;
            Ok(RemoveRegionsFromReplicationResponse {
                arn: Some(doc.arn(&scope)),
                replication_status: Some(doc.replicas.iter().map(|r| r.to_wire()).collect()),
            })
        })
        .await
        .map_err(Fail::into_aws)
}

pub(crate) async fn stop(
    store: &Store,
    ctx: &RequestContext,
    input: StopReplicationToReplicaRequest,
) -> OpResult<StopReplicationToReplicaResponse> {
    let scope = scope_of(ctx, &input.secret_id);
    let secret = parse_secret_id(&input.secret_id, &scope)?;
    let now = ctx.now_millis;
    store
        .write(move |txn| {
            let mut doc = require(txn, &scope, &secret, now)?;
            let Some(primary_region) = doc.primary_region.take() else {
                return Err(Fail::Aws(SecretsManagerError::invalid_request(
                    "StopReplicationToReplica can only be called on a replica secret.",
                )));
            };
            doc.last_changed_ms = now;
            put_doc(txn, &scope, &doc)?;
            let ps = region_scope(&scope, &primary_region);
            if let Some(mut primary) = load(txn, &ps, &doc.name, now)? {
                if primary.suffix == doc.suffix {
                    primary.replicas.retain(|r| r.region != scope.region);
                    primary.last_changed_ms = now;
                    save(txn, &ps, &primary)?;
                }
            }
            Ok(StopReplicationToReplicaResponse {
                arn: Some(doc.arn(&scope)),
            })
        })
        .await
        .map_err(Fail::into_aws)
}
