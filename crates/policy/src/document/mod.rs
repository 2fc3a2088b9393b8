//! Reading a policy document: the grammar, IAM's validation (in IAM's order, so the first
//! message is the one IAM gives), and compilation into matchers.

pub(crate) mod json;
pub(crate) mod principal;
pub(crate) mod public_access;
pub(crate) mod statement;
pub(crate) mod validate;

use std::collections::HashSet;

use crate::condition::{date, Clause, Family, Operator};
use crate::error::{self, MalformedPolicy};
use crate::matching::glob::{Case, Pattern, Wildcards};
use crate::variables;
pub use json::Position;
use json::{Json, LineIndex, Node};
pub use principal::Grant;
use principal::PrincipalElement;
pub use public_access::{public_grants, PublicGrant};
pub use statement::{ConditionText, Effect, Statement};
use statement::{Matchers, PrincipalMatch};

/// Where a policy is used, which decides whether it must, may or must not name principals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// Attached to a user, group or role (inline or managed).
    Identity,
    /// Attached to a resource, such as a Secrets Manager secret policy: `Principal` required.
    Resource,
    /// A role's trust policy (`AssumeRolePolicyDocument`): `Principal` required, no `Resource`,
    /// only `sts:AssumeRole*` actions.
    Trust,
    PermissionsBoundary,
    /// Passed to `AssumeRole*` or `GetFederationToken`.
    Session,
}

impl PolicyKind {
    fn forbids_principal(self) -> bool {
        matches!(
            self,
            PolicyKind::Identity | PolicyKind::PermissionsBoundary | PolicyKind::Session
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    V2008_10_17,
    V2012_10_17,
}

impl Version {
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V2008_10_17 => "2008-10-17",
            Version::V2012_10_17 => "2012-10-17",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions {
    pub kind: PolicyKind,
    /// Managed policies (`CreatePolicy`, `CreatePolicyVersion`) must say `"Version": "2012-10-17"`.
    pub require_current_version: bool,
    /// A document AWS wrote (an AWS managed policy): IAM's checks on the resource ARNs customers
    /// write do not apply. AWS serves managed policies that would fail them (`arn:aws:iam::*:root`,
    /// S3 access point ARNs with a region wildcard), and evaluates them all the same.
    pub authored_by_aws: bool,
}

/// A validated, compiled policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    kind: PolicyKind,
    version: Option<Version>,
    id: Option<String>,
    statements: Vec<Statement>,
}

impl Policy {
    /// Parses and validates `document` as IAM does for `kind`.
    pub fn parse(document: &str, kind: PolicyKind) -> Result<Policy, MalformedPolicy> {
        Policy::parse_with(
            document,
            ParseOptions {
                kind,
                require_current_version: false,
                authored_by_aws: false,
            },
        )
    }

    pub fn parse_with(document: &str, options: ParseOptions) -> Result<Policy, MalformedPolicy> {
        let Some(root) = json::parse(document) else {
            let message = if options.kind == PolicyKind::Trust {
                error::INVALID_JSON
            } else {
                error::SYNTAX
            };
            return Err(MalformedPolicy::new(message));
        };
        let raw = read_grammar(&root).ok_or_else(|| MalformedPolicy::new(error::SYNTAX))?;
        validate(&raw, options)?;
        compile(&raw, options.kind, &LineIndex::new(document))
    }

    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// `None` when the document has no `Version` (it then behaves as 2008-10-17).
    pub fn version(&self) -> Option<Version> {
        self.version
    }

    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }

    /// User, role and session ARNs named in `Principal`/`NotPrincipal`. IAM refuses a trust
    /// policy naming a user or role that does not exist; the caller checks with this list and
    /// answers [`MalformedPolicy::invalid_principal`].
    pub fn principal_arns(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for s in &self.statements {
            if let Some(p) = &s.principal {
                out.extend(p.element.named_arns());
            }
        }
        out
    }

    /// Every context key the policy reads (policy variables in resources and condition values,
    /// and condition keys), in document order, as first written, without duplicates (keys are
    /// case-insensitive): what `GetContextKeysForCustomPolicy` lists.
    pub fn context_keys(&self) -> Vec<&str> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for key in self.statements.iter().flat_map(Statement::context_keys) {
            if seen.insert(key.to_ascii_lowercase()) {
                out.push(key);
            }
        }
        out
    }

