//! What a request asks permission for, in IAM's terms: the action, the secret's ARN and the
//! Secrets Manager condition keys. The authorization layer evaluates policies against this before
//! the operation runs; only this service can resolve a name or partial ARN to the secret's ARN and
//! knows its tags and resource policy.

use std::collections::BTreeMap;
use std::sync::Arc;

use coffer_model::access::AccessRequest;
use coffer_model::context::RequestContext;
use coffer_model::secretsmanager::GetSecretValueRequest;
use coffer_model::AwsError;
use coffer_store::Store;
use serde_json::Value;

use crate::common::scope_of;
use crate::error::{Fail, OpResult};
use crate::lookup::{find_latest, parse_secret_id};
use crate::state::SecretDoc;

/// Decides whether the caller may do what an [`AccessRequest`] describes: the server's authorizer,
/// so a per-secret decision inside one call is the very decision a call of its own would get.
/// Denials come back as `AccessDeniedException` errors.
pub trait AccessCheck: Send + Sync {
    fn check<'a>(
        &'a self,
        ctx: &'a RequestContext,
        access: AccessRequest,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), AwsError>> + Send + 'a>>;
}

/// The secret's policy as AWS evaluates it now: users and roles deleted or re-created since it
/// was saved are named by their old unique ids, which match nobody. Reads storage only for
/// policies that name IAM users or roles.
async fn effective_policy(store: &Store, doc: &SecretDoc) -> OpResult<Option<String>> {
    let Some(policy) = doc.policy.clone() else {
        return Ok(None);
    };
    if doc.policy_principal_ids.is_empty() {
        return Ok(Some(policy));
    }
    let ids = doc.policy_principal_ids.clone();
    store
        .read(move |txn| {
            Ok::<_, Fail>(Some(
                coffer_iam::principal_ids::effective_document(txn, &policy, &ids)?.into_owned(),
            ))
        })
        .await
        .map_err(Fail::into_aws)
}

/// A request's members as the condition keys read them: the canonical value of any operation,
/// or a typed input of an operation with a typed path.
pub(crate) trait Members {
    fn string(&self, member: &str) -> Option<&str>;
    fn boolean(&self, member: &str) -> Option<bool>;
    fn integer(&self, member: &str) -> Option<i64>;
    /// Whether the member is given (not absent, not `null`).
    fn present(&self, member: &str) -> bool;
    /// The string `field` of each structure in the list `member` (`AddReplicaRegions[].Region`),
    /// or the list's strings when `field` is `None` (`TagKeys`).
    fn strings_in(&self, member: &str, field: Option<&str>) -> Vec<&str>;
    /// The `Tags` member: each tag's key and value.
    fn tags(&self) -> Vec<(&str, Option<&str>)>;
}

impl Members for Value {
    fn string(&self, member: &str) -> Option<&str> {
        self.get(member).and_then(Value::as_str)
    }
    fn boolean(&self, member: &str) -> Option<bool> {
        self.get(member).and_then(Value::as_bool)
    }
    fn integer(&self, member: &str) -> Option<i64> {
        self.get(member).and_then(Value::as_i64)
    }
    fn present(&self, member: &str) -> bool {
        self.get(member).is_some_and(|v| !v.is_null())
    }
    fn strings_in(&self, member: &str, field: Option<&str>) -> Vec<&str> {
        let items = self.get(member).and_then(Value::as_array);
        items
            .into_iter()
            .flatten()
            .filter_map(|item| match field {
                Some(field) => item.string(field),
                None => item.as_str(),
            })
            .collect()
    }
    fn tags(&self) -> Vec<(&str, Option<&str>)> {
        let items = self.get("Tags").and_then(Value::as_array);
        items
            .into_iter()
            .flatten()
            .filter_map(|t| Some((t.string("Key")?, t.string("Value"))))
            .collect()
    }
}

