//! Target `policy`: the IAM policy document parser and the evaluator.
//!
//! Input: `<policy document>[0xFF <request choices>]`. The document is parsed as every policy
//! kind; each document that parses is evaluated against requests built from the choices (the
//! principal, action, resource, and values for the context keys the document reads).
//!
//! Properties:
//! - parsing never panics, is deterministic, and every refusal carries a message;
//! - evaluation never panics and is deterministic (same decision, statements, reason and
//!   missing keys for the same request);
//! - a decision explains itself: allowed ⇔ no denial reason ⇔ no `AccessDenied` message; an
//!   explicit deny cites `Deny` statements, an allow cites `Allow` statements (except the root
//!   user's, which needs none), an implicit deny cites none;
//! - explaining a decision (`explain`) never changes it: same decision, reason and statements,
//!   and the statements it reports as unmet are `Allow` statements of a request not allowed;
//! - an explicit deny of everything added to the identity policies always wins;
//! - the order of identity policies, and repeating one, never changes the decision.

use coffer_policy::{
    evaluate, explain, AttachedPolicy, ContextKeyType, ContextValue, Decision, Effect,
    EvalDecision, ParseOptions, Policy, PolicyKind, PolicySet, PolicySource, Principal,
    PrincipalType, Request,
};

use crate::split::{payload_and_control, Choices};

const KINDS: [PolicyKind; 5] = [
    PolicyKind::Identity,
    PolicyKind::Resource,
    PolicyKind::Trust,
    PolicyKind::PermissionsBoundary,
    PolicyKind::Session,
];

const ACCOUNTS: [&str; 2] = ["123456789012", "111122223333"];
const ACTIONS: [&str; 8] = [
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutResourcePolicy",
    "iam:CreateUser",
    "iam:PassRole",
    "sts:AssumeRole",
    "sts:TagSession",
    "s3:GetObject",
    "*",
];
const RESOURCES: [&str; 5] = [
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf",
    "arn:aws:iam::123456789012:role/admin",
    "arn:aws:iam::111122223333:user/alice",
    "arn:aws:s3:::bucket/key",
    "*",
];
const NAMES: [&str; 4] = ["alice", "bob", "path/to/carol", "*"];
const VALUE_KINDS: [ContextKeyType; 6] = [
    ContextKeyType::String,
    ContextKeyType::Numeric,
    ContextKeyType::Boolean,
    ContextKeyType::Ip,
    ContextKeyType::Binary,
    ContextKeyType::Date,
];
/// Requests tried per parsed document.
const REQUESTS: usize = 3;

const DENY_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#;
const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

pub fn run(data: &[u8]) {
    let (document, control) = payload_and_control(data);
    let document = String::from_utf8_lossy(document);
    let mut choices = Choices::new(control);

    let mut parsed = Vec::new();
    for kind in KINDS {
        for (require_current_version, authored_by_aws) in
            [(false, false), (true, false), (false, true)]
        {
            let options = ParseOptions {
                kind,
                require_current_version,
                authored_by_aws,
            };
            let first = Policy::parse_with(&document, options);
            assert_eq!(
                first,
                Policy::parse_with(&document, options),
                "parsing is not deterministic"
            );
            match first {
                Ok(policy) if !require_current_version && !authored_by_aws => parsed.push(policy),
                Ok(_) => {}
                Err(e) => assert!(!e.to_string().is_empty(), "refusal without a message"),
            }
        }
    }
    if parsed.is_empty() {
        return;
    }
    let requests: Vec<Request> = (0..REQUESTS)
        .map(|_| request(&mut choices, &parsed[0]))
        .collect();
    let fixed = FixedPolicies::new();
    for policy in parsed {
        let attached = AttachedPolicy::new("fuzz", PolicySource::UserManaged, policy);
        for request in &requests {
            check_policy(&attached, request, &fixed);
        }
    }
}

struct FixedPolicies {
    allow_all: AttachedPolicy,
    deny_all: AttachedPolicy,
}

