//! Service last-accessed data, as IAM's access advisor reports it:
//! `GenerateServiceLastAccessedDetails` (a user, group, role or managed policy; service or
//! action granularity), `GetServiceLastAccessedDetails`, `GetServiceLastAccessedDetailsWithEntities`
//! and `ListPoliciesGrantingServiceAccess`.
//!
//! A report lists every AWS service the subject's permissions policies allow some action of (its
//! inline and managed policies, a user's groups' too; boundaries, resource and session policies
//! are not considered, as AWS documents), each with the most recent attempt to use it by the
//! entities concerned: the user or role itself; a group's members; the users (directly or through
//! a group) and roles a managed policy is attached to. The attempts are those the server recorded
//! ([`crate::service_access`]); with action granularity, the actions of the services Coffer serves
//! are tracked too. Coffer builds the report when it is asked for and keeps it as a job, so
//! `GetServiceLastAccessedDetails` finds it `COMPLETED` at once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use coffer_model::context::RequestContext;
use coffer_model::iam::*;
use coffer_model::types::Timestamp;
use coffer_policy::{Effect, Policy, PolicyKind, PolicySource};
use coffer_store::Txn;
use serde::{Deserialize, Serialize};

use crate::authorization::{held_policies, managed_policy, Holder};
use crate::aws_reference::{self, ServiceInfo};
use crate::error::{no_such_group, no_such_user, policy_not_found, TxResult};
use crate::groups::{self, GroupDoc, GROUPS};
use crate::membership;
use crate::paging;
use crate::policies::{self, PolicyDoc};
use crate::policy_entities::all_of;
use crate::records;
use crate::roles::{self, RoleDoc, ROLES};
use crate::service_access::{self, AccessMark, ServiceAccess};
use crate::users::{self, UserDoc, USERS};
use crate::IamService;

/// `<account>/<job id>` → [`ReportJob`].
pub const ACCESS_REPORTS: &str = "iam_access_reports";

/// Reports are kept this long after they were generated (AWS does not say how long it keeps
/// them); older ones are removed when the account generates a new one.
const RETENTION_MS: i64 = 30 * 86_400_000;

/// The services whose actions Coffer serves, hence tracks: action-level reports cover them.
const TRACKED_SERVICES: &[&str] = &["iam", "secretsmanager", "sts"];

/// What a report is about.
enum Subject {
    User(UserDoc),
    Group(GroupDoc),
    Role(RoleDoc),
    Policy(PolicyDoc),
}

/// A permissions policy of the subject, and where it comes from.
struct Granting {
    name: String,
    /// Managed policies only.
    arn: Option<String>,
    /// Inline policies only: the user, group or role that holds it.
    holder: Option<(PolicyOwnerEntityType, String)>,
    policy: Arc<Policy>,
}

/// An entity whose attempts count for a report.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct EntityRow {
    arn: String,
    name: String,
    kind: EntityKind,
    id: String,
    path: String,
    /// Its most recent attempt on each service, by namespace.
    services: BTreeMap<String, AccessMark>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum EntityKind {
    User,
    Role,
}

/// The most recent attempt on a service or action, and by whom.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LastAttempt {
    mark: AccessMark,
    entity_arn: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ServiceRow {
    namespace: String,
    name: String,
    last: Option<LastAttempt>,
    /// How many of the report's entities attempted the service.
    entities: u32,
    /// Action-level reports of tracked services: the actions attempted, by name.
    actions: Option<BTreeMap<String, LastAttempt>>,
}

/// A generated report: who asked (only they may read it), and its content.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ReportJob {
    /// The caller's ARN (a role session's, with its session name).
    owner: String,
    action_level: bool,
    created_ms: i64,
    services: Vec<ServiceRow>,
    entities: Vec<EntityRow>,
}

fn invalid_arn(arn: &str) -> IamError {
    IamError::invalid_input(format!(
        "ARN {arn} is not valid: it must name an IAM user, group, role or managed policy."
    ))
}

pub(crate) fn no_such_job(job_id: &str) -> IamError {
    IamError::no_such_entity(format!("No report with job ID {job_id} exists."))
}

