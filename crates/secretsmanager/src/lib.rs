//! coffer-secretsmanager: AWS Secrets Manager's service logic behind the generated
//! `coffer_model::secretsmanager::SecretsManager` trait, on top of `coffer_store`.
//!
//! Secrets are isolated by account and by the region the request was signed for. Values live only
//! in the store's sealed (encrypted) part; metadata (names, tags, labels, dates) is plaintext.

mod access;
mod builtin_rotation;
mod common;
mod describe;
mod error;
mod filter;
mod index;
mod labels;
mod lambda_http;
mod lookup;
mod ops;
mod policy_check;
mod replication;
mod rotation;
mod schedule;
mod state;
mod token;
mod value;
mod versioning;

use coffer_model::context::RequestContext;
use coffer_model::secretsmanager::*;
use std::sync::Arc;

use coffer_store::{Store, StoreError};

pub use access::{AccessCheck, AuthorizedSecret};
pub use builtin_rotation::BUILTIN_ROTATION_FUNCTION;
pub use lambda_http::LambdaHttpInvoker;
pub use rotation::{
    InvokeError, InvokeFuture, RotationEvent, RotationInvoker, RotationObserver, RotationOutcome,
    RotationTrigger,
};

/// The Secrets Manager service; cheap to clone (it holds a store handle).
#[derive(Clone)]
pub struct SecretsManagerService {
    store: Store,
    invoker: Option<Arc<dyn RotationInvoker>>,
    access_check: Option<Arc<dyn AccessCheck>>,
    rotation_observer: Option<Arc<dyn RotationObserver>>,
}

impl SecretsManagerService {
    pub fn new(store: Store) -> Self {
        SecretsManagerService {
            store,
            invoker: None,
            access_check: None,
            rotation_observer: None,
        }
    }

    /// Runs the rotations whose `NextRotationDate` has passed (call it periodically, e.g. every
    /// minute; safe on several nodes sharing a database). Returns how many ran.
    pub async fn rotate_due(&self, now_millis: i64) -> Result<usize, StoreError> {
        let report = rotation::Report {
            observer: self.rotation_observer.as_ref(),
            trigger: RotationTrigger::Schedule,
        };
        ops::rotate_secret::rotate_due(&self.store, self.invoker.as_ref(), report, now_millis).await
    }

    /// What the operation `op` (its model name) with canonical JSON `input` asks permission
    /// for: the IAM action, the secret's ARN, condition keys and the secret's resource policy.
    pub async fn access(
        &self,
        ctx: &RequestContext,
        op: &str,
        input: &serde_json::Value,
    ) -> Result<coffer_model::access::AccessRequest, SecretsManagerError> {
        access::access(&self.store, ctx, op, input).await
    }

    /// GetSecretValue's typed path, first half: what `input` asks permission for (as
    /// [`Self::access`] answers for its canonical value), and the secret as read for that.
    pub async fn get_secret_value_access(
        &self,
        ctx: &RequestContext,
        input: &GetSecretValueRequest,
    ) -> Result<(coffer_model::access::AccessRequest, AuthorizedSecret), SecretsManagerError> {
        access::resolve(&self.store, ctx, "GetSecretValue", input).await
    }

    /// GetSecretValue's typed path, second half: the value of the secret `authorized` holds
    /// (from [`Self::get_secret_value_access`]; `None` in `--dev`, where nothing was authorized
    /// and the secret is looked up here), read once.
    pub async fn get_secret_value_authorized(
        &self,
        ctx: &RequestContext,
        input: GetSecretValueRequest,
        authorized: Option<AuthorizedSecret>,
    ) -> Result<GetSecretValueResponse, SecretsManagerError> {
        ops::get_secret_value::run(&self.store, ctx, input, authorized).await
    }

    /// Authorizes what a call reads beyond its own action: BatchGetSecretValue reads each secret
    /// as `GetSecretValue` (and, with filters, lists as `ListSecrets`). Without it (`--dev`)
    /// nothing beyond the call itself is checked.
    pub fn with_access_check(mut self, check: Arc<dyn AccessCheck>) -> Self {
        self.access_check = Some(check);
        self
    }

    /// Reports how every rotation ends to `observer` (the server's metrics).
    pub fn with_rotation_observer(mut self, observer: Arc<dyn RotationObserver>) -> Self {
        self.rotation_observer = Some(observer);
        self
    }

    /// Lets RotateSecret run rotation functions; without it RotateSecret answers as AWS does for
    /// a function it cannot invoke.
    pub fn with_rotation_invoker(mut self, invoker: Arc<dyn RotationInvoker>) -> Self {
        self.invoker = Some(invoker);
        self
    }

    /// Permanently removes every secret whose recovery window ended by `now_millis`, in every
    /// account and region; returns how many. Operations already treat such secrets as gone, so
    /// calling this only reclaims storage and may run at any interval.
    pub async fn purge_expired(&self, now_millis: i64) -> Result<usize, StoreError> {
        state::purge_all_expired(&self.store, now_millis).await
    }
}

impl SecretsManager for SecretsManagerService {
    async fn batch_get_secret_value(
        &self,
        ctx: &RequestContext,
        input: BatchGetSecretValueRequest,
    ) -> Result<BatchGetSecretValueResponse, SecretsManagerError> {
        ops::batch_get_secret_value::run(&self.store, ctx, input, self.access_check.as_deref())
            .await
    }

    async fn cancel_rotate_secret(
        &self,
        ctx: &RequestContext,
        input: CancelRotateSecretRequest,
    ) -> Result<CancelRotateSecretResponse, SecretsManagerError> {
        ops::rotate_secret::cancel(&self.store, ctx, input).await
    }

