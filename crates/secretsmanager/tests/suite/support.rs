use std::sync::atomic::{AtomicI64, Ordering};

use coffer_model::context::{Principal, PrincipalKind, RequestContext};
use coffer_model::secretsmanager::*;
use coffer_model::{AwsError, Sensitive};
use coffer_secretsmanager::SecretsManagerService;
use coffer_store::{Store, StoreConfig};

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";
pub const T0: i64 = 1_700_000_000_123;
pub const DAY: i64 = 86_400_000;

pub struct Env {
    pub svc: SecretsManagerService,
    pub store: Store,
    now: AtomicI64,
    region: std::sync::Mutex<String>,
}

pub async fn env() -> Env {
    let store = Store::open(StoreConfig::memory()).await.unwrap();
    Env {
        svc: SecretsManagerService::new(store.clone()),
        store,
        now: AtomicI64::new(T0),
        region: std::sync::Mutex::new(REGION.to_string()),
    }
}

pub fn ctx_for(region: &str, now: i64) -> RequestContext {
    RequestContext {
        request_id: "req".into(),
        principal: Principal {
            account_id: ACCOUNT.into(),
            arn: format!("arn:aws:iam::{ACCOUNT}:root"),
            user_id: ACCOUNT.into(),
            kind: PrincipalKind::Root,
            access_key_id: "AKIATEST".into(),
        },
        region: region.into(),
        source_ip: None,
        secure_transport: true,
        now_millis: now,
        mfa_authenticated_at_millis: None,
    }
}

impl Env {
    /// The context of the next request: time advances 1 ms per request.
    pub fn ctx(&self) -> RequestContext {
        let now = self.now.fetch_add(1, Ordering::SeqCst);
        ctx_for(&self.region.lock().unwrap(), now)
    }

    pub fn advance(&self, ms: i64) {
        self.now.fetch_add(ms, Ordering::SeqCst);
    }

    pub fn now(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }

    pub fn set_region(&self, region: &str) {
        *self.region.lock().unwrap() = region.to_string();
    }

    pub async fn create(&self, name: &str, value: Option<&str>) -> CreateSecretResponse {
        self.svc
            .create_secret(
                &self.ctx(),
                CreateSecretRequest {
                    name: name.into(),
                    client_request_token: value.map(|_| token()),
                    secret_string: value.map(Sensitive::from),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
    }

    pub async fn put(
        &self,
        id: &str,
        value: &str,
        stages: Option<&[&str]>,
    ) -> PutSecretValueResponse {
        self.try_put(id, value, stages).await.unwrap()
    }

    pub async fn try_put(
        &self,
        id: &str,
        value: &str,
        stages: Option<&[&str]>,
    ) -> Result<PutSecretValueResponse, SecretsManagerError> {
        self.svc
            .put_secret_value(
                &self.ctx(),
                PutSecretValueRequest {
                    secret_id: id.into(),
                    client_request_token: Some(token()),
                    secret_string: Some(Sensitive::from(value)),
                    version_stages: stages.map(|s| s.iter().map(|x| x.to_string()).collect()),
                    ..Default::default()
                },
            )
            .await
    }

    pub async fn get(&self, id: &str) -> Result<GetSecretValueResponse, SecretsManagerError> {
        self.get_with(id, None, None).await
    }

    pub async fn get_with(
        &self,
        id: &str,
        version_id: Option<&str>,
        stage: Option<&str>,
    ) -> Result<GetSecretValueResponse, SecretsManagerError> {
        self.svc
            .get_secret_value(
                &self.ctx(),
                GetSecretValueRequest {
                    secret_id: id.into(),
                    version_id: version_id.map(String::from),
                    version_stage: stage.map(String::from),
                },
            )
            .await
    }

    pub async fn describe(&self, id: &str) -> Result<DescribeSecretResponse, SecretsManagerError> {
        self.svc
            .describe_secret(
                &self.ctx(),
                DescribeSecretRequest {
                    secret_id: id.into(),
                },
            )
            .await
    }

    /// Every version ListSecretVersionIds lists, across pages.
    pub async fn versions(
        &self,
        id: &str,
        include_deprecated: bool,
    ) -> Vec<SecretVersionsListEntry> {
        let mut out = Vec::new();
        let mut next = None;
        loop {
            let r = self
                .svc
                .list_secret_version_ids(
                    &self.ctx(),
                    ListSecretVersionIdsRequest {
                        secret_id: id.into(),
                        include_deprecated: Some(include_deprecated),
                        next_token: next,
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            out.extend(r.versions.unwrap());
            next = r.next_token;
            if next.is_none() {
                return out;
            }
        }
    }

    /// Version id → labels, of the versions ListSecretVersionIds shows by default.
    pub async fn stages(&self, id: &str) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = self
            .versions(id, false)
            .await
            .into_iter()
            .map(|v| {
                let mut s = v.version_stages.unwrap_or_default();
                s.sort();
                (v.version_id.unwrap(), s)
            })
            .collect();
        out.sort();
        out
    }

    pub async fn delete(
        &self,
        id: &str,
        days: Option<i64>,
        force: Option<bool>,
    ) -> Result<DeleteSecretResponse, SecretsManagerError> {
        self.svc
            .delete_secret(
                &self.ctx(),
                DeleteSecretRequest {
                    secret_id: id.into(),
                    recovery_window_in_days: days,
                    force_delete_without_recovery: force,
                },
            )
            .await
    }
}

/// A fresh ClientRequestToken, as SDKs generate them.
pub fn token() -> String {
    format!("{:032x}-{:04x}", rand_u128(), 0)
}

fn rand_u128() -> u128 {
    use std::sync::atomic::AtomicU64;
    static N: AtomicU64 = AtomicU64::new(1);
    let n = N.fetch_add(1, Ordering::SeqCst) as u128;
    (n << 64) | 0xc0ffee
}

pub fn code(e: &SecretsManagerError) -> String {
    AwsError::from(e.clone()).code.into_owned()
}

pub fn msg(e: &SecretsManagerError) -> String {
    e.message().unwrap_or_default().to_string()
}

pub fn stage_list(stages: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = stages.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

pub fn value(r: &GetSecretValueResponse) -> String {
    r.secret_string.as_ref().unwrap().expose().clone()
}

pub const NOT_FOUND: &str = "Secrets Manager can't find the specified secret.";
pub const MARKED: &str =
    "You can't perform this operation on the secret because it was marked for deletion.";