/// `arn:aws:iam::<account>:<kind><path><name>`: the kind, the account and the name.
fn split_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let (kind, path_and_name) = ["user", "group", "role", "policy"]
        .into_iter()
        .find_map(|kind| resource.strip_prefix(kind).map(|r| (kind, r)))?;
    if !path_and_name.starts_with('/') {
        return None;
    }
    let name = path_and_name.rsplit('/').next().filter(|n| !n.is_empty())?;
    Some((kind, account, name))
}

/// The subject an ARN names in the caller's account (AWS managed policies too). Its ARN,
/// path included, must be the entity's own.
fn load_subject(
    txn: &mut dyn Txn,
    account: &str,
    arn: &str,
    policies_too: bool,
) -> TxResult<Subject> {
    let (kind, arn_account, name) = split_arn(arn).ok_or_else(|| invalid_arn(arn))?;
    let own = arn_account == account || kind == "policy" && arn_account == "aws";
    if !own || kind == "policy" && !policies_too {
        return Err(invalid_arn(arn).into());
    }
    let subject = match kind {
        "user" => users::find(txn, account, name)?
            .filter(|u| u.arn(account) == arn)
            .map(Subject::User)
            .ok_or_else(|| no_such_user(name))?,
        "group" => groups::find(txn, account, name)?
            .filter(|g| g.arn(account) == arn)
            .map(Subject::Group)
            .ok_or_else(|| no_such_group(name))?,
        "role" => roles::find(txn, account, name)?
            .filter(|r| r.arn(account) == arn)
            .map(Subject::Role)
            .ok_or_else(|| {
                IamError::no_such_entity(format!("The role with name {name} cannot be found."))
            })?,
        _ => policies::lookup(txn, account, arn)?
            .map(|(_, doc)| Subject::Policy(doc))
            .ok_or_else(|| policy_not_found(arn))?,
    };
    Ok(subject)
}

/// The subject's permissions policies, from the loader enforcement uses: a user's own then its
/// groups'; a group's or role's own; a managed policy's default version.
fn granting_policies(
    txn: &mut dyn Txn,
    account: &str,
    subject: &Subject,
) -> TxResult<Vec<Granting>> {
    let holder = match subject {
        Subject::User(u) => Holder::User(&u.name),
        Subject::Group(g) => Holder::Group(&g.name),
        Subject::Role(r) => Holder::Role(&r.name),
        Subject::Policy(p) => {
            let arn = p.arn(account);
            let policy = managed_policy(txn, account, &arn, PolicyKind::Identity)?;
            return Ok(policy
                .map(|attached| Granting {
                    name: p.name.clone(),
                    arn: Some(arn),
                    holder: None,
                    policy: attached.policy,
                })
                .into_iter()
                .collect());
        }
    };
    let Some(held) = held_policies(txn, account, holder)? else {
        return Ok(Vec::new());
    };
    let is_managed = |source: PolicySource| {
        matches!(source, PolicySource::UserManaged | PolicySource::AwsManaged)
    };
    // Each holder's managed policies before its inline ones, holders in the loader's order (the
    // user, then its groups).
    let mut identity = held.identity;
    let mut holders: Vec<(PolicySource, String)> = Vec::new();
    for h in &identity {
        if !holders.contains(&h.held_by) {
            holders.push(h.held_by.clone());
        }
    }
    identity.sort_by_key(|h| {
        (
            holders.iter().position(|holder| *holder == h.held_by),
            !is_managed(h.policy.source),
        )
    });
    Ok(identity
        .into_iter()
        .map(|h| {
            if is_managed(h.policy.source) {
                Granting {
                    name: policy_name(&h.policy.id).to_string(),
                    arn: Some(h.policy.id),
                    holder: None,
                    policy: h.policy.policy,
                }
            } else {
                let kind = match h.held_by.0 {
                    PolicySource::Group => PolicyOwnerEntityType::Group,
                    PolicySource::Role => PolicyOwnerEntityType::Role,
                    _ => PolicyOwnerEntityType::User,
                };
                Granting {
                    name: h.policy.id,
                    arn: None,
                    holder: Some((kind, h.held_by.1)),
                    policy: h.policy.policy,
                }
            }
        })
        .collect())
}

