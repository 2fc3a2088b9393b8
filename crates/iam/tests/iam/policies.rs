use coffer_model::iam::*;

use crate::support::*;

const ALLOW_ALL: &str = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\"}]\n}";

async fn create(f: &Fixture, name: &str, path: Option<&str>) -> Result<Policy, IamError> {
    f.iam
        .create_policy(
            &root(),
            CreatePolicyRequest {
                policy_name: name.into(),
                path: path.map(str::to_string),
                policy_document: ALLOW_S3.into(),
                description: Some("reads objects".into()),
                tags: None,
            },
        )
        .await
        .map(|r| r.policy.unwrap())
}

fn version_req(arn: &str, default: bool) -> CreatePolicyVersionRequest {
    CreatePolicyVersionRequest {
        policy_arn: arn.into(),
        policy_document: ALLOW_ALL.into(),
        set_as_default: Some(default),
    }
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn create_get_list_and_delete_a_policy() {
    let f = fixture().await;
    let p = create(&f, "ReadObjects", Some("/app/")).await.unwrap();
    let arn = format!("arn:aws:iam::{ACCOUNT}:policy/app/ReadObjects");
    assert_eq!(p.arn.as_deref(), Some(arn.as_str()));
    assert_eq!(p.default_version_id.as_deref(), Some("v1"));
    assert_eq!(p.attachment_count, Some(0));
    assert_eq!(p.permissions_boundary_usage_count, Some(0));
    assert_eq!(p.is_attachable, Some(true));
    assert!(p.policy_id.as_deref().unwrap().starts_with("ANPA"));

    let err = create(&f, "readobjects", None).await.unwrap_err();
    assert_eq!(
        wire(err),
        (
            409,
            "EntityAlreadyExists".into(),
            "A policy called readobjects already exists. Duplicate names are not allowed.".into()
        )
    );

    let got = f
        .iam
        .get_policy(
            &root(),
            GetPolicyRequest {
                policy_arn: arn.clone(),
            },
        )
        .await
        .unwrap()
        .policy
        .unwrap();
    assert_eq!(got, p);
    assert_eq!(got.description.as_deref(), Some("reads objects"));

    let listed = f
        .iam
        .list_policies(
            &root(),
            ListPoliciesRequest {
                scope: Some(PolicyScopeType::Local),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let listed = listed.policies.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].arn.as_deref(), Some(arn.as_str()));
    assert!(listed[0].description.is_none());
    let attached_only = f
        .iam
        .list_policies(
            &root(),
            ListPoliciesRequest {
                only_attached: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(attached_only.policies.unwrap().is_empty());

    // The ARN must name the policy's path.
    let wrong_path = format!("arn:aws:iam::{ACCOUNT}:policy/ReadObjects");
    let err = f
        .iam
        .get_policy(
            &root(),
            GetPolicyRequest {
                policy_arn: wrong_path.clone(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        wire(err),
        (
            404,
            "NoSuchEntity".into(),
            format!("Policy {wrong_path} was not found.")
        )
    );
    let err = f
        .iam
        .get_policy(
            &root(),
            GetPolicyRequest {
                policy_arn: "ReadObjects-not-an-arn".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        wire(err),
        (
            400,
            "ValidationError".into(),
            "Invalid ARN:  Could not be parsed!".into()
        )
    );

    f.iam
        .delete_policy(
            &root(),
            DeletePolicyRequest {
                policy_arn: arn.clone(),
            },
        )
        .await
        .unwrap();
    let err = f
        .iam
        .delete_policy(
            &root(),
            DeletePolicyRequest {
                policy_arn: arn.clone(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(wire(err).2, format!("Policy {arn} was not found."));
}

#[tokio::test]
async fn malformed_documents_are_refused() {
    let f = fixture().await;
    let err = f
        .iam
        .create_policy(
            &root(),
            CreatePolicyRequest {
                policy_name: "bad".into(),
                policy_document: "{not json".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    let (status, code, message) = wire(err);
    assert_eq!((status, code.as_str()), (400, "MalformedPolicyDocument"));
    assert!(!message.is_empty());
    // Managed policies must use the current grammar version.
    let err = f
        .iam
        .create_policy(
            &root(),
            CreatePolicyRequest {
                policy_name: "old".into(),
                policy_document: ALLOW_S3.replace("2012-10-17", "2008-10-17"),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(wire(err).1, "MalformedPolicyDocument");
    let listed = f
        .iam
        .list_policies(
            &root(),
            ListPoliciesRequest {
                scope: Some(PolicyScopeType::Local),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(listed.policies.unwrap().is_empty());
}

#[tokio::test]
async fn versions() {
    let f = fixture().await;
    let arn = create(&f, "p", None).await.unwrap().arn.unwrap();
    let v2 = f
        .iam
        .create_policy_version(&root(), version_req(&arn, false))
        .await
        .unwrap()
        .policy_version
        .unwrap();
    assert_eq!(v2.version_id.as_deref(), Some("v2"));
    assert_eq!(v2.is_default_version, Some(false));
    assert!(v2.document.is_none());
    for n in 3..=5 {
        let v = f
            .iam
            .create_policy_version(&root(), version_req(&arn, n == 4))
            .await
            .unwrap()
            .policy_version
            .unwrap();
        assert_eq!(v.version_id, Some(format!("v{n}")));
    }
    let err = f
        .iam
        .create_policy_version(&root(), version_req(&arn, false))
        .await
        .unwrap_err();
    assert_eq!(wire(err).1, "LimitExceeded");

    let policy = f
        .iam
        .get_policy(
            &root(),
            GetPolicyRequest {
                policy_arn: arn.clone(),
            },
        )
        .await
        .unwrap()
        .policy
        .unwrap();
    assert_eq!(policy.default_version_id.as_deref(), Some("v4"));

    let listed = f
        .iam
        .list_policy_versions(
            &root(),
            ListPolicyVersionsRequest {
                policy_arn: arn.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .versions
        .unwrap();
    let ids: Vec<_> = listed
        .iter()
        .map(|v| v.version_id.clone().unwrap())
        .collect();
    assert_eq!(ids, ["v5", "v4", "v3", "v2", "v1"]);
    assert_eq!(
        listed
            .iter()
            .filter(|v| v.is_default_version == Some(true))
            .count(),
        1
    );

    // Documents come back URL-encoded, as IAM sends them.
    let got = f
        .iam
        .get_policy_version(
            &root(),
            GetPolicyVersionRequest {
                policy_arn: arn.clone(),
                version_id: "v4".into(),
            },
        )
        .await
        .unwrap()
        .policy_version
        .unwrap();
    let encoded = got.document.unwrap();
    assert!(encoded.starts_with("%7B%0A%20%20%22Version%22"));
    assert_eq!(decode(&encoded), ALLOW_ALL);

    let err = f
        .iam
        .delete_policy_version(
            &root(),
            DeletePolicyVersionRequest {
                policy_arn: arn.clone(),
                version_id: "v4".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        wire(err),
        (
            409,
            "DeleteConflict".into(),
            "Cannot delete the default version of a policy.".into()
        )
    );
    let err = f
        .iam
        .delete_policy(
            &root(),
            DeletePolicyRequest {
                policy_arn: arn.clone(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(wire(err).1, "DeleteConflict");

    f.iam
        .set_default_policy_version(
            &root(),
            SetDefaultPolicyVersionRequest {
                policy_arn: arn.clone(),
                version_id: "v1".into(),
            },
        )
        .await
        .unwrap();
    for v in ["v2", "v3", "v4", "v5"] {
        f.iam
            .delete_policy_version(
                &root(),
                DeletePolicyVersionRequest {
                    policy_arn: arn.clone(),
                    version_id: v.into(),
                },
            )
            .await
            .unwrap();
    }
    let err = f
        .iam
        .get_policy_version(
            &root(),
            GetPolicyVersionRequest {
                policy_arn: arn.clone(),
                version_id: "v2".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(wire(err).0, 404);
    // Numbers are never reused.
    let v6 = f
        .iam
        .create_policy_version(&root(), version_req(&arn, false))
        .await
        .unwrap()
        .policy_version
        .unwrap();
    assert_eq!(v6.version_id.as_deref(), Some("v6"));
}

#[tokio::test]
async fn attach_detach_and_count() {
    let f = fixture().await;
    f.iam
        .create_user(&root(), create_user_req("ivy"))
        .await
        .unwrap();
    f.iam
        .create_group(
            &root(),
            CreateGroupRequest {
                group_name: "g".into(),
                path: None,
            },
        )
        .await
        .unwrap();
    let arn = create(&f, "p", Some("/a/")).await.unwrap().arn.unwrap();
    f.iam
        .attach_user_policy(
            &root(),
            AttachUserPolicyRequest {
                user_name: "ivy".into(),
                policy_arn: arn.clone(),
            },
        )
        .await
        .unwrap();
    // Attaching twice is harmless and counts once.
    f.iam
        .attach_user_policy(
            &root(),
            AttachUserPolicyRequest {
                user_name: "ivy".into(),
                policy_arn: arn.clone(),
            },
        )
        .await
        .unwrap();
    f.iam
        .attach_group_policy(
            &root(),
            AttachGroupPolicyRequest {
                group_name: "g".into(),
                policy_arn: arn.clone(),
            },
        )
        .await
        .unwrap();
    let p = f
        .iam
        .get_policy(
            &root(),
            GetPolicyRequest {
                policy_arn: arn.clone(),
            },
        )
        .await
        .unwrap()
        .policy
        .unwrap();
    assert_eq!(p.attachment_count, Some(2));

    let listed = f
        .iam
        .list_attached_user_policies(
            &root(),
            ListAttachedUserPoliciesRequest {
                user_name: "ivy".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .attached_policies
        .unwrap();
    assert_eq!(
        listed,
        vec![AttachedPolicy {
            policy_name: Some("p".into()),
            policy_arn: Some(arn.clone())
        }]
    );
    let filtered = f
        .iam
        .list_attached_group_policies(
            &root(),
            ListAttachedGroupPoliciesRequest {
                group_name: "g".into(),
                path_prefix: Some("/b/".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .attached_policies
        .unwrap();
    assert!(filtered.is_empty());

    let err = f
        .iam
        .delete_policy(
            &root(),
            DeletePolicyRequest {
                policy_arn: arn.clone(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        wire(err),
        (
            409,
            "DeleteConflict".into(),
            "Cannot delete a policy attached to entities.".into()
        )
    );

    let missing = format!("arn:aws:iam::{ACCOUNT}:policy/a/nope");
    let err = f
        .iam
        .attach_user_policy(
            &root(),
            AttachUserPolicyRequest {
                user_name: "ivy".into(),
                policy_arn: missing.clone(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        wire(err),
        (
            404,
            "NoSuchEntity".into(),
            format!("Policy {missing} does not exist or is not attachable.")
        )
    );
    let err = f
        .iam
        .detach_group_policy(
            &root(),
            DetachGroupPolicyRequest {
                group_name: "g".into(),
                policy_arn: missing.clone(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        wire(err),
        (
            404,
            "NoSuchEntity".into(),
            format!("Policy {missing} was not found.")
        )
    );
    let err = f
        .iam
        .attach_user_policy(
            &root(),
            AttachUserPolicyRequest {
                user_name: "nobody".into(),
                policy_arn: arn.clone(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(wire(err).2, "The user with name nobody cannot be found.");

    f.iam
        .detach_user_policy(
            &root(),
            DetachUserPolicyRequest {
                user_name: "ivy".into(),
                policy_arn: arn.clone(),
            },
        )
        .await
        .unwrap();
    f.iam
        .detach_group_policy(
            &root(),
            DetachGroupPolicyRequest {
                group_name: "g".into(),
                policy_arn: arn.clone(),
            },
        )
        .await
        .unwrap();
    f.iam
        .delete_policy(&root(), DeletePolicyRequest { policy_arn: arn })
        .await
        .unwrap();
}

#[tokio::test]
async fn at_most_ten_managed_policies_per_user() {
    let f = fixture().await;
    f.iam
        .create_user(&root(), create_user_req("jo"))
        .await
        .unwrap();
    for i in 0..11 {
        let arn = create(&f, &format!("p{i}"), None)
            .await
            .unwrap()
            .arn
            .unwrap();
        let r = f
            .iam
            .attach_user_policy(
                &root(),
                AttachUserPolicyRequest {
                    user_name: "jo".into(),
                    policy_arn: arn,
                },
            )
            .await;
        if i < 10 {
            r.unwrap();
        } else {
            assert_eq!(
                wire(r.unwrap_err()),
                (
                    409,
                    "LimitExceeded".into(),
                    "Cannot exceed quota for PoliciesPerUser: 10".into()
                )
            );
        }
    }
}

#[tokio::test]
async fn inline_policies_for_users_and_groups() {
    let f = fixture().await;
    f.iam
        .create_user(&root(), create_user_req("kim"))
        .await
        .unwrap();
    f.iam
        .create_group(
            &root(),
            CreateGroupRequest {
                group_name: "team".into(),
                path: None,
            },
        )
        .await
        .unwrap();
    for name in ["zeta", "alpha"] {
        f.iam
            .put_user_policy(
                &root(),
                PutUserPolicyRequest {
                    user_name: "kim".into(),
                    policy_name: name.into(),
                    policy_document: ALLOW_ALL.into(),
                },
            )
            .await
            .unwrap();
    }
    let names = f
        .iam
        .list_user_policies(
            &root(),
            ListUserPoliciesRequest {
                user_name: "kim".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .policy_names;
    assert_eq!(names, ["alpha", "zeta"]);
    let got = f
        .iam
        .get_user_policy(
            &root(),
            GetUserPolicyRequest {
                user_name: "KIM".into(),
                policy_name: "alpha".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(got.user_name, "kim");
    assert_eq!(got.policy_name, "alpha");
    assert_eq!(decode(&got.policy_document), ALLOW_ALL);

    let err = f
        .iam
        .get_user_policy(
            &root(),
            GetUserPolicyRequest {
                user_name: "kim".into(),
                policy_name: "nope".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        wire(err),
        (
            404,
            "NoSuchEntity".into(),
            "The user policy with name nope cannot be found.".into()
        )
    );
    let err = f
        .iam
        .put_user_policy(
            &root(),
            PutUserPolicyRequest {
                user_name: "kim".into(),
                policy_name: "bad".into(),
                policy_document: "[]".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(wire(err).1, "MalformedPolicyDocument");

    // All of a user's inline policies share a 2048-character quota.
    let big = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::{}"}}]}}"#,
        "b".repeat(1900)
    );
    let err = f
        .iam
        .put_user_policy(
            &root(),
            PutUserPolicyRequest {
                user_name: "kim".into(),
                policy_name: "big".into(),
                policy_document: big.clone(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        wire(err),
        (
            409,
            "LimitExceeded".into(),
            "Maximum policy size of 2048 bytes exceeded for user kim".into()
        )
    );
    // Groups have a larger quota.
    f.iam
        .put_group_policy(
            &root(),
            PutGroupPolicyRequest {
                group_name: "team".into(),
                policy_name: "big".into(),
                policy_document: big,
            },
        )
        .await
        .unwrap();
    let got = f
        .iam
        .get_group_policy(
            &root(),
            GetGroupPolicyRequest {
                group_name: "team".into(),
                policy_name: "BIG".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(got.policy_name, "big");
    f.iam
        .delete_group_policy(
            &root(),
            DeleteGroupPolicyRequest {
                group_name: "team".into(),
                policy_name: "big".into(),
            },
        )
        .await
        .unwrap();
    let err = f
        .iam
        .delete_group_policy(
            &root(),
            DeleteGroupPolicyRequest {
                group_name: "team".into(),
                policy_name: "big".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        wire(err).2,
        "The group policy with name big cannot be found."
    );
    assert!(f
        .iam
        .list_group_policies(
            &root(),
            ListGroupPoliciesRequest {
                group_name: "team".into(),
                ..Default::default()
            }
        )
        .await
        .unwrap()
        .policy_names
        .is_empty());
}

#[tokio::test]
async fn a_users_policies_include_its_groups_for_authorization() {
    let f = fixture().await;
    f.iam
        .create_user(&root(), create_user_req("lee"))
        .await
        .unwrap();
    f.iam
        .create_group(
            &root(),
            CreateGroupRequest {
                group_name: "crew".into(),
                path: None,
            },
        )
        .await
        .unwrap();
    f.iam
        .add_user_to_group(
            &root(),
            AddUserToGroupRequest {
                group_name: "crew".into(),
                user_name: "lee".into(),
            },
        )
        .await
        .unwrap();
    f.iam
        .put_user_policy(
            &root(),
            PutUserPolicyRequest {
                user_name: "lee".into(),
                policy_name: "own".into(),
                policy_document: ALLOW_S3.into(),
            },
        )
        .await
        .unwrap();
    let arn = create(&f, "shared", None).await.unwrap().arn.unwrap();
    f.iam
        .attach_group_policy(
            &root(),
            AttachGroupPolicyRequest {
                group_name: "crew".into(),
                policy_arn: arn.clone(),
            },
        )
        .await
        .unwrap();
    let found = f
        .store
        .read(|txn| coffer_iam::authorization::user_policies(txn, ACCOUNT, "LEE"))
        .await
        .unwrap()
        .unwrap();
    let ids: Vec<_> = found
        .identity
        .iter()
        .map(|p| (p.id.clone(), p.source))
        .collect();
    assert_eq!(
        ids,
        vec![
            ("own".to_string(), coffer_policy::PolicySource::User),
            (arn, coffer_policy::PolicySource::UserManaged),
        ]
    );
    assert!(found.boundary.is_none());
    assert!(f
        .store
        .read(|txn| coffer_iam::authorization::user_policies(txn, ACCOUNT, "nobody"))
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn permissions_boundaries_are_counted_and_compiled() {
    let f = fixture().await;
    let arn = create(&f, "boundary", None).await.unwrap().arn.unwrap();
    let user = f
        .iam
        .create_user(
            &root(),
            CreateUserRequest {
                user_name: "max".into(),
                permissions_boundary: Some(arn.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .user
        .unwrap();
    assert_eq!(
        user.permissions_boundary
            .and_then(|b| b.permissions_boundary_arn),
        Some(arn.clone())
    );
    let policy = f
        .iam
        .get_policy(
            &root(),
            GetPolicyRequest {
                policy_arn: arn.clone(),
            },
        )
        .await
        .unwrap()
        .policy
        .unwrap();
    assert_eq!(policy.permissions_boundary_usage_count, Some(1));
    let err = f
        .iam
        .delete_policy(
            &root(),
            DeletePolicyRequest {
                policy_arn: arn.clone(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(wire(err).1, "DeleteConflict");
    let found = f
        .store
        .read(|txn| coffer_iam::authorization::user_policies(txn, ACCOUNT, "max"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.boundary.map(|b| b.id), Some(arn.clone()));

    let missing = format!("arn:aws:iam::{ACCOUNT}:policy/none");
    let err = f
        .iam
        .put_user_permissions_boundary(
            &root(),
            PutUserPermissionsBoundaryRequest {
                user_name: "max".into(),
                permissions_boundary: missing.clone(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        wire(err),
        (
            404,
            "NoSuchEntity".into(),
            format!("Scope ARN: {missing} does not exist or is not attachable.")
        )
    );
    f.iam
        .delete_user_permissions_boundary(
            &root(),
            DeleteUserPermissionsBoundaryRequest {
                user_name: "max".into(),
            },
        )
        .await
        .unwrap();
    let got = f
        .iam
        .get_user(
            &root(),
            GetUserRequest {
                user_name: Some("max".into()),
            },
        )
        .await
        .unwrap()
        .user;
    assert!(got.permissions_boundary.is_none());
    f.iam
        .delete_policy(&root(), DeletePolicyRequest { policy_arn: arn })
        .await
        .unwrap();
}

#[tokio::test]
async fn aws_managed_policies_exist_in_every_account() {
    let f = fixture().await;
    let admin = "arn:aws:iam::aws:policy/AdministratorAccess".to_string();
    let p = f
        .iam
        .get_policy(
            &root(),
            GetPolicyRequest {
                policy_arn: admin.clone(),
            },
        )
        .await
        .unwrap()
        .policy
        .unwrap();
    assert_eq!(p.arn.as_deref(), Some(admin.as_str()));
    assert_eq!(p.default_version_id.as_deref(), Some("v1"));
    assert_eq!(p.attachment_count, Some(0));
    let v = f
        .iam
        .get_policy_version(
            &root(),
            GetPolicyVersionRequest {
                policy_arn: admin.clone(),
                version_id: "v1".into(),
            },
        )
        .await
        .unwrap()
        .policy_version
        .unwrap();
    assert_eq!(
        decode(&v.document.unwrap()),
        r#"{"Statement":[{"Action":"*","Effect":"Allow","Resource":"*"}],"Version":"2012-10-17"}"#
    );

    // Every AWS managed policy, a page of 100 at a time.
    let mut names = Vec::new();
    let mut marker = None;
    loop {
        let page = f
            .iam
            .list_policies(
                &root(),
                ListPoliciesRequest {
                    scope: Some(PolicyScopeType::Aws),
                    marker: marker.take(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let policies = page.policies.unwrap();
        assert!(policies.len() <= 100);
        names.extend(policies.iter().map(|p| p.policy_name.clone().unwrap()));
        match page.marker {
            Some(m) => marker = Some(m),
            None => break,
        }
    }
    assert_eq!(names.len(), 1569);
    for expected in [
        "AdministratorAccess",
        "IAMFullAccess",
        "IAMReadOnlyAccess",
        "SecretsManagerReadWrite",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }

    // Attachments are counted per account.
    f.iam
        .create_user(&root(), create_user_req("ops"))
        .await
        .unwrap();
    f.iam
        .attach_user_policy(
            &root(),
            AttachUserPolicyRequest {
                user_name: "ops".into(),
                policy_arn: admin.clone(),
            },
        )
        .await
        .unwrap();
    let count = |ctx| {
        let iam = f.iam.clone();
        let admin = admin.clone();
        async move {
            iam.get_policy(&ctx, GetPolicyRequest { policy_arn: admin })
                .await
                .unwrap()
                .policy
                .unwrap()
                .attachment_count
        }
    };
    assert_eq!(count(root()).await, Some(1));
    assert_eq!(count(other_account_root()).await, Some(0));
    let attached_only = f
        .iam
        .list_policies(
            &root(),
            ListPoliciesRequest {
                only_attached: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .policies
        .unwrap();
    assert_eq!(attached_only.len(), 1);
    assert_eq!(attached_only[0].arn.as_deref(), Some(admin.as_str()));

    let found = f
        .store
        .read(|txn| coffer_iam::authorization::user_policies(txn, ACCOUNT, "ops"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.identity.len(), 1);
    assert_eq!(
        found.identity[0].source,
        coffer_policy::PolicySource::AwsManaged
    );

    // AWS's policies cannot be changed or deleted.
    let err = f
        .iam
        .delete_policy(
            &root(),
            DeletePolicyRequest {
                policy_arn: admin.clone(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(wire(err).1, "AccessDenied");
    let err = f
        .iam
        .create_policy_version(&root(), version_req(&admin, true))
        .await
        .unwrap_err();
    assert_eq!(wire(err).0, 403);

    f.iam
        .detach_user_policy(
            &root(),
            DetachUserPolicyRequest {
                user_name: "ops".into(),
                policy_arn: admin.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(count(root()).await, Some(0));
    let err = f
        .iam
        .get_policy(
            &root(),
            GetPolicyRequest {
                policy_arn: "arn:aws:iam::aws:policy/NoSuchPolicy".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(wire(err).0, 404);
}

#[tokio::test]
async fn entities_for_policy_and_policy_tags() {
    let f = fixture().await;
    let arn = create(&f, "shared", None).await.unwrap().arn.unwrap();
    f.iam
        .create_user(&root(), create_user_req("u1"))
        .await
        .unwrap();
    f.iam
        .create_user(
            &root(),
            CreateUserRequest {
                user_name: "u2".into(),
                permissions_boundary: Some(arn.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    f.iam
        .create_group(
            &root(),
            CreateGroupRequest {
                group_name: "g1".into(),
                path: None,
            },
        )
        .await
        .unwrap();
    f.iam
        .attach_user_policy(
            &root(),
            AttachUserPolicyRequest {
                user_name: "u1".into(),
                policy_arn: arn.clone(),
            },
        )
        .await
        .unwrap();
    f.iam
        .attach_group_policy(
            &root(),
            AttachGroupPolicyRequest {
                group_name: "g1".into(),
                policy_arn: arn.clone(),
            },
        )
        .await
        .unwrap();
    let list = |usage, filter| {
        let iam = f.iam.clone();
        let arn = arn.clone();
        async move {
            iam.list_entities_for_policy(
                &root(),
                ListEntitiesForPolicyRequest {
                    policy_arn: arn,
                    policy_usage_filter: usage,
                    entity_filter: filter,
                    ..Default::default()
                },
            )
            .await
            .unwrap()
        }
    };
    let all = list(None, None).await;
    let users: Vec<_> = all
        .policy_users
        .unwrap()
        .into_iter()
        .map(|u| u.user_name.unwrap())
        .collect();
    assert_eq!(users, ["u1", "u2"]);
    assert_eq!(all.policy_groups.unwrap().len(), 1);
    assert!(all.policy_roles.unwrap().is_empty());
    let attached = list(
        Some(PolicyUsageType::PermissionsPolicy),
        Some(EntityType::User),
    )
    .await;
    let users: Vec<_> = attached
        .policy_users
        .unwrap()
        .into_iter()
        .map(|u| u.user_name.unwrap())
        .collect();
    assert_eq!(users, ["u1"]);
    assert!(attached.policy_groups.unwrap().is_empty());
    let boundaries = list(Some(PolicyUsageType::PermissionsBoundary), None).await;
    let users: Vec<_> = boundaries
        .policy_users
        .unwrap()
        .into_iter()
        .map(|u| u.user_name.unwrap())
        .collect();
    assert_eq!(users, ["u2"]);

    f.iam
        .tag_policy(
            &root(),
            TagPolicyRequest {
                policy_arn: arn.clone(),
                tags: vec![Tag {
                    key: "team".into(),
                    value: "core".into(),
                }],
            },
        )
        .await
        .unwrap();
    let tags = f
        .iam
        .list_policy_tags(
            &root(),
            ListPolicyTagsRequest {
                policy_arn: arn.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .tags;
    assert_eq!(
        tags,
        vec![Tag {
            key: "team".into(),
            value: "core".into()
        }]
    );
    let got = f
        .iam
        .get_policy(
            &root(),
            GetPolicyRequest {
                policy_arn: arn.clone(),
            },
        )
        .await
        .unwrap()
        .policy
        .unwrap();
    assert_eq!(got.tags.map(|t| t.len()), Some(1));
    f.iam
        .untag_policy(
            &root(),
            UntagPolicyRequest {
                policy_arn: arn.clone(),
                tag_keys: vec!["TEAM".into()],
            },
        )
        .await
        .unwrap();
    assert!(f
        .iam
        .list_policy_tags(
            &root(),
            ListPolicyTagsRequest {
                policy_arn: arn,
                ..Default::default()
            }
        )
        .await
        .unwrap()
        .tags
        .is_empty());
    let err = f
        .iam
        .tag_policy(
            &root(),
            TagPolicyRequest {
                policy_arn: "arn:aws:iam::aws:policy/AdministratorAccess".into(),
                tags: vec![Tag {
                    key: "a".into(),
                    value: "b".into(),
                }],
            },
        )
        .await
        .unwrap_err();
    assert_eq!(wire(err).1, "AccessDenied");
}