    /// Every context key the conditions read, as first written, without duplicates.
    pub fn condition_keys(&self) -> Vec<&str> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for key in self.statements.iter().flat_map(Statement::condition_keys) {
            if seen.insert(key.to_ascii_lowercase()) {
                out.push(key);
            }
        }
        out
    }
}

/// A string-or-list element such as `Action` or `NotResource`.
struct RawList<'a> {
    values: Vec<&'a str>,
    negated: bool,
}

struct RawCondition<'a> {
    operator: &'a str,
    key: &'a str,
    values: Vec<String>,
}

struct RawStatement<'a> {
    node: &'a Node,
    sid: Option<&'a str>,
    effect: &'a str,
    principal: Option<(&'a Node, bool)>,
    actions: Option<RawList<'a>>,
    resources: Option<RawList<'a>>,
    conditions: Vec<RawCondition<'a>>,
}

struct RawPolicy<'a> {
    version: Option<&'a str>,
    id: Option<&'a str>,
    statements: Vec<RawStatement<'a>>,
}

const STATEMENT_ELEMENTS: [&str; 9] = [
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

/// The structural grammar; any violation is IAM's "Syntax errors in policy.".
fn read_grammar(root: &Node) -> Option<RawPolicy<'_>> {
    let Json::Object(fields) = &root.value else {
        return None;
    };
    if fields
        .iter()
        .any(|(k, _)| !matches!(k.as_str(), "Version" | "Id" | "Statement"))
    {
        return None;
    }
    let version = match root.get("Version") {
        Some(v) => Some(
            v.as_str()
                .filter(|v| *v == "2012-10-17" || *v == "2008-10-17")?,
        ),
        None => None,
    };
    let id = match root.get("Id") {
        Some(v) => Some(v.as_str()?),
        None => None,
    };
    let statements: Vec<&Node> = match &root.get("Statement")?.value {
        Json::Object(_) => vec![root.get("Statement")?],
        Json::Array(items) if !items.is_empty() => items.iter().collect(),
        _ => return None,
    };
    let statements = statements
        .into_iter()
        .map(read_statement)
        .collect::<Option<Vec<_>>>()?;
    Some(RawPolicy {
        version,
        id,
        statements,
    })
}

fn read_list<'a>(node: &'a Node, positive: &str, negative: &str) -> Option<Option<RawList<'a>>> {
    let (value, negated) = match (node.get(positive), node.get(negative)) {
        (Some(_), Some(_)) => return None,
        (Some(v), None) => (v, false),
        (None, Some(v)) => (v, true),
        (None, None) => return Some(None),
    };
    let values = match &value.value {
        Json::String(s) => vec![s.as_str()],
        Json::Array(items) => items.iter().map(Node::as_str).collect::<Option<Vec<_>>>()?,
        _ => return None,
    };
    Some(Some(RawList { values, negated }))
}

