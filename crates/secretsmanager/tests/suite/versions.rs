use coffer_model::secretsmanager::*;

use crate::support::*;

async fn move_stage(
    env: &Env,
    id: &str,
    stage: &str,
    remove_from: Option<&str>,
    move_to: Option<&str>,
) -> Result<UpdateSecretVersionStageResponse, SecretsManagerError> {
    env.svc
        .update_secret_version_stage(
            &env.ctx(),
            UpdateSecretVersionStageRequest {
                secret_id: id.into(),
                version_stage: stage.into(),
                remove_from_version_id: remove_from.map(String::from),
                move_to_version_id: move_to.map(String::from),
            },
        )
        .await
}

fn vid(r: &PutSecretValueResponse) -> String {
    r.version_id.clone().unwrap()
}

#[tokio::test]
async fn new_values_rotate_current_previous_and_deprecate_the_rest() {
    let env = env().await;
    let v1 = env.create("rot", Some("1")).await.version_id.unwrap();
    let v2 = vid(&env.put("rot", "2", None).await);
    assert_eq!(env.stages("rot").await, {
        let mut x = vec![
            (v1.clone(), stage_list(&["AWSPREVIOUS"])),
            (v2.clone(), stage_list(&["AWSCURRENT"])),
        ];
        x.sort();
        x
    });
    let v3 = vid(&env.put("rot", "3", None).await);
    let mut want = vec![
        (v2.clone(), stage_list(&["AWSPREVIOUS"])),
        (v3.clone(), stage_list(&["AWSCURRENT"])),
    ];
    want.sort();
    assert_eq!(env.stages("rot").await, want);
    // v1 lost its last label: hidden by default, listed without VersionStages when asked.
    let all = env.versions("rot", true).await;
    let old = all
        .iter()
        .find(|v| v.version_id.as_deref() == Some(v1.as_str()))
        .unwrap();
    assert!(old.version_stages.is_none());
    assert_eq!(
        old.kms_key_ids,
        Some(vec!["DefaultEncryptionKey".to_string()])
    );
    let d = env.describe("rot").await.unwrap();
    let map = d.version_ids_to_stages.unwrap();
    assert_eq!(map.len(), 2);
    assert!(!map.contains_key(&v1));
    // An unlabeled version is still readable by id.
    assert_eq!(
        value(&env.get_with("rot", Some(&v1), None).await.unwrap()),
        "1"
    );
}

#[tokio::test]
async fn custom_stages_move_labels_without_touching_awscurrent() {
    let env = env().await;
    let v1 = env.create("custom", Some("1")).await.version_id.unwrap();
    let v2 = vid(&env.put("custom", "2", Some(&["one", "two"])).await);
    assert_eq!(value(&env.get("custom").await.unwrap()), "1");
    assert_eq!(
        value(&env.get_with("custom", None, Some("one")).await.unwrap()),
        "2"
    );
    let v3 = vid(&env.put("custom", "3", Some(&["one", "two"])).await);
    let mut want = vec![
        (v1.clone(), stage_list(&["AWSCURRENT"])),
        (v3.clone(), stage_list(&["one", "two"])),
    ];
    want.sort();
    assert_eq!(env.stages("custom").await, want);
    assert!(!env.stages("custom").await.iter().any(|(id, _)| id == &v2));
    let v4 = vid(&env.put("custom", "4", Some(&["two"])).await);
    let mut want = vec![
        (v1, stage_list(&["AWSCURRENT"])),
        (v3, stage_list(&["one"])),
        (v4, stage_list(&["two"])),
    ];
    want.sort();
    assert_eq!(env.stages("custom").await, want);
}

