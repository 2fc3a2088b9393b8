//! The services this binary serves, adapted to the server's `ServiceHandler`: the generated
//! `dispatch` of each service, and the resource ARN each operation is authorized against.

use std::sync::Arc;

use coffer_model::context::RequestContext;
use coffer_model::schema::{Operation, Service};
use coffer_model::secretsmanager::GetSecretValueRequest;
use coffer_model::AwsError;
use coffer_model::Protocol;
use coffer_secretsmanager::AuthorizedSecret;
use coffer_server::{
    AccessRequest, Authorizer, Clock, PreparedCall, PreparedOutput, ServiceHandler,
};
use coffer_store::Store;
use futures_util::future::BoxFuture;
use serde_json::Value;

/// A handler over a service's generated `dispatch`; `typed` names the handler's method that
/// offers typed paths (`ServiceHandler::prepare_json`), for the services that have any.
macro_rules! handler {
    ($name:ident, $service:ty, $module:ident $(, typed = $typed:ident)?) => {
        struct $name($service);

        impl ServiceHandler for $name {
            fn service(&self) -> &'static Service {
                &coffer_model::$module::SERVICE
            }
            fn call<'a>(
                &'a self,
                ctx: &'a RequestContext,
                op: &'static Operation,
                input: Value,
            ) -> BoxFuture<'a, Result<Value, AwsError>> {
                Box::pin(coffer_model::$module::dispatch(&self.0, ctx, op, input))
            }
            fn access<'a>(
                &'a self,
                ctx: &'a RequestContext,
                op: &'static Operation,
                input: &'a Value,
            ) -> BoxFuture<'a, Result<AccessRequest, AwsError>> {
                Box::pin(self.access_request(ctx, op, input))
            }
            $(
                fn prepare_json<'a>(
                    &'a self,
                    op: &'static Operation,
                    body: &[u8],
                ) -> Option<Box<dyn PreparedCall + 'a>> {
                    self.$typed(op, body)
                }
            )?
        }
    };
}

handler!(Sts, coffer_sts::StsService, sts);
handler!(
    SecretsManager,
    coffer_secretsmanager::SecretsManagerService,
    secretsmanager,
    typed = typed_path
);
handler!(Iam, coffer_iam::IamService, iam);

impl Sts {
    /// For `AssumeRole`, the role's trust policy (which must allow) and the `sts:` condition
    /// keys; the authorizer adds `sts:TagSession` / `sts:SetSourceIdentity` when they apply.
    async fn access_request(
        &self,
        ctx: &RequestContext,
        op: &'static Operation,
        input: &Value,
    ) -> Result<AccessRequest, AwsError> {
        self.0.access(ctx, op.name, input).await
    }
}

impl SecretsManager {
    /// The operations served typed: GetSecretValue, the hot path.
    fn typed_path<'a>(
        &'a self,
        op: &'static Operation,
        body: &[u8],
    ) -> Option<Box<dyn PreparedCall + 'a>> {
        match op.name {
            "GetSecretValue" => {
                let input = coffer_wire::decode_json_typed(body, op.input?)?;
                Some(Box::new(PreparedGetSecretValue {
                    service: &self.0,
                    input: Some(input),
                    authorized: None,
                }))
            }
            _ => None,
        }
    }

    /// The secret's full ARN (with its random suffix, so policies naming `name-??????` match),
    /// its tags as condition keys and its resource policy, as the service resolves them.
    async fn access_request(
        &self,
        ctx: &RequestContext,
        op: &'static Operation,
        input: &Value,
    ) -> Result<AccessRequest, AwsError> {
        Ok(self.0.access(ctx, op.name, input).await?)
    }
}

impl Iam {
    async fn access_request(
        &self,
        ctx: &RequestContext,
        op: &'static Operation,
        input: &Value,
    ) -> Result<AccessRequest, AwsError> {
        coffer_authz::iam_access::access_request(self.0.store(), ctx, op, input).await
    }
}

/// GetSecretValue decoded, authorized against the secret it names and run on that same record.
struct PreparedGetSecretValue<'a> {
    service: &'a coffer_secretsmanager::SecretsManagerService,
    /// Taken by `run`.
    input: Option<GetSecretValueRequest>,
    /// The secret as authorization read it; `None` until authorized (and in `--dev`).
    authorized: Option<AuthorizedSecret>,
}

impl PreparedCall for PreparedGetSecretValue<'_> {
    fn access<'a>(
        &'a mut self,
        ctx: &'a RequestContext,
    ) -> BoxFuture<'a, Result<AccessRequest, AwsError>> {
        Box::pin(async move {
            let input = self.input.as_ref().ok_or_else(AwsError::internal)?;
            let (request, secret) = self.service.get_secret_value_access(ctx, input).await?;
            self.authorized = Some(secret);
            Ok(request)
        })
    }

    fn canonical_input(&self) -> Value {
        serde_json::to_value(&self.input).unwrap_or_default()
    }

    fn run<'a>(
        &'a mut self,
        ctx: &'a RequestContext,
        canonical_output: bool,
    ) -> BoxFuture<'a, Result<PreparedOutput, AwsError>> {
        Box::pin(async move {
            let input = self.input.take().ok_or_else(AwsError::internal)?;
            let authorized = self.authorized.take();
            let output = self
                .service
                .get_secret_value_authorized(ctx, input, authorized)
                .await?;
            Ok(PreparedOutput {
                body: serde_json::to_vec(&output).map_err(|_| AwsError::internal())?,
                canonical: match canonical_output {
                    true => Some(serde_json::to_value(&output).map_err(|_| AwsError::internal())?),
                    false => None,
                },
            })
        })
    }
}

