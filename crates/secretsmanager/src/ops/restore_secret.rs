//! RestoreSecret: cancels a scheduled deletion.

use coffer_model::context::RequestContext;
use coffer_model::secretsmanager::{RestoreSecretRequest, RestoreSecretResponse};
use coffer_store::Store;

use crate::common::scope_of;
use crate::error::{Fail, OpResult};
use crate::lookup::{parse_secret_id, require};
use crate::state::save;

pub(crate) async fn run(
    store: &Store,
    ctx: &RequestContext,
    input: RestoreSecretRequest,
) -> OpResult<RestoreSecretResponse> {
    let scope = scope_of(ctx, &input.secret_id);
    let secret = parse_secret_id(&input.secret_id, &scope)?;
    let now = ctx.now_millis;
    store
        .write(move |txn| {
            let mut doc = require(txn, &scope, &secret, now)?;
            // A replica follows its primary; like every other change, restoring is refused here.
            if doc.primary_region.is_some() {
                return Err(Fail::Aws(crate::replication::replica_read_only()));
            }
            if doc.is_deleted() {
                doc.deleted_ms = None;
                doc.deletion_ms = None;
                doc.last_changed_ms = now;
                save(txn, &scope, &doc)?;
            }
            Ok(RestoreSecretResponse {
                arn: Some(doc.arn(&scope)),
                name: Some(doc.name.clone()),
            })
        })
        .await
        .map_err(Fail::into_aws)
}
