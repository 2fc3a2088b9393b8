//! What an IAM request is authorized against: the resource ARN AWS documents for the operation
//! (with the entity's real path, or the caller itself when the operation defaults to it) and the
//! IAM condition keys it supplies (`iam:PolicyARN`, `iam:PermissionsBoundary`,
//! `iam:AWSServiceName`, `aws:RequestTag/…`, `aws:TagKeys`, `aws:ResourceTag/…`).

use coffer_iam::{groups, roles, users};
use coffer_model::context::{PrincipalKind, RequestContext};
use coffer_model::schema::Operation;
use coffer_model::AwsError;
use coffer_server::AccessRequest;
use coffer_store::{Store, StoreError, Txn};
use serde_json::Value;

fn field<'a>(input: &'a Value, name: &str) -> Option<&'a str> {
    input.get(name).and_then(Value::as_str)
}

/// Operations whose `UserName` is optional and means the caller when absent.
const CALLER_DEFAULT: &[&str] = &[
    "GetUser",
    "CreateAccessKey",
    "UpdateAccessKey",
    "DeleteAccessKey",
    "ListAccessKeys",
    "ListSigningCertificates",
    "UploadSigningCertificate",
    "UpdateSigningCertificate",
    "DeleteSigningCertificate",
    "ListSSHPublicKeys",
    "ListMFADevices",
    "ListServiceSpecificCredentials",
    "ChangePassword",
    "ListUserTags",
];

/// What the store says about the entity an operation names.
#[derive(Default)]
struct Entity {
    path: Option<String>,
    tags: Vec<(String, String)>,
    boundary: Option<String>,
}

impl Entity {
    fn of(path: String, tags: Vec<coffer_model::iam::Tag>, boundary: Option<String>) -> Self {
        Entity {
            path: Some(path),
            tags: tags.into_iter().map(|t| (t.key, t.value)).collect(),
            boundary,
        }
    }
}

fn user(txn: &mut dyn Txn, account: &str, name: &str) -> Result<Entity, StoreError> {
    Ok(users::find(txn, account, name)?
        .map(|u| Entity::of(u.path, u.tags, u.permissions_boundary))
        .unwrap_or_default())
}

fn role(txn: &mut dyn Txn, account: &str, name: &str) -> Result<Entity, StoreError> {
    Ok(roles::find(txn, account, name)?
        .map(|r| Entity::of(r.path, r.tags, r.permissions_boundary))
        .unwrap_or_default())
}

fn group(txn: &mut dyn Txn, account: &str, name: &str) -> Result<Entity, StoreError> {
    Ok(groups::find(txn, account, name)?
        .map(|g| Entity {
            path: Some(g.path),
            ..Entity::default()
        })
        .unwrap_or_default())
}

#[derive(Clone, Copy)]
enum Kind {
    User,
    Role,
    Group,
}

impl Kind {
    fn arn_word(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Role => "role",
            Kind::Group => "group",
        }
    }
}

