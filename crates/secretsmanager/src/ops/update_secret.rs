//! UpdateSecret: metadata, and optionally a new AWSCURRENT value.

use coffer_model::context::RequestContext;
use coffer_model::secretsmanager::{UpdateSecretRequest, UpdateSecretResponse};
use coffer_store::Store;

use crate::common::scope_of;
use crate::error::{marked_for_deletion, Fail, OpResult};
use crate::lookup::{parse_secret_id, require};
use crate::state::{save, AWSCURRENT};
use crate::value::{take_value, version_id_for};
use crate::versioning::add_value;

pub(crate) async fn run(
    store: &Store,
    ctx: &RequestContext,
    input: UpdateSecretRequest,
) -> OpResult<UpdateSecretResponse> {
    let scope = scope_of(ctx, &input.secret_id);
    let secret = parse_secret_id(&input.secret_id, &scope)?;
    let value = take_value(input.secret_string, input.secret_binary)?;
    let version_id = version_id_for(input.client_request_token.as_deref(), value.is_some())?;
    let description = input.description;
    let kms_key_id = input.kms_key_id;
    let now = ctx.now_millis;
    store
        .write(move |txn| {
            let mut doc = require(txn, &scope, &secret, now)?;
            if doc.is_deleted() {
                return Err(Fail::Aws(marked_for_deletion()));
            }
            if let Some(d) = &description {
                doc.description = Some(d.clone());
            }
            if let Some(k) = &kms_key_id {
                doc.kms_key_id = Some(k.clone());
            }
            if let (Some(id), Some(v)) = (&version_id, &value) {
                add_value(txn, &scope, &mut doc, id, v, &[AWSCURRENT.to_string()], now)?;
            }
            doc.last_changed_ms = now;
            save(txn, &scope, &doc)?;
            Ok(UpdateSecretResponse {
                arn: Some(doc.arn(&scope)),
                name: Some(doc.name.clone()),
                version_id: version_id.clone(),
            })
        })
        .await
        .map_err(Fail::into_aws)
}
