//! TagResource and UntagResource, and the tag rules CreateSecret shares.

use coffer_model::context::RequestContext;
use coffer_model::secretsmanager::{
    SecretsManagerError, Tag, TagResourceRequest, UntagResourceRequest,
};
use coffer_store::Store;

use crate::common::scope_of;
use crate::error::{marked_for_deletion, Fail, OpResult};
use crate::lookup::{parse_secret_id, require};
use crate::state::save;

/// AWS's quota of tags on one secret.
pub(crate) const MAX_TAGS: usize = 50;
/// Tag keys with this prefix belong to AWS.
const RESERVED_PREFIX: &str = "aws:";

pub(crate) fn check_tags(tags: &[Tag]) -> Result<(), SecretsManagerError> {
    for t in tags {
        let key = t.key.as_deref().unwrap_or("");
        if key.is_empty() || key.chars().count() > 128 {
            return Err(SecretsManagerError::invalid_parameter(
                "Invalid tag key: a tag key must be between 1 and 128 characters long.",
            ));
        }
        if key.to_ascii_lowercase().starts_with(RESERVED_PREFIX) {
            return Err(SecretsManagerError::invalid_parameter(
                "Invalid tag key: the aws: prefix is reserved for AWS use.",
            ));
        }
        if t.value.as_deref().unwrap_or("").chars().count() > 256 {
            return Err(SecretsManagerError::invalid_parameter(
                "Invalid tag value: a tag value can be at most 256 characters long.",
            ));
        }
    }
    let distinct: std::collections::BTreeSet<&str> =
        tags.iter().filter_map(|t| t.key.as_deref()).collect();
    if distinct.len() > MAX_TAGS {
        return Err(too_many_tags());
    }
    Ok(())
}

fn too_many_tags() -> SecretsManagerError {
    SecretsManagerError::invalid_request(format!(
        "The request failed because it would exceed the maximum number of tags ({MAX_TAGS}) on a secret."
    ))
}

/// Sets each tag, replacing the value of a key already present.
fn merge(existing: &mut Vec<Tag>, new: &[Tag]) {
    for t in new {
        match existing.iter_mut().find(|e| e.key == t.key) {
            Some(e) => e.value = t.value.clone(),
            None => existing.push(Tag {
                key: t.key.clone(),
                value: Some(t.value.clone().unwrap_or_default()),
            }),
        }
    }
}

pub(crate) async fn tag(
    store: &Store,
    ctx: &RequestContext,
    input: TagResourceRequest,
) -> OpResult<()> {
    let scope = scope_of(ctx, &input.secret_id);
    let secret = parse_secret_id(&input.secret_id, &scope)?;
    check_tags(&input.tags)?;
    let tags = input.tags;
    let now = ctx.now_millis;
    store
        .write(move |txn| {
            let mut doc = require(txn, &scope, &secret, now)?;
            if doc.is_deleted() {
                return Err(Fail::Aws(marked_for_deletion()));
            }
            let mut all = doc.tags.take().unwrap_or_default();
            merge(&mut all, &tags);
            if all.len() > MAX_TAGS {
                return Err(Fail::Aws(too_many_tags()));
            }
            doc.tags = Some(all);
            doc.last_changed_ms = now;
            save(txn, &scope, &doc)?;
            Ok(())
        })
        .await
        .map_err(Fail::into_aws)
}

pub(crate) async fn untag(
    store: &Store,
    ctx: &RequestContext,
    input: UntagResourceRequest,
) -> OpResult<()> {
    let scope = scope_of(ctx, &input.secret_id);
    let secret = parse_secret_id(&input.secret_id, &scope)?;
    let keys = input.tag_keys;
    let now = ctx.now_millis;
    store
        .write(move |txn| {
            let mut doc = require(txn, &scope, &secret, now)?;
            if doc.is_deleted() {
                return Err(Fail::Aws(marked_for_deletion()));
            }
            let mut all = doc.tags.take().unwrap_or_default();
            all.retain(|t| !t.key.as_ref().is_some_and(|k| keys.contains(k)));
            doc.tags = Some(all);
            doc.last_changed_ms = now;
            save(txn, &scope, &doc)?;
            Ok(())
        })
        .await
        .map_err(Fail::into_aws)
}