impl Members for GetSecretValueRequest {
    fn string(&self, member: &str) -> Option<&str> {
        match member {
            "SecretId" => Some(&self.secret_id),
            "VersionId" => self.version_id.as_deref(),
            "VersionStage" => self.version_stage.as_deref(),
            _ => None,
        }
    }
    fn boolean(&self, _: &str) -> Option<bool> {
        None
    }
    fn integer(&self, _: &str) -> Option<i64> {
        None
    }
    fn present(&self, member: &str) -> bool {
        self.string(member).is_some()
    }
    fn strings_in(&self, _: &str, _: Option<&str>) -> Vec<&str> {
        Vec::new()
    }
    fn tags(&self) -> Vec<(&str, Option<&str>)> {
        Vec::new()
    }
}

fn add(
    conditions: &mut BTreeMap<String, Vec<String>>,
    key: impl Into<String>,
    value: impl Into<String>,
) {
    conditions.entry(key.into()).or_default().push(value.into());
}

/// The ARN of the KMS key `key_id` names, when it names a key rather than an alias (an alias
/// needs KMS to resolve, which Coffer does not have): a key ARN as given, a bare key id in the
/// request's account and region.
fn kms_key_arn(key_id: &str, region: &str, account: &str) -> Option<String> {
    if key_id.starts_with("arn:") {
        return key_id.contains(":key/").then(|| key_id.to_string());
    }
    if key_id.starts_with("alias/") || key_id.is_empty() || key_id.contains('/') {
        return None;
    }
    Some(format!("arn:aws:kms:{region}:{account}:key/{key_id}"))
}

/// Keys taken from the request itself.
fn request_conditions(op: &str, input: &impl Members, c: &mut BTreeMap<String, Vec<String>>) {
    for (member, key) in [
        ("Name", "secretsmanager:Name"),
        ("Description", "secretsmanager:Description"),
        ("KmsKeyId", "secretsmanager:KmsKeyId"),
        ("VersionId", "secretsmanager:VersionId"),
        ("VersionStage", "secretsmanager:VersionStage"),
        ("RotationLambdaARN", "secretsmanager:RotationLambdaARN"),
        ("Type", "secretsmanager:Type"),
        (
            "ExternalSecretRotationRoleArn",
            "secretsmanager:ExternalSecretRotationRoleArn",
        ),
    ] {
        if let Some(v) = input.string(member) {
            add(c, key, v);
        }
    }
    for (member, key) in [
        (
            "ForceDeleteWithoutRecovery",
            "secretsmanager:ForceDeleteWithoutRecovery",
        ),
        ("BlockPublicPolicy", "secretsmanager:BlockPublicPolicy"),
        (
            "ForceOverwriteReplicaSecret",
            "secretsmanager:ForceOverwriteReplicaSecret",
        ),
    ] {
        if let Some(b) = input.boolean(member) {
            add(c, key, b.to_string());
        }
    }
    if op == "RotateSecret" {
        // AWS rotates at once unless told otherwise, and the rules change only when given.
        let immediately = input.boolean("RotateImmediately").unwrap_or(true);
        add(
            c,
            "secretsmanager:RotateImmediately",
            immediately.to_string(),
        );
        let modifies = input.present("RotationRules");
        add(
            c,
            "secretsmanager:ModifyRotationRules",
            modifies.to_string(),
        );
    }
    if let Some(n) = input.integer("RecoveryWindowInDays") {
        add(c, "secretsmanager:RecoveryWindowInDays", n.to_string());
    }
    for region in input.strings_in("AddReplicaRegions", Some("Region")) {
        add(c, "secretsmanager:AddReplicaRegions", region);
    }
    if matches!(op, "CreateSecret" | "TagResource") {
        for (k, v) in input.tags() {
            add(c, format!("aws:RequestTag/{k}"), v.unwrap_or(""));
            add(c, "aws:TagKeys", k);
        }
    }
    if op == "UntagResource" {
        for k in input.strings_in("TagKeys", None) {
            add(c, "aws:TagKeys", k);
        }
    }
}

