//! Service last-accessed data over recorded attempts: what is recorded (and what is not), and the
//! reports built from it.

use coffer_iam::service_access::{self, AccessMark};
use coffer_model::context::{Principal, PrincipalKind};
use coffer_model::iam::*;
use coffer_model::types::Timestamp;
use coffer_store::Txn;

use crate::support::*;

const T: i64 = 1_767_000_000;

async fn record(f: &Fixture, id: &str, service: &str, action: &str, region: &str, at: i64) -> bool {
    let (id, service, action, region) = (
        id.to_string(),
        service.to_string(),
        action.to_string(),
        region.to_string(),
    );
    f.store
        .write(move |txn: &mut dyn Txn| {
            service_access::record(txn, ACCOUNT, &id, &service, &action, &region, at)
        })
        .await
        .unwrap()
}

fn principal(kind: PrincipalKind, user_id: &str) -> Principal {
    Principal {
        account_id: ACCOUNT.into(),
        arn: "arn".into(),
        user_id: user_id.into(),
        kind,
        access_key_id: "AKIA".into(),
    }
}

#[test]
fn only_users_and_roles_are_tracked() {
    use PrincipalKind::*;
    assert_eq!(
        service_access::tracked_entity(&principal(User, "AIDAEXAMPLE")),
        Some("AIDAEXAMPLE")
    );
    assert_eq!(
        service_access::tracked_entity(&principal(AssumedRole, "AROAEXAMPLE:session")),
        Some("AROAEXAMPLE")
    );
    assert_eq!(
        service_access::tracked_entity(&principal(Root, ACCOUNT)),
        None
    );
    assert_eq!(
        service_access::tracked_entity(&principal(FederatedUser, "123456789012:bob")),
        None
    );
}

#[tokio::test]
async fn attempts_are_recorded_once_a_minute_and_only_forward() {
    let f = fixture().await;
    assert!(record(&f, "AIDAX", "iam", "GetUser", "us-east-1", T).await);
    // The same attempt within the minute is not written again; another region or action is.
    assert!(!record(&f, "AIDAX", "iam", "GetUser", "us-east-1", T + 59).await);
    assert!(record(&f, "AIDAX", "iam", "GetUser", "eu-west-1", T + 59).await);
    assert!(record(&f, "AIDAX", "iam", "ListUsers", "eu-west-1", T + 30).await);
    assert!(record(&f, "AIDAX", "iam", "GetUser", "us-east-1", T + 60).await);
    let got = f
        .store
        .read(|txn: &mut dyn Txn| service_access::of_entity(txn, ACCOUNT, "AIDAX"))
        .await
        .unwrap();
    let iam = &got["iam"];
    assert_eq!(
        iam.last,
        Some(AccessMark {
            at: T + 60,
            region: "us-east-1".into()
        })
    );
    assert_eq!(iam.actions["ListUsers"].at, T + 30);
    assert_eq!(iam.actions["GetUser"].at, T + 60);
    // A late write of an older attempt does not move the dates back.
    assert!(record(&f, "AIDAX", "iam", "CreateUser", "us-east-1", T).await);
    let got = f
        .store
        .read(|txn: &mut dyn Txn| service_access::of_entity(txn, ACCOUNT, "AIDAX"))
        .await
        .unwrap();
    assert_eq!(got["iam"].last.as_ref().map(|m| m.at), Some(T + 60));
}

#[tokio::test]
async fn reports_combine_the_members_of_a_group() {
    let f = fixture().await;
    let ctx = root();
    let mut ids = Vec::new();
    for name in ["ann", "bob"] {
        let u = f
            .iam
            .create_user(&ctx, create_user_req(name))
            .await
            .unwrap();
        ids.push(u.user.unwrap().user_id);
    }
    f.iam
        .create_group(
            &ctx,
            CreateGroupRequest {
                group_name: "g".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    for name in ["ann", "bob"] {
        f.iam
            .add_user_to_group(
                &ctx,
                AddUserToGroupRequest {
                    group_name: "g".into(),
                    user_name: name.into(),
                },
            )
            .await
            .unwrap();
    }
    f.iam
        .put_group_policy(
            &ctx,
            PutGroupPolicyRequest {
                group_name: "g".into(),
                policy_name: "sm".into(),
                policy_document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:*","Resource":"*"}]}"#.into(),
            },
        )
        .await
        .unwrap();
    record(&f, &ids[0], "secretsmanager", "ListSecrets", "us-east-1", T).await;
    record(
        &f,
        &ids[1],
        "secretsmanager",
        "GetSecretValue",
        "eu-west-1",
        T + 10,
    )
    .await;
    record(
        &f,
        &ids[1],
        "secretsmanager",
        "ListSecrets",
        "eu-west-1",
        T + 5,
    )
    .await;

    let job = f
        .iam
        .generate_service_last_accessed_details(
            &ctx,
            GenerateServiceLastAccessedDetailsRequest {
                arn: format!("arn:aws:iam::{ACCOUNT}:group/g"),
                granularity: Some(AccessAdvisorUsageGranularityType::ActionLevel),
            },
        )
        .await
        .unwrap()
        .job_id
        .unwrap();
    let out = f
        .iam
        .get_service_last_accessed_details(
            &ctx,
            GetServiceLastAccessedDetailsRequest {
                job_id: job.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(out.job_creation_date, Timestamp::from_millis(NOW_MILLIS));
    let [sm] = out.services_last_accessed.as_slice() else {
        panic!("{:?}", out.services_last_accessed);
    };
    let bob = format!("arn:aws:iam::{ACCOUNT}:user/bob");
    assert_eq!(sm.service_namespace, "secretsmanager");
    assert_eq!(sm.last_authenticated, Some(Timestamp::from_secs(T + 10)));
    assert_eq!(sm.last_authenticated_entity.as_deref(), Some(bob.as_str()));
    assert_eq!(sm.last_authenticated_region.as_deref(), Some("eu-west-1"));
    assert_eq!(sm.total_authenticated_entities, Some(2));
    let actions: Vec<(String, Option<Timestamp>)> = sm
        .tracked_actions_last_accessed
        .clone()
        .unwrap()
        .into_iter()
        .map(|a| (a.action_name.unwrap(), a.last_accessed_time))
        .collect();
    // ListSecrets: bob's (T+5) is later than ann's (T).
    assert_eq!(
        actions,
        [
            (
                "GetSecretValue".to_string(),
                Some(Timestamp::from_secs(T + 10))
            ),
            ("ListSecrets".to_string(), Some(Timestamp::from_secs(T + 5)))
        ]
    );
    let with = f
        .iam
        .get_service_last_accessed_details_with_entities(
            &ctx,
            GetServiceLastAccessedDetailsWithEntitiesRequest {
                job_id: job,
                service_namespace: "secretsmanager".into(),
                max_items: Some(1),
                marker: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(with.is_truncated, Some(true));
    assert_eq!(with.entity_details_list[0].entity_info.name, "bob");
}
