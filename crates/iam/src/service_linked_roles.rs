//! Service-linked roles: roles an AWS service owns, under `/aws-service-role/<service>/`, trusted
//! by that service alone. Callers cannot change or delete them directly (`UnmodifiableEntity`);
//! `DeleteServiceLinkedRole` starts a deletion task whose status
//! `GetServiceLinkedRoleDeletionStatus` reports. No service uses the role inside Coffer, so the
//! task completes at once.

use coffer_model::context::RequestContext;
use coffer_model::iam::*;
use serde::{Deserialize, Serialize};

use crate::attachments;
use crate::boundaries;
use crate::error::{Fail, TxResult};
use crate::holders::Permissions;
use crate::ids;
use crate::records;
use crate::roles::{self, RoleDoc, ROLES};
use crate::IamService;

pub const PATH_PREFIX: &str = "/aws-service-role/";
/// `<account>/<task id>` → the deletion task's outcome.
pub const DELETION_TASKS: &str = "iam_slr_deletion_tasks";

const SERVICE_SUFFIX: &str = ".amazonaws.com";

/// Role names AWS gives some services' roles (the rest follow the service's name).
const KNOWN: &[(&str, &str)] = &[
    ("autoscaling", "AutoScaling"),
    ("elasticbeanstalk", "ElasticBeanstalk"),
    ("ecs", "ECS"),
    ("eks", "AmazonEKS"),
    ("elasticloadbalancing", "ElasticLoadBalancing"),
    ("rds", "RDS"),
    ("organizations", "Organizations"),
    ("support", "Support"),
    ("trustedadvisor", "TrustedAdvisor"),
    ("config", "Config"),
    ("cloudtrail", "CloudTrail"),
    ("spot", "EC2Spot"),
    ("guardduty", "AmazonGuardDuty"),
    ("sso", "SSO"),
    ("lex", "LexBots"),
    (
        "dynamodb.application-autoscaling",
        "ApplicationAutoScaling_DynamoDBTable",
    ),
    (
        "ecs.application-autoscaling",
        "ApplicationAutoScaling_ECSService",
    ),
];

#[derive(Debug, Clone, Serialize, Deserialize)]
struct DeletionTask {
    role_name: String,
}

fn base_name(service: &str) -> Option<String> {
    let label = service.strip_suffix(SERVICE_SUFFIX)?;
    if label.is_empty()
        || !label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return None;
    }
    if let Some((_, name)) = KNOWN.iter().find(|(s, _)| *s == label) {
        return Some(format!("AWSServiceRoleFor{name}"));
    }
    let mut name = String::from("AWSServiceRoleFor");
    for part in label.split(['.', '-']).filter(|p| !p.is_empty()) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            name.push(first.to_ascii_uppercase());
            name.push_str(chars.as_str());
        }
    }
    Some(name)
}

fn protected(name: &str) -> Fail {
    IamError::unmodifiable_entity(format!(
        "Cannot perform the operation on the protected role '{name}' - this role is only modifiable by AWS"
    ))
    .into()
}

/// Refuses direct changes to a service-linked role.
pub(crate) fn refuse_protected(role: &RoleDoc) -> TxResult<()> {
    if role.is_service_linked() {
        return Err(protected(&role.name));
    }
    Ok(())
}

fn trust_policy(service: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": [service]},
            "Action": ["sts:AssumeRole"]
        }]
    })
    .to_string()
}

