//! Service-linked roles: roles an AWS service owns, under `/aws-service-role/<service>/`, trusted
//! by that service alone. `CreateServiceLinkedRole` makes them as AWS does, from the catalogue in
//! `data/aws/service-linked-roles.json`: the role name AWS gives each service principal, whether
//! it accepts a `CustomSuffix`, the `aws-service-role/` managed policies AWS attaches and, for a
//! few services, the description AWS sets. A service principal the catalogue does not know is
//! answered as AWS answers one it has no template for.
//!
//! Callers cannot change or delete these roles directly (`UnmodifiableEntity`);
//! `DeleteServiceLinkedRole` starts a deletion task whose status
//! `GetServiceLinkedRoleDeletionStatus` reports. No service uses the role inside Coffer, so the
//! task completes at once.

use std::collections::HashMap;
use std::sync::OnceLock;

use coffer_model::context::RequestContext;
use coffer_model::iam::*;
use coffer_model::AwsError;
use serde::{Deserialize, Serialize};

use crate::attachments;
use crate::aws_managed;
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

static CATALOGUE: &str = include_str!("../../../data/aws/service-linked-roles.json");

#[derive(Deserialize)]
struct CatalogueFile {
    roles: Vec<Template>,
}

/// How AWS creates one service's service-linked role.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Template {
    /// The service principal (`AWSServiceName`), which the role trusts.
    pub service: String,
    pub role_name: String,
    /// Whether `CustomSuffix` is accepted (the role is then named `<role_name>_<suffix>`).
    pub custom_suffix: bool,
    /// Names of the `/aws-service-role/` AWS managed policies attached to the role.
    pub policies: Vec<String>,
    /// What AWS sets as the description when the request has none.
    #[serde(default)]
    pub description: Option<String>,
    /// Provenance only: creating the role does not depend on it (the tests count it).
    #[cfg_attr(not(test), allow(dead_code))]
    pub evidence: Evidence,
}

/// Where an entry comes from (see the catalogue's `evidence` section and `data/README.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Evidence {
    /// AWS's own answers, recorded.
    Recorded,
    /// AWS's documentation.
    Documented,
}

/// The catalogue by service principal, read on first use.
fn templates() -> &'static HashMap<String, Template> {
    static TEMPLATES: OnceLock<HashMap<String, Template>> = OnceLock::new();
    TEMPLATES.get_or_init(|| match serde_json::from_str::<CatalogueFile>(CATALOGUE) {
        Ok(file) => file
            .roles
            .into_iter()
            .map(|t| (t.service.clone(), t))
            .collect(),
        Err(e) => {
            // Compiled in and checked by this module's tests: only a damaged binary gets here,
            // and then no service-linked role can be created.
            tracing::error!(error = %e, "service-linked role catalogue does not read");
            HashMap::new()
        }
    })
}

/// The template for a service principal (exact: AWS's principals are case-sensitive).
pub(crate) fn template(service: &str) -> Option<&'static Template> {
    templates().get(service)
}

/// The name of the role `CreateServiceLinkedRole` makes for `service` (with `custom_suffix`):
/// what requests to create it are authorized against. `None` when no template exists.
pub fn role_name(service: &str, custom_suffix: Option<&str>) -> Option<String> {
    template(service).map(|t| t.role_name_with(custom_suffix))
}

impl Template {
    fn role_name_with(&self, custom_suffix: Option<&str>) -> String {
        match custom_suffix {
            Some(suffix) => format!("{}_{suffix}", self.role_name),
            None => self.role_name.clone(),
        }
    }
}

/// The trust policy AWS gives every service-linked role: one statement, with the principal and
/// the action as plain strings.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TrustPolicy<'a> {
    version: &'static str,
    statement: [TrustStatement<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TrustStatement<'a> {
    effect: &'static str,
    principal: ServicePrincipal<'a>,
    action: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ServicePrincipal<'a> {
    service: &'a str,
}

fn trust_policy(service: &str) -> TxResult<String> {
    let policy = TrustPolicy {
        version: "2012-10-17",
        statement: [TrustStatement {
            effect: "Allow",
            principal: ServicePrincipal { service },
            action: "sts:AssumeRole",
        }],
    };
    serde_json::to_string(&policy)
        .map_err(|e| Fail::Store(coffer_store::StoreError::Corrupt(e.to_string())))
}