/// A managed policy's name: the last part of its ARN.
fn policy_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The actions of `service` some `Allow` statement of `policy` covers.
fn allowed_actions<'s>(policy: &Policy, service: &'s ServiceInfo) -> Vec<&'s str> {
    let allows: Vec<_> = policy
        .statements()
        .iter()
        .filter(|s| s.effect() == Effect::Allow)
        .collect();
    if allows.is_empty() {
        return Vec::new();
    }
    service
        .actions
        .iter()
        .filter(|action| {
            let qualified = format!("{}:{action}", service.prefix);
            allows.iter().any(|s| s.covers_action(&qualified))
        })
        .map(String::as_str)
        .collect()
}

fn grants_service(policy: &Policy, service: &ServiceInfo) -> bool {
    !allowed_actions(policy, service).is_empty()
}

/// An entity of a report being built, with everything it attempted.
struct Counted {
    row: EntityRow,
    accesses: BTreeMap<String, ServiceAccess>,
}

fn counted(
    txn: &mut dyn Txn,
    account: &str,
    identity: (EntityKind, &str, &str, &str, String),
) -> TxResult<Counted> {
    let (kind, name, id, path, arn) = identity;
    let accesses = service_access::of_entity(txn, account, id)?;
    Ok(Counted {
        row: EntityRow {
            arn,
            name: name.to_string(),
            kind,
            id: id.to_string(),
            path: path.to_string(),
            services: accesses
                .iter()
                .filter_map(|(service, a)| a.last.clone().map(|last| (service.clone(), last)))
                .collect(),
        },
        accesses,
    })
}

fn user_row(txn: &mut dyn Txn, account: &str, u: &UserDoc) -> TxResult<Counted> {
    let identity = (
        EntityKind::User,
        &*u.name,
        &*u.user_id,
        &*u.path,
        u.arn(account),
    );
    counted(txn, account, identity)
}

fn role_row(txn: &mut dyn Txn, account: &str, r: &RoleDoc) -> TxResult<Counted> {
    let identity = (
        EntityKind::Role,
        &*r.name,
        &*r.role_id,
        &*r.path,
        r.arn(account),
    );
    counted(txn, account, identity)
}

/// The users and roles whose attempts count for the subject.
fn entities_of(txn: &mut dyn Txn, account: &str, subject: &Subject) -> TxResult<Vec<Counted>> {
    let mut out = Vec::new();
    match subject {
        Subject::User(u) => out.push(user_row(txn, account, u)?),
        Subject::Role(r) => out.push(role_row(txn, account, r)?),
        Subject::Group(g) => {
            for lower in membership::members_of(txn, account, &g.name)? {
                if let Some(u) = users::find(txn, account, &lower)? {
                    out.push(user_row(txn, account, &u)?);
                }
            }
        }
        Subject::Policy(p) => {
            let arn = p.arn(account);
            let mut seen = BTreeSet::new();
            let groups_with: BTreeSet<String> = all_of::<GroupDoc>(txn, GROUPS, account)?
                .into_iter()
                .filter(|g| g.permissions.attached.contains(&arn))
                .map(|g| g.name.to_lowercase())
                .collect();
            for u in all_of::<UserDoc>(txn, USERS, account)? {
                let direct = u.permissions.attached.contains(&arn);
                let through_group = !groups_with.is_empty()
                    && membership::groups_of(txn, account, &u.name)?
                        .iter()
                        .any(|g| groups_with.contains(&g.to_lowercase()));
                if (direct || through_group) && seen.insert(u.user_id.clone()) {
                    out.push(user_row(txn, account, &u)?);
                }
            }
            for r in all_of::<RoleDoc>(txn, ROLES, account)? {
                if r.permissions.attached.contains(&arn) {
                    out.push(role_row(txn, account, &r)?);
                }
            }
        }
    }
    Ok(out)
}

