//! IAM's policy simulator: `SimulateCustomPolicy`, `SimulatePrincipalPolicy` and
//! `GetContextKeysFor{Custom,Principal}Policy`, answered by the same engine that enforces
//! requests. The simulated request's context holds only what `ContextEntries` supplies, as on
//! AWS, so keys the policies read but the caller did not supply come back as
//! `MissingContextValues`.

use std::collections::{BTreeMap, HashSet};

use coffer_model::context::RequestContext;
use coffer_model::iam::*;
use coffer_policy as engine;
use coffer_policy::{
    AttachedPolicy, Context, ContextKeyType, ContextValue, EvalDecision, PolicyKind, PolicySource,
    PolicyType, PrincipalType,
};
use coffer_store::Txn;

use crate::authorization::{holder_policies, Holder, IdentityPolicies};
use crate::error::{invalid_marker, TxResult};
use crate::IamService;

const DEFAULT_MAX_ITEMS: usize = 100;

/// The simulator's `SourcePolicyId`: a managed policy by its name (`AmazonS3ReadOnlyAccess`) as
/// AWS shows it; inline policies and input policies by the id they were given.
fn shown_policy_id(id: &str) -> String {
    match id.split_once(":policy/") {
        Some((prefix, path_and_name)) if prefix.starts_with("arn:") => path_and_name
            .rsplit('/')
            .next()
            .unwrap_or(path_and_name)
            .to_string(),
        _ => id.to_string(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntityKind {
    User,
    Group,
    Role,
}

/// A user, group or role named by ARN (`PolicySourceArn`, `CallerArn`).
#[derive(Debug, Clone)]
struct Entity {
    kind: EntityKind,
    /// Empty when the ARN leaves it out (`arn:aws:iam:::user/Jill`): the caller's account.
    account: String,
    /// `/` or `/division/`.
    path: String,
    name: String,
}

impl Entity {
    fn parse(arn: &str) -> Option<Entity> {
        let mut parts = arn.splitn(6, ':');
        let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(resource)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        if !partition.starts_with("aws")
            || !(account.is_empty()
                || account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
        {
            return None;
        }
        let (kind, rest) = if let Some(rest) = resource.strip_prefix("user/") {
            (EntityKind::User, rest)
        } else if let Some(rest) = resource.strip_prefix("group/") {
            (EntityKind::Group, rest)
        } else if let Some(rest) = resource.strip_prefix("role/") {
            (EntityKind::Role, rest)
        } else {
            return None;
        };
        let (path, name) = match rest.rsplit_once('/') {
            Some((path, name)) => (format!("/{path}/"), name),
            None => ("/".to_owned(), rest),
        };
        if name.is_empty() || path.contains("//") {
            return None;
        }
        Some(Entity {
            kind,
            account: account.to_owned(),
            path,
            name: name.to_owned(),
        })
    }

    fn account_or<'a>(&'a self, default: &'a str) -> &'a str {
        if self.account.is_empty() {
            default
        } else {
            &self.account
        }
    }

    fn arn(&self, account: &str) -> String {
        let kind = match self.kind {
            EntityKind::User => "user",
            EntityKind::Group => "group",
            EntityKind::Role => "role",
        };
        format!("arn:aws:iam::{account}:{kind}{}{}", self.path, self.name)
    }

    /// The simulated caller. Only its kind and ARN matter: the context comes from
    /// `ContextEntries` alone, and resource policies match callers by ARN.
    fn principal(&self, account: &str, unique_id: &str) -> engine::Principal {
        let path_and_name = format!("{}{}", self.path, self.name);
        match self.kind {
            EntityKind::User => engine::Principal::user(account, &path_and_name, unique_id),
            EntityKind::Role => {
                engine::Principal::assumed_role(account, &path_and_name, "simulation", unique_id)
            }
            // A group never calls anything; its policies are simulated as a member's would be.
            EntityKind::Group => {
                engine::Principal::new(PrincipalType::User, self.arn(account), account, unique_id)
            }
        }
    }
}

fn invalid_entity(arn: &str) -> IamError {
    IamError::invalid_input(format!(
        "Invalid Entity Arn: {arn} does not clearly define entity type and name."
    ))
}

fn caller_must_be_user() -> IamError {
    IamError::invalid_input("Invalid caller - Caller must be an IAM user in this context.")
}

/// Parses policy documents the caller supplied; IAM names them `PolicyInputList.1`, ...
fn input_policies(
    documents: &[String],
    list: &str,
    kind: PolicyKind,
) -> Result<Vec<AttachedPolicy>, IamError> {
    documents
        .iter()
        .enumerate()
        .map(|(i, document)| {
            let policy = engine::Policy::parse(document, kind)
                .map_err(|e| IamError::invalid_input(e.message().to_owned()))?;
            Ok(AttachedPolicy::new(
                format!("{list}.{}", i + 1),
                PolicySource::None,
                policy,
            ))
        })
        .collect()
}

fn single_boundary(documents: Option<&[String]>) -> Result<Option<AttachedPolicy>, IamError> {
    let documents = documents.unwrap_or_default();
    if documents.len() > 1 {
        return Err(IamError::invalid_input(
            "Only one permissions boundary policy can be simulated at a time.",
        ));
    }
    Ok(input_policies(
        documents,
        "PermissionsBoundaryPolicyInputList",
        PolicyKind::PermissionsBoundary,
    )?
    .pop())
}

/// `ResourcePolicy`: a resource-based policy, or a role's trust policy (which has no `Resource`
/// element) for simulating `sts:AssumeRole` on the role.
fn resource_policy(document: Option<&str>) -> Result<Option<AttachedPolicy>, IamError> {
    document
        .map(|d| {
            let policy = engine::Policy::parse(d, PolicyKind::Resource)
                .or_else(|first| engine::Policy::parse(d, PolicyKind::Trust).map_err(|_| first))
                .map_err(|e| IamError::invalid_input(e.message().to_owned()))?;
            Ok(AttachedPolicy::new(
                "ResourcePolicy",
                PolicySource::Resource,
                policy,
            ))
        })
        .transpose()
}

/// Actions a role's trust policy decides when the resource is the role.
fn is_role_assumption(action: &str, resource: &str) -> bool {
    let assume = ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]
        .iter()
        .any(|a| a.eq_ignore_ascii_case(action));
    let parts: Vec<&str> = resource.splitn(6, ':').collect();
    assume
        && parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "iam"
        && parts[5].starts_with("role/")
}

/// The simulator takes exact action names: `service:Action`, no wildcards.
fn check_actions(actions: &[String]) -> Result<(), IamError> {
    if actions.is_empty() {
        return Err(IamError::invalid_input(
            "Missing required parameter: ActionNames",
        ));
    }
    for action in actions {
        let valid = action.split_once(':').is_some_and(|(service, name)| {
            !service.is_empty()
                && !name.is_empty()
                && service
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
        if !valid {
            return Err(IamError::invalid_input(format!(
                "Invalid action name: {action}"
            )));
        }
    }
    Ok(())
}

/// Each resource must be `*` or an ARN with its six parts (the account part may be empty, as
/// for S3 objects).
fn check_resources(resources: &[String]) -> Result<(), IamError> {
    for r in resources {
        let ok = r == "*" || {
            let parts: Vec<&str> = r.splitn(6, ':').collect();
            parts.len() == 6 && parts[0] == "arn" && !parts[1].is_empty() && !parts[2].is_empty()
        };
        if !ok {
            return Err(IamError::invalid_input(format!(
                "Invalid ARN: {r} is not a valid resource ARN."
            )));
        }
    }
    Ok(())
}

fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// `ResourceOwner`: an account ID, or an ARN naming one (`arn:aws:iam::123456789012:root`).
fn resource_owner(owner: Option<&str>) -> Result<Option<String>, IamError> {
    let Some(owner) = owner else {
        return Ok(None);
    };
    let is_account = |a: &str| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit());
    let account = if is_account(owner) {
        Some(owner)
    } else if owner.starts_with("arn:") {
        arn_account(owner).filter(|a| is_account(a))
    } else {
        None
    };
    account
        .map(|a| Some(a.to_owned()))
        .ok_or_else(|| IamError::invalid_input(format!("Invalid Resource Owner: {owner}")))
}

fn key_type(t: &ContextKeyTypeEnum) -> ContextKeyType {
    let (kind, _) = ContextKeyType::parse(t.as_str()).unwrap_or((ContextKeyType::String, false));
    kind
}

/// `ContextEntries` as the request context; values must be of their declared type.
fn context(entries: Option<&[ContextEntry]>) -> Result<Context, IamError> {
    let mut context = Context::new();
    for entry in entries.unwrap_or_default() {
        let Some(name) = entry.context_key_name.as_deref().filter(|n| !n.is_empty()) else {
            return Err(IamError::invalid_input(
                "Invalid context entry: ContextKeyName is required.",
            ));
        };
        let kind = entry
            .context_key_type
            .as_ref()
            .map_or(ContextKeyType::String, key_type);
        let mut values = Vec::new();
        for text in entry.context_key_values.as_deref().unwrap_or_default() {
            let value = ContextValue::parse_typed(kind, text).ok_or_else(|| {
                IamError::invalid_input(format!(
                    "Invalid value {text} for context key {name} of type {}.",
                    entry
                        .context_key_type
                        .as_ref()
                        .map_or("string", |t| t.as_str())
                ))
            })?;
            values.push(value);
        }
        context.set(name, values);
    }
    Ok(context)
}

fn source_type(source: PolicySource) -> PolicySourceType {
    match source {
        PolicySource::User => PolicySourceType::User,
        PolicySource::Group => PolicySourceType::Group,
        PolicySource::Role => PolicySourceType::Role,
        PolicySource::AwsManaged => PolicySourceType::AwsManaged,
        PolicySource::UserManaged => PolicySourceType::UserManaged,
        PolicySource::Resource => PolicySourceType::Resource,
        PolicySource::None => PolicySourceType::None,
    }
}

fn decision_type(d: EvalDecision) -> PolicyEvaluationDecisionType {
    match d {
        EvalDecision::Allowed => PolicyEvaluationDecisionType::Allowed,
        EvalDecision::ExplicitDeny => PolicyEvaluationDecisionType::ExplicitDeny,
        EvalDecision::ImplicitDeny => PolicyEvaluationDecisionType::ImplicitDeny,
    }
}

fn position(p: engine::Position) -> Position {
    Position {
        line: Some(i32::try_from(p.line).unwrap_or(i32::MAX)),
        column: Some(i32::try_from(p.column).unwrap_or(i32::MAX)),
    }
}

/// Everything one simulation evaluates, whichever operation assembled it.
struct Simulation {
    identity: Vec<AttachedPolicy>,
    boundary: Option<AttachedPolicy>,
    resource_policy: Option<AttachedPolicy>,
    /// `ResourceOwner`, when given.
    owner: Option<String>,
    principal: engine::Principal,
    context: Context,
    actions: Vec<String>,
    resources: Vec<String>,
}

impl Simulation {
    fn run(&self) -> Vec<EvaluationResult> {
        let mut out = Vec::with_capacity(self.actions.len() * self.resources.len());
        for action in &self.actions {
            for resource in &self.resources {
                out.push(self.one(action, resource));
            }
        }
        out
    }

    fn one(&self, action: &str, resource: &str) -> EvaluationResult {
        let all = resource == "*";
        let mut request =
            engine::Request::new(self.principal.clone(), action, (!all).then_some(resource));
        request.context = self.context.clone();
        // The resource's owner counts only when a resource policy is simulated: without one,
        // AWS evaluates the identity-based policies alone.
        let resource_account = self.resource_policy.as_ref().map(|_| {
            arn_account(resource)
                .map(str::to_owned)
                .or_else(|| self.owner.clone())
                .unwrap_or_else(|| self.principal.account.clone())
        });
        let cross_account = resource_account
            .as_deref()
            .is_some_and(|a| a != self.principal.account);
        // The same trust rule as the enforcer's when the simulated call assumes the role.
        let (resource_policy, trust_policy) = if is_role_assumption(action, resource) {
            (None, self.resource_policy.as_ref())
        } else {
            (self.resource_policy.as_ref(), None)
        };
        let set = engine::PolicySet {
            identity: &self.identity,
            resource: resource_policy,
            trust: trust_policy,
            resource_account: resource_account.as_deref(),
            boundary: self.boundary.as_ref(),
            session: &[],
        };
        let d = engine::evaluate(&request, &set);
        let matched: Vec<Statement> = d
            .matched
            .iter()
            // A boundary only limits; AWS lists its statements only when one of them denies.
            .filter(|m| {
                m.policy_type != PolicyType::PermissionsBoundary
                    || d.decision == EvalDecision::ExplicitDeny
            })
            .map(|m| Statement {
                source_policy_id: Some(shown_policy_id(&m.policy.id)),
                // AWS's examples show no type for policies passed in as input.
                source_policy_type: (m.policy.source != PolicySource::None)
                    .then(|| source_type(m.policy.source)),
                start_position: Some(position(m.statement.simulator_start_position())),
                end_position: Some(position(m.statement.simulator_end_position())),
            })
            .collect();
        let boundary_detail = self
            .boundary
            .as_ref()
            .map(|_| PermissionsBoundaryDecisionDetail {
                allowed_by_permissions_boundary: Some(d.boundary == Some(EvalDecision::Allowed)),
            });
        // Per policy type only across accounts; present but empty for a named resource in
        // the caller's account; absent for `*`.
        let details = if cross_account {
            let mut map = BTreeMap::new();
            map.insert(
                "IAM Policy".to_owned(),
                decision_type(d.identity.unwrap_or(EvalDecision::ImplicitDeny)),
            );
            map.insert(
                "Resource Policy".to_owned(),
                decision_type(d.resource.or(d.trust).unwrap_or(EvalDecision::ImplicitDeny)),
            );
            if let Some(b) = d.boundary {
                map.insert("Permissions Boundary Policy".to_owned(), decision_type(b));
            }
            Some(map)
        } else if all {
            None
        } else {
            Some(BTreeMap::new())
        };
        let decision = decision_type(d.decision);
        if all {
            return EvaluationResult {
                eval_action_name: action.to_owned(),
                eval_resource_name: Some("*".to_owned()),
                eval_decision: decision,
                matched_statements: Some(matched),
                missing_context_values: Some(d.missing_context_values),
                organizations_decision_detail: None,
                permissions_boundary_decision_detail: boundary_detail,
                eval_decision_details: details,
                resource_specific_results: None,
            };
        }
        // With named resources AWS reports missing context values per resource.
        EvaluationResult {
            eval_action_name: action.to_owned(),
            eval_resource_name: Some(resource.to_owned()),
            eval_decision: decision,
            matched_statements: Some(matched.clone()),
            missing_context_values: Some(Vec::new()),
            organizations_decision_detail: None,
            permissions_boundary_decision_detail: boundary_detail.clone(),
            eval_decision_details: details.clone(),
            resource_specific_results: Some(vec![ResourceSpecificResult {
                eval_resource_name: resource.to_owned(),
                eval_resource_decision: decision,
                matched_statements: Some(matched),
                missing_context_values: Some(d.missing_context_values),
                eval_decision_details: details,
                permissions_boundary_decision_detail: boundary_detail,
            }]),
        }
    }
}

/// `MaxItems`/`Marker` over the (action, resource) results; the marker is the index of the
/// next result.
fn page(
    results: Vec<EvaluationResult>,
    max_items: Option<i32>,
    marker: Option<&str>,
) -> Result<SimulatePolicyResponse, IamError> {
    let max = usize::try_from(max_items.unwrap_or(DEFAULT_MAX_ITEMS as i32).max(1))
        .unwrap_or(DEFAULT_MAX_ITEMS);
    let start = match marker {
        None => 0,
        Some(m) => m
            .parse::<usize>()
            .ok()
            .filter(|&i| i > 0 && i < results.len())
            .ok_or_else(|| IamError::from(invalid_marker()))?,
    };
    let end = start.saturating_add(max).min(results.len());
    let truncated = end < results.len();
    let items: Vec<EvaluationResult> = results.into_iter().skip(start).take(end - start).collect();
    Ok(SimulatePolicyResponse {
        evaluation_results: Some(items),
        is_truncated: Some(truncated),
        marker: truncated.then(|| end.to_string()),
    })
}

fn resources_of(arns: Option<Vec<String>>) -> Result<Vec<String>, IamError> {
    let resources = arns
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| vec!["*".to_owned()]);
    check_resources(&resources)?;
    Ok(resources)
}

pub(crate) async fn simulate_custom_policy(
    _svc: &IamService,
    ctx: &RequestContext,
    input: SimulateCustomPolicyRequest,
) -> Result<SimulatePolicyResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    check_actions(&input.action_names)?;
    let resources = resources_of(input.resource_arns)?;
    let identity = input_policies(
        &input.policy_input_list,
        "PolicyInputList",
        PolicyKind::Identity,
    )?;
    let boundary = single_boundary(input.permissions_boundary_policy_input_list.as_deref())?;
    let resource_policy = resource_policy(input.resource_policy.as_deref())?;
    let owner = resource_owner(input.resource_owner.as_deref())?;
    let context = context(input.context_entries.as_deref())?;
    let caller = match input.caller_arn.as_deref() {
        Some(arn) => Some(Entity::parse(arn).ok_or_else(|| invalid_entity(arn))?),
        None => None,
    };
    // A resource policy's `Principal` needs a caller to match, and only IAM users are simulated
    // against one.
    if resource_policy.is_some() && !caller.as_ref().is_some_and(|c| c.kind == EntityKind::User) {
        return Err(caller_must_be_user());
    }
    let principal = match &caller {
        Some(c) => c.principal(c.account_or(&account), ""),
        // Without a caller the policies are those of an anonymous IAM user of the account.
        None => engine::Principal::new(
            PrincipalType::User,
            format!("arn:aws:iam::{account}:user/simulated-caller"),
            &account,
            "",
        ),
    };
    let sim = Simulation {
        identity,
        boundary,
        resource_policy,
        owner,
        principal,
        context,
        actions: input.action_names,
        resources,
    };
    page(sim.run(), input.max_items, input.marker.as_deref())
}

/// The entity's stored policies, from the loader enforcement uses.
fn load(txn: &mut dyn Txn, account: &str, entity: &Entity) -> TxResult<IdentityPolicies> {
    let name = &entity.name;
    let (holder, missing) = match entity.kind {
        EntityKind::User => (
            Holder::User(name),
            format!("The user with name {name} cannot be found."),
        ),
        EntityKind::Group => (
            Holder::Group(name),
            format!("The group with name {name} cannot be found."),
        ),
        EntityKind::Role => (
            Holder::Role(name),
            format!("The role with name {name} cannot be found."),
        ),
    };
    holder_policies(txn, account, holder)?.ok_or_else(|| IamError::no_such_entity(missing).into())
}

/// Parses `PolicySourceArn` and loads the entity's policies from the caller's account.
async fn source(
    svc: &IamService,
    ctx: &RequestContext,
    arn: &str,
) -> Result<(Entity, IdentityPolicies), IamError> {
    let account = ctx.principal.account_id.clone();
    let entity = Entity::parse(arn).ok_or_else(|| invalid_entity(arn))?;
    if !entity.account.is_empty() && entity.account != account {
        return Err(IamError::invalid_input(format!(
            "Invalid Policy Source Arn: caller's account {account} does not have access to policies in account {}",
            entity.account
        )));
    }
    let for_txn = entity.clone();
    let stored = svc.read(move |txn| load(txn, &account, &for_txn)).await?;
    Ok((entity, stored))
}

pub(crate) async fn simulate_principal_policy(
    svc: &IamService,
    ctx: &RequestContext,
    input: SimulatePrincipalPolicyRequest,
) -> Result<SimulatePolicyResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    check_actions(&input.action_names)?;
    let resources = resources_of(input.resource_arns)?;
    let extra = input_policies(
        input.policy_input_list.as_deref().unwrap_or_default(),
        "PolicyInputList",
        PolicyKind::Identity,
    )?;
    let boundary = single_boundary(input.permissions_boundary_policy_input_list.as_deref())?;
    let resource_policy = resource_policy(input.resource_policy.as_deref())?;
    let owner = resource_owner(input.resource_owner.as_deref())?;
    let context = context(input.context_entries.as_deref())?;
    let caller = match input.caller_arn.as_deref() {
        Some(arn) => Some(Entity::parse(arn).ok_or_else(|| invalid_entity(arn))?),
        None => None,
    };
    let (entity, stored) = source(svc, ctx, &input.policy_source_arn).await?;
    let principal = match &caller {
        Some(c) => {
            if resource_policy.is_some() && c.kind != EntityKind::User {
                return Err(caller_must_be_user());
            }
            c.principal(c.account_or(&account), "")
        }
        None => {
            if resource_policy.is_some() && entity.kind != EntityKind::User {
                return Err(caller_must_be_user());
            }
            entity.principal(&account, &stored.unique_id)
        }
    };
    let mut identity = stored.identity;
    identity.extend(extra);
    let sim = Simulation {
        identity,
        // A boundary given as input replaces the one the entity has.
        boundary: boundary.or(stored.boundary),
        resource_policy,
        owner,
        principal,
        context,
        actions: input.action_names,
        resources,
    };
    page(sim.run(), input.max_items, input.marker.as_deref())
}

fn key_names<'a>(
    policies: impl Iterator<Item = &'a engine::Policy>,
) -> GetContextKeysForPolicyResponse {
    let mut seen = HashSet::new();
    let mut names = Vec::new();
    for key in policies.flat_map(|p| p.context_keys()) {
        if seen.insert(key.to_ascii_lowercase()) {
            names.push(key.to_owned());
        }
    }
    GetContextKeysForPolicyResponse {
        context_key_names: Some(names),
    }
}