/// The ARN of an `/aws-service-role/` policy a template names.
fn policy_arn(name: &str) -> TxResult<String> {
    aws_managed::catalogue()
        .by_name(name)
        .filter(|p| p.path == PATH_PREFIX)
        .map(|p| p.arn())
        .ok_or_else(|| {
            Fail::Store(coffer_store::StoreError::Corrupt(format!(
                "service-linked role policy {name} is not an AWS managed policy"
            )))
        })
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct DeletionTask {
    role_name: String,
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

pub(crate) async fn create_service_linked_role(
    svc: &IamService,
    ctx: &RequestContext,
    input: CreateServiceLinkedRoleRequest,
) -> Result<CreateServiceLinkedRoleResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let now = records::now_secs(ctx);
    let service = input.aws_service_name.clone();
    let Some(template) = template(&service) else {
        return Err(IamError::Other(AwsError::new(
            403,
            "AccessDenied",
            format!("Cannot find Service Linked Role template for {service}"),
        )));
    };
    if let Some(suffix) = &input.custom_suffix {
        if !template.custom_suffix {
            return Err(IamError::invalid_input(format!(
                "Custom suffix is not allowed for {service}"
            )));
        }
        if suffix.is_empty()
            || !suffix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(c))
        {
            return Err(IamError::invalid_input(
                "The specified value for customSuffix is invalid.",
            ));
        }
    }
    let name = template.role_name_with(input.custom_suffix.as_deref());
    if name.len() > 64 {
        return Err(IamError::invalid_input(
            "The specified value for roleName is invalid. It must contain only alphanumeric characters and/or the following: +=,.@_- and be at most 64 characters long.",
        ));
    }
    let description = input.description.clone().or(template.description.clone());
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
                assume_role_policy: trust_policy(&service)?,
                trust_principal_ids: Default::default(),
                description: description.clone(),
                max_session_duration: roles::DEFAULT_MAX_SESSION,
                tags: Vec::new(),
                permissions: Permissions::default(),
                permissions_boundary: None,
            };
            records::put(txn, ROLES, &key, &doc)?;
            // The service's policies, attached as AWS attaches them (counted like any other
            // attachment, and detached again when the role is deleted).
            for policy in &template.policies {
                attachments::attach::<RoleDoc>(txn, &account, &name, &policy_arn(policy)?)?;
            }
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
    use std::collections::HashSet;

    use super::*;

    fn all() -> Vec<Template> {
        serde_json::from_str::<CatalogueFile>(CATALOGUE)
            .expect("the catalogue reads")
            .roles
    }

    #[test]
    fn the_catalogue_names_each_service_and_role_once() {
        let roles = all();
        assert_eq!(roles.len(), 200);
        assert_eq!(templates().len(), roles.len());
        let names: HashSet<_> = roles.iter().map(|t| t.role_name.to_lowercase()).collect();
        assert_eq!(names.len(), roles.len());
        assert_eq!(
            roles
                .iter()
                .filter(|t| t.evidence == Evidence::Recorded)
                .count(),
            71
        );
        for t in &roles {
            assert!(t.service.ends_with(".amazonaws.com"), "{}", t.service);
            assert!(
                t.role_name.starts_with("AWSServiceRoleFor"),
                "{}",
                t.role_name
            );
            assert!(
                t.role_name.len() <= 64
                    && t.role_name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(c)),
                "{}",
                t.role_name
            );
            assert!(!t.policies.is_empty(), "{}", t.service);
        }
    }

    /// Every policy the catalogue attaches is an AWS managed policy under `/aws-service-role/`.
    #[test]
    fn every_attached_policy_is_a_service_role_policy() {
        for t in all() {
            for p in &t.policies {
                assert_eq!(
                    policy_arn(p).ok(),
                    Some(format!("arn:aws:iam::aws:policy/aws-service-role/{p}")),
                    "{}",
                    t.service
                );
            }
        }
    }

    #[test]
    fn templates_are_found_by_exact_principal() {
        let ecs = template("ecs.amazonaws.com").unwrap();
        assert_eq!(ecs.role_name, "AWSServiceRoleForECS");
        assert_eq!(ecs.policies, ["AmazonECSServiceRolePolicy"]);
        assert!(!ecs.custom_suffix);
        let dynamodb = template("dynamodb.application-autoscaling.amazonaws.com").unwrap();
        assert_eq!(
            dynamodb.role_name,
            "AWSServiceRoleForApplicationAutoScaling_DynamoDBTable"
        );
        assert!(template("autoscaling.amazonaws.com").unwrap().custom_suffix);
        assert!(template("ECS.amazonaws.com").is_none());
        assert!(template("not-a-service.example.com").is_none());
    }

    #[test]
    fn role_names_take_the_suffix_after_an_underscore() {
        assert_eq!(
            role_name("autoscaling.amazonaws.com", Some("ci")).as_deref(),
            Some("AWSServiceRoleForAutoScaling_ci")
        );
        assert_eq!(
            role_name("ecs.amazonaws.com", None).as_deref(),
            Some("AWSServiceRoleForECS")
        );
        assert_eq!(role_name("example.amazonaws.com", None), None);
    }

    #[test]
    fn the_trust_policy_is_written_as_aws_writes_it() {
        assert_eq!(
            trust_policy("ecs.amazonaws.com").ok().unwrap(),
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#
        );
    }
}