fn scalar_text(node: &Node) -> Option<String> {
    match &node.value {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.clone()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn read_statement(node: &Node) -> Option<RawStatement<'_>> {
    let Json::Object(fields) = &node.value else {
        return None;
    };
    if fields
        .iter()
        .any(|(k, _)| !STATEMENT_ELEMENTS.contains(&k.as_str()))
    {
        return None;
    }
    let effect = node.get("Effect")?.as_str()?;
    if !effect.eq_ignore_ascii_case("allow") && !effect.eq_ignore_ascii_case("deny") {
        return None;
    }
    let sid = match node.get("Sid") {
        Some(s) => Some(s.as_str()?),
        None => None,
    };
    let principal = match (node.get("Principal"), node.get("NotPrincipal")) {
        (Some(_), Some(_)) => return None,
        (Some(p), None) => Some((p, false)),
        (None, Some(p)) => Some((p, true)),
        (None, None) => None,
    };
    let actions = read_list(node, "Action", "NotAction")?;
    let resources = read_list(node, "Resource", "NotResource")?;
    let mut conditions = Vec::new();
    if let Some(condition) = node.get("Condition") {
        let Json::Object(blocks) = &condition.value else {
            return None;
        };
        for (operator, body) in blocks {
            let Json::Object(keys) = &body.value else {
                return None;
            };
            if Operator::parse(operator).is_none() && !keys.is_empty() {
                return None;
            }
            for (key, value) in keys {
                let values = match &value.value {
                    Json::Array(items) => {
                        items.iter().map(scalar_text).collect::<Option<Vec<_>>>()?
                    }
                    _ => vec![scalar_text(value)?],
                };
                conditions.push(RawCondition {
                    operator,
                    key,
                    values,
                });
            }
        }
    }
    Some(RawStatement {
        node,
        sid,
        effect,
        principal,
        actions,
        resources,
        conditions,
    })
}

/// IAM's semantic checks, in the order IAM applies them.
fn validate(raw: &RawPolicy, options: ParseOptions) -> Result<(), MalformedPolicy> {
    let kind = options.kind;
    let fail = |m: &str| Err(MalformedPolicy::new(m));
    for s in &raw.statements {
        if kind.forbids_principal() && s.principal.is_some() {
            return fail(error::PRINCIPAL_FORBIDDEN);
        }
        if !kind.forbids_principal() && s.principal.is_none() {
            return fail(error::PRINCIPAL_MISSING);
        }
        if kind == PolicyKind::Trust && s.resources.is_some() {
            return fail(error::TRUST_RESOURCE);
        }
    }
    if options.require_current_version && raw.version != Some("2012-10-17") {
        return fail(error::VERSION);
    }

    // Legacy parsing: exact-case effects and well-formed dates first, then resource ARNs.
    for s in &raw.statements {
        if s.effect != "Allow" && s.effect != "Deny" {
            return fail(error::LEGACY);
        }
        for c in &s.conditions {
            if matches!(
                Operator::parse(c.operator),
                Some(Operator {
                    family: Family::Date(_),
                    ..
                })
            ) && !c.values.iter().all(|v| date::legacy_valid(v))
            {
                return fail(error::LEGACY);
            }
        }
    }
    // IAM reports a badly formed resource only after the checks below, unless the legacy
    // parser already refused the document.
    let mut resource_error: Option<String> = None;
    for negated in [false, true] {
        for s in &raw.statements {
            let Some(list) = s.resources.as_ref().filter(|l| l.negated == negated) else {
                continue;
            };
            let mut ordered = list.values.clone();
            if ordered.len() > 1 {
                ordered.sort_unstable_by(|a, b| b.cmp(a));
            }
            // IAM reports the last bad resource it saw, walking each list in reverse order.
            for r in ordered.into_iter().filter(|_| !options.authored_by_aws) {
                if let Some(e) = validate::resource_format_error(r) {
                    resource_error = Some(e);
                }
            }
            if resource_error.is_none()
                && !list
                    .values
                    .iter()
                    .all(|r| validate::resource_legacy_valid(r))
            {
                return fail(error::LEGACY);
            }
        }
    }

    let mut sids = HashSet::new();
    for sid in raw
        .statements
        .iter()
        .filter_map(|s| s.sid)
        .filter(|s| !s.is_empty())
    {
        if !sids.insert(sid) {
            return fail(error::SID_UNIQUE);
        }
    }
    if raw
        .statements
        .iter()
        .any(|s| s.actions.as_ref().is_none_or(|a| a.values.is_empty()))
    {
        return fail(error::NO_ACTIONS);
    }
    if let Some(message) = resource_error {
        return Err(MalformedPolicy::new(message));
    }
    for negated in [false, true] {
        for s in &raw.statements {
            let Some(list) = s.actions.as_ref().filter(|l| l.negated == negated) else {
                continue;
            };
            if let Some(message) = list.values.iter().find_map(|a| validate::action_error(a)) {
                return Err(MalformedPolicy::new(message));
            }
        }
    }
    if kind != PolicyKind::Trust
        && raw
            .statements
            .iter()
            .any(|s| s.resources.as_ref().is_none_or(|r| r.values.is_empty()))
    {
        return fail(error::NO_RESOURCES);
    }
    for s in &raw.statements {
        if let Some((node, _)) = s.principal {
            PrincipalElement::parse(node)
                .map_err(|e| e.unwrap_or_else(|| MalformedPolicy::new(error::SYNTAX)))?;
        }
    }
    if kind == PolicyKind::Trust {
        let sts_only = |a: &&str| a.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("sts:"));
        if raw.statements.iter().any(|s| {
            s.actions
                .as_ref()
                .is_some_and(|a| a.negated || !a.values.iter().all(sts_only))
        }) {
            return fail(error::TRUST_ACTIONS);
        }
    }
    Ok(())
}

