//! The authorization table test: every operation of the three services, with a realistic input
//! naming entities that have paths and tags, is authorized against what AWS's Service
//! Authorization Reference says — its action, a resource ARN of one of its resource types (with
//! the entity's stored path), and no condition key the reference does not list for it.

use coffer_model::access::AccessRequest;
use coffer_model::context::{Principal, PrincipalKind, RequestContext};
use coffer_model::schema::{Operation, Service};
use coffer_model::AwsError;
use coffer_store::{Store, StoreConfig};
use serde_json::{json, Value};

/// The three services as the server routes to them: each one's generated dispatch, and the
/// access request each operation is authorized with (IAM's built by [`crate::iam_access`]).
enum Handler {
    Sts(coffer_sts::StsService),
    SecretsManager(coffer_secretsmanager::SecretsManagerService),
    Iam(coffer_iam::IamService),
}

impl Handler {
    fn service(&self) -> &'static Service {
        match self {
            Handler::Sts(_) => &coffer_model::sts::SERVICE,
            Handler::SecretsManager(_) => &coffer_model::secretsmanager::SERVICE,
            Handler::Iam(_) => &coffer_model::iam::SERVICE,
        }
    }

    async fn call(
        &self,
        ctx: &RequestContext,
        op: &'static Operation,
        input: Value,
    ) -> Result<Value, AwsError> {
        match self {
            Handler::Sts(s) => coffer_model::sts::dispatch(s, ctx, op, input).await,
            Handler::SecretsManager(s) => {
                coffer_model::secretsmanager::dispatch(s, ctx, op, input).await
            }
            Handler::Iam(s) => coffer_model::iam::dispatch(s, ctx, op, input).await,
        }
    }

    async fn access(
        &self,
        ctx: &RequestContext,
        op: &'static Operation,
        input: &Value,
    ) -> Result<AccessRequest, AwsError> {
        match self {
            Handler::Sts(s) => s.access(ctx, op.name, input).await,
            Handler::SecretsManager(s) => Ok(s.access(ctx, op.name, input).await?),
            Handler::Iam(s) => crate::iam_access::access_request(s.store(), ctx, op, input).await,
        }
    }
}

fn handlers(store: &Store) -> Vec<Handler> {
    vec![
        Handler::Sts(coffer_sts::StsService::new(
            store.clone(),
            std::sync::Arc::new(crate::PolicyAuthorizer::new(store.clone())),
        )),
        Handler::SecretsManager(coffer_secretsmanager::SecretsManagerService::new(
            store.clone(),
        )),
        Handler::Iam(coffer_iam::IamService::new(store.clone())),
    ]
}

const ACCOUNT: &str = "111122223333";

fn ctx(principal: Principal) -> RequestContext {
    RequestContext {
        request_id: "table-test".into(),
        principal,
        region: "us-east-1".into(),
        source_ip: None,
        secure_transport: true,
        now_millis: 1_780_000_000_000,
        mfa_authenticated_at_millis: None,
    }
}

fn root() -> Principal {
    Principal {
        account_id: ACCOUNT.into(),
        arn: format!("arn:aws:iam::{ACCOUNT}:root"),
        user_id: ACCOUNT.into(),
        kind: PrincipalKind::Root,
        access_key_id: "AKIAROOTROOTROOTROOT".into(),
    }
}

/// The caller: an IAM user with a path, so operations defaulting to the caller name it.
fn caller(user_id: &str) -> Principal {
    Principal {
        account_id: ACCOUNT.into(),
        arn: format!("arn:aws:iam::{ACCOUNT}:user/callers/carol"),
        user_id: user_id.into(),
        kind: PrincipalKind::User,
        access_key_id: "AKIACAROLCAROLCAROL2".into(),
    }
}

async fn call(handler: &Handler, op: &str, input: Value) -> Value {
    let operation = handler
        .service()
        .operation(op)
        .unwrap_or_else(|| panic!("no operation {op}"));
    handler
        .call(&ctx(root()), operation, input)
        .await
        .unwrap_or_else(|e| panic!("{op}: {e:?}"))
}

