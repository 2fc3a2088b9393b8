//! What an IAM request is authorized against, driven by the operation's entry of AWS's Service
//! Authorization Reference (`Operation::authorization`, generated from
//! `data/aws/service-authorization.json.gz`): for each resource type the reference lists, the ARN
//! is built from the request's input as the type's ARN format says — with the entity's stored path
//! where the format reads `…NameWithPath`, the path the request gives for an entity it creates,
//! and the caller itself for operations whose user name is optional. An action the reference gives
//! no resource type is authorized against `*` (except the listing operations of [`listed_kind`]).
//! When no resource of the listed types can be named
//! from the input (a role session calling `GetUser` without a name, which the operation refuses
//! anyway), the request names no resource, so only statements granting on `*` can allow it.
//!
//! The condition keys are the IAM keys the reference lists for the operation (`iam:PolicyARN`,
//! `iam:PermissionsBoundary`, `iam:AWSServiceName`, `iam:ServiceSpecificCredentialServiceName`,
//! `iam:ServiceSpecificCredentialAgeDays`, `aws:RequestTag/…`, `aws:TagKeys`) and the
//! resource's tags (`aws:ResourceTag/…`, and `iam:ResourceTag/…` for the resource types that list
//! it).

use coffer_iam::{
    access_keys, delegation_requests, groups, instance_profiles, roles, server_certificates, users,
};
use coffer_model::access::AccessRequest;
use coffer_model::context::{PrincipalKind, RequestContext};
use coffer_model::schema::{Kind, Operation, ResourceType};
use coffer_model::AwsError;
use coffer_store::{Store, StoreError, Txn};
use serde_json::Value;

fn field<'a>(input: &'a Value, name: &str) -> Option<&'a str> {
    input.get(name).and_then(Value::as_str)
}

/// The resource a request names, and what the store says about it.
#[derive(Default)]
struct Target {
    arn: String,
    tags: Vec<(String, String)>,
    boundary: Option<String>,
    /// A delegation request's owner (`iam:DelegationRequestOwner`), once it has one.
    delegation_owner: Option<String>,
    /// The condition keys of the resource type it was found as (set by [`target`]).
    keys: &'static [&'static str],
}

fn tag_pairs(tags: Vec<coffer_model::iam::Tag>) -> Vec<(String, String)> {
    tags.into_iter().map(|t| (t.key, t.value)).collect()
}

/// `/` unless the stored entity or the request (for an entity it creates) gives a path.
fn path_or<'a>(stored: Option<&'a str>, input: &'a Value) -> &'a str {
    stored.or_else(|| field(input, "Path")).unwrap_or("/")
}

/// The name of the IAM user behind the caller's credentials (long-term keys or a session token).
fn caller_user(ctx: &RequestContext) -> Option<&str> {
    (ctx.principal.kind == PrincipalKind::User)
        .then(|| ctx.principal.arn.split_once(":user/").map(|(_, r)| r))
        .flatten()
        .map(|path_and_name| path_and_name.rsplit('/').next().unwrap_or(path_and_name))
}

/// An ARN member of the input naming an entity of resource type `name` (`arn:…:user/…`).
fn named_arn<'a>(input: &'a Value, members: &[&str], name: &str) -> Option<&'a str> {
    members.iter().find_map(|m| {
        field(input, m).filter(|arn| {
            arn.splitn(6, ':')
                .nth(5)
                .is_some_and(|resource| resource.starts_with(&format!("{name}/")))
        })
    })
}