fn later(current: &mut Option<LastAttempt>, mark: &AccessMark, entity_arn: &str) {
    if current.as_ref().is_none_or(|c| mark.at > c.mark.at) {
        *current = Some(LastAttempt {
            mark: mark.clone(),
            entity_arn: entity_arn.to_string(),
        });
    }
}

fn build_rows(granting: &[Granting], entities: &[Counted], action_level: bool) -> Vec<ServiceRow> {
    let mut rows = Vec::new();
    for service in aws_reference::services() {
        if !granting.iter().any(|g| grants_service(&g.policy, service)) {
            continue;
        }
        let mut last = None;
        let mut count = 0;
        let mut actions: BTreeMap<String, LastAttempt> = BTreeMap::new();
        for e in entities {
            let Some(access) = e.accesses.get(&service.prefix) else {
                continue;
            };
            if let Some(mark) = &access.last {
                count += 1;
                later(&mut last, mark, &e.row.arn);
            }
            for (action, mark) in &access.actions {
                let mut current = actions.remove(action);
                later(&mut current, mark, &e.row.arn);
                actions.extend(current.map(|c| (action.clone(), c)));
            }
        }
        let tracked = action_level && TRACKED_SERVICES.contains(&service.prefix.as_str());
        rows.push(ServiceRow {
            namespace: service.prefix.clone(),
            name: service.name.clone(),
            last,
            entities: count,
            actions: tracked.then_some(actions),
        });
    }
    rows
}

fn job_key(account: &str, job_id: &str) -> String {
    format!("{account}/{job_id}")
}

/// Removes the account's reports older than [`RETENTION_MS`].
fn expire(txn: &mut dyn Txn, account: &str, now_ms: i64) -> TxResult<()> {
    let prefix = format!("{account}/");
    for key in records::keys_under(txn, ACCESS_REPORTS, &prefix)? {
        if let Some(job) = records::get::<ReportJob>(txn, ACCESS_REPORTS, &key)? {
            if now_ms - job.created_ms > RETENTION_MS {
                txn.delete(ACCESS_REPORTS, &key)?;
            }
        }
    }
    Ok(())
}

pub(crate) async fn generate_service_last_accessed_details(
    svc: &IamService,
    ctx: &RequestContext,
    input: GenerateServiceLastAccessedDetailsRequest,
) -> Result<GenerateServiceLastAccessedDetailsResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let owner = ctx.principal.arn.clone();
    let now_ms = ctx.now_millis;
    let action_level = input.granularity == Some(AccessAdvisorUsageGranularityType::ActionLevel);
    let job_id = uuid::Uuid::new_v4().to_string();
    let id = job_id.clone();
    svc.write(move |txn| {
        let subject = load_subject(txn, &account, &input.arn, true)?;
        let granting = granting_policies(txn, &account, &subject)?;
        let entities = entities_of(txn, &account, &subject)?;
        let services = build_rows(&granting, &entities, action_level);
        expire(txn, &account, now_ms)?;
        let job = ReportJob {
            owner: owner.clone(),
            action_level,
            created_ms: now_ms,
            services,
            entities: entities.into_iter().map(|e| e.row).collect(),
        };
        records::put(txn, ACCESS_REPORTS, &job_key(&account, &id), &job)?;
        Ok(())
    })
    .await?;
    Ok(GenerateServiceLastAccessedDetailsResponse {
        job_id: Some(job_id),
    })
}

/// The caller's own report: another principal's is not found, as AWS requires the same user (or
/// role session) to read it.
async fn load_job(
    svc: &IamService,
    ctx: &RequestContext,
    job_id: &str,
) -> Result<ReportJob, IamError> {
    let key = job_key(&ctx.principal.account_id, job_id);
    let owner = ctx.principal.arn.clone();
    let id = job_id.to_string();
    svc.read(move |txn| {
        records::get::<ReportJob>(txn, ACCESS_REPORTS, &key)?
            .filter(|job| job.owner == owner)
            .ok_or_else(|| no_such_job(&id).into())
    })
    .await
}

