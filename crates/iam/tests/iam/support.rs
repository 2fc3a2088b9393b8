use coffer_iam::IamService;
use coffer_model::context::{Principal, PrincipalKind, RequestContext};
use coffer_model::iam::{CreateUserRequest, IamError};
use coffer_store::{Store, StoreConfig};

pub const ACCOUNT: &str = "123456789012";
pub const ROOT_KEY: &str = "AKIAROOTROOTROOT0001";
/// 2026-01-02T03:04:05.678Z
pub const NOW_MILLIS: i64 = 1_767_323_045_678;

pub struct Fixture {
    pub store: Store,
    pub iam: IamService,
}

pub async fn fixture() -> Fixture {
    let store = Store::open(StoreConfig::memory()).await.unwrap();
    store
        .write(|txn| {
            coffer_iam::accounts::create_with_root_key(
                txn,
                ACCOUNT,
                ROOT_KEY,
                "rootsecretrootsecretrootsecretrootsecret",
                1_700_000_000.0,
            )
        })
        .await
        .unwrap();
    Fixture {
        iam: IamService::new(store.clone()),
        store,
    }
}

pub fn root() -> RequestContext {
    ctx(Principal {
        account_id: ACCOUNT.to_string(),
        arn: format!("arn:aws:iam::{ACCOUNT}:root"),
        user_id: ACCOUNT.to_string(),
        kind: PrincipalKind::Root,
        access_key_id: ROOT_KEY.to_string(),
    })
}

pub fn as_user(arn: &str, user_id: &str, key: &str) -> RequestContext {
    ctx(Principal {
        account_id: ACCOUNT.to_string(),
        arn: arn.to_string(),
        user_id: user_id.to_string(),
        kind: PrincipalKind::User,
        access_key_id: key.to_string(),
    })
}

/// The root user of another account.
pub fn other_account_root() -> RequestContext {
    ctx(Principal {
        account_id: "210987654321".to_string(),
        arn: "arn:aws:iam::210987654321:root".to_string(),
        user_id: "210987654321".to_string(),
        kind: PrincipalKind::Root,
        access_key_id: "AKIAOTHEROTHEROTHER1".to_string(),
    })
}

fn ctx(principal: Principal) -> RequestContext {
    RequestContext {
        request_id: "test".to_string(),
        principal,
        region: "us-east-1".to_string(),
        source_ip: None,
        secure_transport: true,
        now_millis: NOW_MILLIS,
        mfa_authenticated_at_millis: None,
    }
}

pub fn create_user_req(name: &str) -> CreateUserRequest {
    CreateUserRequest {
        user_name: name.to_string(),
        ..Default::default()
    }
}

/// (code, message) of an error, as the client sees them.
pub fn wire(e: IamError) -> (u16, String, String) {
    let aws = coffer_model::AwsError::from(e);
    (
        aws.status,
        aws.code.to_string(),
        aws.message.unwrap_or_default(),
    )
}

pub const ALLOW_S3: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
