//! AWS's policy evaluation logic for one request.
//!
//! 1. An explicit `Deny` in any applicable policy decides.
//! 2. Within one account, the union of identity-based and resource-based permissions counts,
//!    with the documented nuances: a resource-based policy naming the caller (an IAM user, a
//!    role session, a federated-user session, or `*`) grants outright; naming the role of a
//!    session (or the IAM user behind a federated session) is still limited by the permissions
//!    boundary and session policies; naming the account delegates to identity-based policies.
//! 3. Across accounts, both the caller's identity-based policies and the resource-based policy
//!    must allow.
//! 4. Permissions boundaries and session policies, when present, must also allow what the
//!    identity-based policies allow. A user or root under session policies (delegated
//!    credentials) is a session of itself: a resource or trust policy naming it is limited by
//!    the session policies like one naming a session's role.
//! 5. The account root user is allowed everything in its own account unless a resource-based
//!    policy denies it; AWS service control policies do not exist here.
//! 6. Assuming a role is decided by the role's trust policy, which is not a resource-based policy
//!    in the usual sense: it must always allow, in the same account too. A trust policy naming the
//!    caller (or `*`) suffices on its own within the account; naming the caller's role (for a
//!    session) also needs the session policies; naming the account also needs the caller's
//!    identity-based policies; across accounts both sides must allow. A permissions boundary, when
//!    the caller has one, must allow in every case.

use std::sync::Arc;

use crate::context::{PrincipalType, Request};
use crate::document::{ConditionText, Effect, Grant, Policy, Statement};
use crate::message::{self, DenyReason};

/// The kind of policy, as the simulator's `SourcePolicyType` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicySource {
    User,
    Group,
    Role,
    AwsManaged,
    UserManaged,
    Resource,
    None,
}

impl PolicySource {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicySource::User => "user",
            PolicySource::Group => "group",
            PolicySource::Role => "role",
            PolicySource::AwsManaged => "aws-managed",
            PolicySource::UserManaged => "user-managed",
            PolicySource::Resource => "resource",
            PolicySource::None => "none",
        }
    }
}

/// A compiled policy and where it came from.
#[derive(Debug, Clone)]
pub struct AttachedPolicy {
    /// The simulator's `SourcePolicyId` (a policy name, ARN or `PolicyInputList.1`).
    pub id: String,
    pub source: PolicySource,
    pub policy: Arc<Policy>,
}

impl AttachedPolicy {
    pub fn new(id: impl Into<String>, source: PolicySource, policy: Policy) -> Self {
        AttachedPolicy {
            id: id.into(),
            source,
            policy: Arc::new(policy),
        }
    }
}

/// The policies that apply to one request.
#[derive(Debug, Clone, Copy, Default)]
pub struct PolicySet<'a> {
    /// The caller's identity-based policies (a user's own and its groups', or a role's).
    pub identity: &'a [AttachedPolicy],
    /// The resource's policy (a secret's resource policy).
    pub resource: Option<&'a AttachedPolicy>,
    /// The trust policy of the role being assumed (`sts:AssumeRole`, `sts:TagSession`,
    /// `sts:SetSourceIdentity`, the web-identity and SAML variants). When present the trust rule
    /// decides (see the module documentation) and `resource` is not consulted.
    pub trust: Option<&'a AttachedPolicy>,
    /// The account that owns the resource; `None` means the caller's account.
    pub resource_account: Option<&'a str>,
    pub boundary: Option<&'a AttachedPolicy>,
    /// Session policies of the caller's session, if it was created with any.
    pub session: &'a [AttachedPolicy],
}

/// The policy types that take part in a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyType {
    IdentityBased,
    ResourceBased,
    PermissionsBoundary,
    SessionPolicy,
    TrustPolicy,
}

/// The simulator's `EvalDecision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EvalDecision {
    Allowed,
    ExplicitDeny,
    ImplicitDeny,
}

impl EvalDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            EvalDecision::Allowed => "allowed",
            EvalDecision::ExplicitDeny => "explicitDeny",
            EvalDecision::ImplicitDeny => "implicitDeny",
        }
    }
}

/// A statement that took part in the decision.
#[derive(Debug, Clone, Copy)]
pub struct MatchedStatement<'a> {
    pub policy: &'a AttachedPolicy,
    pub policy_type: PolicyType,
    pub statement: &'a Statement,
}

/// An `Allow` statement whose action and principal cover the request but whose resource or
/// conditions do not: what [`explain`] reports for a request that was not allowed.
#[derive(Debug, Clone)]
pub struct UnmetStatement<'a> {
    pub policy: &'a AttachedPolicy,
    pub policy_type: PolicyType,
    pub statement: &'a Statement,
    pub resource_matched: bool,
    /// The condition clauses that do not hold, as written.
    pub failing_conditions: Vec<ConditionText<'a>>,
}

