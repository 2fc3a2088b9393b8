//! A compiled statement: everything precomputed so that evaluation only compares.

use super::json::Position;
use super::principal::{Grant, PrincipalElement};
use crate::condition::Clause;
use crate::context::{Principal, Request};
use crate::matching::glob::Pattern;

fn past(p: Position) -> Position {
    Position {
        line: p.line,
        column: p.column.saturating_add(1),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    Allow,
    Deny,
}

/// `Action` or `NotAction` (and likewise for resources and principals): the list, and whether
/// the statement applies to what it lists or to everything else.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Matchers {
    pub patterns: Vec<Pattern>,
    pub negated: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PrincipalMatch {
    pub element: PrincipalElement,
    pub negated: bool,
}

/// One statement of a policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub(crate) sid: Option<String>,
    pub(crate) effect: Effect,
    pub(crate) principal: Option<PrincipalMatch>,
    pub(crate) actions: Matchers,
    /// `None` in trust policies, which have no `Resource`.
    pub(crate) resources: Option<Matchers>,
    pub(crate) conditions: Vec<Clause>,
    pub(crate) index: usize,
    pub(crate) start: Position,
    pub(crate) end: Position,
    /// Context keys the statement reads, in document order, as written: policy variables in
    /// `Resource`/`NotResource`, then each condition's key and the variables in its values.
    pub(crate) context_keys: Vec<Box<str>>,
    /// `Action`/`NotAction` and `Resource`/`NotResource` as written, for explanations.
    pub(crate) action_texts: Box<[Box<str>]>,
    pub(crate) resource_texts: Option<Box<[Box<str>]>>,
}

/// One condition clause as written: `"StringEquals": {"aws:SourceVpc": ["vpc-1"]}`.
#[derive(Debug, Clone, Copy)]
pub struct ConditionText<'a> {
    pub operator: &'a str,
    pub key: &'a str,
    pub values: &'a [Box<str>],
}

impl Statement {
    pub fn sid(&self) -> Option<&str> {
        self.sid.as_deref()
    }

    pub fn effect(&self) -> Effect {
        self.effect
    }

    /// Position of the statement in the document: 0-based.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Line and column (1-based) of the statement's opening brace.
    pub fn start_position(&self) -> Position {
        self.start
    }

    /// Line and column (1-based) of the statement's closing brace.
    pub fn end_position(&self) -> Position {
        self.end
    }

    /// Where IAM's policy simulator says the statement starts (`StartPosition`). IAM reports
    /// the column just past the opening brace (its JSON reader's location after the token), so
    /// `{"Statement":{` starting in column 14 is reported as column 15.
    pub fn simulator_start_position(&self) -> Position {
        past(self.start)
    }

    /// Where IAM's policy simulator says the statement ends (`EndPosition`): the column just
    /// past the closing brace.
    pub fn simulator_end_position(&self) -> Position {
        past(self.end)
    }

    /// Every context key the statement reads, as `GetContextKeysFor*Policy` lists them: the
    /// variables in `Resource`/`NotResource`, then each condition key followed by the variables
    /// in its values. Duplicates are kept; [`crate::Policy::context_keys`] removes them.
    pub fn context_keys(&self) -> impl Iterator<Item = &str> {
        self.context_keys.iter().map(|k| &**k)
    }

    /// Context keys the statement's conditions read, as written.
    pub fn condition_keys(&self) -> impl Iterator<Item = &str> {
        self.conditions.iter().map(|c| &*c.key_name)
    }

    /// `Action` (or `NotAction`, see [`Statement::negates_actions`]) as written.
    pub fn action_texts(&self) -> impl Iterator<Item = &str> {
        self.action_texts.iter().map(|a| &**a)
    }

    pub fn negates_actions(&self) -> bool {
        self.actions.negated
    }

    /// `Resource` (or `NotResource`) as written; empty in trust policies.
    pub fn resource_texts(&self) -> impl Iterator<Item = &str> {
        self.resource_texts.iter().flatten().map(|r| &**r)
    }

    pub fn negates_resources(&self) -> bool {
        self.resources.as_ref().is_some_and(|r| r.negated)
    }

    /// The principals a `Principal`/`NotPrincipal` names by ARN (nothing for identity policies).
    pub fn principal_texts(&self) -> impl Iterator<Item = &str> {
        self.principal.iter().flat_map(|p| p.element.named_arns())
    }

    /// The condition clauses as written.
    pub fn condition_texts(&self) -> impl Iterator<Item = ConditionText<'_>> {
        self.conditions.iter().map(|c| ConditionText {
            operator: &c.operator_name,
            key: &c.key_name,
            values: &c.value_texts,
        })
    }

    /// The clauses (as written) that do not hold for `request`; every clause is evaluated, as
    /// [`Statement::conditions_hold`] does, so the same missing keys get reported.
    pub(crate) fn failing_conditions(
        &self,
        request: &Request,
        missing: &mut dyn FnMut(&str),
    ) -> Vec<ConditionText<'_>> {
        self.conditions
            .iter()
            .filter(|c| !c.evaluate(&request.context, &mut *missing))
            .map(|c| ConditionText {
                operator: &c.operator_name,
                key: &c.key_name,
                values: &c.value_texts,
            })
            .collect()
    }

    /// Whether the statement's `Action` (or `NotAction`) covers `action` (`iam:GetUser`),
    /// whatever its effect, resources and conditions: what IAM's service last-accessed reports
    /// ask of a permissions policy.
    pub fn covers_action(&self, action: &str) -> bool {
        self.action_matches(action)
    }

    pub(crate) fn action_matches(&self, action: &str) -> bool {
        self.actions
            .patterns
            .iter()
            .any(|p| p.matches_static(action))
            != self.actions.negated
    }

    pub(crate) fn resource_matches(
        &self,
        request: &Request,
        missing: &mut dyn FnMut(&str),
    ) -> bool {
        match &self.resources {
            None => true,
            Some(m) => {
                let resource = request.resource_str();
                m.patterns
                    .iter()
                    .any(|p| p.matches(resource, &request.context, &mut *missing))
                    != m.negated
            }
        }
    }

    /// How the statement's `Principal`/`NotPrincipal` applies to the caller. Statements without
    /// either (identity-based policies) apply to the policy's owner, reported as `Direct`.
    /// `has_boundary` reproduces AWS's documented behaviour that a `Deny` with `NotPrincipal`
    /// always applies to a caller with a permissions boundary.
    pub(crate) fn principal_grant(&self, caller: &Principal, has_boundary: bool) -> Option<Grant> {
        match &self.principal {
            None => Some(Grant::Direct),
            Some(PrincipalMatch {
                element,
                negated: false,
            }) => element.grant_for(caller),
            Some(PrincipalMatch {
                element,
                negated: true,
            }) => {
                let excluded = element.covers_all_identities(caller)
                    && !(has_boundary && self.effect == Effect::Deny);
                // Everyone not excluded: as broad as `"*"`, so limited like it.
                (!excluded).then_some(Grant::Parent)
            }
        }
    }

    pub(crate) fn conditions_hold(&self, request: &Request, missing: &mut dyn FnMut(&str)) -> bool {
        // Every clause runs even after one fails, so that all missing keys get reported.
        let mut all = true;
        for c in &self.conditions {
            all &= c.evaluate(&request.context, &mut *missing);
        }
        all
    }
}
