//! Policy validation beyond IAM's own errors: what IAM Access Analyzer's `ValidatePolicy` reports,
//! offline, from the AWS reference data the caller gives ([`Reference`]). Findings have
//! `ValidatePolicy`'s fields (finding type, issue code, details, learn-more link, locations with
//! a path and a span), and these checks:
//!
//! - an action whose service does not exist (`INVALID_SERVICE_IN_ACTION`) or that names no action
//!   of its service (`INVALID_ACTION`), in `Action` and `NotAction`: errors, as AWS reports them;
//! - a condition key with the prefix of a service the Service Authorization Reference covers that
//!   the service does not define (`INVALID_SERVICE_CONDITION_KEY`, an error as on AWS); global
//!   `aws:` keys are always accepted;
//! - a condition key of a covered service that no action of the statement supplies
//!   (`MISSING_ACTION_FOR_CONDITION_KEY`) and a resource ARN that no action of the statement is authorized against
//!   (`MISSING_ACTION_FOR_RESOURCE`), judged from the reference when every action of the
//!   statement is in a covered service. Warnings: the first is an Access Analyzer issue code whose
//!   finding type AWS's reference does not state where we could read it, the second is Coffer's
//!   own; both describe a statement that does not do what it says, not a malformed one;
//! - a resource ARN of a covered service that matches none of its resource types' ARN formats
//!   (`INVALID_ARN_RESOURCE`, an error);
//! - `Allow` with `NotPrincipal` (`ALLOW_WITH_NOT_PRINCIPAL`, AWS's security warning) and a grant
//!   to everyone that no condition pins to known callers ([`public_grants`]'s rule; Coffer's
//!   `PUBLIC_ACCESS` security warning).
//!
//! A document IAM would refuse yields one error: `JSON_SYNTAX_ERROR` with its position when it is
//! not JSON, otherwise `MALFORMED_POLICY_DOCUMENT` with IAM's `MalformedPolicyDocument` message.

mod pattern;
mod reference;

pub use reference::{ActionDefinition, Reference, ResourceTypeDefinition, ServiceDefinition};

use crate::document::json::{self, Json, LineIndex, Node};
use crate::document::{public_grants, Policy, PolicyKind, Version};
use reference::Action;

/// `ValidatePolicy`'s `findingType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FindingType {
    /// A part of the policy is not functional.
    Error,
    /// The policy allows access that is considered overly permissive.
    SecurityWarning,
    /// The policy does not conform to policy writing best practices.
    Warning,
    Suggestion,
}

impl FindingType {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingType::Error => "ERROR",
            FindingType::SecurityWarning => "SECURITY_WARNING",
            FindingType::Warning => "WARNING",
            FindingType::Suggestion => "SUGGESTION",
        }
    }
}

/// The checks' issue codes, spelled as Access Analyzer spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IssueCode {
    JsonSyntaxError,
    /// Coffer's: IAM refuses the document (its `MalformedPolicyDocument` message).
    MalformedPolicyDocument,
    InvalidServiceInAction,
    InvalidAction,
    InvalidServiceConditionKey,
    InvalidArnResource,
    MissingActionForConditionKey,
    /// Coffer's: no action of the statement is authorized against the resource.
    MissingActionForResource,
    AllowWithNotPrincipal,
    /// Coffer's: the statement grants access to everyone.
    PublicAccess,
}

const CHECK_REFERENCE: &str =
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html";
const SERVICE_REFERENCE: &str = "https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html";