/// The ARN of a resource of type `rt` the request names, if it names one.
fn resolve(
    txn: &mut dyn Txn,
    ctx: &RequestContext,
    op: &Operation,
    rt: &ResourceType,
    input: &Value,
) -> Result<Option<Target>, StoreError> {
    let account = ctx.principal.account_id.as_str();
    let arn =
        |kind: &str, path: &str, name: &str| format!("arn:aws:iam::{account}:{kind}{path}{name}");
    if rt.name == "delegation-request" {
        return delegation_request(txn, op, input, &arn);
    }
    // Operations that name their subject by ARN (the simulator, access reports).
    if let Some(named) = named_arn(input, &["Arn", "PolicySourceArn", "EntityArn"], rt.name) {
        // Another account's entity is refused by the operation itself with InvalidInput (as AWS
        // answers), not by a cross-account denial.
        if named.split(':').nth(4).is_some_and(|a| a != account) {
            return Ok(None);
        }
        // A user's or role's tags, for `aws:ResourceTag/…` and `iam:ResourceTag/…`.
        let name = named.rsplit('/').next().unwrap_or_default();
        let tags = match rt.name {
            "user" => users::find(txn, account, name)?
                .filter(|u| u.arn(account) == named)
                .map(|u| tag_pairs(u.tags)),
            "role" => roles::find(txn, account, name)?
                .filter(|r| r.arn(account) == named)
                .map(|r| tag_pairs(r.tags)),
            _ => None,
        };
        return Ok(Some(Target {
            arn: named.to_string(),
            tags: tags.unwrap_or_default(),
            ..Target::default()
        }));
    }
    let target = match rt.name {
        "user" => {
            // Operations whose user name is optional act on the caller; GetAccessKeyLastUsed on
            // the key's owner.
            let name = match field(input, "UserName") {
                Some(n) => Some(n.to_string()),
                None if op.name == "GetAccessKeyLastUsed" => match field(input, "AccessKeyId") {
                    Some(key) => access_keys::find(txn, key)?.and_then(|k| k.doc.user_name),
                    None => None,
                },
                None if takes_optional(op, "UserName") || op.name == "ChangePassword" => {
                    caller_user(ctx).map(str::to_string)
                }
                None => None,
            };
            match name {
                Some(name) => {
                    let found = users::find(txn, account, &name)?;
                    let path = path_or(found.as_ref().map(|u| u.path.as_str()), input).to_string();
                    let (tags, boundary) = found
                        .map(|u| (tag_pairs(u.tags), u.permissions_boundary))
                        .unwrap_or_default();
                    Some(Target {
                        arn: arn("user", &path, &name),
                        tags,
                        boundary,
                        ..Target::default()
                    })
                }
                None => None,
            }
        }
        "role" => match field(input, "RoleName") {
            Some(name) => {
                let found = roles::find(txn, account, name)?;
                let path = path_or(found.as_ref().map(|r| r.path.as_str()), input).to_string();
                let (tags, boundary) = found
                    .map(|r| (tag_pairs(r.tags), r.permissions_boundary))
                    .unwrap_or_default();
                Some(Target {
                    arn: arn("role", &path, name),
                    tags,
                    boundary,
                    ..Target::default()
                })
            }
            // The role AWS creates for the service lives under its service path.
            None => match (
                field(input, "AWSServiceName"),
                field(input, "DeletionTaskId"),
            ) {
                // The role AWS would make (policies grant it by name); `*` for a service
                // without one.
                (Some(service), _) => Some(Target {
                    arn: arn(
                        "role",
                        &format!("/aws-service-role/{service}/"),
                        &coffer_iam::service_linked_roles::role_name(
                            service,
                            field(input, "CustomSuffix"),
                        )
                        .unwrap_or_else(|| "*".to_string()),
                    ),
                    ..Target::default()
                }),
                // `task/aws-service-role/<service>/<role>/<id>`: the role being deleted.
                (None, Some(task)) => task
                    .strip_prefix("task/aws-service-role/")
                    .and_then(|rest| rest.rsplit_once('/'))
                    .and_then(|(service_and_role, _)| service_and_role.rsplit_once('/'))
                    .map(|(service, role)| Target {
                        arn: arn("role", &format!("/aws-service-role/{service}/"), role),
                        ..Target::default()
                    }),
                (None, None) => None,
            },
        },
        "group" => match field(input, "GroupName") {
            Some(name) => {
                let found = groups::find(txn, account, name)?;
                let path = path_or(found.as_ref().map(|g| g.path.as_str()), input).to_string();
                Some(Target {
                    arn: arn("group", &path, name),
                    ..Target::default()
                })
            }
            None => None,
        },
        "policy" => match (field(input, "PolicyArn"), field(input, "PolicyName")) {
            (Some(policy_arn), _) => Some(Target {
                arn: policy_arn.to_string(),
                ..Target::default()
            }),
            (None, Some(name)) if op.name == "CreatePolicy" => Some(Target {
                arn: arn("policy", path_or(None, input), name),
                ..Target::default()
            }),
            _ => None,
        },
        "instance-profile" => match field(input, "InstanceProfileName") {
            Some(name) => {
                let found = instance_profiles::find(txn, account, name)?;
                let path = path_or(found.as_ref().map(|p| p.path.as_str()), input).to_string();
                let tags = found.map(|p| tag_pairs(p.tags)).unwrap_or_default();
                Some(Target {
                    arn: arn("instance-profile", &path, name),
                    tags,
                    boundary: None,
                    ..Target::default()
                })
            }
            None => None,
        },
        "server-certificate" => match field(input, "ServerCertificateName") {
            Some(name) => {
                let found = server_certificates::path_and_tags(txn, account, name)?;
                let path = path_or(found.as_ref().map(|(p, _)| p.as_str()), input).to_string();
                let tags = found.map(|(_, t)| tag_pairs(t)).unwrap_or_default();
                Some(Target {
                    arn: arn("server-certificate", &path, name),
                    tags,
                    boundary: None,
                    ..Target::default()
                })
            }
            None => None,
        },
        "mfa" | "sms-mfa" => match field(input, "SerialNumber") {
            Some(serial) => named_arn(input, &["SerialNumber"], rt.name).map(|_| Target {
                arn: serial.to_string(),
                ..Target::default()
            }),
            None => field(input, "VirtualMFADeviceName").map(|name| Target {
                arn: arn("mfa", path_or(None, input), name),
                ..Target::default()
            }),
        },
        "oidc-provider" => match field(input, "OpenIDConnectProviderArn") {
            Some(provider) => Some(Target {
                arn: provider.to_string(),
                ..Target::default()
            }),
            // A provider is named by its URL without the scheme.
            None => field(input, "Url").map(|url| Target {
                arn: format!(
                    "arn:aws:iam::{account}:oidc-provider/{}",
                    url.trim_start_matches("https://")
                        .trim_start_matches("http://")
                ),
                ..Target::default()
            }),
        },
        "saml-provider" => match field(input, "SAMLProviderArn") {
            Some(provider) => Some(Target {
                arn: provider.to_string(),
                ..Target::default()
            }),
            None => field(input, "Name").map(|name| Target {
                arn: format!("arn:aws:iam::{account}:saml-provider/{name}"),
                ..Target::default()
            }),
        },
        // An organization entity's access report, by the entity's path.
        "access-report" => field(input, "EntityPath").map(|path| Target {
            arn: arn("access-report/", "", path),
            ..Target::default()
        }),
        // No IAM operation names a session as its resource.
        "assumed-role" | "federated-user" => None,
        // A resource type the reference gained without a rule here: refused rather than
        // authorized against `*` (the table test calls every operation, so this fails a test).
        unknown => {
            tracing::error!(
                resource_type = unknown,
                "no ARN rule for this resource type"
            );
            return Err(StoreError::Corrupt(format!(
                "no ARN rule for the IAM resource type {unknown}"
            )));
        }
    };
    Ok(target)
}

