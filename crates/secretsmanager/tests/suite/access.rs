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
