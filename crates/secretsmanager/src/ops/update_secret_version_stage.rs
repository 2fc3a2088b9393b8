//! UpdateSecretVersionStage.

use coffer_model::context::RequestContext;
use coffer_model::secretsmanager::{
    UpdateSecretVersionStageRequest, UpdateSecretVersionStageResponse,
};
use coffer_store::Store;

use crate::common::scope_of;
use crate::error::{marked_for_deletion, Fail, OpResult};
use crate::labels::move_label;
use crate::lookup::{parse_secret_id, require};
use crate::state::save;

pub(crate) async fn run(
    store: &Store,
    ctx: &RequestContext,
    input: UpdateSecretVersionStageRequest,
) -> OpResult<UpdateSecretVersionStageResponse> {
    let scope = scope_of(ctx, &input.secret_id);
    let secret = parse_secret_id(&input.secret_id, &scope)?;
    let now = ctx.now_millis;
    store
        .write(move |txn| {
            let mut doc = require(txn, &scope, &secret, now)?;
            if doc.is_deleted() {
                return Err(Fail::Aws(marked_for_deletion()));
            }
            move_label(
                &mut doc,
                &input.version_stage,
                input.remove_from_version_id.as_deref(),
                input.move_to_version_id.as_deref(),
            )?;
            doc.last_changed_ms = now;
            save(txn, &scope, &doc)?;
            Ok(UpdateSecretVersionStageResponse {
                arn: Some(doc.arn(&scope)),
                name: Some(doc.name.clone()),
            })
        })
        .await
        .map_err(Fail::into_aws)
}