fn handler<'h>(handlers: &'h [Handler], prefix: &str) -> &'h Handler {
    handlers
        .iter()
        .find(|h| h.service().signing_name == prefix)
        .expect("service")
}

/// A sample value for each input member the operations use to name things.
fn input_for(op: &Operation, fixtures: &Value) -> Value {
    let mut input = serde_json::Map::new();
    let Some(shape) = op.input else {
        return Value::Object(input);
    };
    let coffer_model::schema::Kind::Structure { members } = &shape.kind else {
        return Value::Object(input);
    };
    for m in members.iter() {
        if let Some(v) = fixtures.get(m.name) {
            input.insert(m.name.to_string(), v.clone());
        }
    }
    // The simulator's and the access reports' subject, by ARN; a summary's is a delegation request.
    if op.name == "GetHumanReadableSummary" {
        if let Some(id) = fixtures["DelegationRequestId"].as_str() {
            input.insert(
                "EntityArn".to_string(),
                json!(format!("arn:aws:iam::{ACCOUNT}:delegation-request/{id}")),
            );
        }
    }
    // STS requests with a serial number would need a valid MFA code to be authorized.
    if !op.name.contains("MFA") {
        input.remove("SerialNumber");
    }
    Value::Object(input)
}

/// Whether `arn` fits an ARN format of the reference (`${Partition}`, `${Account}`, … replaced).
fn fits(format: &str, arn: &str) -> bool {
    let mut pattern = String::from("^");
    let mut rest = format;
    while let Some(start) = rest.find("${") {
        pattern.push_str(&regex::escape(&rest[..start]));
        let end = rest[start..]
            .find('}')
            .map(|e| start + e + 1)
            .unwrap_or(rest.len());
        let var = &rest[start + 2..end - 1];
        pattern.push_str(match var {
            "Partition" => "aws",
            "Account" => ACCOUNT,
            "Region" => "us-east-1",
            _ => ".+",
        });
        rest = &rest[end..];
    }
    pattern.push_str(&regex::escape(rest));
    pattern.push('$');
    regex::Regex::new(&pattern).expect("pattern").is_match(arn)
}

/// Keys any request may carry (global keys), and the reference's `${TagKey}` patterns.
fn permitted(key: &str, listed: &[&str]) -> bool {
    key.starts_with("aws:")
        && !key.starts_with("aws:RequestTag/")
        && !key.starts_with("aws:ResourceTag/")
        && key != "aws:TagKeys"
        || listed.iter().any(|l| match l.split_once("${") {
            Some((prefix, _)) => key.starts_with(prefix),
            // Secrets Manager's reference writes the tag placeholder as `tag-key`.
            None => match l.strip_suffix("/tag-key") {
                Some(prefix) => key.starts_with(&format!("{prefix}/")),
                None => l.eq_ignore_ascii_case(key),
            },
        })
}

fn check(service: &Service, op: &Operation, access: &AccessRequest, failures: &mut Vec<String>) {
    let reference = op.authorization;
    let name = format!("{}:{}", service.signing_name, op.name);
    if access.action != reference.action {
        failures.push(format!(
            "{name}: action {} ≠ {}",
            access.action, reference.action
        ));
    }
    let matched = match &access.resource {
        Some(arn) => {
            let matched: Vec<_> = reference
                .resources
                .iter()
                .filter(|rt| fits(rt.arn, arn))
                .collect();
            let listing = reference.resources.is_empty()
                && [
                    "ListUsers",
                    "ListRoles",
                    "ListGroups",
                    "ListInstanceProfiles",
                ]
                .contains(&op.name);
            if matched.is_empty() && !listing {
                failures.push(format!(
                    "{name}: resource {arn} fits none of its resource types"
                ));
            }
            matched
        }
        None => {
            if reference.resources.iter().any(|rt| rt.required) {
                failures.push(format!(
                    "{name}: names no resource, but the reference requires one"
                ));
            }
            Vec::new()
        }
    };
    let mut listed: Vec<&str> = reference.condition_keys.to_vec();
    for rt in &matched {
        listed.extend(rt.condition_keys.iter());
    }
    for (key, _) in &access.conditions {
        if !permitted(key, &listed) {
            failures.push(format!(
                "{name}: supplies {key}, which the reference does not list"
            ));
        }
    }
}

