use coffer_model::iam::*;

use crate::support::*;

const TRUST_EC2: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

fn trust_in(arn: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{arn}"}},"Action":"sts:AssumeRole"}}]}}"#
    )
}

fn create_req(name: &str, trust: &str) -> CreateRoleRequest {
    CreateRoleRequest {
        role_name: name.into(),
        assume_role_policy_document: trust.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn create_get_list_update_and_delete_a_role() {
    let f = fixture().await;
    let created = f
        .iam
        .create_role(
            &root(),
            CreateRoleRequest {
                role_name: "Deployer".into(),
                path: Some("/ci/".into()),
                assume_role_policy_document: TRUST_EC2.into(),
                description: Some("deploys".into()),
                tags: Some(vec![Tag {
                    key: "k".into(),
                    value: "v".into(),
                }]),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .role;
    assert_eq!(
        created.arn,
        format!("arn:aws:iam::{ACCOUNT}:role/ci/Deployer")
    );
    assert!(created.role_id.starts_with("AROA") && created.role_id.len() == 21);
    // CreateRole reports neither the session duration nor last use; GetRole reports both.
    assert!(created.max_session_duration.is_none() && created.role_last_used.is_none());
    assert!(created
        .assume_role_policy_document
        .as_deref()
        .unwrap()
        .starts_with("%7B%22Version%22%3A%222012-10-17%22"));

    let got = f
        .iam
        .get_role(
            &root(),
            GetRoleRequest {
                role_name: "deployer".into(),
            },
        )
        .await
        .unwrap()
        .role;
    assert_eq!(got.max_session_duration, Some(3600));
    assert_eq!(got.role_last_used, Some(RoleLastUsed::default()));
    assert_eq!(got.tags.as_ref().map(Vec::len), Some(1));
    assert_eq!(got.description.as_deref(), Some("deploys"));

    let err = f
        .iam
        .create_role(&root(), create_req("DEPLOYER", TRUST_EC2))
        .await
        .unwrap_err();
    assert_eq!(
        wire(err),
        (
            409,
            "EntityAlreadyExists".into(),
            "Role with name DEPLOYER already exists.".into()
        )
    );

    let listed = f
        .iam
        .list_roles(&root(), ListRolesRequest::default())
        .await
        .unwrap();
    assert_eq!(listed.roles.len(), 1);
    assert!(listed.roles[0].tags.is_none() && listed.roles[0].role_last_used.is_none());
    assert_eq!(listed.roles[0].max_session_duration, Some(3600));

    f.iam
        .update_role(
            &root(),
            UpdateRoleRequest {
                role_name: "Deployer".into(),
                description: None,
                max_session_duration: Some(7200),
            },
        )
        .await
        .unwrap();
    let described = f
        .iam
        .update_role_description(
            &root(),
            UpdateRoleDescriptionRequest {
                role_name: "Deployer".into(),
                description: "new".into(),
            },
        )
        .await
        .unwrap()
        .role
        .unwrap();
    assert_eq!(described.description.as_deref(), Some("new"));
    assert_eq!(described.max_session_duration, Some(7200));

    f.iam
        .delete_role(
            &root(),
            DeleteRoleRequest {
                role_name: "Deployer".into(),
            },
        )
        .await
        .unwrap();
    let err = f
        .iam
        .get_role(
            &root(),
            GetRoleRequest {
                role_name: "Deployer".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        wire(err),
        (
            404,
            "NoSuchEntity".into(),
            "The role with name Deployer cannot be found.".into()
        )
    );
}

#[tokio::test]
async fn trust_policies_are_validated() {
    let f = fixture().await;
    let err = f
        .iam
        .create_role(&root(), create_req("r", "{oops"))
        .await
        .unwrap_err();
    assert_eq!(
        wire(err),
        (
            400,
            "MalformedPolicyDocument".into(),
            "This policy contains invalid Json".into()
        )
    );
    // Trust in a user of this account that does not exist is refused…
    let ghost = format!("arn:aws:iam::{ACCOUNT}:user/ghost");
    let err = f
        .iam
        .create_role(&root(), create_req("r", &trust_in(&ghost)))
        .await
        .unwrap_err();
    assert_eq!(
        wire(err),
        (
            400,
            "MalformedPolicyDocument".into(),
            format!("Invalid principal in policy: \"AWS\":\"{ghost}\"")
        )
    );
    // …and accepted once the user exists; other accounts cannot be checked.
    f.iam
        .create_user(&root(), create_user_req("ghost"))
        .await
        .unwrap();
    f.iam
        .create_role(&root(), create_req("r", &trust_in(&ghost)))
        .await
        .unwrap();
    f.iam
        .update_assume_role_policy(
            &root(),
            UpdateAssumeRolePolicyRequest {
                role_name: "r".into(),
                policy_document: trust_in("arn:aws:iam::210987654321:root"),
            },
        )
        .await
        .unwrap();
    let err = f
        .iam
        .update_assume_role_policy(
            &root(),
            UpdateAssumeRolePolicyRequest {
                role_name: "r".into(),
                policy_document: ALLOW_S3.into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(wire(err).1, "MalformedPolicyDocument");
    let role = f
        .store
        .read(|txn| coffer_iam::roles::find(txn, ACCOUNT, "r"))
        .await
        .unwrap()
        .unwrap();
    assert!(role.assume_role_policy.contains("210987654321"));
}

#[tokio::test]
async fn role_policies_tags_and_delete_conflicts() {
    let f = fixture().await;
    f.iam
        .create_role(&root(), create_req("worker", TRUST_EC2))
        .await
        .unwrap();
    f.iam
        .put_role_policy(
            &root(),
            PutRolePolicyRequest {
                role_name: "worker".into(),
                policy_name: "inline".into(),
                policy_document: ALLOW_S3.into(),
            },
        )
        .await
        .unwrap();
    let policy_arn = f
        .iam
        .create_policy(
            &root(),
            CreatePolicyRequest {
                policy_name: "managed".into(),
                policy_document: ALLOW_S3.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .policy
        .unwrap()
        .arn
        .unwrap();
    f.iam
        .attach_role_policy(
            &root(),
            AttachRolePolicyRequest {
                role_name: "worker".into(),
                policy_arn: policy_arn.clone(),
            },
        )
        .await
        .unwrap();
    let found = f
        .store
        .read(|txn| coffer_iam::authorization::role_policies(txn, ACCOUNT, "worker"))
        .await
        .unwrap()
        .unwrap();
    let ids: Vec<_> = found.identity.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["inline", policy_arn.as_str()]);

    let err = f
        .iam
        .delete_role(
            &root(),
            DeleteRoleRequest {
                role_name: "worker".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        wire(err).2,
        "Cannot delete entity, must delete policies first."
    );
    f.iam
        .delete_role_policy(
            &root(),
            DeleteRolePolicyRequest {
                role_name: "worker".into(),
                policy_name: "inline".into(),
            },
        )
        .await
        .unwrap();
    let err = f
        .iam
        .delete_role(
            &root(),
            DeleteRoleRequest {
                role_name: "worker".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        wire(err).2,
        "Cannot delete entity, must detach all policies first."
    );
    let attached = f
        .iam
        .list_attached_role_policies(
            &root(),
            ListAttachedRolePoliciesRequest {
                role_name: "worker".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .attached_policies
        .unwrap();
    assert_eq!(attached.len(), 1);
    f.iam
        .detach_role_policy(
            &root(),
            DetachRolePolicyRequest {
                role_name: "worker".into(),
                policy_arn: policy_arn.clone(),
            },
        )
        .await
        .unwrap();

    f.iam
        .tag_role(
            &root(),
            TagRoleRequest {
                role_name: "worker".into(),
                tags: vec![Tag {
                    key: "a".into(),
                    value: "1".into(),
                }],
            },
        )
        .await
        .unwrap();
    f.iam
        .untag_role(
            &root(),
            UntagRoleRequest {
                role_name: "worker".into(),
                tag_keys: vec!["A".into()],
            },
        )
        .await
        .unwrap();
    let tags = f
        .iam
        .list_role_tags(
            &root(),
            ListRoleTagsRequest {
                role_name: "worker".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(tags.tags.is_empty());

    f.iam
        .put_role_permissions_boundary(
            &root(),
            PutRolePermissionsBoundaryRequest {
                role_name: "worker".into(),
                permissions_boundary: policy_arn.clone(),
            },
        )
        .await
        .unwrap();
    let p = f
        .iam
        .get_policy(
            &root(),
            GetPolicyRequest {
                policy_arn: policy_arn.clone(),
            },
        )
        .await
        .unwrap()
        .policy
        .unwrap();
    assert_eq!(p.permissions_boundary_usage_count, Some(1));
    // Deleting the role releases its boundary.
    f.iam
        .delete_role(
            &root(),
            DeleteRoleRequest {
                role_name: "worker".into(),
            },
        )
        .await
        .unwrap();
    f.iam
        .delete_policy(&root(), DeletePolicyRequest { policy_arn })
        .await
        .unwrap();
}

#[tokio::test]
async fn instance_profiles_hold_one_role() {
    let f = fixture().await;
    f.iam
        .create_role(&root(), create_req("web", TRUST_EC2))
        .await
        .unwrap();
    f.iam
        .create_role(&root(), create_req("batch", TRUST_EC2))
        .await
        .unwrap();
    let created = f
        .iam
        .create_instance_profile(
            &root(),
            CreateInstanceProfileRequest {
                instance_profile_name: "web-profile".into(),
                path: Some("/ec2/".into()),
                tags: None,
            },
        )
        .await
        .unwrap()
        .instance_profile;
    assert_eq!(
        created.arn,
        format!("arn:aws:iam::{ACCOUNT}:instance-profile/ec2/web-profile")
    );
    assert!(created.instance_profile_id.starts_with("AIPA"));
    assert!(created.roles.is_empty());
    let err = f
        .iam
        .create_instance_profile(
            &root(),
            CreateInstanceProfileRequest {
                instance_profile_name: "web-profile".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        wire(err),
        (
            409,
            "EntityAlreadyExists".into(),
            "Instance Profile web-profile already exists.".into()
        )
    );

    let add = |role: &str| {
        let iam = f.iam.clone();
        let req = AddRoleToInstanceProfileRequest {
            instance_profile_name: "web-profile".into(),
            role_name: role.to_string(),
        };
        async move { iam.add_role_to_instance_profile(&root(), req).await }
    };
    add("web").await.unwrap();
    let err = add("batch").await.unwrap_err();
    assert_eq!(
        wire(err),
        (
            409,
            "LimitExceeded".into(),
            "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1".into()
        )
    );
    let got = f
        .iam
        .get_instance_profile(
            &root(),
            GetInstanceProfileRequest {
                instance_profile_name: "web-profile".into(),
            },
        )
        .await
        .unwrap()
        .instance_profile;
    assert_eq!(got.roles.len(), 1);
    assert_eq!(got.roles[0].role_name, "web");
    let for_role = f
        .iam
        .list_instance_profiles_for_role(
            &root(),
            ListInstanceProfilesForRoleRequest {
                role_name: "web".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(for_role.instance_profiles.len(), 1);
    let none = f
        .iam
        .list_instance_profiles_for_role(
            &root(),
            ListInstanceProfilesForRoleRequest {
                role_name: "batch".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(none.instance_profiles.is_empty());

    let conflict =
        "Cannot delete entity, must remove roles from instance profile first.".to_string();
    let err = f
        .iam
        .delete_role(
            &root(),
            DeleteRoleRequest {
                role_name: "web".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(wire(err), (409, "DeleteConflict".into(), conflict.clone()));
    let err = f
        .iam
        .delete_instance_profile(
            &root(),
            DeleteInstanceProfileRequest {
                instance_profile_name: "web-profile".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(wire(err), (409, "DeleteConflict".into(), conflict));

    f.iam
        .remove_role_from_instance_profile(
            &root(),
            RemoveRoleFromInstanceProfileRequest {
                instance_profile_name: "web-profile".into(),
                role_name: "web".into(),
            },
        )
        .await
        .unwrap();
    f.iam
        .tag_instance_profile(
            &root(),
            TagInstanceProfileRequest {
                instance_profile_name: "web-profile".into(),
                tags: vec![Tag {
                    key: "k".into(),
                    value: "v".into(),
                }],
            },
        )
        .await
        .unwrap();
    let tags = f
        .iam
        .list_instance_profile_tags(
            &root(),
            ListInstanceProfileTagsRequest {
                instance_profile_name: "web-profile".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .tags;
    assert_eq!(tags.len(), 1);
    let listed = f
        .iam
        .list_instance_profiles(
            &root(),
            ListInstanceProfilesRequest {
                path_prefix: Some("/ec2/".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(listed.instance_profiles.len(), 1);
    assert!(listed.instance_profiles[0].tags.is_none());
    f.iam
        .delete_instance_profile(
            &root(),
            DeleteInstanceProfileRequest {
                instance_profile_name: "web-profile".into(),
            },
        )
        .await
        .unwrap();
    let err = f
        .iam
        .get_instance_profile(
            &root(),
            GetInstanceProfileRequest {
                instance_profile_name: "web-profile".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        wire(err),
        (
            404,
            "NoSuchEntity".into(),
            "Instance Profile web-profile cannot be found.".into()
        )
    );
    f.iam
        .delete_role(
            &root(),
            DeleteRoleRequest {
                role_name: "web".into(),
            },
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn service_linked_roles_are_made_from_aws_templates() {
    let f = fixture().await;
    let slr = |service: &str, suffix: Option<&str>| CreateServiceLinkedRoleRequest {
        aws_service_name: service.into(),
        custom_suffix: suffix.map(Into::into),
        ..Default::default()
    };
    let role = f
        .iam
        .create_service_linked_role(&root(), slr("ecs.amazonaws.com", None))
        .await
        .unwrap()
        .role
        .unwrap();
    assert_eq!(role.role_name, "AWSServiceRoleForECS");
    assert_eq!(role.path, "/aws-service-role/ecs.amazonaws.com/");
    assert_eq!(
        percent_encoding::percent_decode_str(role.assume_role_policy_document.as_deref().unwrap())
            .decode_utf8()
            .unwrap(),
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#
    );
    let policy = "arn:aws:iam::aws:policy/aws-service-role/AmazonECSServiceRolePolicy";
    let attached = f
        .iam
        .list_attached_role_policies(
            &root(),
            ListAttachedRolePoliciesRequest {
                role_name: "AWSServiceRoleForECS".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .attached_policies
        .unwrap();
    assert_eq!(attached.len(), 1);
    assert_eq!(attached[0].policy_arn.as_deref(), Some(policy));
    let count = |iam: coffer_iam::IamService| async move {
        iam.get_policy(
            &root(),
            GetPolicyRequest {
                policy_arn: policy.into(),
            },
        )
        .await
        .unwrap()
        .policy
        .unwrap()
        .attachment_count
    };
    assert_eq!(count(f.iam.clone()).await, Some(1));

    // AWS's answers: a suffix where the service takes none, a principal without a template.
    let err = f
        .iam
        .create_service_linked_role(&root(), slr("ecs.amazonaws.com", Some("x")))
        .await
        .unwrap_err();
    assert_eq!(
        wire(err),
        (
            400,
            "InvalidInput".to_string(),
            "Custom suffix is not allowed for ecs.amazonaws.com".to_string()
        )
    );
    let err = f
        .iam
        .create_service_linked_role(&root(), slr("example.amazonaws.com", None))
        .await
        .unwrap_err();
    assert_eq!(
        wire(err),
        (
            403,
            "AccessDenied".to_string(),
            "Cannot find Service Linked Role template for example.amazonaws.com".to_string()
        )
    );
    let rds = f
        .iam
        .create_service_linked_role(&root(), slr("rds.amazonaws.com", None))
        .await
        .unwrap()
        .role
        .unwrap();
    assert_eq!(
        rds.description.as_deref(),
        Some("Allows Amazon RDS to manage AWS resources on your behalf")
    );

    // Deleting the role detaches its policies.
    f.iam
        .delete_service_linked_role(
            &root(),
            DeleteServiceLinkedRoleRequest {
                role_name: "AWSServiceRoleForECS".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(count(f.iam.clone()).await, Some(0));
}