/// The handlers the server routes to, and the Secrets Manager service itself for its background
/// work (deletion purge, scheduled rotation).
pub struct Services {
    pub handlers: Vec<Arc<dyn ServiceHandler>>,
    pub secrets_manager: coffer_secretsmanager::SecretsManagerService,
    pub sts: coffer_sts::StsService,
}

pub fn all(store: &Store) -> Vec<Arc<dyn ServiceHandler>> {
    build(store, None).handlers
}

pub fn build(
    store: &Store,
    rotation: Option<coffer_secretsmanager::LambdaHttpInvoker>,
) -> Services {
    let trust = Arc::new(coffer_authz::PolicyAuthorizer::new(store.clone()));
    build_with_sts(
        store,
        rotation,
        coffer_sts::StsService::new(store.clone(), trust),
        None,
        None,
        None,
    )
}

/// Lets Secrets Manager authorize the secrets a batch call reads with the server's authorizer.
struct AuthorizerCheck(Arc<dyn Authorizer>);

impl coffer_secretsmanager::AccessCheck for AuthorizerCheck {
    fn check<'a>(
        &'a self,
        ctx: &'a RequestContext,
        request: AccessRequest,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), AwsError>> + Send + 'a>>
    {
        Box::pin(async move {
            self.0
                .authorize(ctx, &request)
                .await
                .map_err(|denial| denial.to_aws(Protocol::Json))
        })
    }
}

/// As [`build`], with an STS service configured by the caller (e.g. trusting a private CA for
/// OIDC issuers), outside `--dev` the authorizer that decides per-secret reads of batch calls,
/// what hears how rotations end (the metrics), and where delegation exchange tokens go.
pub fn build_with_sts(
    store: &Store,
    rotation: Option<coffer_secretsmanager::LambdaHttpInvoker>,
    sts: coffer_sts::StsService,
    authorizer: Option<Arc<dyn Authorizer>>,
    rotation_observer: Option<Arc<dyn coffer_secretsmanager::RotationObserver>>,
    delegation_outbox: Option<std::path::PathBuf>,
) -> Services {
    let mut secrets_manager = coffer_secretsmanager::SecretsManagerService::new(store.clone());
    if let Some(observer) = rotation_observer {
        secrets_manager = secrets_manager.with_rotation_observer(observer);
    }
    if let Some(authorizer) = authorizer {
        secrets_manager = secrets_manager.with_access_check(Arc::new(AuthorizerCheck(authorizer)));
    }
    if let Some(invoker) = rotation {
        secrets_manager = secrets_manager.with_rotation_invoker(Arc::new(invoker));
    }
    let mut iam = coffer_iam::IamService::new(store.clone());
    if let Some(dir) = delegation_outbox {
        iam = iam.with_delegation_outbox(dir);
    }
    Services {
        handlers: vec![
            Arc::new(Sts(sts.clone())),
            Arc::new(SecretsManager(secrets_manager.clone())),
            Arc::new(Iam(iam)),
        ],
        secrets_manager,
        sts,
    }
}

/// Every second: re-reads the store's key state, so a master-key rotation run by `coffer admin` (or
/// by another node) is adopted while its grace period lasts, even by a server that writes nothing.
pub async fn keep_keys_fresh(store: Store) {
    let mut ticker = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        ticker.tick().await;
        if let Err(e) = store.refresh_keys().await {
            tracing::warn!(error = %e, "re-reading the master key state failed");
        }
    }
}

/// Every `interval`: purges secrets whose recovery window ended, runs due rotations and deletes
/// ended STS sessions, as of the server's `clock`. All are safe when several nodes share a
/// database. Each finished pass is logged (debug, with its number), so tests can wait for passes
/// rather than for time.
pub async fn maintenance(
    secrets_manager: coffer_secretsmanager::SecretsManagerService,
    sts: coffer_sts::StsService,
    interval: std::time::Duration,
    clock: Arc<dyn Clock>,
) {
    let mut ticker = tokio::time::interval(interval);
    for pass in 1u64.. {
        ticker.tick().await;
        let now = clock.now().timestamp_millis();
        if let Err(e) = secrets_manager.purge_expired(now).await {
            tracing::warn!(error = %e, "purging deleted secrets failed");
        }
        if let Err(e) = secrets_manager.rotate_due(now).await {
            tracing::warn!(error = %e, "scheduled rotation failed");
        }
        if let Err(e) = sts.purge_expired(now).await {
            tracing::warn!(error = %e, "purging ended STS sessions failed");
        }
        tracing::debug!(pass, "maintenance pass finished");
    }
}
