//! Secrets Manager end to end: the real binary over HTTPS, called with aws-sdk-secretsmanager.

use crate::support::{self, Server};
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_secretsmanager::types::{
    Filter, FilterNameStringType, ReplicaRegionType, RotationRulesType, Tag,
};
use aws_sdk_secretsmanager::Client;

fn client(server: &Server) -> Client {
    Client::new(&server.root_config())
}

#[tokio::test]
async fn secret_lifecycle_with_versions_and_labels() {
    let server = Server::start(&[]);
    let sm = client(&server);
    let created = sm
        .create_secret()
        .name("app/db")
        .secret_string("first")
        .description("the database")
        .tags(Tag::builder().key("team").value("blue").build())
        .send()
        .await
        .expect("CreateSecret");
    let arn = created.arn().expect("arn").to_string();
    assert!(arn.starts_with(&format!(
        "arn:aws:secretsmanager:us-east-1:{}:secret:app/db-",
        support::ACCOUNT
    )));
    assert_eq!(
        arn.len(),
        format!(
            "arn:aws:secretsmanager:us-east-1:{}:secret:app/db-",
            support::ACCOUNT
        )
        .len()
            + 6
    );
    let v1 = created.version_id().expect("version").to_string();

    let got = sm
        .get_secret_value()
        .secret_id("app/db")
        .send()
        .await
        .expect("GetSecretValue");
    assert_eq!(got.secret_string(), Some("first"));
    assert_eq!(got.version_stages(), ["AWSCURRENT".to_string()]);

    let put = sm
        .put_secret_value()
        .secret_id(&arn)
        .secret_binary(Blob::new(b"\x00\x01binary".to_vec()))
        .send()
        .await
        .expect("PutSecretValue");
    let v2 = put.version_id().expect("version").to_string();
    let got = sm
        .get_secret_value()
        .secret_id(&arn)
        .send()
        .await
        .expect("get v2");
    assert_eq!(
        got.secret_binary().map(|b| b.as_ref().to_vec()),
        Some(b"\x00\x01binary".to_vec())
    );
    let previous = sm
        .get_secret_value()
        .secret_id("app/db")
        .version_stage("AWSPREVIOUS")
        .send()
        .await
        .expect("get AWSPREVIOUS");
    assert_eq!(previous.version_id(), Some(v1.as_str()));

    let described = sm
        .describe_secret()
        .secret_id("app/db")
        .send()
        .await
        .expect("DescribeSecret");
    assert_eq!(described.description(), Some("the database"));
    let stages = described.version_ids_to_stages().expect("stages");
    assert_eq!(stages[&v2], vec!["AWSCURRENT".to_string()]);
    assert_eq!(stages[&v1], vec!["AWSPREVIOUS".to_string()]);

    let versions = sm
        .list_secret_version_ids()
        .secret_id("app/db")
        .send()
        .await
        .expect("ListSecretVersionIds");
    assert_eq!(versions.versions().len(), 2);

    sm.update_secret_version_stage()
        .secret_id("app/db")
        .version_stage("AWSCURRENT")
        .move_to_version_id(&v1)
        .remove_from_version_id(&v2)
        .send()
        .await
        .expect("UpdateSecretVersionStage");
    let got = sm
        .get_secret_value()
        .secret_id("app/db")
        .send()
        .await
        .expect("get after move");
    assert_eq!(got.version_id(), Some(v1.as_str()));

    sm.update_secret()
        .secret_id("app/db")
        .description("renamed")
        .send()
        .await
        .expect("UpdateSecret");
    sm.tag_resource()
        .secret_id("app/db")
        .tags(Tag::builder().key("env").value("prod").build())
        .send()
        .await
        .expect("TagResource");
    sm.untag_resource()
        .secret_id("app/db")
        .tag_keys("team")
        .send()
        .await
        .expect("UntagResource");
    let described = sm
        .describe_secret()
        .secret_id("app/db")
        .send()
        .await
        .expect("describe");
    let tags: Vec<_> = described
        .tags()
        .iter()
        .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or("")))
        .collect();
    assert_eq!(tags, vec![("env", "prod")]);

    let listed = sm
        .list_secrets()
        .filters(
            Filter::builder()
                .key(FilterNameStringType::Name)
                .values("app/")
                .build(),
        )
        .send()
        .await
        .expect("ListSecrets");
    assert_eq!(listed.secret_list().len(), 1);

    sm.delete_secret()
        .secret_id("app/db")
        .recovery_window_in_days(7)
        .send()
        .await
        .expect("DeleteSecret");
    let err = sm
        .get_secret_value()
        .secret_id("app/db")
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(err.code(), Some("InvalidRequestException"));
    sm.restore_secret()
        .secret_id("app/db")
        .send()
        .await
        .expect("RestoreSecret");
    sm.get_secret_value()
        .secret_id("app/db")
        .send()
        .await
        .expect("restored");
    sm.delete_secret()
        .secret_id("app/db")
        .force_delete_without_recovery(true)
        .send()
        .await
        .expect("force delete");
    let err = sm
        .describe_secret()
        .secret_id("app/db")
        .send()
        .await
        .expect_err("gone");
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
    assert_eq!(
        err.message(),
        Some("Secrets Manager can't find the specified secret.")
    );
}