/// Any IAM policy: identity-based, or resource-based with a `Principal`.
fn any_policy(document: &str) -> Result<engine::Policy, IamError> {
    engine::Policy::parse(document, PolicyKind::Identity)
        .or_else(|first| engine::Policy::parse(document, PolicyKind::Resource).map_err(|_| first))
        .map_err(|e| IamError::invalid_input(e.message().to_owned()))
}

pub(crate) async fn get_context_keys_for_custom_policy(
    _svc: &IamService,
    _ctx: &RequestContext,
    input: GetContextKeysForCustomPolicyRequest,
) -> Result<GetContextKeysForPolicyResponse, IamError> {
    let parsed = input
        .policy_input_list
        .iter()
        .map(|d| any_policy(d))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(key_names(parsed.iter()))
}

pub(crate) async fn get_context_keys_for_principal_policy(
    svc: &IamService,
    ctx: &RequestContext,
    input: GetContextKeysForPrincipalPolicyRequest,
) -> Result<GetContextKeysForPolicyResponse, IamError> {
    let extra = input
        .policy_input_list
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|d| any_policy(d))
        .collect::<Result<Vec<_>, _>>()?;
    let (_, stored) = source(svc, ctx, &input.policy_source_arn).await?;
    Ok(key_names(
        stored
            .identity
            .iter()
            .map(|a| &*a.policy)
            .chain(extra.iter()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_arns() {
        let e = Entity::parse("arn:aws:iam::123456789012:user/division/alice").unwrap();
        assert_eq!(
            (e.kind, e.account.as_str(), e.path.as_str(), e.name.as_str()),
            (EntityKind::User, "123456789012", "/division/", "alice")
        );
        let e = Entity::parse("arn:aws:iam:::user/Jill").unwrap();
        assert_eq!((e.account.as_str(), e.name.as_str()), ("", "Jill"));
        assert_eq!(
            Entity::parse("arn:aws:iam::123456789012:role/R")
                .unwrap()
                .kind,
            EntityKind::Role
        );
        assert_eq!(
            Entity::parse("arn:aws:iam::123456789012:group/G")
                .unwrap()
                .kind,
            EntityKind::Group
        );
        for bad in [
            "arn:aws:sts::123456789012:assumed-role/R/s",
            "arn:aws:iam::123456789012:root",
            "arn:aws:iam::123456789012:policy/P",
            "arn:aws:iam::12345:user/a",
            "arn:aws:iam::123456789012:user/",
            "user/alice",
        ] {
            assert!(Entity::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn actions_and_resources() {
        assert!(check_actions(&["s3:GetObject".into(), "iam:CreateUser".into()]).is_ok());
        for bad in ["s3:*", "*", "GetObject", "s3:", ":x", "s3:Get*"] {
            assert!(check_actions(&[bad.into()]).is_err(), "{bad}");
        }
        assert!(check_resources(&["*".into(), "arn:aws:s3:::b/k".into()]).is_ok());
        for bad in ["bucket", "arn:aws:s3", "arn::s3:::b"] {
            assert!(check_resources(&[bad.into()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn resource_owners() {
        assert_eq!(
            resource_owner(Some("arn:aws:iam::123456789012:root")).unwrap(),
            Some("123456789012".to_owned())
        );
        assert_eq!(
            resource_owner(Some("444455556666")).unwrap(),
            Some("444455556666".to_owned())
        );
        assert!(resource_owner(Some("nobody")).is_err());
    }

    #[test]
    fn pages() {
        let result = |i: usize| EvaluationResult {
            eval_action_name: format!("s3:A{i}"),
            eval_resource_name: None,
            eval_decision: PolicyEvaluationDecisionType::Allowed,
            matched_statements: None,
            missing_context_values: None,
            organizations_decision_detail: None,
            permissions_boundary_decision_detail: None,
            eval_decision_details: None,
            resource_specific_results: None,
        };
        let all: Vec<_> = (0..5).map(result).collect();
        let first = page(all.clone(), Some(2), None).unwrap();
        assert_eq!(first.evaluation_results.as_ref().unwrap().len(), 2);
        assert_eq!(first.is_truncated, Some(true));
        let last = page(all.clone(), Some(4), first.marker.as_deref()).unwrap();
        let names: Vec<_> = last
            .evaluation_results
            .unwrap()
            .into_iter()
            .map(|r| r.eval_action_name)
            .collect();
        assert_eq!(names, ["s3:A2", "s3:A3", "s3:A4"]);
        assert_eq!((last.is_truncated, last.marker), (Some(false), None));
        assert!(page(all.clone(), None, Some("x")).is_err());
        assert!(page(all, None, Some("5")).is_err());
    }
}
