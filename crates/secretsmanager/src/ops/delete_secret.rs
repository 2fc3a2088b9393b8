//! DeleteSecret: schedules deletion after a recovery window, or deletes at once.

use coffer_model::context::RequestContext;
use coffer_model::secretsmanager::{
    DeleteSecretRequest, DeleteSecretResponse, SecretsManagerError,
};
use coffer_store::Store;

use crate::common::{random_suffix, scope_of, ts};
use crate::error::{marked_for_deletion, not_found, Fail, OpResult};
use crate::lookup::{find, parse_secret_id, SecretRef};
use crate::replication::replica_read_only;
use crate::state::{purge, purge_if_expired, save, DAY_MS};

const DEFAULT_WINDOW_DAYS: i64 = 30;

pub(crate) async fn run(
    store: &Store,
    ctx: &RequestContext,
    input: DeleteSecretRequest,
) -> OpResult<DeleteSecretResponse> {
    let scope = scope_of(ctx, &input.secret_id);
    let secret = parse_secret_id(&input.secret_id, &scope)?;
    if let Some(days) = input.recovery_window_in_days {
        if !(7..=30).contains(&days) {
            return Err(SecretsManagerError::invalid_parameter(
                "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).",
            ));
        }
    }
    let force = input.force_delete_without_recovery.unwrap_or(false);
    if force && input.recovery_window_in_days.is_some() {
        return Err(SecretsManagerError::invalid_parameter(
            "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
        ));
    }
    let window = input.recovery_window_in_days.unwrap_or(DEFAULT_WINDOW_DAYS);
    let now = ctx.now_millis;
    let secret_id = input.secret_id;
    let stand_in_suffix = random_suffix();
    store
        .write(move |txn| {
            if let SecretRef::Name(n) | SecretRef::PartialArn(n) | SecretRef::Arn { name: n, .. } =
                &secret
            {
                purge_if_expired(txn, &scope, n, now)?;
            }
            let Some(mut doc) = find(txn, &scope, &secret, now)? else {
                if !force {
                    return Err(Fail::Aws(not_found()));
                }
                // AWS answers a forced delete of a secret that does not exist as if it did.
                let (arn, name) = match &secret {
                    SecretRef::Name(n) => (scope.arn(n, &stand_in_suffix), n.clone()),
                    SecretRef::Arn { name, .. } => (secret_id.clone(), name.clone()),
                    SecretRef::PartialArn(n) => (scope.arn(n, &stand_in_suffix), n.clone()),
                    SecretRef::Foreign => (secret_id.clone(), secret_id.clone()),
                };
                return Ok(DeleteSecretResponse {
                    arn: Some(arn),
                    name: Some(name),
                    deletion_date: Some(ts(now)),
                });
            };
            let arn = doc.arn(&scope);
            if doc.primary_region.is_some() {
                return Err(Fail::Aws(replica_read_only()));
            }
            let live: Vec<&str> = doc
                .replicas
                .iter()
                .filter(|r| r.in_sync())
                .map(|r| r.region.as_str())
                .collect();
            if !live.is_empty() {
                return Err(Fail::Aws(SecretsManagerError::invalid_parameter(format!(
                    "You can't delete secret {} that still has replica regions [{}]",
                    doc.name,
                    live.join(",")
                ))));
            }
            if force {
                purge(txn, &scope, &doc)?;
                return Ok(DeleteSecretResponse {
                    arn: Some(arn),
                    name: Some(doc.name.clone()),
                    deletion_date: Some(ts(now)),
                });
            }
            if doc.is_deleted() {
                return Err(Fail::Aws(marked_for_deletion()));
            }
            let deletion = now + window * DAY_MS;
            doc.deleted_ms = Some(now);
            doc.deletion_ms = Some(deletion);
            save(txn, &scope, &doc)?;
            Ok(DeleteSecretResponse {
                arn: Some(arn),
                name: Some(doc.name.clone()),
                deletion_date: Some(ts(deletion)),
            })
        })
        .await
        .map_err(Fail::into_aws)
}