#[tokio::test]
async fn batch_get_password_policy_rotation_and_replication() {
    let server = Server::start(&[]);
    let sm = client(&server);
    for i in 0..3 {
        sm.create_secret()
            .name(format!("batch/{i}"))
            .secret_string(format!("v{i}"))
            .send()
            .await
            .expect("create");
    }
    let batch = sm
        .batch_get_secret_value()
        .secret_id_list("batch/0")
        .secret_id_list("batch/2")
        .secret_id_list("batch/missing")
        .send()
        .await
        .expect("BatchGetSecretValue");
    assert_eq!(batch.secret_values().len(), 2);
    assert_eq!(batch.errors().len(), 1);
    assert_eq!(
        batch.errors()[0].error_code(),
        Some("ResourceNotFoundException")
    );

    let password = sm
        .get_random_password()
        .password_length(40)
        .exclude_punctuation(true)
        .send()
        .await
        .expect("GetRandomPassword");
    let password = password.random_password().expect("password");
    assert_eq!(password.len(), 40);
    assert!(password.chars().all(|c| c.is_ascii_alphanumeric()));

    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
    sm.validate_resource_policy()
        .resource_policy(policy)
        .send()
        .await
        .expect("ValidateResourcePolicy");
    sm.put_resource_policy()
        .secret_id("batch/0")
        .resource_policy(policy)
        .send()
        .await
        .expect("PutResourcePolicy");
    let got = sm
        .get_resource_policy()
        .secret_id("batch/0")
        .send()
        .await
        .expect("GetResourcePolicy");
    assert!(got
        .resource_policy()
        .expect("policy")
        .contains("GetSecretValue"));
    sm.delete_resource_policy()
        .secret_id("batch/0")
        .send()
        .await
        .expect("DeleteResourcePolicy");

    // Built-in rotation (no Lambda function): a new random value staged as AWSCURRENT.
    let before = sm
        .get_secret_value()
        .secret_id("batch/1")
        .send()
        .await
        .expect("get");
    sm.rotate_secret()
        .secret_id("batch/1")
        .rotation_lambda_arn(format!(
            "arn:aws:lambda:us-east-1:{}:function:{}",
            support::ACCOUNT,
            coffer_secretsmanager::BUILTIN_ROTATION_FUNCTION
        ))
        .send()
        .await
        .expect("RotateSecret");
    let after = sm
        .get_secret_value()
        .secret_id("batch/1")
        .send()
        .await
        .expect("get rotated");
    assert_ne!(after.secret_string(), before.secret_string());
    assert_ne!(after.version_id(), before.version_id());
    sm.cancel_rotate_secret()
        .secret_id("batch/1")
        .send()
        .await
        .expect("CancelRotateSecret");

    let replicated = sm
        .replicate_secret_to_regions()
        .secret_id("batch/2")
        .add_replica_regions(ReplicaRegionType::builder().region("eu-west-1").build())
        .send()
        .await
        .expect("ReplicateSecretToRegions");
    assert_eq!(replicated.replication_status().len(), 1);
    let eu = Client::new(&server.sdk_config(support::ROOT_KEY, support::ROOT_SECRET, "eu-west-1"));
    let replica = eu
        .get_secret_value()
        .secret_id("batch/2")
        .send()
        .await
        .expect("read the replica");
    assert_eq!(replica.secret_string(), Some("v2"));
    sm.remove_regions_from_replication()
        .secret_id("batch/2")
        .remove_replica_regions("eu-west-1")
        .send()
        .await
        .expect("RemoveRegionsFromReplication");
    sm.replicate_secret_to_regions()
        .secret_id("batch/2")
        .add_replica_regions(ReplicaRegionType::builder().region("eu-west-2").build())
        .send()
        .await
        .expect("replicate again");
    let london =
        Client::new(&server.sdk_config(support::ROOT_KEY, support::ROOT_SECRET, "eu-west-2"));
    let replica_arn = london
        .describe_secret()
        .secret_id("batch/2")
        .send()
        .await
        .expect("replica")
        .arn()
        .map(str::to_string);
    london
        .stop_replication_to_replica()
        .secret_id(replica_arn.expect("replica arn"))
        .send()
        .await
        .expect("StopReplicationToReplica");
    london
        .put_secret_value()
        .secret_id("batch/2")
        .secret_string("promoted")
        .send()
        .await
        .expect("write the promoted copy");
}