fn attempt_time(mark: &AccessMark) -> Timestamp {
    Timestamp::from_secs(mark.at)
}

fn service_shape(row: &ServiceRow) -> ServiceLastAccessed {
    ServiceLastAccessed {
        service_name: row.name.clone(),
        service_namespace: row.namespace.clone(),
        last_authenticated: row.last.as_ref().map(|l| attempt_time(&l.mark)),
        last_authenticated_entity: row.last.as_ref().map(|l| l.entity_arn.clone()),
        last_authenticated_region: row.last.as_ref().map(|l| l.mark.region.clone()),
        total_authenticated_entities: (row.entities > 0).then_some(row.entities as i32),
        // AWS: null when no tracked action was used in the tracking period.
        tracked_actions_last_accessed: row.actions.as_ref().filter(|a| !a.is_empty()).map(
            |actions| {
                actions
                    .iter()
                    .map(|(name, last)| TrackedActionLastAccessed {
                        action_name: Some(name.clone()),
                        last_accessed_entity: Some(last.entity_arn.clone()),
                        last_accessed_time: Some(attempt_time(&last.mark)),
                        last_accessed_region: Some(last.mark.region.clone()),
                    })
                    .collect()
            },
        ),
    }
}

pub(crate) async fn get_service_last_accessed_details(
    svc: &IamService,
    ctx: &RequestContext,
    input: GetServiceLastAccessedDetailsRequest,
) -> Result<GetServiceLastAccessedDetailsResponse, IamError> {
    let job = load_job(svc, ctx, &input.job_id).await?;
    // Sorted by service namespace, as AWS lists them by default.
    let page = paging::in_memory(
        job.services,
        |row| row.namespace.clone(),
        input.marker.as_deref(),
        input.max_items,
    )
    .map_err(IamError::from)?;
    let created = Timestamp::from_millis(job.created_ms);
    Ok(GetServiceLastAccessedDetailsResponse {
        job_status: JobStatusType::Completed,
        job_type: Some(if job.action_level {
            AccessAdvisorUsageGranularityType::ActionLevel
        } else {
            AccessAdvisorUsageGranularityType::ServiceLevel
        }),
        job_creation_date: created,
        services_last_accessed: page.items.iter().map(service_shape).collect(),
        job_completion_date: created,
        is_truncated: Some(page.marker.is_some()),
        marker: page.marker,
        error: None,
    })
}

pub(crate) async fn get_service_last_accessed_details_with_entities(
    svc: &IamService,
    ctx: &RequestContext,
    input: GetServiceLastAccessedDetailsWithEntitiesRequest,
) -> Result<GetServiceLastAccessedDetailsWithEntitiesResponse, IamError> {
    let job = load_job(svc, ctx, &input.job_id).await?;
    let namespace = input.service_namespace.clone();
    // Most recent attempt first (AWS's default order), then the entities that made none.
    let mut entities: Vec<(String, EntityRow)> = job
        .entities
        .into_iter()
        .map(|e| {
            let key = match e.services.get(&namespace) {
                Some(mark) => format!("0/{:020}/{}", i64::MAX - mark.at, e.arn),
                None => format!("1/{}", e.arn),
            };
            (key, e)
        })
        .collect();
    entities.sort_by(|a, b| a.0.cmp(&b.0));
    let page = paging::in_memory(
        entities,
        |(key, _)| key.clone(),
        input.marker.as_deref(),
        input.max_items,
    )
    .map_err(IamError::from)?;
    let created = Timestamp::from_millis(job.created_ms);
    Ok(GetServiceLastAccessedDetailsWithEntitiesResponse {
        job_status: JobStatusType::Completed,
        job_creation_date: created,
        job_completion_date: created,
        entity_details_list: page
            .items
            .iter()
            .map(|(_, e)| EntityDetails {
                entity_info: EntityInfo {
                    arn: e.arn.clone(),
                    name: e.name.clone(),
                    r#type: match e.kind {
                        EntityKind::User => PolicyOwnerEntityType::User,
                        EntityKind::Role => PolicyOwnerEntityType::Role,
                    },
                    id: e.id.clone(),
                    path: Some(e.path.clone()),
                },
                last_authenticated: e.services.get(&namespace).map(attempt_time),
            })
            .collect(),
        is_truncated: Some(page.marker.is_some()),
        marker: page.marker,
        error: None,
    })
}