/// A delegation request, in the caller's account (a request is acted on by two accounts, the
/// partner's and the customer's; each authorizes it as a resource of its own): named by
/// `DelegationRequestId`, by `EntityArn` (`GetHumanReadableSummary`, whatever account the ARN
/// names), or, for `CreateDelegationRequest` whose id the server assigns, every request
/// (`delegation-request/*`).
fn delegation_request(
    txn: &mut dyn Txn,
    op: &Operation,
    input: &Value,
    arn: &dyn Fn(&str, &str, &str) -> String,
) -> Result<Option<Target>, StoreError> {
    let id = match field(input, "DelegationRequestId") {
        Some(id) => Some(id),
        None => field(input, "EntityArn")
            .and_then(|a| a.split_once(":delegation-request/"))
            .map(|(_, id)| id),
    };
    let id = match id {
        Some(id) => id,
        None if op.name == "CreateDelegationRequest" => "*",
        None => return Ok(None),
    };
    let delegation_owner = if id == "*" {
        None
    } else {
        delegation_requests::owner_of(txn, id)?
    };
    Ok(Some(Target {
        arn: arn("delegation-request/", "", id),
        delegation_owner,
        ..Target::default()
    }))
}

/// Whether the operation's input has an optional member `member` (a default the operation fills).
fn takes_optional(op: &Operation, member: &str) -> bool {
    op.input.is_some_and(|shape| match &shape.kind {
        Kind::Structure { members } => members.iter().any(|m| m.name == member && !m.required),
        _ => false,
    })
}