#[tokio::test]
async fn rotation_schedules_and_policy_validation() {
    let server = Server::start(&[]);
    let sm = client(&server);
    sm.create_secret()
        .name("sched/1")
        .secret_string("pw")
        .send()
        .await
        .expect("CreateSecret");
    let builtin = format!(
        "arn:aws:lambda:us-east-1:{}:function:{}",
        support::ACCOUNT,
        coffer_secretsmanager::BUILTIN_ROTATION_FUNCTION
    );
    // The first of each month at 16:00 UTC, with a 3-hour window.
    let rotated = sm
        .rotate_secret()
        .secret_id("sched/1")
        .rotation_lambda_arn(&builtin)
        .rotation_rules(
            RotationRulesType::builder()
                .schedule_expression("cron(0 16 1 * ? *)")
                .duration("3h")
                .build(),
        )
        .send()
        .await
        .expect("RotateSecret");
    let desc = sm
        .describe_secret()
        .secret_id("sched/1")
        .send()
        .await
        .expect("DescribeSecret");
    let rules = desc.rotation_rules().expect("rules");
    assert_eq!(rules.schedule_expression(), Some("cron(0 16 1 * ? *)"));
    assert_eq!(rules.duration(), Some("3h"));
    let next = desc.next_rotation_date().expect("next").secs();
    // 16:00 UTC on the first of a month, after the rotation that just happened.
    assert_eq!(next % 86_400, 16 * 3_600);
    assert!(next > desc.last_rotated_date().expect("last").secs());
    // The rotated version carries AWSCURRENT only, as on AWS after a completed rotation.
    let stages = desc.version_ids_to_stages().expect("stages");
    assert_eq!(
        stages.get(rotated.version_id().expect("version")),
        Some(&vec!["AWSCURRENT".to_string()])
    );

    let err = sm
        .rotate_secret()
        .secret_id("sched/1")
        .rotation_rules(
            RotationRulesType::builder()
                .schedule_expression("cron(30 16 1 * ? *)")
                .build(),
        )
        .send()
        .await
        .expect_err("minutes must be 0");
    assert_eq!(err.code(), Some("InvalidParameterException"));
    assert_eq!(err.message(), Some("The schedule expression is invalid."));

    let checked = sm
        .validate_resource_policy()
        .resource_policy(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"GetSecretValue","Resource":"*"}]}"#,
        )
        .send()
        .await
        .expect("ValidateResourcePolicy");
    assert!(!checked.policy_validation_passed());
    let errors = checked.validation_errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].check_name(), Some("SYNTAX_CHECK"));
    assert_eq!(
        errors[0].error_message(),
        Some("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")
    );
}