fn compile(
    raw: &RawPolicy,
    kind: PolicyKind,
    lines: &LineIndex,
) -> Result<Policy, MalformedPolicy> {
    let version = match raw.version {
        Some("2012-10-17") => Some(Version::V2012_10_17),
        Some(_) => Some(Version::V2008_10_17),
        None => None,
    };
    // Policy variables exist only in 2012-10-17 documents.
    let vars = version == Some(Version::V2012_10_17);
    let mut statements = Vec::with_capacity(raw.statements.len());
    for (index, s) in raw.statements.iter().enumerate() {
        let principal = match s.principal {
            Some((node, negated)) => Some(PrincipalMatch {
                element: PrincipalElement::parse(node)
                    .map_err(|e| e.unwrap_or_else(|| MalformedPolicy::new(error::SYNTAX)))?,
                negated,
            }),
            None => None,
        };
        let actions = s.actions.as_ref().map_or_else(
            || Matchers {
                patterns: Vec::new(),
                negated: false,
            },
            |a| Matchers {
                patterns: a
                    .values
                    .iter()
                    .map(|v| Pattern::compile(v, Wildcards::Glob, Case::Insensitive, false))
                    .collect(),
                negated: a.negated,
            },
        );
        let resources = s.resources.as_ref().map(|r| Matchers {
            patterns: r
                .values
                .iter()
                .map(|v| Pattern::compile(v, Wildcards::ArnResource, Case::Sensitive, vars))
                .collect(),
            negated: r.negated,
        });
        let conditions = s
            .conditions
            .iter()
            .filter_map(|c| {
                Operator::parse(c.operator)
                    .map(|op| Clause::new(op, c.operator, c.key, &c.values, vars))
            })
            .collect();
        let mut context_keys: Vec<Box<str>> = Vec::new();
        let note_variables = |text: &str, keys: &mut Vec<Box<str>>| {
            if vars {
                keys.extend(variables::parse(text).into_iter().filter_map(|p| match p {
                    variables::Part::Var(v) => Some(v.name),
                    _ => None,
                }));
            }
        };
        if let Some(r) = &s.resources {
            for v in &r.values {
                note_variables(v, &mut context_keys);
            }
        }
        for c in &s.conditions {
            let Some(op) = Operator::parse(c.operator) else {
                continue;
            };
            context_keys.push(c.key.into());
            if matches!(op.family, Family::String(_) | Family::Arn) {
                for v in &c.values {
                    note_variables(v, &mut context_keys);
                }
            }
        }
        let texts = |list: &RawList<'_>| list.values.iter().map(|v| (*v).into()).collect();
        statements.push(Statement {
            action_texts: s.actions.as_ref().map(texts).unwrap_or_default(),
            resource_texts: s.resources.as_ref().map(texts),
            context_keys,
            sid: s.sid.map(str::to_owned),
            effect: if s.effect == "Deny" {
                Effect::Deny
            } else {
                Effect::Allow
            },
            principal,
            actions,
            resources,
            conditions,
            index,
            start: lines.position(s.node.start),
            end: lines.position(s.node.end.saturating_sub(1)),
        });
    }
    Ok(Policy {
        kind,
        version,
        id: raw.id.map(str::to_owned),
        statements,
    })
}
