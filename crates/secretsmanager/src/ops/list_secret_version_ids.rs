//! ListSecretVersionIds.

use coffer_model::context::RequestContext;
use coffer_model::secretsmanager::{
    ListSecretVersionIdsRequest, ListSecretVersionIdsResponse, SecretVersionsListEntry,
};
use coffer_store::Store;

use crate::common::{scope_of, ts};
use crate::error::{invalid_next_token, Fail, OpResult};
use crate::lookup::{parse_secret_id, require};
use crate::token;

/// What AWS reports as the key of secrets encrypted with the default key.
const DEFAULT_KEY: &str = "DefaultEncryptionKey";
const DEFAULT_PAGE: usize = 100;

pub(crate) async fn run(
    store: &Store,
    ctx: &RequestContext,
    input: ListSecretVersionIdsRequest,
) -> OpResult<ListSecretVersionIdsResponse> {
    let scope = scope_of(ctx, &input.secret_id);
    let secret = parse_secret_id(&input.secret_id, &scope)?;
    let after: Option<String> = input.next_token.as_deref().map(token::decode).transpose()?;
    let page = input.max_results.map_or(DEFAULT_PAGE, |m| {
        usize::try_from(m.max(1)).unwrap_or(DEFAULT_PAGE)
    });
    let include_deprecated = input.include_deprecated.unwrap_or(false);
    let now = ctx.now_millis;
    store
        .read(move |txn| {
            let doc = require(txn, &scope, &secret, now)?;
            let visible: Vec<_> = doc
                .versions
                .iter()
                .filter(|v| include_deprecated || !v.stages.is_empty())
                .collect();
            let start = match &after {
                None => 0,
                Some(id) => {
                    let pos = doc
                        .versions
                        .iter()
                        .position(|v| &v.id == id)
                        .ok_or_else(|| Fail::Aws(invalid_next_token()))?;
                    // First visible version created after the token's.
                    visible
                        .iter()
                        .position(|v| doc.versions.iter().position(|w| w.id == v.id) > Some(pos))
                        .unwrap_or(visible.len())
                }
            };
            let end = (start + page).min(visible.len());
            let kms = doc
                .kms_key_id
                .clone()
                .unwrap_or_else(|| DEFAULT_KEY.to_string());
            let versions = visible[start..end]
                .iter()
                .map(|v| SecretVersionsListEntry {
                    version_id: Some(v.id.clone()),
                    version_stages: (!v.stages.is_empty()).then(|| v.stages.clone()),
                    last_accessed_date: v.last_accessed_ms.map(ts),
                    created_date: Some(ts(v.created_ms)),
                    kms_key_ids: Some(vec![kms.clone()]),
                })
                .collect();
            let next_token = (end < visible.len()).then(|| token::encode(&visible[end - 1].id));
            Ok(ListSecretVersionIdsResponse {
                versions: Some(versions),
                next_token,
                arn: Some(doc.arn(&scope)),
                name: Some(doc.name.clone()),
            })
        })
        .await
        .map_err(Fail::into_aws)
}