    async fn create_secret(
        &self,
        ctx: &RequestContext,
        input: CreateSecretRequest,
    ) -> Result<CreateSecretResponse, SecretsManagerError> {
        ops::create_secret::run(&self.store, ctx, input).await
    }

    async fn delete_resource_policy(
        &self,
        ctx: &RequestContext,
        input: DeleteResourcePolicyRequest,
    ) -> Result<DeleteResourcePolicyResponse, SecretsManagerError> {
        ops::resource_policy::delete(&self.store, ctx, input).await
    }

    async fn delete_secret(
        &self,
        ctx: &RequestContext,
        input: DeleteSecretRequest,
    ) -> Result<DeleteSecretResponse, SecretsManagerError> {
        ops::delete_secret::run(&self.store, ctx, input).await
    }

    async fn describe_secret(
        &self,
        ctx: &RequestContext,
        input: DescribeSecretRequest,
    ) -> Result<DescribeSecretResponse, SecretsManagerError> {
        ops::describe_secret::run(&self.store, ctx, input).await
    }

    async fn get_random_password(
        &self,
        _ctx: &RequestContext,
        input: GetRandomPasswordRequest,
    ) -> Result<GetRandomPasswordResponse, SecretsManagerError> {
        ops::get_random_password::run(input)
    }

    async fn get_resource_policy(
        &self,
        ctx: &RequestContext,
        input: GetResourcePolicyRequest,
    ) -> Result<GetResourcePolicyResponse, SecretsManagerError> {
        ops::resource_policy::get(&self.store, ctx, input).await
    }

    async fn get_secret_value(
        &self,
        ctx: &RequestContext,
        input: GetSecretValueRequest,
    ) -> Result<GetSecretValueResponse, SecretsManagerError> {
        ops::get_secret_value::run(&self.store, ctx, input, None).await
    }

    async fn list_secret_version_ids(
        &self,
        ctx: &RequestContext,
        input: ListSecretVersionIdsRequest,
    ) -> Result<ListSecretVersionIdsResponse, SecretsManagerError> {
        ops::list_secret_version_ids::run(&self.store, ctx, input).await
    }

    async fn list_secrets(
        &self,
        ctx: &RequestContext,
        input: ListSecretsRequest,
    ) -> Result<ListSecretsResponse, SecretsManagerError> {
        ops::list_secrets::run(&self.store, ctx, input).await
    }

    async fn put_resource_policy(
        &self,
        ctx: &RequestContext,
        input: PutResourcePolicyRequest,
    ) -> Result<PutResourcePolicyResponse, SecretsManagerError> {
        ops::resource_policy::put(&self.store, ctx, input).await
    }

    async fn put_secret_value(
        &self,
        ctx: &RequestContext,
        input: PutSecretValueRequest,
    ) -> Result<PutSecretValueResponse, SecretsManagerError> {
        ops::put_secret_value::run(&self.store, ctx, input).await
    }

    async fn remove_regions_from_replication(
        &self,
        ctx: &RequestContext,
        input: RemoveRegionsFromReplicationRequest,
    ) -> Result<RemoveRegionsFromReplicationResponse, SecretsManagerError> {
        ops::replication::remove(&self.store, ctx, input).await
    }

    async fn replicate_secret_to_regions(
        &self,
        ctx: &RequestContext,
        input: ReplicateSecretToRegionsRequest,
    ) -> Result<ReplicateSecretToRegionsResponse, SecretsManagerError> {
        ops::replication::replicate(&self.store, ctx, input).await
    }

    async fn restore_secret(
        &self,
        ctx: &RequestContext,
        input: RestoreSecretRequest,
    ) -> Result<RestoreSecretResponse, SecretsManagerError> {
        ops::restore_secret::run(&self.store, ctx, input).await
    }

    async fn rotate_secret(
        &self,
        ctx: &RequestContext,
        input: RotateSecretRequest,
    ) -> Result<RotateSecretResponse, SecretsManagerError> {
        let report = rotation::Report {
            observer: self.rotation_observer.as_ref(),
            trigger: RotationTrigger::Request,
        };
        ops::rotate_secret::rotate(&self.store, self.invoker.as_ref(), report, ctx, input).await
    }

    async fn stop_replication_to_replica(
        &self,
        ctx: &RequestContext,
        input: StopReplicationToReplicaRequest,
    ) -> Result<StopReplicationToReplicaResponse, SecretsManagerError> {
        ops::replication::stop(&self.store, ctx, input).await
    }

    async fn tag_resource(
        &self,
        ctx: &RequestContext,
        input: TagResourceRequest,
    ) -> Result<(), SecretsManagerError> {
        ops::tags::tag(&self.store, ctx, input).await
    }

    async fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: UntagResourceRequest,
    ) -> Result<(), SecretsManagerError> {
        ops::tags::untag(&self.store, ctx, input).await
    }

    async fn update_secret(
        &self,
        ctx: &RequestContext,
        input: UpdateSecretRequest,
    ) -> Result<UpdateSecretResponse, SecretsManagerError> {
        ops::update_secret::run(&self.store, ctx, input).await
    }

    async fn update_secret_version_stage(
        &self,
        ctx: &RequestContext,
        input: UpdateSecretVersionStageRequest,
    ) -> Result<UpdateSecretVersionStageResponse, SecretsManagerError> {
        ops::update_secret_version_stage::run(&self.store, ctx, input).await
    }

    async fn validate_resource_policy(
        &self,
        ctx: &RequestContext,
        input: ValidateResourcePolicyRequest,
    ) -> Result<ValidateResourcePolicyResponse, SecretsManagerError> {
        ops::resource_policy::validate(&self.store, ctx, input).await
    }
}
