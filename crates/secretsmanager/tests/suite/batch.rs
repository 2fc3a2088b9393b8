use coffer_model::secretsmanager::*;

use crate::support::*;

async fn batch(
    env: &Env,
    req: BatchGetSecretValueRequest,
) -> Result<BatchGetSecretValueResponse, SecretsManagerError> {
    env.svc.batch_get_secret_value(&env.ctx(), req).await
}

#[tokio::test]
async fn batch_by_ids_reports_each_failure_separately() {
    let env = env().await;
    env.create("b1", Some("one")).await;
    env.create("b2", Some("two")).await;
    env.create("b-empty", None).await;
    env.create("b-del", Some("x")).await;
    env.delete("b-del", None, None).await.unwrap();
    let r = batch(
        &env,
        BatchGetSecretValueRequest {
            secret_id_list: Some(vec![
                "b1".into(),
                "missing".into(),
                "b2".into(),
                "b-empty".into(),
                "b-del".into(),
                "bad name".into(),
            ]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let values: Vec<(String, String)> = r
        .secret_values
        .unwrap()
        .into_iter()
        .map(|v| (v.name.unwrap(), v.secret_string.unwrap().expose().clone()))
        .collect();
    assert_eq!(
        values,
        [
            ("b1".to_string(), "one".to_string()),
            ("b2".to_string(), "two".to_string())
        ]
    );
    let errors: Vec<(String, String)> = r
        .errors
        .unwrap()
        .into_iter()
        .map(|e| (e.secret_id.unwrap(), e.error_code.unwrap()))
        .collect();
    assert_eq!(
        errors,
        [
            (
                "missing".to_string(),
                "ResourceNotFoundException".to_string()
            ),
            (
                "b-empty".to_string(),
                "ResourceNotFoundException".to_string()
            ),
            ("b-del".to_string(), "InvalidRequestException".to_string()),
            ("bad name".to_string(), "ValidationException".to_string()),
        ]
    );
}

#[tokio::test]
async fn batch_by_filters_pages() {
    let env = env().await;
    for i in 0..5 {
        env.create(&format!("app/{i}"), Some(&format!("v{i}")))
            .await;
    }
    env.create("other", Some("o")).await;
    let filters = Some(vec![Filter {
        key: Some(FilterNameStringType::Name),
        values: Some(vec!["app/".into()]),
    }]);
    let mut got = Vec::new();
    let mut next = None;
    loop {
        let r = batch(
            &env,
            BatchGetSecretValueRequest {
                filters: filters.clone(),
                max_results: Some(2),
                next_token: next.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        got.extend(
            r.secret_values
                .unwrap()
                .into_iter()
                .map(|v| v.secret_string.unwrap().expose().clone()),
        );
        next = r.next_token;
        if next.is_none() {
            break;
        }
    }
    assert_eq!(got, ["v0", "v1", "v2", "v3", "v4"]);
}

#[tokio::test]
async fn batch_parameter_rules() {
    let env = env().await;
    let both = batch(
        &env,
        BatchGetSecretValueRequest {
            secret_id_list: Some(vec!["a".into()]),
            filters: Some(vec![]),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(code(&both), "InvalidParameterException");
    let neither = batch(&env, BatchGetSecretValueRequest::default())
        .await
        .unwrap_err();
    assert_eq!(code(&neither), "InvalidParameterException");
    let max_without_filters = batch(
        &env,
        BatchGetSecretValueRequest {
            secret_id_list: Some(vec!["a".into()]),
            max_results: Some(5),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(code(&max_without_filters), "InvalidParameterException");
}

#[tokio::test]
async fn batch_by_ids_reads_other_accounts_secrets_by_full_arn() {
    let env = env().await;
    let shared = env
        .svc
        .create_secret(
            &env.ctx(),
            CreateSecretRequest {
                name: "shared".into(),
                client_request_token: Some(token()),
                secret_string: Some(coffer_model::Sensitive::from("s")),
                kms_key_id: Some("alias/shared".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .arn
        .unwrap();
    let default_key = env.create("default-key", Some("d")).await.arn.unwrap();
    // Account B, whose own "shared" does not exist: names stay in the caller's account.
    let mut other = env.ctx();
    other.principal.account_id = "210987654321".into();
    other.principal.arn = "arn:aws:iam::210987654321:root".into();
    let r = env
        .svc
        .batch_get_secret_value(
            &other,
            BatchGetSecretValueRequest {
                secret_id_list: Some(vec![shared.clone(), default_key.clone(), "shared".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let values: Vec<(String, String)> = r
        .secret_values
        .unwrap()
        .into_iter()
        .map(|v| (v.arn.unwrap(), v.secret_string.unwrap().expose().clone()))
        .collect();
    assert_eq!(values, [(shared, "s".to_string())]);
    let errors: Vec<(String, String)> = r
        .errors
        .unwrap()
        .into_iter()
        .map(|e| (e.secret_id.unwrap(), e.error_code.unwrap()))
        .collect();
    assert_eq!(
        errors,
        [
            (default_key, "InvalidRequestException".to_string()),
            (
                "shared".to_string(),
                "ResourceNotFoundException".to_string()
            )
        ]
    );
}