/// Resolves what `op` with canonical `input` asks permission for. Fails only on a SecretId that
/// is not a valid name (the same ValidationException the operation would answer) or on storage.
pub async fn access(
    store: &Store,
    ctx: &RequestContext,
    op: &str,
    input: &Value,
) -> OpResult<AccessRequest> {
    Ok(resolve(store, ctx, op, input).await?.0)
}

/// The secret a request was authorized against, as authorization read it: the operation runs on
/// this record instead of looking the secret up again. `None` inside: no such secret.
#[derive(Debug, Clone)]
pub struct AuthorizedSecret(pub(crate) Option<Arc<SecretDoc>>);

/// What `op` with `input` asks permission for, and the secret it names as read for that.
pub(crate) async fn resolve(
    store: &Store,
    ctx: &RequestContext,
    op: &str,
    input: &impl Members,
) -> OpResult<(AccessRequest, AuthorizedSecret)> {
    let mut conditions = BTreeMap::new();
    request_conditions(op, input, &mut conditions);
    if let Some(arn) = input
        .string("KmsKeyId")
        .and_then(|k| kms_key_arn(k, &ctx.region, &ctx.principal.account_id))
    {
        add(&mut conditions, "secretsmanager:KmsKeyArn", arn);
    }
    let action = format!("secretsmanager:{op}");
    let id = match op {
        "CreateSecret" => input.string("Name"),
        _ => input.string("SecretId"),
    };
    let Some(id) = id else {
        return Ok((
            AccessRequest {
                conditions: conditions.into_iter().collect(),
                ..AccessRequest::new(action, None)
            },
            AuthorizedSecret(None),
        ));
    };
    let scope = scope_of(ctx, id);
    let secret = parse_secret_id(id, &scope)?;
    let now = ctx.now_millis;
    let doc = find_latest(store, &scope, &secret, now)
        .await
        .map_err(Fail::into_aws)?;
    let (resource, policy) = match &doc {
        Some(doc) => {
            for t in doc.tags.iter().flatten() {
                if let Some(k) = &t.key {
                    let v = t.value.clone().unwrap_or_default();
                    add(
                        &mut conditions,
                        format!("secretsmanager:ResourceTag/{k}"),
                        v.clone(),
                    );
                    add(&mut conditions, format!("aws:ResourceTag/{k}"), v);
                }
            }
            // A replica's primary is elsewhere; a primary's is its own region.
            let primary = doc.primary_region.as_deref().unwrap_or(&scope.region);
            add(
                &mut conditions,
                "secretsmanager:SecretPrimaryRegion",
                primary,
            );
            if let Some(lambda) = &doc.rotation.lambda_arn {
                add(
                    &mut conditions,
                    "secretsmanager:resource/AllowRotationLambdaArn",
                    lambda.clone(),
                );
            }
            if let Some(kind) = &doc.r#type {
                add(
                    &mut conditions,
                    "secretsmanager:resource/Type",
                    kind.clone(),
                );
            }
            (doc.arn(&scope), effective_policy(store, doc).await?)
        }
        None if id.starts_with("arn:") => (id.to_string(), None),
        None => (
            format!(
                "arn:aws:secretsmanager:{}:{}:secret:{id}",
                scope.region, scope.account
            ),
            None,
        ),
    };
    // CreateSecret names a secret that does not exist yet: the reference lists no
    // `secretsmanager:SecretId` for it (its keys are the request's `Name`, `Description`, …).
    if op != "CreateSecret" {
        add(&mut conditions, "secretsmanager:SecretId", resource.clone());
    }
    Ok((
        AccessRequest {
            conditions: conditions.into_iter().collect(),
            resource_policy: policy,
            ..AccessRequest::new(action, Some(resource))
        },
        AuthorizedSecret(doc),
    ))
}
