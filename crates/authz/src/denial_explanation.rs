//! Explainable denials (`serve --explain-denials`, beyond AWS): what a denial tells the caller's
//! administrators through `sts:DecodeAuthorizationMessage`, in the JSON shape AWS's decoded
//! messages have (`allowed`, `explicitDeny`, `matchedStatements`, `failures`, `context`), with
//! Coffer's additions: each statement's `policyId` and `policyType`, the policy type that denied
//! (`deniedBy`), the `Allow` statements that fell short with their failing conditions
//! (`failures`), and the context keys conditions needed but the request lacked
//! (`missingContextKeys`).
//!
//! Only policy documents' own text and the request's context go in: never a secret value or key
//! material. The result is sealed by [`coffer_sts::authorization_message`].

use coffer_policy::{
    ConditionText, ContextValue, Decision, DenyReason, Effect, PolicyType, Request, Statement,
};
use coffer_sts::authorization_message::{MessageKey, MAX_ENCODED_LEN};
use serde::Serialize;

/// What follows AWS's `AccessDenied` message when denials are explained, as EC2 words it.
pub const ENCODED_MESSAGE_LEAD: &str = " Encoded authorization failure message: ";

/// AWS's `{"items": [...]}` wrapper around every list.
#[derive(Serialize)]
struct Items<T> {
    items: Vec<T>,
}

impl<T> Items<T> {
    fn of(items: impl IntoIterator<Item = T>) -> Self {
        Items {
            items: items.into_iter().collect(),
        }
    }
}

#[derive(Serialize)]
struct Value {
    value: String,
}

fn values<'v>(texts: impl IntoIterator<Item = &'v str>) -> Items<Value> {
    Items::of(texts.into_iter().map(|t| Value {
        value: t.to_string(),
    }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Explanation {
    allowed: bool,
    explicit_deny: bool,
    matched_statements: Items<MatchedStatement>,
    failures: Items<Failure>,
    context: Context,
    denied_by: DeniedBy,
    missing_context_keys: Items<Value>,
    /// Set when lists were shortened so that the encoded message fits what
    /// `DecodeAuthorizationMessage` accepts.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    truncated: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeniedBy {
    policy_type: &'static str,
    /// `explicitDeny`: a `Deny` statement applied; `noAllow`: no statement of that kind of policy
    /// allowed, and one had to.
    reason: &'static str,
}

/// A statement as written, with where it comes from.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MatchedStatement {
    statement_id: String,
    effect: &'static str,
    principals: Items<Value>,
    principal_groups: Items<Value>,
    actions: Items<Value>,
    resources: Items<Value>,
    conditions: Items<Condition>,
    policy_id: String,
    policy_type: &'static str,
}

#[derive(Serialize)]
struct Condition {
    operator: String,
    key: String,
    values: Items<Value>,
}

impl From<&ConditionText<'_>> for Condition {
    fn from(c: &ConditionText<'_>) -> Self {
        Condition {
            operator: c.operator.to_string(),
            key: c.key.to_string(),
            values: values(c.values.iter().map(|v| &**v)),
        }
    }
}

/// An `Allow` statement that covers the action and the caller but not the request's resource or
/// conditions.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Failure {
    statement: MatchedStatement,
    resource_matched: bool,
    failing_conditions: Items<Condition>,
}

#[derive(Serialize)]
struct Context {
    principal: ContextPrincipal,
    action: String,
    resource: String,
    conditions: Items<ContextCondition>,
}

#[derive(Serialize)]
struct ContextPrincipal {
    id: String,
    name: String,
    arn: String,
}

#[derive(Serialize)]
struct ContextCondition {
    key: String,
    values: Items<Value>,
}

fn policy_type_name(policy_type: PolicyType) -> &'static str {
    match policy_type {
        PolicyType::IdentityBased => "identity-based",
        PolicyType::ResourceBased => "resource-based",
        PolicyType::PermissionsBoundary => "permissions-boundary",
        PolicyType::SessionPolicy => "session",
        PolicyType::TrustPolicy => "trust",
    }
}