impl IssueCode {
    pub fn as_str(self) -> &'static str {
        match self {
            IssueCode::JsonSyntaxError => "JSON_SYNTAX_ERROR",
            IssueCode::MalformedPolicyDocument => "MALFORMED_POLICY_DOCUMENT",
            IssueCode::InvalidServiceInAction => "INVALID_SERVICE_IN_ACTION",
            IssueCode::InvalidAction => "INVALID_ACTION",
            IssueCode::InvalidServiceConditionKey => "INVALID_SERVICE_CONDITION_KEY",
            IssueCode::InvalidArnResource => "INVALID_ARN_RESOURCE",
            IssueCode::MissingActionForConditionKey => "MISSING_ACTION_FOR_CONDITION_KEY",
            IssueCode::MissingActionForResource => "MISSING_ACTION_FOR_RESOURCE",
            IssueCode::AllowWithNotPrincipal => "ALLOW_WITH_NOT_PRINCIPAL",
            IssueCode::PublicAccess => "PUBLIC_ACCESS",
        }
    }

    pub fn finding_type(self) -> FindingType {
        match self {
            IssueCode::JsonSyntaxError
            | IssueCode::MalformedPolicyDocument
            | IssueCode::InvalidServiceInAction
            | IssueCode::InvalidAction
            | IssueCode::InvalidServiceConditionKey
            | IssueCode::InvalidArnResource => FindingType::Error,
            IssueCode::MissingActionForConditionKey | IssueCode::MissingActionForResource => {
                FindingType::Warning
            }
            IssueCode::AllowWithNotPrincipal | IssueCode::PublicAccess => {
                FindingType::SecurityWarning
            }
        }
    }

    /// The section of AWS's policy check reference about the issue; findings about a covered
    /// service's actions link to its page of the Service Authorization Reference instead.
    fn learn_more_link(self) -> String {
        let anchor = match self {
            IssueCode::JsonSyntaxError => "error-json-syntax-error",
            IssueCode::InvalidServiceInAction => "error-invalid-service-in-action",
            IssueCode::InvalidAction => "error-invalid-action",
            IssueCode::InvalidServiceConditionKey => "error-invalid-service-condition-key",
            IssueCode::InvalidArnResource => "error-invalid-arn-resource",
            IssueCode::AllowWithNotPrincipal => "security-warning-allow-with-not-principal",
            IssueCode::MalformedPolicyDocument => {
                return "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html".into()
            }
            IssueCode::PublicAccess => {
                return "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-anonymous".into()
            }
            IssueCode::MissingActionForConditionKey | IssueCode::MissingActionForResource => {
                return SERVICE_REFERENCE.into()
            }
        };
        format!("{CHECK_REFERENCE}#access-analyzer-reference-policy-checks-{anchor}")
    }
}

/// One finding, with `ValidatePolicy`'s fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub finding_type: FindingType,
    pub issue_code: IssueCode,
    pub finding_details: String,
    pub learn_more_link: String,
    pub locations: Vec<Location>,
}

/// Where in the document a finding is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// From the root: `Statement`, `0`, `Action`, `1`.
    pub path: Vec<PathElement>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathElement {
    /// An array index.
    Index(usize),
    /// A key of a map chosen by the policy's author (a condition key).
    Key(String),
    /// An element of the policy grammar (`Statement`, `Action`) or a condition operator.
    Value(String),
}

/// The text a finding is about, end exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: SpanPosition,
    pub end: SpanPosition,
}

/// A position as `ValidatePolicy` gives it: line from 1, column and offset (in characters) from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanPosition {
    pub line: u32,
    pub column: u32,
    pub offset: u32,
}

impl Finding {
    fn new(issue_code: IssueCode, finding_details: String, locations: Vec<Location>) -> Finding {
        Finding {
            finding_type: issue_code.finding_type(),
            issue_code,
            finding_details,
            learn_more_link: issue_code.learn_more_link(),
            locations,
        }
    }

    fn linking_to(mut self, link: Option<&str>) -> Finding {
        if let Some(link) = link {
            self.learn_more_link = link.to_owned();
        }
        self
    }
}

/// Checks `document` as a policy of `kind`. Findings are in document order.
pub fn lint(document: &str, kind: PolicyKind, reference: &Reference) -> Vec<Finding> {
    let source = Source::new(document);
    let root = match json::parse_at(document) {
        Ok(root) => root,
        Err(offset) => return vec![source.json_syntax_error(offset)],
    };
    let policy = match Policy::parse(document, kind) {
        Ok(policy) => policy,
        Err(refused) => {
            return vec![Finding::new(
                IssueCode::MalformedPolicyDocument,
                refused.message().to_owned(),
                Vec::new(),
            )]
        }
    };
    let public: Vec<usize> = public_grants(document)
        .into_iter()
        .map(|g| g.index)
        .collect();
    let mut findings = Vec::new();
    for (index, (path, node)) in statements(&root).into_iter().enumerate() {
        StatementCheck {
            reference,
            source: &source,
            path,
            node,
            with_variables: policy.version() == Some(Version::V2012_10_17),
            findings: &mut findings,
        }
        .run(public.contains(&index));
    }
    findings.sort_by_key(|f| f.locations.first().map(|l| l.span.start.offset));
    findings
}