/// Listing operations AWS authorizes against the path they list, though the reference gives them
/// no resource type: AWS's denials read `… iam:ListUsers on resource: arn:aws:iam::<acct>:user/`,
/// and a policy may grant listing one path (`user/team/*`).
fn listed_kind(op: &Operation) -> Option<&'static str> {
    match op.name {
        "ListUsers" => Some("user"),
        "ListRoles" => Some("role"),
        "ListGroups" => Some("group"),
        "ListInstanceProfiles" => Some("instance-profile"),
        _ => None,
    }
}

/// The first resource of the operation's listed types the request names.
fn target(
    txn: &mut dyn Txn,
    ctx: &RequestContext,
    op: &Operation,
    input: &Value,
) -> Result<Option<Target>, StoreError> {
    for rt in op.authorization.resources {
        if let Some(t) = resolve(txn, ctx, op, rt, input)? {
            return Ok(Some(Target {
                keys: rt.condition_keys,
                ..t
            }));
        }
    }
    Ok(None)
}

/// `iam:ServiceSpecificCredentialServiceName`: the service `CreateServiceSpecificCredential` asks
/// for, or that of the stored credential Reset/Update/Delete name (of the named user, or the
/// caller); a credential that does not exist supplies none. `iam:ServiceSpecificCredentialAgeDays`
/// (listed for the create only): its `CredentialAgeDays`.
async fn service_credential_conditions(
    store: &Store,
    ctx: &RequestContext,
    input: &Value,
    conditions: &mut Vec<(String, Vec<String>)>,
) -> Result<(), AwsError> {
    if let Some(days) = input.get("CredentialAgeDays").and_then(Value::as_i64) {
        conditions.push((
            "iam:ServiceSpecificCredentialAgeDays".into(),
            vec![days.to_string()],
        ));
    }
    let service = match field(input, "ServiceName") {
        Some(service) => Some(service.to_string()),
        None => {
            let user = field(input, "UserName").or_else(|| caller_user(ctx));
            let (Some(user), Some(id)) = (user, field(input, "ServiceSpecificCredentialId")) else {
                return Ok(());
            };
            let (account, user, id) = (
                ctx.principal.account_id.clone(),
                user.to_string(),
                id.to_string(),
            );
            store
                .read(move |txn| {
                    coffer_iam::service_credentials::service_name_of(txn, &account, &user, &id)
                })
                .await
                .map_err(unavailable)?
        }
    };
    if let Some(service) = service {
        conditions.push((
            "iam:ServiceSpecificCredentialServiceName".into(),
            vec![service],
        ));
    }
    Ok(())
}

fn unavailable(e: StoreError) -> AwsError {
    tracing::error!(error = %e, "reading an IAM entity for authorization failed");
    AwsError::new(
        503,
        "ServiceUnavailable",
        "The service is unavailable. Please try again later.",
    )
}