/// The sequence recorded against AWS in `test_update_secret_version_stages_current_pending`.
#[tokio::test]
async fn pending_promoted_to_current_then_superseded() {
    let env = env().await;
    let v1 = env.create("cp", Some("1")).await.version_id.unwrap();
    let v2 = vid(&env.put("cp", "2", Some(&["AWSPENDING"])).await);
    let r = move_stage(&env, "cp", "AWSCURRENT", Some(&v1), Some(&v2))
        .await
        .unwrap();
    assert_eq!(r.name.as_deref(), Some("cp"));
    let mut want = vec![
        (v1.clone(), stage_list(&["AWSPREVIOUS"])),
        (v2.clone(), stage_list(&["AWSCURRENT", "AWSPENDING"])),
    ];
    want.sort();
    assert_eq!(env.stages("cp").await, want);
    let v3 = vid(&env.put("cp", "3", None).await);
    let mut want = vec![
        (v2, stage_list(&["AWSPREVIOUS"])),
        (v3, stage_list(&["AWSCURRENT"])),
    ];
    want.sort();
    assert_eq!(env.stages("cp").await, want);
}

/// `test_update_secret_version_stages_current_pending_cycle_custom_stages_2`, last step.
#[tokio::test]
async fn moving_current_keeps_custom_labels_where_they_are() {
    let env = env().await;
    env.create("cs", Some("1")).await;
    let v2 = vid(&env.put("cs", "2", Some(&["AWSCURRENT", "PUT0"])).await);
    let v3 = vid(&env.put("cs", "3", Some(&["AWSPENDING", "PUT1"])).await);
    move_stage(&env, "cs", "AWSCURRENT", Some(&v2), Some(&v3))
        .await
        .unwrap();
    let v4 = vid(&env.put("cs", "4", Some(&["AWSPENDING", "PUT2"])).await);
    move_stage(&env, "cs", "AWSCURRENT", Some(&v3), Some(&v4))
        .await
        .unwrap();
    let mut want = vec![
        (v2, stage_list(&["PUT0"])),
        (v3, stage_list(&["AWSPREVIOUS", "PUT1"])),
        (v4, stage_list(&["AWSCURRENT", "AWSPENDING", "PUT2"])),
    ];
    want.sort();
    assert_eq!(env.stages("cs").await, want);
}

#[tokio::test]
async fn update_version_stage_errors_and_label_removal() {
    let env = env().await;
    let v1 = env.create("uvs", Some("1")).await.version_id.unwrap();
    let v2 = vid(&env.put("uvs", "2", Some(&["PENDING"])).await);
    let err = move_stage(&env, "uvs", "AWSCURRENT", None, Some(&v2))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    assert_eq!(
        msg(&err),
        format!("The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently attached to version {v1}, so you must explicitly reference that version in RemoveFromVersionId.")
    );
    let err = move_stage(&env, "uvs", "AWSCURRENT", Some(&v2), Some(&v2))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    let err = move_stage(
        &env,
        "uvs",
        "X",
        None,
        Some("no-such-version-id-000000000000000"),
    )
    .await
    .unwrap_err();
    assert_eq!(code(&err), "ResourceNotFoundException");
    // Nothing changed.
    let mut want = vec![
        (v1.clone(), stage_list(&["AWSCURRENT"])),
        (v2.clone(), stage_list(&["PENDING"])),
    ];
    want.sort();
    assert_eq!(env.stages("uvs").await, want);
    // Removing a custom label without moving it.
    move_stage(&env, "uvs", "PENDING", Some(&v2), None)
        .await
        .unwrap();
    assert_eq!(
        env.stages("uvs").await,
        vec![(v1.clone(), stage_list(&["AWSCURRENT"]))]
    );
    let err = env
        .get_with("uvs", None, Some("PENDING"))
        .await
        .unwrap_err();
    assert_eq!(
        msg(&err),
        "Secrets Manager can't find the specified secret value for staging label: PENDING"
    );
    // Adding a label to the version that already has it is a no-op.
    move_stage(&env, "uvs", "AWSCURRENT", None, Some(&v1))
        .await
        .unwrap();
    assert_eq!(
        env.stages("uvs").await,
        vec![(v1, stage_list(&["AWSCURRENT"]))]
    );
}

