//! BatchGetSecretValue: the AWSCURRENT values of up to 20 secrets, by id list or by filters, with
//! a per-secret error list instead of failing the whole call.

use coffer_model::context::RequestContext;
use coffer_model::secretsmanager::{
    APIErrorType, BatchGetSecretValueRequest, BatchGetSecretValueResponse, GetSecretValueResponse,
    SecretValueEntry, SecretsManagerError, SortByType,
};
use coffer_model::AwsError;
use coffer_store::{Store, Txn};

use crate::access::AccessCheck;
use crate::common::{check_cross_account_value, scope, scope_of};
use crate::error::{Fail, OpResult};
use crate::filter::check_filters;
use crate::lookup::{parse_secret_id, require, SecretRef};
use crate::ops::get_secret_value::{read_value, touch, Accessed};
use crate::ops::list_secrets::{page_size, select, Selection};
use crate::state::Scope;
use crate::token;
use coffer_model::access::AccessRequest;

const MAX_PAGE: usize = 20;

fn entry(r: coffer_model::secretsmanager::GetSecretValueResponse) -> SecretValueEntry {
    SecretValueEntry {
        arn: r.arn,
        name: r.name,
        version_id: r.version_id,
        secret_binary: r.secret_binary,
        secret_string: r.secret_string,
        version_stages: r.version_stages,
        created_date: r.created_date,
    }
}

fn error_entry(secret_id: &str, e: SecretsManagerError) -> APIErrorType {
    let wire = AwsError::from(e);
    APIErrorType {
        secret_id: Some(secret_id.to_string()),
        error_code: Some(wire.code.into_owned()),
        message: wire.message,
    }
}

pub(crate) async fn run(
    store: &Store,
    ctx: &RequestContext,
    input: BatchGetSecretValueRequest,
    check: Option<&dyn AccessCheck>,
) -> OpResult<BatchGetSecretValueResponse> {
    let scope = scope(ctx);
    let now = ctx.now_millis;
    let (ids, filters) = match (input.secret_id_list, input.filters) {
        (Some(ids), None) => (Some(ids), None),
        (None, Some(f)) => (None, Some(f)),
        _ => {
            return Err(SecretsManagerError::invalid_parameter(
                "Either 'SecretIdList' or 'Filters' must be provided, but not both.",
            ))
        }
    };
    if let (Some(check), Some(_)) = (check, &filters) {
        let list = AccessRequest::new("secretsmanager:ListSecrets".to_string(), None);
        check
            .check(ctx, list)
            .await
            .map_err(SecretsManagerError::Other)?;
    }
    let s = scope.clone();
    let (mut out, mut accessed) = if let Some(ids) = ids {
        if input.max_results.is_some() {
            return Err(SecretsManagerError::invalid_parameter(
                "'Filters' not specified. 'Filters' must also be specified when 'MaxResults' is provided.",
            ));
        }
        // A full ARN of another account reaches that account's secret, as GetSecretValue does;
        // each one is then authorized on both sides (`authorize_each`).
        let refs: Vec<(String, Scope, Result<SecretRef, SecretsManagerError>)> = ids
            .into_iter()
            .map(|id| {
                let secret_scope = scope_of(ctx, &id);
                let r = parse_secret_id(&id, &secret_scope);
                (id, secret_scope, r)
            })
            .collect();
        let caller = ctx.clone();
        store
            .read(move |txn| {
                let mut values = Vec::new();
                let mut errors = Vec::new();
                let mut accessed = Vec::new();
                for (id, secret_scope, r) in &refs {
                    let r = match r {
                        Ok(r) => r,
                        Err(e) => {
                            errors.push(error_entry(id, e.clone()));
                            continue;
                        }
                    };
                    match read_shared_value(txn, &caller, secret_scope, r, now) {
                        Ok((v, touched)) => {
                            values.push(entry(v));
                            accessed.extend(
                                touched
                                    .map(|(name, version)| (secret_scope.clone(), name, version)),
                            );
                        }
                        Err(Fail::Aws(e)) => errors.push(error_entry(id, e)),
                        Err(f) => return Err(f),
                    }
                }
                Ok((
                    BatchGetSecretValueResponse {
                        secret_values: Some(values),
                        next_token: None,
                        errors: Some(errors),
                    },
                    accessed,
                ))
            })
            .await
            .map_err(Fail::into_aws)?
    } else {
        let filters = filters.unwrap_or_default();
        check_filters(&filters)?;
        let sel = Selection {
            filters,
            include_deleted: false,
            sort_by: SortByType::CreatedDate,
            descending: false,
            after: input.next_token.as_deref().map(token::decode).transpose()?,
            page: page_size(input.max_results, MAX_PAGE).min(MAX_PAGE),
        };
        crate::index::ensure_built(store, &s).await;
        store
            .read(move |txn| {
                let (docs, next_token) = select(txn, &s, &sel, now)?;
                let mut values = Vec::new();
                let mut errors = Vec::new();
                let mut accessed = Vec::new();
                for doc in docs {
                    let r = SecretRef::Arn {
                        name: doc.name.clone(),
                        suffix: doc.suffix.clone(),
                    };
                    match read_value(txn, &s, &r, None, None, now) {
                        Ok((v, touched)) => {
                            values.push(entry(v));
                            accessed
                                .extend(touched.map(|(name, version)| (s.clone(), name, version)));
                        }
                        Err(Fail::Aws(e)) => errors.push(error_entry(&doc.arn(&s), e)),
                        Err(f) => return Err(f),
                    }
                }
                Ok((
                    BatchGetSecretValueResponse {
                        secret_values: Some(values),
                        next_token,
                        errors: Some(errors),
                    },
                    accessed,
                ))
            })
            .await
            .map_err(Fail::into_aws)?
    };
    if let Some(check) = check {
        authorize_each(store, ctx, check, &mut out, &mut accessed).await?;
    }
    touch(store, accessed, now).await;
    Ok(out)
}