/// The outcome and why.
#[derive(Debug, Clone)]
pub struct Decision<'a> {
    pub decision: EvalDecision,
    /// The deny statements for an explicit deny, the allow statements for an allow, nothing
    /// for an implicit deny.
    pub matched: Vec<MatchedStatement<'a>>,
    /// Why the request was denied, for AWS's `AccessDenied` message; `None` when allowed.
    pub reason: Option<DenyReason>,
    /// Context keys that conditions or policy variables read but the request lacked.
    pub missing_context_values: Vec<String>,
    /// Only from [`explain`]: the `Allow` statements that came closest to allowing.
    pub unmet: Vec<UnmetStatement<'a>>,
    /// Each policy type's own verdict (`None` when no policy of that type applies), as the
    /// simulator's `EvalDecisionDetails` and `PermissionsBoundaryDecisionDetail` report.
    pub identity: Option<EvalDecision>,
    pub resource: Option<EvalDecision>,
    pub boundary: Option<EvalDecision>,
    pub session: Option<EvalDecision>,
    pub trust: Option<EvalDecision>,
}

impl Decision<'_> {
    pub fn is_allowed(&self) -> bool {
        self.decision == EvalDecision::Allowed
    }

    /// `User: <arn> is not authorized to perform: <action> on resource: <arn> because ...`,
    /// or `None` when the request is allowed.
    pub fn access_denied_message(&self, request: &Request) -> Option<String> {
        self.reason.map(|reason| {
            message::access_denied(
                &request.principal.arn,
                &request.action,
                request.resource.as_deref(),
                reason,
            )
        })
    }
}

#[derive(Default)]
struct GroupResult {
    present: bool,
    allow: bool,
    deny: bool,
    /// For resource-based policies: how directly an allowing statement names the caller.
    grant: Option<Grant>,
}

impl GroupResult {
    fn verdict(&self) -> Option<EvalDecision> {
        self.present.then_some(if self.deny {
            EvalDecision::ExplicitDeny
        } else if self.allow {
            EvalDecision::Allowed
        } else {
            EvalDecision::ImplicitDeny
        })
    }
}

struct Evaluator<'r, 'a> {
    request: &'r Request,
    has_boundary: bool,
    matched: Vec<MatchedStatement<'a>>,
    missing: Vec<String>,
    /// Record [`UnmetStatement`]s (costs a little more, so only when explaining).
    explain: bool,
    unmet: Vec<UnmetStatement<'a>>,
}

impl<'a> Evaluator<'_, 'a> {
    fn group<'p>(
        &mut self,
        policies: impl Iterator<Item = &'p AttachedPolicy>,
        policy_type: PolicyType,
    ) -> GroupResult
    where
        'p: 'a,
    {
        let mut result = GroupResult::default();
        let request = self.request;
        for attached in policies {
            result.present = true;
            for statement in attached.policy.statements() {
                if !statement.action_matches(&request.action) {
                    continue;
                }
                let Some(grant) = statement.principal_grant(&request.principal, self.has_boundary)
                else {
                    continue;
                };
                let missing = &mut self.missing;
                let mut note_missing = |key: &str| {
                    if !missing.iter().any(|k| k == key) {
                        missing.push(key.to_owned());
                    }
                };
                if self.explain && statement.effect() == Effect::Allow {
                    let resource_matched = statement.resource_matches(request, &mut note_missing);
                    let failing_conditions =
                        statement.failing_conditions(request, &mut note_missing);
                    if !resource_matched || !failing_conditions.is_empty() {
                        self.unmet.push(UnmetStatement {
                            policy: attached,
                            policy_type,
                            statement,
                            resource_matched,
                            failing_conditions,
                        });
                        continue;
                    }
                } else if !statement.resource_matches(request, &mut note_missing)
                    || !statement.conditions_hold(request, &mut note_missing)
                {
                    continue;
                }
                match statement.effect() {
                    Effect::Deny => result.deny = true,
                    Effect::Allow => {
                        result.allow = true;
                        result.grant = result.grant.max(Some(grant));
                    }
                }
                self.matched.push(MatchedStatement {
                    policy: attached,
                    policy_type,
                    statement,
                });
            }
        }
        result
    }
}

/// Decides `request` against `policies`.
pub fn evaluate<'a>(request: &Request, policies: &PolicySet<'a>) -> Decision<'a> {
    decide(request, policies, false)
}

/// Decides as [`evaluate`] does, also reporting the `Allow` statements whose resource or
/// conditions kept them from applying ([`Decision::unmet`]). Their conditions are all
/// evaluated, so `missing_context_values` may name keys that [`evaluate`] did not need.
pub fn explain<'a>(request: &Request, policies: &PolicySet<'a>) -> Decision<'a> {
    decide(request, policies, true)
}