impl FixedPolicies {
    fn new() -> Self {
        let parse = |doc| Policy::parse(doc, PolicyKind::Identity).expect("fixed policy parses");
        FixedPolicies {
            allow_all: AttachedPolicy::new("allow-all", PolicySource::User, parse(ALLOW_ALL)),
            deny_all: AttachedPolicy::new("deny-all", PolicySource::User, parse(DENY_ALL)),
        }
    }
}

/// Evaluates `attached` in the slot of its kind and checks the properties.
fn check_policy(attached: &AttachedPolicy, request: &Request, fixed: &FixedPolicies) {
    let alone = std::slice::from_ref(attached);
    let with_allow = [attached.clone(), fixed.allow_all.clone()];
    let allow_first = [fixed.allow_all.clone(), attached.clone()];
    let allow_only = std::slice::from_ref(&fixed.allow_all);
    let sets: Vec<PolicySet> = match attached.policy.kind() {
        PolicyKind::Identity => vec![
            PolicySet {
                identity: alone,
                ..PolicySet::default()
            },
            PolicySet {
                identity: &with_allow,
                ..PolicySet::default()
            },
        ],
        PolicyKind::Resource => vec![
            PolicySet {
                resource: Some(attached),
                ..PolicySet::default()
            },
            PolicySet {
                identity: allow_only,
                resource: Some(attached),
                resource_account: Some(ACCOUNTS[1]),
                ..PolicySet::default()
            },
        ],
        // A role's trust policy has its own slot: it must allow whatever the identity says.
        PolicyKind::Trust => vec![
            PolicySet {
                trust: Some(attached),
                ..PolicySet::default()
            },
            PolicySet {
                identity: allow_only,
                trust: Some(attached),
                resource_account: Some(ACCOUNTS[1]),
                ..PolicySet::default()
            },
        ],
        PolicyKind::PermissionsBoundary => vec![PolicySet {
            identity: allow_only,
            boundary: Some(attached),
            ..PolicySet::default()
        }],
        PolicyKind::Session => vec![PolicySet {
            identity: allow_only,
            session: alone,
            ..PolicySet::default()
        }],
    };
    for set in &sets {
        let decision = evaluate(request, set);
        assert_same(&decision, &evaluate(request, set));
        assert_explains_itself(&decision, request);
        assert_explaining_changes_nothing(&decision, &explain(request, set));
        // Assuming a role is never allowed unless its trust policy allows it (issue 11).
        if set.trust.is_some() && decision.is_allowed() {
            assert_eq!(
                decision.trust,
                Some(EvalDecision::Allowed),
                "allowed without the trust policy's allow for {request:?}"
            );
        }

        let mut with_deny: Vec<AttachedPolicy> = set.identity.to_vec();
        with_deny.push(fixed.deny_all.clone());
        let denied = evaluate(
            request,
            &PolicySet {
                identity: &with_deny,
                ..*set
            },
        );
        assert_eq!(
            denied.decision,
            EvalDecision::ExplicitDeny,
            "a Deny of everything did not win for {request:?}"
        );
    }
    if attached.policy.kind() == PolicyKind::Identity {
        let one_way = evaluate(
            request,
            &PolicySet {
                identity: &with_allow,
                ..PolicySet::default()
            },
        );
        let other_way = evaluate(
            request,
            &PolicySet {
                identity: &allow_first,
                ..PolicySet::default()
            },
        );
        assert_eq!(one_way.decision, other_way.decision, "policy order matters");
        let twice = [attached.clone(), attached.clone()];
        let repeated = evaluate(
            request,
            &PolicySet {
                identity: &twice,
                ..PolicySet::default()
            },
        );
        let once = evaluate(
            request,
            &PolicySet {
                identity: alone,
                ..PolicySet::default()
            },
        );
        assert_eq!(
            repeated.decision, once.decision,
            "repeating a policy matters"
        );
    }
}