/// One secret's AWSCURRENT value as GetSecretValue reads it, another account's included: that
/// account's secret must not use the default KMS key, as on AWS.
fn read_shared_value(
    txn: &mut dyn Txn,
    caller: &RequestContext,
    scope: &Scope,
    secret: &SecretRef,
    now: i64,
) -> Result<(GetSecretValueResponse, Option<(String, String)>), Fail> {
    if scope.account != caller.principal.account_id {
        let doc = require(txn, scope, secret, now)?;
        check_cross_account_value(caller, scope, &doc)?;
    }
    read_value(txn, scope, secret, None, None, now)
}

/// Each secret is read as `GetSecretValue` would read it, so it needs that permission too; a
/// denied one moves to `Errors` (its value never leaves the server, its access is not recorded).
async fn authorize_each(
    store: &Store,
    ctx: &RequestContext,
    check: &dyn AccessCheck,
    out: &mut BatchGetSecretValueResponse,
    accessed: &mut Vec<Accessed>,
) -> OpResult<()> {
    let mut kept = Vec::new();
    let errors = out.errors.get_or_insert_with(Vec::new);
    for value in out.secret_values.take().unwrap_or_default() {
        let arn = value.arn.clone().unwrap_or_default();
        let input = serde_json::json!({ "SecretId": arn });
        let access = crate::access::access(store, ctx, "GetSecretValue", &input).await?;
        match check.check(ctx, access).await {
            Ok(()) => kept.push(value),
            Err(e) if e.code == "AccessDeniedException" => {
                if let Some(name) = &value.name {
                    let denied = scope_of(ctx, &arn);
                    accessed.retain(|(s, n, _)| !(s == &denied && n == name));
                }
                errors.push(APIErrorType {
                    secret_id: Some(arn),
                    error_code: Some(e.code.into_owned()),
                    message: e.message,
                });
            }
            Err(e) => return Err(SecretsManagerError::Other(e)),
        }
    }
    out.secret_values = Some(kept);
    // A secret that could not be read is authorized too, as a GetSecretValue of its own would
    // be before it looked: a caller without permission learns nothing about it (for another
    // account's secrets, not even whether they exist). Ids that are not valid names keep their
    // ValidationException.
    for error in errors.iter_mut() {
        let Some(id) = error.secret_id.clone() else {
            continue;
        };
        if error.error_code.as_deref() == Some("AccessDeniedException") {
            continue;
        }
        let input = serde_json::json!({ "SecretId": id });
        let Ok(access) = crate::access::access(store, ctx, "GetSecretValue", &input).await else {
            continue;
        };
        match check.check(ctx, access).await {
            Ok(()) => {}
            Err(e) if e.code == "AccessDeniedException" => {
                error.error_code = Some(e.code.into_owned());
                error.message = e.message;
            }
            Err(e) => return Err(SecretsManagerError::Other(e)),
        }
    }
    Ok(())
}