pub async fn access_request(
    store: &Store,
    ctx: &RequestContext,
    op: &'static Operation,
    input: &Value,
) -> Result<AccessRequest, AwsError> {
    let authorization = op.authorization;
    let target = if let Some(kind) = listed_kind(op) {
        let prefix = field(input, "PathPrefix").unwrap_or("/");
        Some(Target {
            arn: format!("arn:aws:iam::{}:{kind}{prefix}", ctx.principal.account_id),
            ..Target::default()
        })
    } else if authorization.resources.is_empty() {
        None
    } else {
        let (ctx_owned, input_owned) = (ctx.clone(), input.clone());
        store
            .read(move |txn| target(txn, &ctx_owned, op, &input_owned))
            .await
            .map_err(unavailable)?
    };
    let mut conditions: Vec<(String, Vec<String>)> = Vec::new();
    let supplies = |key: &str| authorization.condition_keys.contains(&key);
    if let Some(policy_arn) = field(input, "PolicyArn").filter(|_| supplies("iam:PolicyARN")) {
        conditions.push(("iam:PolicyARN".into(), vec![policy_arn.to_string()]));
    }
    if supplies("iam:PermissionsBoundary") {
        let boundary = field(input, "PermissionsBoundary")
            .or(target.as_ref().and_then(|t| t.boundary.as_deref()));
        if let Some(boundary) = boundary {
            conditions.push(("iam:PermissionsBoundary".into(), vec![boundary.to_string()]));
        }
    }
    if let Some(service) = field(input, "AWSServiceName").filter(|_| supplies("iam:AWSServiceName"))
    {
        conditions.push(("iam:AWSServiceName".into(), vec![service.to_string()]));
    }
    if supplies("iam:ServiceSpecificCredentialServiceName") {
        service_credential_conditions(store, ctx, input, &mut conditions).await?;
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
    // Temporary delegation: what the partner asks for, and who owns a request.
    if supplies("iam:DelegationDuration") {
        if let Some(duration) = input.get("SessionDuration").and_then(Value::as_i64) {
            conditions.push(("iam:DelegationDuration".into(), vec![duration.to_string()]));
        }
    }
    if let Some(channel) =
        field(input, "NotificationChannel").filter(|_| supplies("iam:NotificationChannel"))
    {
        conditions.push(("iam:NotificationChannel".into(), vec![channel.to_string()]));
    }
    if let Some(template) = input
        .get("Permissions")
        .and_then(|p| field(p, "PolicyTemplateArn"))
        .filter(|_| supplies("iam:TemplateArn"))
    {
        conditions.push(("iam:TemplateArn".into(), vec![template.to_string()]));
    }
    let owner = field(input, "OwnerId")
        .filter(|_| supplies("iam:DelegationRequestOwner"))
        .map(str::to_string)
        .or_else(|| {
            target
                .as_ref()
                .filter(|t| t.keys.contains(&"iam:DelegationRequestOwner"))
                .and_then(|t| t.delegation_owner.clone())
        });
    if let Some(owner) = owner {
        conditions.push(("iam:DelegationRequestOwner".into(), vec![owner]));
    }
    let resource = target.map(|t| {
        // `iam:ResourceTag/…` only for the types that have it (users and roles), as AWS does.
        let iam_tags = t.keys.iter().any(|k| k.starts_with("iam:ResourceTag/"));
        for (k, v) in &t.tags {
            conditions.push((format!("aws:ResourceTag/{k}"), vec![v.clone()]));
            if iam_tags {
                conditions.push((format!("iam:ResourceTag/{k}"), vec![v.clone()]));
            }
        }
        t.arn
    });
    Ok(AccessRequest {
        action: authorization.action.to_string(),
        resource,
        conditions,
        resource_policy: None,
        role_trust: None,
        mfa_authenticated_at_millis: None,
    })
}
