//! Tags on IAM entities. IAM compares tag keys without regard to case: tagging `costcenter` when
//! `CostCenter` exists replaces it.

use coffer_model::context::RequestContext;
use coffer_model::iam::{IamError, Tag};
use coffer_store::Txn;

use crate::error::{quota, Fail, TxResult};
use crate::paging::{self, Page};
use crate::IamService;

/// Tags one IAM entity may carry.
pub(crate) const MAX_TAGS: usize = 50;

fn same_key(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

fn duplicates() -> Fail {
    IamError::invalid_input(
        "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
    )
    .into()
}

/// Adds or replaces `new` on `existing`, refusing duplicate keys within one request and more
/// than `MAX_TAGS` in all. `quota_name` is IAM's quota name (`TagsPerUser`).
pub(crate) fn merge(existing: &mut Vec<Tag>, new: &[Tag], quota_name: &str) -> TxResult<()> {
    for (i, tag) in new.iter().enumerate() {
        if new[..i].iter().any(|t| same_key(&t.key, &tag.key)) {
            return Err(duplicates());
        }
    }
    for tag in new {
        match existing.iter_mut().find(|t| same_key(&t.key, &tag.key)) {
            Some(old) => *old = tag.clone(),
            None => existing.push(tag.clone()),
        }
    }
    if existing.len() > MAX_TAGS {
        return Err(quota(quota_name, MAX_TAGS));
    }
    Ok(())
}

pub(crate) fn remove(existing: &mut Vec<Tag>, keys: &[String]) {
    existing.retain(|t| !keys.iter().any(|k| same_key(k, &t.key)));
}

/// Every IAM record kind that carries tags (users, roles, managed policies, instance profiles,
/// OIDC and SAML providers, server certificates, MFA devices): their Tag/Untag/List…Tags
/// operations are one mechanism.
pub(crate) trait TaggedRecord: Sized + 'static {
    /// IAM's quota name (`TagsPerUser`).
    const TAG_QUOTA: &'static str;
    /// Where `load` found the record, as `save` needs it to write it back.
    type Key;
    /// The record `id` (a name, an ARN or a serial number) names in `account`, failing with the
    /// kind's own `NoSuchEntity`.
    fn load(txn: &mut dyn Txn, account: &str, id: &str) -> TxResult<(Self::Key, Self)>;
    fn save(&self, txn: &mut dyn Txn, key: &Self::Key) -> TxResult<()>;
    fn tags_mut(&mut self) -> &mut Vec<Tag>;
    /// Refuses tag changes to records the caller may not change; `untag` tells Untag… from Tag….
    fn ensure_taggable(&self, _ctx: &RequestContext, _untag: bool, _id: &str) -> TxResult<()> {
        Ok(())
    }
}

async fn modify<R: TaggedRecord>(
    svc: &IamService,
    ctx: &RequestContext,
    id: String,
    untag: bool,
    change: impl Fn(&mut Vec<Tag>) -> TxResult<()> + Send + 'static,
) -> Result<(), IamError> {
    let ctx = ctx.clone();
    svc.write(move |txn| {
        let (key, mut doc) = R::load(txn, &ctx.principal.account_id, &id)?;
        doc.ensure_taggable(&ctx, untag, &id)?;
        change(doc.tags_mut())?;
        doc.save(txn, &key)
    })
    .await
}

pub(crate) async fn tag<R: TaggedRecord>(
    svc: &IamService,
    ctx: &RequestContext,
    id: String,
    new: Vec<Tag>,
) -> Result<(), IamError> {
    modify::<R>(svc, ctx, id, false, move |t| merge(t, &new, R::TAG_QUOTA)).await
}

pub(crate) async fn untag<R: TaggedRecord>(
    svc: &IamService,
    ctx: &RequestContext,
    id: String,
    keys: Vec<String>,
) -> Result<(), IamError> {
    modify::<R>(svc, ctx, id, true, move |t| {
        remove(t, &keys);
        Ok(())
    })
    .await
}

/// Tags in the order they were added; the marker is the position.
pub(crate) async fn list<R: TaggedRecord>(
    svc: &IamService,
    ctx: &RequestContext,
    id: String,
    marker: Option<String>,
    max_items: Option<i32>,
) -> Result<Page<Tag>, IamError> {
    let account = ctx.principal.account_id.clone();
    let page = svc
        .read(move |txn| {
            let (_, mut doc) = R::load(txn, &account, &id)?;
            let indexed: Vec<(usize, Tag)> = std::mem::take(doc.tags_mut())
                .into_iter()
                .enumerate()
                .collect();
            paging::in_memory(
                indexed,
                |(i, _)| format!("{i:08}"),
                marker.as_deref(),
                max_items,
            )
        })
        .await?;
    Ok(Page {
        items: page.items.into_iter().map(|(_, t)| t).collect(),
        marker: page.marker,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(k: &str, v: &str) -> Tag {
        Tag {
            key: k.to_string(),
            value: v.to_string(),
        }
    }

    #[test]
    fn keys_replace_without_regard_to_case() {
        let mut tags = vec![tag("CostCenter", "1")];
        merge(
            &mut tags,
            &[tag("costcenter", "2"), tag("Team", "x")],
            "TagsPerUser",
        )
        .ok()
        .unwrap();
        assert_eq!(tags, vec![tag("costcenter", "2"), tag("Team", "x")]);
        remove(&mut tags, &["TEAM".to_string()]);
        assert_eq!(tags, vec![tag("costcenter", "2")]);
    }

    #[test]
    fn duplicates_and_quota_are_refused() {
        let mut tags = Vec::new();
        assert!(merge(&mut tags, &[tag("a", "1"), tag("A", "2")], "TagsPerUser").is_err());
        assert!(tags.is_empty());
        let many: Vec<Tag> = (0..51).map(|i| tag(&format!("k{i}"), "v")).collect();
        assert!(merge(&mut tags, &many, "TagsPerUser").is_err());
    }
}