pub async fn access_request(
    store: &Store,
    ctx: &RequestContext,
    op: &'static Operation,
    input: &Value,
) -> Result<AccessRequest, AwsError> {
    let account = ctx.principal.account_id.clone();
    let action = format!("iam:{}", op.name);
    let mut conditions: Vec<(String, Vec<String>)> = Vec::new();

    let caller_user = (ctx.principal.kind == PrincipalKind::User)
        .then(|| ctx.principal.arn.split_once(":user/").map(|(_, r)| r))
        .flatten()
        .map(|path_and_name| path_and_name.rsplit('/').next().unwrap_or(path_and_name));

    // The IAM entity the operation acts on; instance profiles and MFA devices come first because
    // operations such as AddRoleToInstanceProfile and EnableMFADevice name a role or user too but
    // are authorized against the profile / the user respectively (AWS's service reference).
    let named: Option<(Kind, String)> = if let Some(name) = field(input, "UserName") {
        Some((Kind::User, name.to_string()))
    } else if let Some(name) = field(input, "RoleName") {
        Some((Kind::Role, name.to_string()))
    } else if let Some(name) = field(input, "GroupName") {
        Some((Kind::Group, name.to_string()))
    } else if CALLER_DEFAULT.contains(&op.name) {
        caller_user.map(|n| (Kind::User, n.to_string()))
    } else {
        None
    };
    // Operations that create the entity they name take its path from the input.
    let creating = matches!(
        op.name,
        "CreateUser"
            | "CreateRole"
            | "CreateGroup"
            | "CreateInstanceProfile"
            | "CreatePolicy"
            | "CreateVirtualMFADevice"
            | "UploadServerCertificate"
    );

    let entity = match &named {
        Some((kind, name)) if !creating => {
            let (kind, account, name) = (*kind, account.clone(), name.clone());
            store
                .read(move |txn| match kind {
                    Kind::User => user(txn, &account, &name),
                    Kind::Role => role(txn, &account, &name),
                    Kind::Group => group(txn, &account, &name),
                })
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "reading an IAM entity for authorization failed");
                    AwsError::new(
                        503,
                        "ServiceUnavailable",
                        "The service is unavailable. Please try again later.",
                    )
                })?
        }
        _ => Entity::default(),
    };

    let path_of = |entity_path: Option<&str>| -> String {
        entity_path
            .map(str::to_string)
            .or_else(|| {
                creating
                    .then(|| field(input, "Path").map(str::to_string))
                    .flatten()
            })
            .unwrap_or_else(|| "/".to_string())
    };

    let resource = if let Some(name) = field(input, "InstanceProfileName") {
        let path = if creating {
            path_of(None)
        } else {
            "/".to_string()
        };
        Some(format!(
            "arn:aws:iam::{account}:instance-profile{path}{name}"
        ))
    } else if let Some((kind, name)) = &named {
        let path = path_of(entity.path.as_deref());
        Some(format!(
            "arn:aws:iam::{account}:{}{path}{name}",
            kind.arn_word()
        ))
    } else if let Some(arn) = [
        "PolicyArn",
        "OpenIDConnectProviderArn",
        "SAMLProviderArn",
        // The simulator's principal: its user, group or role ARN.
        "PolicySourceArn",
    ]
    .iter()
    .find_map(|m| field(input, m))
    {
        // Another account's entity is refused by the simulator itself with InvalidInput (as AWS
        // answers), not by a cross-account denial.
        let foreign = op.name.ends_with("PrincipalPolicy")
            && arn.split(':').nth(4).is_some_and(|a| a != account);
        (!foreign).then(|| arn.to_string())
    } else if op.name == "CreateSAMLProvider" {
        field(input, "Name").map(|name| format!("arn:aws:iam::{account}:saml-provider/{name}"))
    } else if let Some(name) = field(input, "ServerCertificateName") {
        let path = if creating {
            path_of(None)
        } else {
            "/".to_string()
        };
        Some(format!(
            "arn:aws:iam::{account}:server-certificate{path}{name}"
        ))
    } else if let Some(serial) = field(input, "SerialNumber").filter(|s| s.starts_with("arn:")) {
        Some(serial.to_string())
    } else if let Some(name) = field(input, "VirtualMFADeviceName") {
        Some(format!("arn:aws:iam::{account}:mfa{}{name}", path_of(None)))
    } else if op.name == "CreatePolicy" {
        field(input, "PolicyName")
            .map(|name| format!("arn:aws:iam::{account}:policy{}{name}", path_of(None)))
    } else if op.name == "CreateServiceLinkedRole" {
        // The role AWS would make (policies grant it by name); `*` for a service without one.
        field(input, "AWSServiceName").map(|service| {
            let name =
                coffer_iam::service_linked_roles::role_name(service, field(input, "CustomSuffix"))
                    .unwrap_or_else(|| "*".to_string());
            format!("arn:aws:iam::{account}:role/aws-service-role/{service}/{name}")
        })
    } else {
        // Listing operations are authorized against the path they list.
        let prefix = field(input, "PathPrefix").unwrap_or("/");
        match op.name {
            "ListUsers" => Some(format!("arn:aws:iam::{account}:user{prefix}")),
            "ListRoles" => Some(format!("arn:aws:iam::{account}:role{prefix}")),
            "ListGroups" => Some(format!("arn:aws:iam::{account}:group{prefix}")),
            "ListInstanceProfiles" => {
                Some(format!("arn:aws:iam::{account}:instance-profile{prefix}"))
            }
            _ => None,
        }
    };

    if let Some(arn) = field(input, "PolicyArn") {
        if named.is_some() {
            conditions.push(("iam:PolicyARN".into(), vec![arn.to_string()]));
        }
    }
    if let Some(boundary) = field(input, "PermissionsBoundary").or(entity.boundary.as_deref()) {
        conditions.push(("iam:PermissionsBoundary".into(), vec![boundary.to_string()]));
    }
    if let Some(service) = field(input, "AWSServiceName") {
        conditions.push(("iam:AWSServiceName".into(), vec![service.to_string()]));
    }
    if let Some(tags) = input.get("Tags").and_then(Value::as_array) {
        let mut keys = Vec::new();
        for tag in tags {
            if let (Some(k), Some(v)) = (field(tag, "Key"), field(tag, "Value")) {
                conditions.push((format!("aws:RequestTag/{k}"), vec![v.to_string()]));
                keys.push(k.to_string());
            }
        }
        conditions.push(("aws:TagKeys".into(), keys));
    } else if let Some(keys) = input.get("TagKeys").and_then(Value::as_array) {
        let keys = keys
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        conditions.push(("aws:TagKeys".into(), keys));
    }
    for (k, v) in &entity.tags {
        conditions.push((format!("aws:ResourceTag/{k}"), vec![v.clone()]));
        conditions.push((format!("iam:ResourceTag/{k}"), vec![v.clone()]));
    }

    Ok(AccessRequest {
        action,
        resource,
        conditions,
        resource_policy: None,
        role_trust: None,
    })
}