pub(crate) async fn list_policies_granting_service_access(
    svc: &IamService,
    ctx: &RequestContext,
    input: ListPoliciesGrantingServiceAccessRequest,
) -> Result<ListPoliciesGrantingServiceAccessResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let arn = input.arn.clone();
    let granting = svc
        .read(move |txn| {
            let subject = load_subject(txn, &account, &arn, false)?;
            granting_policies(txn, &account, &subject)
        })
        .await?;
    // Every namespace asked for, in the order asked: no MaxItems, so one page.
    if input.marker.is_some() {
        return Err(crate::error::invalid_marker().into());
    }
    let entries = input
        .service_namespaces
        .iter()
        .map(|namespace| {
            let service = aws_reference::services()
                .iter()
                .find(|s| &s.prefix == namespace);
            let policies = granting
                .iter()
                .filter(|g| service.is_some_and(|s| grants_service(&g.policy, s)))
                .map(|g| PolicyGrantingServiceAccess {
                    policy_name: g.name.clone(),
                    policy_type: if g.arn.is_some() {
                        PolicyType::Managed
                    } else {
                        PolicyType::Inline
                    },
                    policy_arn: g.arn.clone(),
                    entity_type: g.holder.as_ref().map(|(kind, _)| *kind),
                    entity_name: g.holder.as_ref().map(|(_, name)| name.clone()),
                })
                .collect();
            ListPoliciesGrantingServiceAccessEntry {
                service_namespace: Some(namespace.clone()),
                policies: Some(policies),
            }
        })
        .collect();
    Ok(ListPoliciesGrantingServiceAccessResponse {
        policies_granting_service_access: entries,
        is_truncated: Some(false),
        marker: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(prefix: &str) -> &'static ServiceInfo {
        aws_reference::services()
            .iter()
            .find(|s| s.prefix == prefix)
            .unwrap()
    }

    fn policy(statements: &str) -> Policy {
        Policy::parse(
            &format!(r#"{{"Version":"2012-10-17","Statement":{statements}}}"#),
            PolicyKind::Identity,
        )
        .unwrap()
    }

    #[test]
    fn services_granted_follow_allow_statements_only() {
        let p = policy(
            r#"[{"Effect":"Allow","Action":"secretsmanager:Get*","Resource":"*"},
                {"Effect":"Deny","Action":"s3:*","Resource":"*"}]"#,
        );
        assert!(grants_service(&p, service("secretsmanager")));
        assert!(!grants_service(&p, service("s3")));
        assert_eq!(
            allowed_actions(&p, service("secretsmanager")),
            ["GetRandomPassword", "GetResourcePolicy", "GetSecretValue"]
        );
        // NotAction: every service with an action outside the list.
        let not = policy(r#"{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}"#);
        assert!(!grants_service(&not, service("iam")));
        assert!(grants_service(&not, service("sts")));
        let everything = policy(r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#);
        assert_eq!(
            aws_reference::services()
                .iter()
                .filter(|s| grants_service(&everything, s))
                .count(),
            aws_reference::services().len()
        );
    }

    #[test]
    fn arns_split_into_kind_account_and_name() {
        assert_eq!(
            split_arn("arn:aws:iam::111122223333:user/team/alice"),
            Some(("user", "111122223333", "alice"))
        );
        assert_eq!(
            split_arn("arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"),
            Some(("policy", "aws", "ViewOnlyAccess"))
        );
        for bad in [
            "arn:aws:iam::111122223333:root",
            "arn:aws:iam::111122223333:user",
            "arn:aws:iam::111122223333:user/",
            "arn:aws:s3:::bucket",
            "user/alice",
        ] {
            assert_eq!(split_arn(bad), None, "{bad}");
        }
    }
}