fn statement(
    statement: &Statement,
    policy_id: &str,
    policy_type: PolicyType,
    request: &Request,
) -> MatchedStatement {
    let principals: Vec<&str> = statement.principal_texts().collect();
    // A statement without `Principal` (an identity-based policy's) applies to its holder.
    let principals = if principals.is_empty() {
        values([request.principal.user_id.as_str()])
    } else {
        values(principals)
    };
    MatchedStatement {
        // AWS's identifiers are opaque; the `Sid` (or the statement's place) says which it is.
        statement_id: statement
            .sid()
            .map(str::to_string)
            .unwrap_or_else(|| format!("Statement{}", statement.index() + 1)),
        effect: match statement.effect() {
            Effect::Allow => "ALLOW",
            Effect::Deny => "DENY",
        },
        principals,
        principal_groups: Items::of([]),
        actions: values(statement.action_texts()),
        resources: values(statement.resource_texts()),
        conditions: Items::of(statement.condition_texts().map(|c| Condition::from(&c))),
        policy_id: policy_id.to_string(),
        policy_type: policy_type_name(policy_type),
    }
}

fn context_value_text(value: &ContextValue) -> String {
    value.as_str().to_string()
}

/// Whether a statement of `policy_type` may be shown to the caller's account: a resource-based or
/// trust policy of another account's resource belongs to that account, and is not shown.
fn shown(policy_type: PolicyType, foreign_resource: bool) -> bool {
    !(foreign_resource
        && matches!(
            policy_type,
            PolicyType::ResourceBased | PolicyType::TrustPolicy
        ))
}

fn explanation(
    decision: &Decision<'_>,
    reason: DenyReason,
    request: &Request,
    foreign_resource: bool,
) -> Explanation {
    let (denied_by, explicit) = match reason {
        DenyReason::Explicit(t) => (t, true),
        DenyReason::Implicit(t) => (t, false),
    };
    let principal = &request.principal;
    let name = principal.username.clone().unwrap_or_else(|| {
        principal
            .arn
            .rsplit(['/', ':'])
            .next()
            .unwrap_or_default()
            .to_string()
    });
    Explanation {
        allowed: false,
        explicit_deny: explicit,
        matched_statements: Items::of(
            decision
                .matched
                .iter()
                .filter(|m| shown(m.policy_type, foreign_resource))
                .map(|m| statement(m.statement, &m.policy.id, m.policy_type, request)),
        ),
        failures: Items::of(
            decision
                .unmet
                .iter()
                .filter(|u| shown(u.policy_type, foreign_resource))
                .map(|u| Failure {
                    statement: statement(u.statement, &u.policy.id, u.policy_type, request),
                    resource_matched: u.resource_matched,
                    failing_conditions: Items::of(u.failing_conditions.iter().map(Condition::from)),
                }),
        ),
        context: Context {
            principal: ContextPrincipal {
                id: principal.user_id.clone(),
                name,
                arn: principal.arn.clone(),
            },
            action: request.action.clone(),
            resource: request.resource.clone().unwrap_or_else(|| "*".to_string()),
            conditions: Items::of(
                request
                    .context
                    .entries()
                    .map(|(key, vals)| ContextCondition {
                        key: key.to_string(),
                        values: Items::of(vals.iter().map(|v| Value {
                            value: context_value_text(v),
                        })),
                    }),
            ),
        },
        denied_by: DeniedBy {
            policy_type: policy_type_name(denied_by),
            reason: if explicit { "explicitDeny" } else { "noAllow" },
        },
        missing_context_keys: values(decision.missing_context_values.iter().map(String::as_str)),
        truncated: false,
    }
}

impl Explanation {
    /// Drops a quarter (at least one) of the least telling list left: the failures, then the
    /// context values, then the matched statements but the first. `false` once nothing more
    /// can go.
    fn shorten(&mut self) -> bool {
        fn drop_quarter<T>(items: &mut Vec<T>, keep_at_least: usize) -> bool {
            if items.len() <= keep_at_least {
                return false;
            }
            let drop = (items.len() / 4).clamp(1, items.len() - keep_at_least);
            items.truncate(items.len() - drop);
            true
        }
        self.truncated = true;
        drop_quarter(&mut self.failures.items, 0)
            || drop_quarter(&mut self.context.conditions.items, 0)
            || drop_quarter(&mut self.matched_statements.items, 1)
    }
}

