//! PutSecretValue.

use coffer_model::context::RequestContext;
use coffer_model::secretsmanager::{
    PutSecretValueRequest, PutSecretValueResponse, SecretsManagerError,
};
use coffer_store::Store;

use crate::common::{check_cross_account_value, scope_of};
use crate::error::{marked_for_deletion, token_required, Fail, OpResult};
use crate::lookup::{parse_secret_id, require};
use crate::state::{save, AWSCURRENT};
use crate::value::take_value;
use crate::versioning::add_value;

pub(crate) async fn run(
    store: &Store,
    ctx: &RequestContext,
    input: PutSecretValueRequest,
) -> OpResult<PutSecretValueResponse> {
    let scope = scope_of(ctx, &input.secret_id);
    let secret = parse_secret_id(&input.secret_id, &scope)?;
    let value = take_value(input.secret_string, input.secret_binary)?.ok_or_else(|| {
        SecretsManagerError::invalid_request(
            "You must provide either SecretString or SecretBinary.",
        )
    })?;
    let id = input.client_request_token.ok_or_else(token_required)?;
    let stages = match input.version_stages {
        Some(s) if !s.is_empty() => s,
        _ => vec![AWSCURRENT.to_string()],
    };
    let now = ctx.now_millis;
    let caller = ctx.clone();
    store
        .write(move |txn| {
            let mut doc = require(txn, &scope, &secret, now)?;
            check_cross_account_value(&caller, &scope, &doc)?;
            if doc.is_deleted() {
                return Err(Fail::Aws(marked_for_deletion()));
            }
            // AWS API reference, PutSecretValue: "If this operation creates the first version for
            // the secret, then Secrets Manager automatically attaches the staging label
            // AWSCURRENT to it", whatever `VersionStages` names.
            let mut stages = stages.clone();
            if doc.versions.is_empty() && !stages.iter().any(|s| s == AWSCURRENT) {
                stages.push(AWSCURRENT.to_string());
            }
            if add_value(txn, &scope, &mut doc, &id, &value, &stages, now)? {
                doc.last_changed_ms = now;
                save(txn, &scope, &doc)?;
            }
            Ok(PutSecretValueResponse {
                arn: Some(doc.arn(&scope)),
                name: Some(doc.name.clone()),
                version_id: Some(id.clone()),
                version_stages: doc.version(&id).map(|v| v.stages.clone()),
            })
        })
        .await
        .map_err(Fail::into_aws)
}