fn assert_same(a: &Decision, b: &Decision) {
    assert_eq!(a.decision, b.decision, "evaluation is not deterministic");
    assert_eq!(a.reason, b.reason);
    assert_eq!(a.missing_context_values, b.missing_context_values);
    assert_eq!(
        (a.identity, a.resource, a.boundary, a.session),
        (b.identity, b.resource, b.boundary, b.session)
    );
    let indexes = |d: &Decision| {
        d.matched
            .iter()
            .map(|m| (m.policy.id.clone(), m.statement.index()))
            .collect::<Vec<_>>()
    };
    assert_eq!(indexes(a), indexes(b));
}

fn assert_explaining_changes_nothing(decision: &Decision, explained: &Decision) {
    assert_eq!(
        decision.decision, explained.decision,
        "explain() decided otherwise"
    );
    assert_eq!(decision.reason, explained.reason);
    let indexes = |d: &Decision| {
        d.matched
            .iter()
            .map(|m| (m.policy.id.clone(), m.statement.index()))
            .collect::<Vec<_>>()
    };
    assert_eq!(indexes(decision), indexes(explained));
    if decision.is_allowed() {
        assert!(explained.unmet.is_empty());
    }
    for unmet in &explained.unmet {
        assert_eq!(unmet.statement.effect(), Effect::Allow);
        assert!(!unmet.resource_matched || !unmet.failing_conditions.is_empty());
    }
}

fn assert_explains_itself(decision: &Decision, request: &Request) {
    let allowed = decision.decision == EvalDecision::Allowed;
    assert_eq!(allowed, decision.is_allowed());
    assert_eq!(allowed, decision.reason.is_none(), "{decision:?}");
    assert_eq!(
        allowed,
        decision.access_denied_message(request).is_none(),
        "{decision:?}"
    );
    match decision.decision {
        // The root user needs no statement in its own account; everyone else does.
        EvalDecision::Allowed if request.principal.kind == PrincipalType::Root => {}
        EvalDecision::Allowed | EvalDecision::ExplicitDeny => {
            assert!(
                !decision.matched.is_empty(),
                "no statement decided {decision:?}"
            );
        }
        EvalDecision::ImplicitDeny => {}
    }
    let effect = match decision.decision {
        EvalDecision::Allowed => Effect::Allow,
        _ => Effect::Deny,
    };
    assert!(
        decision
            .matched
            .iter()
            .all(|m| m.statement.effect() == effect),
        "{:?} cites a statement of the other effect: {decision:?}",
        decision.decision
    );
}

/// A request from the choices, with values for the context keys `policy` reads.
fn request(choices: &mut Choices, policy: &Policy) -> Request {
    let account = choices.pick(&ACCOUNTS);
    let name = if choices.bool() {
        choices.pick(&NAMES).to_string()
    } else {
        choices.string(24)
    };
    let mut principal = match choices.below(4) {
        0 => Principal::root(account),
        1 => Principal::user(account, &name, "AIDAFUZZ"),
        2 => Principal::assumed_role(account, "admin", &name, "AROAFUZZ"),
        _ => Principal::federated_user(account, &name, &format!("arn:aws:iam::{account}:user/bob")),
    };
    for _ in 0..choices.below(3) {
        principal = principal.with_tag(&choices.string(8), &choices.string(8));
    }
    let action = if choices.below(4) == 0 {
        choices.string(32)
    } else {
        choices.pick(&ACTIONS).to_string()
    };
    let resource = match choices.below(4) {
        0 => None,
        1 => Some(choices.string(64)),
        _ => Some(choices.pick(&RESOURCES).to_string()),
    };
    let mut request = Request::new(principal, &action, resource.as_deref())
        .with_secure_transport(choices.bool())
        .with_time_millis(choices.u64() as i64 >> 20)
        .with_region(if choices.bool() {
            "us-east-1"
        } else {
            "eu-west-1"
        })
        .with_source_ip(std::net::IpAddr::from(choices.u32().to_be_bytes()));
    for key in policy.context_keys() {
        if choices.bool() {
            let count = choices.below(3);
            let values = (0..count)
                .filter_map(|_| {
                    let kind = choices.pick(&VALUE_KINDS);
                    ContextValue::parse_typed(kind, &choices.string(24))
                })
                .collect();
            request = request.with_values(key, values);
        }
    }
    request
}