/// The encoded message for a denial decided by `decision` (from [`coffer_policy::explain`]),
/// readable by principals of `account` only; `None` when even the shortest explanation does not
/// fit in a message `DecodeAuthorizationMessage` accepts. `foreign_resource`: the resource
/// belongs to another account, whose resource-based and trust policies are left out.
pub fn encoded_message(
    key: &MessageKey,
    account: &str,
    decision: &Decision<'_>,
    request: &Request,
    foreign_resource: bool,
) -> Option<String> {
    let reason = decision.reason?;
    let mut explanation = explanation(decision, reason, request, foreign_resource);
    loop {
        // Serializing plain strings, booleans and lists cannot fail.
        let json = serde_json::to_string(&explanation).ok()?;
        let sealed = key.seal(account, &json);
        if sealed.len() <= MAX_ENCODED_LEN {
            return Some(sealed);
        }
        if !explanation.shorten() {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coffer_policy::{explain, AttachedPolicy, Policy, PolicyKind, PolicySet, PolicySource};
    use serde_json::json;

    const ACCOUNT: &str = "111122223333";
    const SECRET: &str = "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf";

    fn policy(id: &str, doc: serde_json::Value) -> AttachedPolicy {
        let policy = Policy::parse(&doc.to_string(), PolicyKind::Identity).unwrap();
        AttachedPolicy::new(id, PolicySource::User, policy)
    }

    fn decode(key: &MessageKey, sealed: &str) -> serde_json::Value {
        serde_json::from_str(&key.open(ACCOUNT, sealed).unwrap()).unwrap()
    }

    fn alice() -> Request {
        let principal = coffer_policy::Principal::user(ACCOUNT, "alice", "AIDAALICE");
        Request::new(principal, "secretsmanager:GetSecretValue", Some(SECRET)).with_value(
            "aws:SourceIp",
            ContextValue::ip("192.0.2.7".parse().unwrap()),
        )
    }

    #[test]
    fn an_explicit_deny_names_its_statement_and_the_context() {
        let identity = [policy(
            "reader",
            json!({"Version": "2012-10-17", "Statement": [
                {"Sid": "Read", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"},
                {"Sid": "OnlyFromOffice", "Effect": "Deny", "Action": "secretsmanager:*", "Resource": "*",
                 "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]}),
        )];
        let set = PolicySet {
            identity: &identity,
            ..PolicySet::default()
        };
        let request = alice();
        let decision = explain(&request, &set);
        let key = MessageKey::from_bytes([1; 32]);
        let decoded = decode(
            &key,
            &encoded_message(&key, ACCOUNT, &decision, &request, false).unwrap(),
        );
        assert_eq!(decoded["allowed"], json!(false));
        assert_eq!(decoded["explicitDeny"], json!(true));
        assert_eq!(
            decoded["deniedBy"],
            json!({"policyType": "identity-based", "reason": "explicitDeny"})
        );
        assert_eq!(
            decoded["matchedStatements"],
            json!({"items": [{
                "statementId": "OnlyFromOffice", "effect": "DENY",
                "principals": {"items": [{"value": "AIDAALICE"}]},
                "principalGroups": {"items": []},
                "actions": {"items": [{"value": "secretsmanager:*"}]},
                "resources": {"items": [{"value": "*"}]},
                "conditions": {"items": [{"operator": "NotIpAddress", "key": "aws:SourceIp",
                                           "values": {"items": [{"value": "10.0.0.0/8"}]}}]},
                "policyId": "reader", "policyType": "identity-based"}]})
        );
        let context = &decoded["context"];
        assert_eq!(
            context["principal"],
            json!({"id": "AIDAALICE", "name": "alice", "arn": "arn:aws:iam::111122223333:user/alice"})
        );
        assert_eq!(context["action"], "secretsmanager:GetSecretValue");
        assert_eq!(context["resource"], SECRET);
        assert!(context["conditions"]["items"].as_array().unwrap().contains(
            &json!({"key": "aws:SourceIp", "values": {"items": [{"value": "192.0.2.7"}]}})
        ));
    }

    #[test]
    fn a_missing_allow_lists_the_statements_that_fell_short() {
        let identity = [policy(
            "tagged",
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*",
                 "Condition": {"StringEquals": {"aws:PrincipalTag/team": "blue"}}}]}),
        )];
        let set = PolicySet {
            identity: &identity,
            ..PolicySet::default()
        };
        let request = alice();
        let decision = explain(&request, &set);
        let key = MessageKey::from_bytes([1; 32]);
        let decoded = decode(
            &key,
            &encoded_message(&key, ACCOUNT, &decision, &request, false).unwrap(),
        );
        assert_eq!(decoded["explicitDeny"], json!(false));
        assert_eq!(decoded["matchedStatements"], json!({"items": []}));
        let failure = &decoded["failures"]["items"][0];
        assert_eq!(failure["statement"]["statementId"], "Statement1");
        assert_eq!(failure["resourceMatched"], json!(true));
        assert_eq!(
            failure["failingConditions"]["items"][0]["key"],
            "aws:PrincipalTag/team"
        );
        assert_eq!(
            decoded["missingContextKeys"],
            json!({"items": [{"value": "aws:PrincipalTag/team"}]})
        );
    }

    #[test]
    fn another_accounts_resource_policy_is_not_shown() {
        let identity = [policy(
            "reader",
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}),
        )];
        let resource_policy = AttachedPolicy::new(
            "ResourcePolicy",
            PolicySource::Resource,
            Policy::parse(
                &json!({"Version": "2012-10-17", "Statement": [
                    {"Sid": "OwnersSecretSid", "Effect": "Deny", "Principal": "*",
                     "Action": "secretsmanager:*", "Resource": "*"}]})
                .to_string(),
                PolicyKind::Resource,
            )
            .unwrap(),
        );
        let set = PolicySet {
            identity: &identity,
            resource: Some(&resource_policy),
            resource_account: Some("444455556666"),
            ..PolicySet::default()
        };
        let request = alice();
        let decision = explain(&request, &set);
        let key = MessageKey::from_bytes([1; 32]);
        let foreign = decode(
            &key,
            &encoded_message(&key, ACCOUNT, &decision, &request, true).unwrap(),
        );
        assert_eq!(foreign["matchedStatements"], json!({"items": []}));
        assert!(!foreign.to_string().contains("OwnersSecretSid"));
        assert_eq!(
            foreign["deniedBy"],
            json!({"policyType": "resource-based", "reason": "explicitDeny"})
        );
        let own = decode(
            &key,
            &encoded_message(&key, ACCOUNT, &decision, &request, false).unwrap(),
        );
        assert_eq!(
            own["matchedStatements"]["items"][0]["statementId"],
            "OwnersSecretSid"
        );
    }

    #[test]
    fn a_huge_explanation_is_shortened_to_fit() {
        // Many statements, far beyond the 7,680 bytes that 10,240 base64 characters hold (and
        // random-looking, in case the message is ever compressed).
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut noise = move || {
            (0..3)
                .map(|_| {
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    format!("{:016x}", state)
                })
                .collect::<String>()
        };
        let statements: Vec<_> = (0..600)
            .map(|i| {
                json!({"Sid": format!("S{i}"), "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                       "Resource": format!("arn:aws:secretsmanager:us-east-1:111122223333:secret:{}", noise())})
            })
            .collect();
        let identity = [policy(
            "big",
            json!({"Version": "2012-10-17", "Statement": statements}),
        )];
        let set = PolicySet {
            identity: &identity,
            ..PolicySet::default()
        };
        let request = alice();
        let decision = explain(&request, &set);
        let key = MessageKey::from_bytes([1; 32]);
        let sealed = encoded_message(&key, ACCOUNT, &decision, &request, false).unwrap();
        assert!(sealed.len() <= MAX_ENCODED_LEN);
        let decoded = decode(&key, &sealed);
        assert_eq!(decoded["truncated"], json!(true));
        let kept = decoded["failures"]["items"].as_array().unwrap().len();
        assert!(kept > 0 && kept < 600, "{kept}");
    }
}