/// The kind of policy a document looks like, for callers that are not told: statements that name
/// principals make a resource policy, or a role trust policy when no statement names a resource
/// and every action is an `sts:` one; otherwise an identity policy.
pub fn infer_kind(document: &str) -> PolicyKind {
    let Ok(root) = json::parse_at(document) else {
        return PolicyKind::Identity;
    };
    let statements = statements(&root);
    let has = |element: &str| statements.iter().any(|(_, s)| s.get(element).is_some());
    if !has("Principal") && !has("NotPrincipal") {
        return PolicyKind::Identity;
    }
    let sts_only = statements.iter().all(|(_, s)| {
        s.get("Action").is_some_and(|a| {
            items(a).iter().all(|(_, _, action)| {
                action
                    .get(..4)
                    .is_some_and(|p| p.eq_ignore_ascii_case("sts:"))
            })
        })
    });
    if sts_only && !has("Resource") && !has("NotResource") {
        PolicyKind::Trust
    } else {
        PolicyKind::Resource
    }
}

/// Each statement with its path: `Statement` holds one statement or a list of them.
fn statements(root: &Node) -> Vec<(Vec<PathElement>, &Node)> {
    let statement = PathElement::Value("Statement".into());
    match root.get("Statement") {
        Some(
            node @ Node {
                value: Json::Object(_),
                ..
            },
        ) => vec![(vec![statement], node)],
        Some(Node {
            value: Json::Array(list),
            ..
        }) => list
            .iter()
            .enumerate()
            .map(|(i, node)| (vec![statement.clone(), PathElement::Index(i)], node))
            .collect(),
        _ => Vec::new(),
    }
}

/// The strings of a string-or-list element, with their index when it is a list.
fn items(node: &Node) -> Vec<(Option<usize>, &Node, &str)> {
    match &node.value {
        Json::String(s) => vec![(None, node, s.as_str())],
        Json::Array(list) => list
            .iter()
            .enumerate()
            .filter_map(|(i, item)| item.as_str().map(|s| (Some(i), item, s)))
            .collect(),
        _ => Vec::new(),
    }
}

/// The document's text, for positions.
struct Source<'a> {
    text: &'a str,
    lines: LineIndex<'a>,
}

impl<'a> Source<'a> {
    fn new(text: &'a str) -> Self {
        Source {
            text,
            lines: LineIndex::new(text),
        }
    }

    fn position(&self, mut byte: usize) -> SpanPosition {
        byte = byte.min(self.text.len());
        while !self.text.is_char_boundary(byte) {
            byte -= 1;
        }
        let at = self.lines.position(byte);
        let offset = self.text[..byte].chars().count();
        SpanPosition {
            line: at.line,
            column: at.column.saturating_sub(1),
            offset: u32::try_from(offset).unwrap_or(u32::MAX),
        }
    }

    fn span(&self, start: usize, end: usize) -> Span {
        Span {
            start: self.position(start),
            end: self.position(end),
        }
    }

    fn json_syntax_error(&self, byte: usize) -> Finding {
        let at = self.position(byte);
        Finding::new(
            IssueCode::JsonSyntaxError,
            format!(
                "Fix the JSON syntax error at index {} line {} column {}.",
                at.offset, at.line, at.column
            ),
            vec![Location {
                path: Vec::new(),
                span: Span { start: at, end: at },
            }],
        )
    }