fn decide<'a>(request: &Request, policies: &PolicySet<'a>, explain: bool) -> Decision<'a> {
    let mut ev = Evaluator {
        request,
        has_boundary: policies.boundary.is_some(),
        matched: Vec::new(),
        missing: Vec::new(),
        explain,
        unmet: Vec::new(),
    };
    let identity = ev.group(policies.identity.iter(), PolicyType::IdentityBased);
    let resource = ev.group(policies.resource.into_iter(), PolicyType::ResourceBased);
    let boundary = ev.group(
        policies.boundary.into_iter(),
        PolicyType::PermissionsBoundary,
    );
    let session = ev.group(policies.session.iter(), PolicyType::SessionPolicy);
    let trust = ev.group(policies.trust.into_iter(), PolicyType::TrustPolicy);

    let explicit = [
        (&identity, PolicyType::IdentityBased),
        (&resource, PolicyType::ResourceBased),
        (&trust, PolicyType::TrustPolicy),
        (&boundary, PolicyType::PermissionsBoundary),
        (&session, PolicyType::SessionPolicy),
    ]
    .into_iter()
    .find(|(g, _)| g.deny)
    .map(|(_, t)| t);

    let principal = &request.principal;
    let (decision, reason) = if let Some(policy_type) = explicit {
        (
            EvalDecision::ExplicitDeny,
            Some(DenyReason::Explicit(policy_type)),
        )
    } else {
        let verdict = Verdict {
            has_identity: matches!(
                principal.kind,
                PrincipalType::Root
                    | PrincipalType::User
                    | PrincipalType::AssumedRole
                    | PrincipalType::FederatedUser
            ),
            identity_allows: principal.kind == PrincipalType::Root || identity.allow,
            boundary_allows: !boundary.present || boundary.allow,
            session_allows: !session.present || session.allow,
            same_account: policies
                .resource_account
                .is_none_or(|a| a == principal.account),
        };
        // A user or root acting under session policies (delegated credentials, which act as the
        // identity that accepted the delegation) is a session of that identity: a grant naming
        // the user or root is a grant to the session's parent, which AWS limits by the session
        // policies. Taken as naming the caller itself, it would escape them.
        let under_session =
            session.present && matches!(principal.kind, PrincipalType::User | PrincipalType::Root);
        let limited = |grant: Option<Grant>| {
            if under_session {
                grant.map(|g| g.min(Grant::Parent))
            } else {
                grant
            }
        };
        let missing = if policies.trust.is_some() {
            verdict.trust_missing(limited(trust.grant))
        } else {
            verdict.resource_missing(limited(resource.grant))
        };
        match missing {
            None => (EvalDecision::Allowed, None),
            Some(policy_type) => (
                EvalDecision::ImplicitDeny,
                Some(DenyReason::Implicit(policy_type)),
            ),
        }
    };

    let mut matched = ev.matched;
    match decision {
        EvalDecision::ExplicitDeny => matched.retain(|m| m.statement.effect() == Effect::Deny),
        EvalDecision::Allowed => matched.retain(|m| m.statement.effect() == Effect::Allow),
        EvalDecision::ImplicitDeny => matched.clear(),
    }
    Decision {
        decision,
        matched,
        reason,
        missing_context_values: ev.missing,
        unmet: if decision == EvalDecision::Allowed {
            Vec::new()
        } else {
            ev.unmet
        },
        identity: identity.verdict(),
        resource: resource.verdict(),
        boundary: boundary.verdict(),
        session: session.verdict(),
        trust: trust.verdict(),
    }
}

/// What the policies other than the resource's own say, for a request no policy denies.
struct Verdict {
    /// An IAM identity (root, user, role session, federated user) rather than a service or an
    /// external federated principal, which have no identity-based policies of their own.
    has_identity: bool,
    identity_allows: bool,
    boundary_allows: bool,
    session_allows: bool,
    same_account: bool,
}

impl Verdict {
    /// The policy type that failed to allow a request for a resource with a resource-based policy
    /// (or none), or `None` when the request is allowed.
    fn resource_missing(&self, grant: Option<Grant>) -> Option<PolicyType> {
        let allowed = if !self.has_identity {
            grant.is_some()
        } else if self.same_account {
            match grant {
                Some(Grant::Direct) => true,
                Some(Grant::Parent) => self.boundary_allows && self.session_allows,
                _ => self.identity_allows && self.boundary_allows && self.session_allows,
            }
        } else {
            grant.is_some() && self.identity_allows && self.boundary_allows && self.session_allows
        };
        if allowed {
            return None;
        }
        let granted = self.identity_allows || grant.is_some_and(|g| g >= Grant::Parent);
        Some(if !self.has_identity {
            PolicyType::ResourceBased
        } else if !granted {
            PolicyType::IdentityBased
        } else if !self.boundary_allows {
            PolicyType::PermissionsBoundary
        } else if !self.session_allows {
            PolicyType::SessionPolicy
        } else if !self.same_account && grant.is_none() {
            PolicyType::ResourceBased
        } else {
            PolicyType::IdentityBased
        })
    }

    /// The same for assuming a role: the trust policy must allow whatever else does.
    fn trust_missing(&self, grant: Option<Grant>) -> Option<PolicyType> {
        let Some(grant) = grant else {
            return Some(PolicyType::TrustPolicy);
        };
        if !self.has_identity {
            return None;
        }
        let identity_needed = !self.same_account || grant == Grant::Account;
        let session_needed = identity_needed || grant == Grant::Parent;
        if identity_needed && !self.identity_allows {
            Some(PolicyType::IdentityBased)
        } else if !self.boundary_allows {
            Some(PolicyType::PermissionsBoundary)
        } else if session_needed && !self.session_allows {
            Some(PolicyType::SessionPolicy)
        } else {
            None
        }
    }
}