/// The paths given to the fixtures, which the resource ARNs must carry.
const PATHS: &[(&str, &str)] = &[
    ("user/", "/team/"),
    ("role/", "/svc/"),
    ("group/", "/grp/"),
    ("instance-profile/", "/ip/"),
];

/// A store with one of each entity (with paths and tags), the handlers, the inputs that name
/// them, and the calling user's context.
async fn fixture() -> (Vec<Handler>, Value, RequestContext) {
    let store = Store::open(StoreConfig::memory()).await.expect("store");
    let handlers = handlers(&store);
    let iam = handler(&handlers, "iam");
    let sm = handler(&handlers, "secretsmanager");
    store
        .write(|txn| {
            coffer_iam::accounts::create_with_root_key(
                txn,
                ACCOUNT,
                "AKIAROOTROOTROOTROOT",
                "s",
                0.0,
            )
        })
        .await
        .expect("account");
    let trust = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
        "Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]})
    .to_string();
    let carol = call(
        iam,
        "CreateUser",
        json!({"UserName":"carol","Path":"/callers/"}),
    )
    .await;
    let carol_id = carol["User"]["UserId"].as_str().unwrap().to_string();
    call(
        iam,
        "CreateUser",
        json!({"UserName":"alice","Path":"/team/",
        "Tags":[{"Key":"dept","Value":"eng"}],
        "PermissionsBoundary":"arn:aws:iam::aws:policy/PowerUserAccess"}),
    )
    .await;
    let key = call(iam, "CreateAccessKey", json!({"UserName":"alice"})).await;
    let credential = call(
        iam,
        "CreateServiceSpecificCredential",
        json!({"UserName":"alice","ServiceName":"codecommit.amazonaws.com"}),
    )
    .await;
    call(
        iam,
        "CreateRole",
        json!({"RoleName":"deploy","Path":"/svc/",
        "AssumeRolePolicyDocument":trust, "Tags":[{"Key":"tier","Value":"prod"}],
        "PermissionsBoundary":"arn:aws:iam::aws:policy/PowerUserAccess"}),
    )
    .await;
    call(
        iam,
        "CreateGroup",
        json!({"GroupName":"devs","Path":"/grp/"}),
    )
    .await;
    call(
        iam,
        "CreateInstanceProfile",
        json!({"InstanceProfileName":"prof","Path":"/ip/",
        "Tags":[{"Key":"tier","Value":"prod"}]}),
    )
    .await;
    let secret = call(
        sm,
        "CreateSecret",
        json!({"Name":"app/db","SecretString":"x",
        "ClientRequestToken":"00000000-0000-4000-8000-000000000001",
        "Tags":[{"Key":"team","Value":"a"}]}),
    )
    .await;
    let secret_arn = secret["ARN"].as_str().unwrap().to_string();
    // A delegation request with an owner, for `iam:DelegationRequestOwner`.
    call(
        iam,
        "CreatePolicy",
        json!({"PolicyName":"t","PolicyDocument":
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#}),
    )
    .await;
    let delegation = call(
        iam,
        "CreateDelegationRequest",
        json!({"Description":"d","Permissions":{"PolicyTemplateArn":format!("arn:aws:iam::{ACCOUNT}:policy/t")},
            "RequestorWorkflowId":"wf-1","NotificationChannel":"arn:aws:sns:us-east-1:111122223333:t",
            "SessionDuration":3600}),
    )
    .await;
    let delegation_id = delegation["DelegationRequestId"]
        .as_str()
        .unwrap()
        .to_string();
    call(
        iam,
        "AssociateDelegationRequest",
        json!({"DelegationRequestId": delegation_id}),
    )
    .await;

    let mut fixtures = json!({
        "UserName": "alice", "RoleName": "deploy", "GroupName": "devs",
        "InstanceProfileName": "prof", "ServerCertificateName": "cert",
        "PolicyArn": format!("arn:aws:iam::{ACCOUNT}:policy/p/pol"),
        "PolicyName": "pol", "Path": "/new/", "PathPrefix": "/team/",
        "SerialNumber": format!("arn:aws:iam::{ACCOUNT}:mfa/dev"),
        "VirtualMFADeviceName": "dev",
        "OpenIDConnectProviderArn": format!("arn:aws:iam::{ACCOUNT}:oidc-provider/idp.example.com"),
        "Url": "https://idp.example.com",
        "SAMLProviderArn": format!("arn:aws:iam::{ACCOUNT}:saml-provider/idp"),
        "Name": "idp",
        "Arn": format!("arn:aws:iam::{ACCOUNT}:user/team/alice"),
        "PolicySourceArn": format!("arn:aws:iam::{ACCOUNT}:user/team/alice"),
        "EntityArn": format!("arn:aws:iam::{ACCOUNT}:user/team/alice"),
        "AWSServiceName": "elasticbeanstalk.amazonaws.com",
        "AccessKeyId": key["AccessKey"]["AccessKeyId"],
        "ServiceSpecificCredentialId":
            credential["ServiceSpecificCredential"]["ServiceSpecificCredentialId"],
        "PermissionsBoundary": format!("arn:aws:iam::{ACCOUNT}:policy/boundary"),
        "Tags": [{"Key": "k", "Value": "v"}], "TagKeys": ["k"],
        "SecretId": secret_arn,
        "RoleArn": format!("arn:aws:iam::{ACCOUNT}:role/svc/deploy"),
        "RoleSessionName": "s1",
        "TargetPrincipal": ACCOUNT,
        "DelegationRequestId": delegation_id,
        "OwnerId": format!("arn:aws:iam::{ACCOUNT}:root"),
        "EntityPath": "o-a1b2c3d4e5/r-f6g7h8i9j0example",
        "Notes": "n", "Description": "d",
        "Permissions": {"PolicyTemplateArn": format!("arn:aws:iam::{ACCOUNT}:policy/t")},
        "RequestorWorkflowId": "wf-1", "NotificationChannel": "arn:aws:sns:us-east-1:111122223333:t",
        "SessionDuration": 3600,
        "DeletionTaskId": "task/aws-service-role/elasticbeanstalk.amazonaws.com/AWSServiceRoleForElasticBeanstalk/8a4c",
    });
    // Members that condition keys are taken from.
    let keyed = json!({
        "ExternalId": "ext-1", "SourceIdentity": "src-1", "TransitiveTagKeys": ["k"],
        "RecoveryWindowInDays": 7, "ForceDeleteWithoutRecovery": false,
        "VersionId": "00000000-0000-4000-8000-000000000001", "VersionStage": "AWSCURRENT",
        "RotationLambdaARN": format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:rotate"),
        "RotationRules": {"AutomaticallyAfterDays": 30}, "RotateImmediately": false,
        "BlockPublicPolicy": true, "ForceOverwriteReplicaSecret": true,
        "AddReplicaRegions": [{"Region": "eu-west-1"}],
        "KmsKeyId": "0b0b0b0b-1111-4222-8333-444444444444", "Type": "Generic",
        "ExternalSecretRotationRoleArn": format!("arn:aws:iam::{ACCOUNT}:role/rotator"),
        "ServiceName": "codecommit.amazonaws.com", "CredentialAgeDays": 30,
    });
    if let (Some(all), Value::Object(more)) = (fixtures.as_object_mut(), keyed) {
        all.extend(more);
    }

    (handlers, fixtures, ctx(caller(&carol_id)))
}

#[tokio::test]
async fn every_operation_is_authorized_as_the_reference_says() {
    let (handlers, fixtures, caller_ctx) = fixture().await;
    let mut failures = Vec::new();
    let mut checked = 0;
    for h in &handlers {
        let service = h.service();
        for op in service.operations {
            let input = input_for(op, &fixtures);
            let access = match h.access(&caller_ctx, op, &input).await {
                Ok(a) => a,
                // Answered before authorization, as AWS does (root-only and malformed requests).
                Err(e) => {
                    failures.push(format!("{}:{}: {e:?}", service.signing_name, op.name));
                    continue;
                }
            };
            let before = failures.len();
            check(service, op, &access, &mut failures);
            // Operations Coffer answers as an account without AWS Organizations (or not at all)
            // name nothing; any other failure stands.
            if failures.len() > before && access.resource.is_none() {
                match h.call(&ctx(root()), op, input.clone()).await {
                    Err(e) if e.status == 501 || e.code.contains("Organizations") => {
                        failures.truncate(before);
                    }
                    Err(e) => {
                        failures.push(format!("  (the call answers {} {})", e.status, e.code))
                    }
                    Ok(_) => {}
                }
            }
            if let Some(arn) = &access.resource {
                for (kind, path) in PATHS {
                    let named = format!(":{kind}");
                    if arn.contains(&named) && arn.contains(&format!("{kind}{}", &path[1..]))
                        || !arn.contains(&named)
                    {
                        continue;
                    }
                    // A fixture entity named without its stored path.
                    if arn.ends_with("/alice")
                        || arn.ends_with("/deploy")
                        || arn.ends_with("/devs")
                        || arn.ends_with("/prof")
                    {
                        failures.push(format!(
                            "{}:{}: {arn} lacks the stored path {path}",
                            service.signing_name, op.name
                        ));
                    }
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 200, "only {checked} operations checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Condition keys the reference lists that the request authorizer does not supply, each with
/// why. Everything else the reference lists for an operation must be supplied when the request
/// has what the key is about (checked below).
const NOT_SUPPLIED: &[(&str, &str)] = &[
    // Supplied by STS from the verified token or assertion when it asks this crate's authorizer
    // for the role's trust decision (`TrustAuthorizer`): not request members, so not in the
    // operation's access request. That every one the reference lists is supplied, with the
    // token's or assertion's values, is tested where they are made:
    // `coffer_sts::saml::tests::every_saml_key_of_the_reference_is_supplied` and
    // `coffer_sts::web_identity::tests::every_google_and_cognito_key_of_the_reference_is_supplied`.
    (
        "accounts.google.com:*",
        "claims of a Google ID token (the federated trust decision, tested in coffer-sts)",
    ),
    (
        "cognito-identity.amazonaws.com:*",
        "claims of an Amazon Cognito token (the federated trust decision, tested in coffer-sts)",
    ),
    (
        "saml:*",
        "attributes of a SAML assertion (the federated trust decision, tested in coffer-sts)",
    ),
    // Cannot arise: Facebook's and Login with Amazon's keys describe OAuth access tokens that
    // only those providers can check (AWS calls them); Coffer verifies OpenID Connect ID tokens
    // against the account's IAM OIDC providers, offline.
    (
        "graph.facebook.com:*",
        "Facebook access tokens are not accepted (only OIDC ID tokens of IAM OIDC providers)",
    ),
    (
        "www.amazon.com:*",
        "Login with Amazon access tokens are not accepted (only OIDC ID tokens of IAM OIDC providers)",
    ),
    // The federated operations carry no caller to authorize: once STS has verified the token or
    // assertion, the authorizer decides the role's trust policy with its claims, session name
    // and tags (`PolicyAuthorizer::authorize_federated`).
    (
        "sts:AssumeRoleWithSAML",
        "decided after verification (TrustAuthorizer)",
    ),
    (
        "sts:AssumeRoleWithWebIdentity",
        "decided after verification (TrustAuthorizer)",
    ),
    // Features Coffer answers as AWS does for an account without them (no request reaches the
    // authorizer with these values).
    (
        "sts:TaskPolicyArn",
        "AssumeRoot: answered as for an account outside an organization",
    ),
    (
        "sts:GetWebIdentityToken",
        "outbound federation tokens are not issued",
    ),
    ("iam:OrganizationsPolicyId", "no AWS Organizations"),
    // `iam:DelegationRequestOwner` of the resource type: a request being created has no owner.
    (
        "iam:CreateDelegationRequest",
        "a delegation request being created has no owner yet",
    ),
    (
        "iam:FIDO-*",
        "FIDO security keys: only virtual MFA devices exist",
    ),
    (
        "iam:RegisterSecurityKey",
        "FIDO security keys: only virtual MFA devices exist",
    ),
];

/// The stored state a key describes, when the fixture's resource lacks it: the fixture secret has
/// no rotation function and no type (their keys are tested where rotation is configured).
const ABSENT_IN_FIXTURE: &[&str] = &[
    "secretsmanager:resource/AllowRotationLambdaArn",
    "secretsmanager:resource/Type",
];

/// An entry of [`NOT_SUPPLIED`]: a key, or every key it begins with when it ends in `*`.
fn matches_entry(key: &str, entry: &str) -> bool {
    match entry.strip_suffix('*') {
        Some(prefix) => key.starts_with(prefix),
        None => key == entry,
    }
}

#[tokio::test]
async fn every_listed_condition_key_is_supplied_or_named_unknowable() {
    let (handlers, fixtures, caller_ctx) = fixture().await;
    // Resources of the fixture that carry tags.
    let tagged = [
        "user/team/alice",
        "role/svc/deploy",
        "instance-profile/ip/prof",
        ":secret:app/db",
    ];
    let mut failures = Vec::new();
    let mut unused: Vec<&str> = NOT_SUPPLIED.iter().map(|(k, _)| *k).collect();
    for h in &handlers {
        let service = h.service();
        for op in service.operations {
            let input = input_for(op, &fixtures);
            let Ok(access) = h.access(&caller_ctx, op, &input).await else {
                continue;
            };
            let reference = op.authorization;
            let mut listed: Vec<&str> = reference.condition_keys.to_vec();
            for rt in reference.resources {
                if access
                    .resource
                    .as_deref()
                    .is_some_and(|arn| fits(rt.arn, arn))
                {
                    listed.extend(rt.condition_keys.iter());
                }
            }
            let names_tagged = access
                .resource
                .as_deref()
                .is_some_and(|arn| tagged.iter().any(|t| arn.contains(t)));
            let has = |member: &str| input.get(member).is_some();
            for key in listed {
                let supplied = access.conditions.iter().any(|(k, _)| permitted(k, &[key]));
                if supplied {
                    continue;
                }
                // Global keys the authorizer adds to every request (aws:CurrentTime, …).
                let global = key.starts_with("aws:")
                    && !key.starts_with("aws:RequestTag/")
                    && !key.starts_with("aws:ResourceTag/")
                    && key != "aws:TagKeys";
                let resource_tags = key.contains("ResourceTag/");
                // Tag values come only with `Tags`; tag keys with `Tags` or `TagKeys`.
                let excused = global
                    || key.starts_with("aws:RequestTag/") && !has("Tags")
                    || key == "aws:TagKeys" && !has("Tags") && !has("TagKeys")
                    || resource_tags && !names_tagged
                    || ABSENT_IN_FIXTURE.contains(&key);
                if excused {
                    continue;
                }
                let operation = format!("{}:{}", service.signing_name, op.name);
                match NOT_SUPPLIED
                    .iter()
                    .find(|(entry, _)| *entry == operation || matches_entry(key, entry))
                {
                    Some((entry, _)) => unused.retain(|u| u != entry),
                    None => failures.push(format!(
                        "{}:{}: the reference lists {key}, which is not supplied",
                        service.signing_name, op.name
                    )),
                }
            }
        }
    }
    assert!(
        unused.is_empty(),
        "NOT_SUPPLIED names keys every operation supplies: {unused:?}"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