#[tokio::test]
async fn get_secret_value_version_errors() {
    let env = env().await;
    let v1 = env.create("gv", Some("1")).await.version_id.unwrap();
    let err = env
        .get_with("gv", Some("00000000-0000-0000-0000-000000000000"), None)
        .await
        .unwrap_err();
    assert_eq!(
        (code(&err).as_str(), msg(&err).as_str()),
        (
            "ResourceNotFoundException",
            "Secrets Manager can't find the specified secret value for VersionId: 00000000-0000-0000-0000-000000000000"
        )
    );
    let err = env
        .get_with("gv", None, Some("AWSPREVIOUS"))
        .await
        .unwrap_err();
    assert_eq!(
        msg(&err),
        "Secrets Manager can't find the specified secret value for staging label: AWSPREVIOUS"
    );
    let err = env
        .get_with("gv", Some(&v1), Some("AWSPENDING"))
        .await
        .unwrap_err();
    assert_eq!(
        (code(&err).as_str(), msg(&err).as_str()),
        (
            "InvalidRequestException",
            "You provided a VersionStage that is not associated to the provided VersionId."
        )
    );
    let ok = env
        .get_with("gv", Some(&v1), Some("AWSCURRENT"))
        .await
        .unwrap();
    assert_eq!(value(&ok), "1");
}

#[tokio::test]
async fn list_version_ids_pages() {
    let env = env().await;
    env.create("pg", Some("0")).await;
    for i in 1..5 {
        env.put("pg", &i.to_string(), Some(&[&format!("L{i}")]))
            .await;
    }
    let mut seen = Vec::new();
    let mut next = None;
    loop {
        let r = env
            .svc
            .list_secret_version_ids(
                &env.ctx(),
                ListSecretVersionIdsRequest {
                    secret_id: "pg".into(),
                    max_results: Some(2),
                    next_token: next.clone(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let page = r.versions.unwrap();
        assert!(page.len() <= 2);
        seen.extend(page.into_iter().map(|v| v.version_id.unwrap()));
        next = r.next_token;
        if next.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 5);
    let mut dedup = seen.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), 5);
    let err = env
        .svc
        .list_secret_version_ids(
            &env.ctx(),
            ListSecretVersionIdsRequest {
                secret_id: "pg".into(),
                next_token: Some("garbage!".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidNextTokenException");
}

#[tokio::test]
async fn unlabeled_versions_beyond_100_are_pruned_once_a_day_old() {
    let env = env().await;
    env.create("many", Some("0")).await;
    for i in 1..=104 {
        env.put("many", &i.to_string(), None).await;
    }
    // All young: nothing pruned yet.
    assert_eq!(env.versions("many", true).await.len(), 105);
    env.advance(DAY);
    env.put("many", "last", None).await;
    let all = env.versions("many", true).await;
    assert_eq!(all.len(), 100);
    // The labeled ones survive.
    assert_eq!(env.stages("many").await.len(), 2);
    assert_eq!(value(&env.get("many").await.unwrap()), "last");
}

#[tokio::test]
async fn the_first_version_gets_awscurrent_whatever_stages_are_named() {
    let env = env().await;
    env.create("empty", None).await;
    let first = env.put("empty", "1", Some(&["blue"])).await;
    let mut stages = first.version_stages.clone().unwrap();
    stages.sort();
    assert_eq!(stages, stage_list(&["AWSCURRENT", "blue"]));
    assert_eq!(value(&env.get("empty").await.unwrap()), "1");
    // The second version is not the first: it gets only what it names.
    let second = env.put("empty", "2", Some(&["green"])).await;
    assert_eq!(second.version_stages, Some(stage_list(&["green"])));
    assert_eq!(value(&env.get("empty").await.unwrap()), "1");
}