    /// Where the key of the object entry whose value starts at `value_start` is written:
    /// `"key"` and the quotes, found by reading back over `:` and blanks. JSON's structural
    /// characters are ASCII, so reading bytes backwards never splits a character.
    fn key_before(&self, value_start: usize) -> Option<(usize, usize)> {
        let bytes = self.text.as_bytes();
        let blank = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
        let mut i = value_start;
        while i > 0 && blank(bytes[i - 1]) {
            i -= 1;
        }
        if i == 0 || bytes[i - 1] != b':' {
            return None;
        }
        i -= 1;
        while i > 0 && blank(bytes[i - 1]) {
            i -= 1;
        }
        if i == 0 || bytes[i - 1] != b'"' {
            return None;
        }
        let end = i;
        let mut open = i - 1;
        while open > 0 {
            open -= 1;
            if bytes[open] == b'"' {
                let escapes = bytes[..open]
                    .iter()
                    .rev()
                    .take_while(|b| **b == b'\\')
                    .count();
                if escapes % 2 == 0 {
                    return Some((open, end));
                }
            }
        }
        None
    }
}

struct StatementCheck<'a, 'r> {
    reference: &'r Reference,
    source: &'a Source<'a>,
    path: Vec<PathElement>,
    node: &'a Node,
    with_variables: bool,
    findings: &'a mut Vec<Finding>,
}

impl<'a, 'r> StatementCheck<'a, 'r> {
    fn run(mut self, public: bool) {
        let actions = self.check_actions();
        // Judgements about what the statement's actions can do need all of them known.
        let actions = actions.filter(|a| !a.is_empty());
        self.check_resources(actions.as_deref());
        self.check_conditions(actions.as_deref());
        self.check_principal(public);
    }

    fn location(&self, element: &str, index: Option<usize>, node: &Node) -> Location {
        let mut path = self.path.clone();
        path.push(PathElement::Value(element.into()));
        path.extend(index.map(PathElement::Index));
        Location {
            path,
            span: self.source.span(node.start, node.end),
        }
    }

    fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    /// Reports unknown services and actions; answers the covered actions the `Action` element
    /// names, or `None` when they cannot all be known (`NotAction`, `*`, a wildcard service, a
    /// service the reference does not cover).
    fn check_actions(&mut self) -> Option<Vec<&'r Action>> {
        let (element, node) = match (self.node.get("Action"), self.node.get("NotAction")) {
            (Some(node), _) => ("Action", node),
            (None, Some(node)) => ("NotAction", node),
            (None, None) => return None,
        };
        let mut known = (element == "Action").then(Vec::new);
        for (index, item, action) in items(node) {
            let Some((prefix, name)) = action.split_once(':') else {
                known = None;
                continue;
            };
            if prefix.contains(['*', '?']) {
                known = None;
                continue;
            }
            if !self.reference.knows_service(prefix) {
                let location = self.location(element, index, item);
                self.push(Finding::new(
                    IssueCode::InvalidServiceInAction,
                    format!("The service {prefix} specified in the action does not exist."),
                    vec![location],
                ));
                continue;
            }
            if !self.reference.names_an_action(prefix, name) {
                let location = self.location(element, index, item);
                self.push(Finding::new(
                    IssueCode::InvalidAction,
                    format!("The action {action} does not exist."),
                    vec![location],
                ));
                continue;
            }
            match self.reference.service(prefix) {
                Some(service) => {
                    if let Some(list) = known.as_mut() {
                        list.extend(service.actions_named(name));
                    }
                }
                None => known = None,
            }
        }
        known
    }

    fn check_resources(&mut self, actions: Option<&[&'r Action]>) {
        let (element, node) = match (self.node.get("Resource"), self.node.get("NotResource")) {
            (Some(node), _) => ("Resource", node),
            (None, Some(node)) => ("NotResource", node),
            (None, None) => return,
        };
        for (index, item, resource) in items(node) {
            let Some(service) = resource.split(':').nth(2) else {
                continue;
            };
            if service.contains(['*', '?', '$']) {
                continue;
            }
            let Some(formats) = self.reference.arn_formats(service) else {
                continue;
            };
            let tokens = pattern::policy_resource(resource, self.with_variables);
            let service_page = self
                .reference
                .service(service)
                .map(|s| s.authorization_url.as_str());
            if !formats.iter().any(|f| pattern::overlap(&tokens, f)) {
                let location = self.location(element, index, item);
                self.push(Finding::new(
                    IssueCode::InvalidArnResource,
                    "Resource ARN does not match the expected ARN format. Update the resource portion of the ARN.".into(),
                    vec![location],
                ));
                continue;
            }
            let Some(actions) = actions.filter(|_| element == "Resource") else {
                continue;
            };
            if actions.iter().any(|a| a.can_name(&tokens)) {
                continue;
            }
            let advice = match self.reference.an_action_for(&tokens) {
                Some(example) => format!(
                    "Add an action that supports it, such as {}, or update the resource.",
                    example.qualified_name
                ),
                None => "Update the resource.".to_owned(),
            };
            let location = self.location(element, index, item);
            self.push(
                Finding::new(
                    IssueCode::MissingActionForResource,
                    format!(
                        "No action in this statement can be used with the resource {resource}. {advice}"
                    ),
                    vec![location],
                )
                .linking_to(service_page),
            );
        }
    }

    fn check_conditions(&mut self, actions: Option<&[&'r Action]>) {
        let Some(Node {
            value: Json::Object(blocks),
            ..
        }) = self.node.get("Condition")
        else {
            return;
        };
        for (operator, body) in blocks {
            let Json::Object(entries) = &body.value else {
                continue;
            };
            for (key, value) in entries {
                let Some((prefix, _)) = key.split_once(':') else {
                    continue;
                };
                if prefix.eq_ignore_ascii_case("aws") {
                    continue;
                }
                let tokens = pattern::key(key);
                let location = || {
                    let (start, end) = self
                        .source
                        .key_before(value.start)
                        .unwrap_or((value.start, value.end));
                    let mut path = self.path.clone();
                    path.extend([
                        PathElement::Value("Condition".into()),
                        PathElement::Value(operator.clone()),
                        PathElement::Key(key.clone()),
                    ]);
                    Location {
                        path,
                        span: self.source.span(start, end),
                    }
                };
                // Only the keys of covered services are judged. Identity providers' keys
                // (`accounts.google.com:aud`) belong to no service, and other services put some of
                // theirs on every request made with their role credentials, whatever the action
                // (`ec2:SourceInstanceARN`, `glue:RoleAssumedBy`): the reference does not say which.
                let Some(service) = self.reference.service(prefix) else {
                    continue;
                };
                if !service.defines_key(&tokens) {
                    let finding = Finding::new(
                        IssueCode::InvalidServiceConditionKey,
                        format!(
                            "The condition key {key} does not exist in the service {}.",
                            service.prefix
                        ),
                        vec![location()],
                    );
                    self.findings.push(finding);
                    continue;
                }
                let Some(actions) = actions else {
                    continue;
                };
                if actions.iter().any(|a| a.supplies(&tokens)) {
                    continue;
                }
                let advice = match self.reference.an_action_supplying(&tokens, prefix) {
                    Some(example) => format!(
                        "Add an action that supports it, such as {}, or remove the condition key.",
                        example.qualified_name
                    ),
                    None => "Remove the condition key.".to_owned(),
                };
                let page = Some(service.authorization_url.as_str());
                let finding = Finding::new(
                    IssueCode::MissingActionForConditionKey,
                    format!(
                        "No action in this statement supports the condition key {key}: requests for these actions never carry it. {advice}"
                    ),
                    vec![location()],
                )
                .linking_to(page);
                self.findings.push(finding);
            }
        }
    }

    fn check_principal(&mut self, public: bool) {
        let allows = self.node.get("Effect").and_then(Node::as_str) == Some("Allow");
        if let Some(not_principal) = self.node.get("NotPrincipal") {
            if allows {
                let location = self.location("NotPrincipal", None, not_principal);
                self.push(Finding::new(
                    IssueCode::AllowWithNotPrincipal,
                    "Using Allow with NotPrincipal can be overly permissive. We recommend that you use Principal instead.".into(),
                    vec![location],
                ));
            }
        } else if let Some(principal) = self.node.get("Principal").filter(|_| public) {
            let location = self.location("Principal", None, principal);
            self.push(Finding::new(
                IssueCode::PublicAccess,
                "This statement allows any principal, and no condition limits the caller to specific accounts, organizations, principals, VPCs or source resources: it grants public access. We recommend that you specify the principals that need access.".into(),
                vec![location],
            ));
        }
    }
}

#[cfg(test)]
mod tests;