pub(crate) async fn create_service_linked_role(
    svc: &IamService,
    ctx: &RequestContext,
    input: CreateServiceLinkedRoleRequest,
) -> Result<CreateServiceLinkedRoleResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let now = records::now_secs(ctx);
    let service = input.aws_service_name.clone();
    let Some(base) = base_name(&service) else {
        return Err(IamError::invalid_input(format!(
            "Invalid service principal {service}: it must be an AWS service name such as autoscaling.amazonaws.com."
        )));
    };
    let name = match &input.custom_suffix {
        Some(suffix) => {
            if suffix.is_empty()
                || !suffix
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(c))
            {
                return Err(IamError::invalid_input(
                    "The specified value for customSuffix is invalid.",
                ));
            }
            format!("{base}_{suffix}")
        }
        None => base,
    };
    if name.len() > 64 {
        return Err(IamError::invalid_input(
            "The specified value for roleName is invalid. It must contain only alphanumeric characters and/or the following: +=,.@_- and be at most 64 characters long.",
        ));
    }
    let role_id = ids::unique_id(ids::ROLE_PREFIX);
    let role = svc
        .write(move |txn| {
            let key = records::key(&account, &name);
            if records::get::<RoleDoc>(txn, ROLES, &key)?.is_some() {
                return Err(IamError::invalid_input(format!(
                    "Service role name {name} has been taken in this account, please try a different suffix."
                ))
                .into());
            }
            let doc = RoleDoc {
                name: name.clone(),
                role_id: role_id.clone(),
                path: format!("{PATH_PREFIX}{service}/"),
                created: now,
                assume_role_policy: trust_policy(&service),
                trust_principal_ids: Default::default(),
                description: input.description.clone(),
                max_session_duration: roles::DEFAULT_MAX_SESSION,
                tags: Vec::new(),
                permissions: Permissions::default(),
                permissions_boundary: None,
            };
            records::put(txn, ROLES, &key, &doc)?;
            Ok(doc.created(&account))
        })
        .await?;
    Ok(CreateServiceLinkedRoleResponse { role: Some(role) })
}

fn task_key(account: &str, task_id: &str) -> String {
    format!("{account}/{task_id}")
}

pub(crate) async fn delete_service_linked_role(
    svc: &IamService,
    ctx: &RequestContext,
    input: DeleteServiceLinkedRoleRequest,
) -> Result<DeleteServiceLinkedRoleResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let suffix = uuid_like();
    svc.write(move |txn| {
        let (key, doc) = roles::load(txn, &account, &input.role_name)?;
        if !doc.is_service_linked() {
            return Err(IamError::invalid_input(format!(
                "Role {} is not a service-linked role.",
                doc.name
            ))
            .into());
        }
        // The service cleans up after its role: its policies go with it.
        for arn in doc.permissions.attached.clone() {
            attachments::detach::<RoleDoc>(txn, &account, &doc.name, &arn)?;
        }
        if let Some(arn) = &doc.permissions_boundary {
            boundaries::release(txn, &account, arn)?;
        }
        txn.delete(ROLES, &key)?;
        let service = doc
            .path
            .strip_prefix(PATH_PREFIX)
            .unwrap_or_default()
            .trim_end_matches('/');
        let task_id = format!("task/aws-service-role/{service}/{}/{suffix}", doc.name);
        records::put(
            txn,
            DELETION_TASKS,
            &task_key(&account, &task_id),
            &DeletionTask {
                role_name: doc.name.clone(),
            },
        )?;
        Ok(DeleteServiceLinkedRoleResponse {
            deletion_task_id: task_id,
        })
    })
    .await
}

pub(crate) async fn get_service_linked_role_deletion_status(
    svc: &IamService,
    ctx: &RequestContext,
    input: GetServiceLinkedRoleDeletionStatusRequest,
) -> Result<GetServiceLinkedRoleDeletionStatusResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    if !input.deletion_task_id.starts_with("task/aws-service-role/") {
        return Err(IamError::invalid_input(format!(
            "Invalid deletion task id {}",
            input.deletion_task_id
        )));
    }
    svc.read(move |txn| {
        let found: Option<DeletionTask> = records::get(
            txn,
            DELETION_TASKS,
            &task_key(&account, &input.deletion_task_id),
        )?;
        match found {
            Some(_) => Ok(GetServiceLinkedRoleDeletionStatusResponse {
                status: DeletionTaskStatusType::Succeeded,
                reason: None,
            }),
            None => Err(IamError::no_such_entity(format!(
                "Deletion task {} cannot be found.",
                input.deletion_task_id
            ))
            .into()),
        }
    })
    .await
}

/// A random UUID (v4 layout) naming a deletion task.
fn uuid_like() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_follow_the_service() {
        assert_eq!(
            base_name("autoscaling.amazonaws.com").as_deref(),
            Some("AWSServiceRoleForAutoScaling")
        );
        assert_eq!(
            base_name("elasticmapreduce.amazonaws.com").as_deref(),
            Some("AWSServiceRoleForElasticmapreduce")
        );
        assert_eq!(base_name("example.com"), None);
        assert_eq!(base_name(".amazonaws.com"), None);
    }
}
