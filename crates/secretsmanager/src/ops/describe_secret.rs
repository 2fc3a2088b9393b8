//! DescribeSecret: works on secrets scheduled for deletion too (they show `DeletedDate`).

use coffer_model::context::RequestContext;
use coffer_model::secretsmanager::{DescribeSecretRequest, DescribeSecretResponse};
use coffer_store::Store;

use crate::common::scope_of;
use crate::describe::describe;
use crate::error::{Fail, OpResult};
use crate::lookup::{parse_secret_id, require};

pub(crate) async fn run(
    store: &Store,
    ctx: &RequestContext,
    input: DescribeSecretRequest,
) -> OpResult<DescribeSecretResponse> {
    let scope = scope_of(ctx, &input.secret_id);
    let secret = parse_secret_id(&input.secret_id, &scope)?;
    let now = ctx.now_millis;
    store
        .read(move |txn| {
            let doc = require(txn, &scope, &secret, now)?;
            Ok(describe(&doc, &scope))
        })
        .await
        .map_err(Fail::into_aws)
}
