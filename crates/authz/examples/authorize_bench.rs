//! What authorization adds to a request on the server's hot path: the production authorizer
//! (`PolicyAuthorizer`, SQLite store) deciding `secretsmanager:GetSecretValue` for an IAM user with
//! an inline policy, a group's managed policy and a permissions boundary, with and without the
//! secret's resource policy. Run: `cargo run --release -p coffer-authz --example authorize_bench`.

use std::time::Instant;

use coffer_authz::PolicyAuthorizer;
use coffer_iam::IamService;
use coffer_model::access::{AccessRequest, Authorizer};
use coffer_model::context::{Principal, PrincipalKind, RequestContext};
use coffer_model::iam::*;
use coffer_store::{Store, StoreConfig};

const ACCOUNT: &str = "123456789012";

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn ctx(principal: Principal) -> RequestContext {
    RequestContext {
        request_id: "bench".to_string(),
        principal,
        region: "us-east-1".to_string(),
        source_ip: Some("10.1.2.3".parse().unwrap()),
        secure_transport: true,
        now_millis: 1_767_323_045_678,
        mfa_authenticated_at_millis: None,
    }
}

async fn setup(store: &Store) -> RequestContext {
    store
        .write(|txn| {
            coffer_iam::accounts::create_with_root_key(
                txn,
                ACCOUNT,
                "AKIABENCHROOT0000001",
                "benchrootsecretbenchrootsecretbenchroot1",
                1_700_000_000.0,
            )
        })
        .await
        .unwrap();
    let iam = IamService::new(store.clone());
    let root = ctx(Principal {
        account_id: ACCOUNT.into(),
        arn: format!("arn:aws:iam::{ACCOUNT}:root"),
        user_id: ACCOUNT.into(),
        kind: PrincipalKind::Root,
        access_key_id: "AKIABENCHROOT0000001".into(),
    });
    let boundary = iam
        .create_policy(
            &root,
            CreatePolicyRequest {
                policy_name: "boundary".into(),
                policy_document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:*","Resource":"*"}]}"#.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .policy
        .and_then(|p| p.arn)
        .unwrap();
    let user = iam
        .create_user(
            &root,
            CreateUserRequest {
                user_name: "alice".into(),
                permissions_boundary: Some(boundary),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .user
        .unwrap();
    iam.put_user_policy(
        &root,
        PutUserPolicyRequest {
            user_name: "alice".into(),
            policy_name: "read".into(),
            policy_document: r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Action":["secretsmanager:GetSecretValue","secretsmanager:Describe*"],
                 "Resource":"arn:aws:secretsmanager:*:123456789012:secret:app/*",
                 "Condition":{"StringEquals":{"secretsmanager:ResourceTag/team":"blue"},
                              "IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}},
                {"Effect":"Deny","Action":"secretsmanager:*","Resource":"*",
                 "Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#
                .into(),
        },
    )
    .await
    .unwrap();
    iam.create_group(
        &root,
        CreateGroupRequest {
            group_name: "readers".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    iam.attach_group_policy(
        &root,
        AttachGroupPolicyRequest {
            group_name: "readers".into(),
            policy_arn: "arn:aws:iam::aws:policy/IAMReadOnlyAccess".into(),
        },
    )
    .await
    .unwrap();
    iam.add_user_to_group(
        &root,
        AddUserToGroupRequest {
            group_name: "readers".into(),
            user_name: "alice".into(),
        },
    )
    .await
    .unwrap();
    ctx(Principal {
        account_id: ACCOUNT.into(),
        arn: user.arn,
        user_id: user.user_id,
        kind: PrincipalKind::User,
        access_key_id: "AKIABENCHALICE000001".into(),
    })
}

async fn measure(
    label: &str,
    authorizer: &PolicyAuthorizer,
    ctx: &RequestContext,
    req: &AccessRequest,
) {
    // The first call compiles and caches; it is what a request pays after an IAM write.
    let first = Instant::now();
    authorizer.authorize(ctx, req).await.expect("allowed");
    let first = first.elapsed();
    let n = 200_000u32;
    let start = Instant::now();
    for _ in 0..n {
        authorizer.authorize(ctx, req).await.expect("allowed");
    }
    let per = start.elapsed() / n;
    println!(
        "{label:<44} {:>8.2} µs per request (first, uncached: {:>7.1} µs)",
        per.as_secs_f64() * 1e6,
        first.as_secs_f64() * 1e6
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::data_dir(dir.path()))
        .await
        .unwrap();
    let alice = setup(&store).await;
    let authorizer = PolicyAuthorizer::new(store.clone());
    let secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-AbCdEf";
    let mut request =
        AccessRequest::new("secretsmanager:GetSecretValue".into(), Some(secret.into()));
    request.conditions = vec![
        (
            "secretsmanager:ResourceTag/team".into(),
            vec!["blue".into()],
        ),
        ("aws:ResourceTag/team".into(), vec!["blue".into()]),
    ];
    measure(
        "identity policies (inline, group, boundary)",
        &authorizer,
        &alice,
        &request,
    )
    .await;
    request.resource_policy = Some(format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Principal":"*","Action":"secretsmanager:DeleteSecret","Resource":"*"}},
            {{"Effect":"Allow","Principal":{{"AWS":"{}"}},"Action":"secretsmanager:GetSecretValue","Resource":"*"}}]}}"#,
        alice.principal.arn
    ));
    measure(
        "… plus the secret's resource policy",
        &authorizer,
        &alice,
        &request,
    )
    .await;
}
