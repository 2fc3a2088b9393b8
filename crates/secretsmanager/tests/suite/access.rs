use coffer_model::secretsmanager::*;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn access_resolves_the_secret_arn_tags_and_request_keys() {
    let env = env().await;
    let arn = env.create("acc/db", Some("v")).await.arn.unwrap();
    env.svc
        .tag_resource(
            &env.ctx(),
            TagResourceRequest {
                secret_id: "acc/db".into(),
                tags: vec![Tag {
                    key: Some("team".into()),
                    value: Some("db".into()),
                }],
            },
        )
        .await
        .unwrap();
    let partial = format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:acc/db");
    let a = env
        .svc
        .access(
            &env.ctx(),
            "GetSecretValue",
            &json!({"SecretId": partial, "VersionStage": "AWSPREVIOUS"}),
        )
        .await
        .unwrap();
    assert_eq!(a.action, "secretsmanager:GetSecretValue");
    assert_eq!(a.resource.as_deref(), Some(arn.as_str()));
    assert_eq!(
        a.condition("secretsmanager:SecretId").unwrap(),
        vec![arn.clone()]
    );
    assert_eq!(
        a.condition("secretsmanager:ResourceTag/team").unwrap(),
        vec!["db".to_string()]
    );
    assert_eq!(
        a.condition("secretsmanager:VersionStage").unwrap(),
        vec!["AWSPREVIOUS".to_string()]
    );
    assert!(a.resource_policy.is_none());

    let c = env
        .svc
        .access(
            &env.ctx(),
            "CreateSecret",
            &json!({"Name": "new/one", "Description": "d", "Tags": [{"Key": "env", "Value": "prod"}],
                    "AddReplicaRegions": [{"Region": "eu-west-1"}]}),
        )
        .await
        .unwrap();
    assert_eq!(
        c.resource,
        Some(format!(
            "arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:new/one"
        ))
    );
    assert_eq!(
        c.condition("secretsmanager:Name").unwrap(),
        vec!["new/one".to_string()]
    );
    assert_eq!(
        c.condition("aws:RequestTag/env").unwrap(),
        vec!["prod".to_string()]
    );
    assert_eq!(c.condition("aws:TagKeys").unwrap(), vec!["env".to_string()]);
    assert_eq!(
        c.condition("secretsmanager:AddReplicaRegions").unwrap(),
        vec!["eu-west-1".to_string()]
    );

    let l = env
        .svc
        .access(&env.ctx(), "ListSecrets", &json!({}))
        .await
        .unwrap();
    assert_eq!(l.resource, None);
    let e = env
        .svc
        .access(
            &env.ctx(),
            "DescribeSecret",
            &json!({"SecretId": "bad name"}),
        )
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ValidationException");
}

fn gsv(id: &str, version_id: Option<&str>, stage: Option<&str>) -> GetSecretValueRequest {
    GetSecretValueRequest {
        secret_id: id.into(),
        version_id: version_id.map(Into::into),
        version_stage: stage.map(Into::into),
    }
}

/// GetSecretValue's typed path asks for exactly what the canonical one does.
#[tokio::test]
async fn typed_get_secret_value_access_equals_the_canonical_one() {
    let env = env().await;
    let created = env.create("typed/db", Some("v")).await;
    let arn = created.arn.unwrap();
    let version = created.version_id.unwrap();
    let partial = format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:typed/db");
    let foreign = format!("arn:aws:secretsmanager:{REGION}:999999999999:secret:other-AbCdEf");
    for input in [
        gsv("typed/db", None, None),
        gsv(&arn, None, Some("AWSPREVIOUS")),
        gsv(&partial, Some(&version), Some("AWSCURRENT")),
        gsv("missing/one", None, None),
        gsv(&foreign, None, None),
    ] {
        let ctx = env.ctx();
        let canonical = env
            .svc
            .access(
                &ctx,
                "GetSecretValue",
                &serde_json::to_value(&input).unwrap(),
            )
            .await
            .unwrap();
        let (typed, _) = env.svc.get_secret_value_access(&ctx, &input).await.unwrap();
        assert_eq!(typed, canonical, "{input:?}");
    }
}

/// The value is read from the secret authorization resolved, once: a secret deleted and
/// re-created under the same name between the two is not the one read.
#[tokio::test]
async fn the_value_comes_from_the_secret_that_was_authorized() {
    let env = env().await;
    env.create("pinned/db", Some("first")).await;
    let input = gsv("pinned/db", None, None);
    let (_, authorized) = env
        .svc
        .get_secret_value_access(&env.ctx(), &input)
        .await
        .unwrap();
    let read = env
        .svc
        .get_secret_value_authorized(&env.ctx(), input.clone(), Some(authorized.clone()))
        .await
        .unwrap();
    assert_eq!(value(&read), "first");

    env.delete("pinned/db", None, Some(true)).await.unwrap();
    env.create("pinned/db", Some("second")).await;
    let err = env
        .svc
        .get_secret_value_authorized(&env.ctx(), input.clone(), Some(authorized))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ResourceNotFoundException");
    // Without authorization (`--dev`), the name is looked up when the call runs.
    let read = env
        .svc
        .get_secret_value_authorized(&env.ctx(), input.clone(), None)
        .await
        .unwrap();
    assert_eq!(value(&read), "second");
    // A secret that did not exist when authorized is not found, even if created since.
    let (_, absent) = env
        .svc
        .get_secret_value_access(&env.ctx(), &gsv("later/db", None, None))
        .await
        .unwrap();
    env.create("later/db", Some("x")).await;
    let err = env
        .svc
        .get_secret_value_authorized(&env.ctx(), gsv("later/db", None, None), Some(absent))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ResourceNotFoundException");
}

/// The record handed over must be the one the input names: another secret's is never read.
#[tokio::test]
async fn an_authorized_record_answers_only_for_the_secret_it_is() {
    let env = env().await;
    env.create("mine/db", Some("mine")).await;
    env.create("theirs/db", Some("theirs")).await;
    let (_, mine) = env
        .svc
        .get_secret_value_access(&env.ctx(), &gsv("mine/db", None, None))
        .await
        .unwrap();
    let err = env
        .svc
        .get_secret_value_authorized(&env.ctx(), gsv("theirs/db", None, None), Some(mine))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ResourceNotFoundException");
}
