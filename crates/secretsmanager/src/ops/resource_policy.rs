//! Put/Get/Delete/ValidateResourcePolicy.

use coffer_iam::principal_ids::{self, PrincipalIds};
use coffer_model::context::RequestContext;
use coffer_model::secretsmanager::{
    DeleteResourcePolicyRequest, DeleteResourcePolicyResponse, GetResourcePolicyRequest,
    GetResourcePolicyResponse, PutResourcePolicyRequest, PutResourcePolicyResponse,
    SecretsManagerError, ValidateResourcePolicyRequest, ValidateResourcePolicyResponse,
    ValidationErrorsEntry,
};
use coffer_store::{Store, Txn};

use crate::common::scope_of;
use crate::error::{marked_for_deletion, Fail, OpResult};
use crate::lookup::{parse_secret_id, require};
use crate::policy_check::{grammar_error, public_access_findings, reference_errors, syntax_error};
use crate::state::save;

fn public_policy() -> SecretsManagerError {
    SecretsManagerError::public_policy(
        "This resource policy grants broad access to the secret, and BlockPublicPolicy is set to true.",
    )
}

/// Binds the IAM users and roles the policy names to their unique ids (see
/// `coffer_iam::principal_ids`). A user or role that does not exist, in the caller's account or
/// another account this store holds, is refused as AWS refuses principals it cannot resolve.
fn bind_principals(txn: &mut dyn Txn, account: &str, policy: &str) -> Result<PrincipalIds, Fail> {
    let parsed = coffer_policy::Policy::parse(policy, coffer_policy::PolicyKind::Resource)
        .map_err(|_| {
            SecretsManagerError::malformed_policy_document(
                "This resource policy contains a syntax error.",
            )
        })?;
    let (ids, missing) = principal_ids::bind(txn, parsed.principal_arns())?;
    for arn in missing {
        let owner = arn.split(':').nth(4).unwrap_or_default();
        if owner == account || coffer_iam::accounts::get(txn, owner)?.is_some() {
            return Err(SecretsManagerError::malformed_policy_document(
                "This resource policy contains an unsupported principal.",
            )
            .into());
        }
    }
    Ok(ids)
}

pub(crate) async fn put(
    store: &Store,
    ctx: &RequestContext,
    input: PutResourcePolicyRequest,
) -> OpResult<PutResourcePolicyResponse> {
    let scope = scope_of(ctx, &input.secret_id);
    let secret = parse_secret_id(&input.secret_id, &scope)?;
    if let Some(msg) = syntax_error(&input.resource_policy) {
        return Err(SecretsManagerError::malformed_policy_document(msg));
    }
    if let Some(why) = grammar_error(&input.resource_policy) {
        tracing::debug!(%why, "resource policy refused by the policy grammar");
        return Err(SecretsManagerError::malformed_policy_document(
            "This resource policy contains a syntax error.",
        ));
    }
    if input.block_public_policy.unwrap_or(false)
        && !public_access_findings(&input.resource_policy).is_empty()
    {
        return Err(public_policy());
    }
    let policy = input.resource_policy;
    let now = ctx.now_millis;
    store
        .write(move |txn| {
            let mut doc = require(txn, &scope, &secret, now)?;
            if doc.is_deleted() {
                return Err(Fail::Aws(marked_for_deletion()));
            }
            doc.policy_principal_ids = bind_principals(txn, &scope.account, &policy)?;
            doc.policy = Some(policy.clone());
            doc.last_changed_ms = now;
            save(txn, &scope, &doc)?;
            Ok(PutResourcePolicyResponse {
                arn: Some(doc.arn(&scope)),
                name: Some(doc.name.clone()),
            })
        })
        .await
        .map_err(Fail::into_aws)
}

pub(crate) async fn get(
    store: &Store,
    ctx: &RequestContext,
    input: GetResourcePolicyRequest,
) -> OpResult<GetResourcePolicyResponse> {
    let scope = scope_of(ctx, &input.secret_id);
    let secret = parse_secret_id(&input.secret_id, &scope)?;
    let now = ctx.now_millis;
    store
        .read(move |txn| {
            let doc = require(txn, &scope, &secret, now)?;
            let resource_policy = match &doc.policy {
                Some(policy) => Some(
                    principal_ids::effective_document(txn, policy, &doc.policy_principal_ids)?
                        .into_owned(),
                ),
                None => None,
            };
            Ok(GetResourcePolicyResponse {
                arn: Some(doc.arn(&scope)),
                name: Some(doc.name.clone()),
                resource_policy,
            })
        })
        .await
        .map_err(Fail::into_aws)
}

pub(crate) async fn delete(
    store: &Store,
    ctx: &RequestContext,
    input: DeleteResourcePolicyRequest,
) -> OpResult<DeleteResourcePolicyResponse> {
    let scope = scope_of(ctx, &input.secret_id);
    let secret = parse_secret_id(&input.secret_id, &scope)?;
    let now = ctx.now_millis;
    store
        .write(move |txn| {
            let mut doc = require(txn, &scope, &secret, now)?;
            if doc.is_deleted() {
                return Err(Fail::Aws(marked_for_deletion()));
            }
            doc.policy_principal_ids.clear();
            if doc.policy.take().is_some() {
                doc.last_changed_ms = now;
                save(txn, &scope, &doc)?;
            }
            Ok(DeleteResourcePolicyResponse {
                arn: Some(doc.arn(&scope)),
                name: Some(doc.name.clone()),
            })
        })
        .await
        .map_err(Fail::into_aws)
}

pub(crate) async fn validate(
    store: &Store,
    ctx: &RequestContext,
    input: ValidateResourcePolicyRequest,
) -> OpResult<ValidateResourcePolicyResponse> {
    if let Some(id) = &input.secret_id {
        let scope = scope_of(ctx, id);
        let secret = parse_secret_id(id, &scope)?;
        let now = ctx.now_millis;
        let s = scope.clone();
        store
            .read(move |txn| require(txn, &s, &secret, now).map(|_| ()))
            .await
            .map_err(Fail::into_aws)?;
    }
    if let Some(msg) = syntax_error(&input.resource_policy) {
        return Err(SecretsManagerError::malformed_policy_document(msg));
    }
    let mut errors = Vec::new();
    // The grammar first, as IAM refuses a malformed document before anything else is judged; a
    // well-formed one is then checked against AWS's reference data, as Access Analyzer does.
    let syntax_errors = match grammar_error(&input.resource_policy) {
        Some(why) => vec![why],
        None => reference_errors(&input.resource_policy),
    };
    errors.extend(
        syntax_errors
            .into_iter()
            .map(|message| ValidationErrorsEntry {
                check_name: Some("SYNTAX_CHECK".to_string()),
                error_message: Some(message),
            }),
    );
    errors.extend(
        public_access_findings(&input.resource_policy)
            .into_iter()
            .map(|finding| ValidationErrorsEntry {
                check_name: Some("PUBLIC_ACCESS_CHECK".to_string()),
                error_message: Some(finding),
            }),
    );
    Ok(ValidateResourcePolicyResponse {
        policy_validation_passed: Some(errors.is_empty()),
        validation_errors: Some(errors),
    })
}
