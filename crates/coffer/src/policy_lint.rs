//! `coffer policy lint FILE`: IAM Access Analyzer's policy validation, offline. The checks are the
//! policy engine's (`coffer_policy::lint`), against the AWS reference data embedded in the binary;
//! this module chooses the policy type and writes the findings as text or as `ValidatePolicy`'s
//! JSON.

use coffer_policy::lint::{self, Finding, FindingType, PathElement};
use coffer_policy::PolicyKind;
use serde::Serialize;

/// `ValidatePolicy`'s `policyType`, plus role trust policies (AWS validates those as
/// `RESOURCE_POLICY` with the resource type `AWS::IAM::AssumeRolePolicyDocument`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PolicyType {
    #[value(name = "IDENTITY_POLICY")]
    Identity,
    #[value(name = "RESOURCE_POLICY")]
    Resource,
    #[value(name = "TRUST_POLICY")]
    Trust,
}

impl PolicyType {
    fn kind(self) -> PolicyKind {
        match self {
            PolicyType::Identity => PolicyKind::Identity,
            PolicyType::Resource => PolicyKind::Resource,
            PolicyType::Trust => PolicyKind::Trust,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One line per finding: `FILE:LINE:COLUMN: TYPE CODE: details (path)`, columns from 1.
    Text,
    /// `{"findings": [...]}` with `ValidatePolicy`'s fields (columns and offsets from 0).
    Json,
}

/// What a run printed, and whether it found something that must fail it.
pub struct Outcome {
    pub output: String,
    /// An `ERROR` or `SECURITY_WARNING` finding.
    pub blocking: bool,
}

/// Checks `document` (read from `name`) and renders the findings.
pub fn run(name: &str, document: &str, policy_type: Option<PolicyType>, format: Format) -> Outcome {
    let kind = policy_type.map_or_else(|| lint::infer_kind(document), PolicyType::kind);
    let findings = lint::lint(
        document,
        kind,
        coffer_iam::aws_reference::policy_reference(),
    );
    let blocking = findings.iter().any(|f| {
        matches!(
            f.finding_type,
            FindingType::Error | FindingType::SecurityWarning
        )
    });
    let output = match format {
        Format::Text => text(name, &findings),
        Format::Json => json(&findings),
    };
    Outcome { output, blocking }
}

fn path_text(path: &[PathElement]) -> String {
    let mut out = String::new();
    for element in path {
        match element {
            PathElement::Index(i) => out.push_str(&format!("[{i}]")),
            PathElement::Key(key) => out.push_str(&format!("[{key:?}]")),
            PathElement::Value(value) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(value);
            }
        }
    }
    out
}

fn text(name: &str, findings: &[Finding]) -> String {
    let mut out = String::new();
    for finding in findings {
        let (place, path) = match finding.locations.first() {
            Some(location) => (
                format!(
                    "{name}:{}:{}",
                    location.span.start.line,
                    location.span.start.column + 1
                ),
                match path_text(&location.path) {
                    path if path.is_empty() => String::new(),
                    path => format!(" ({path})"),
                },
            ),
            None => (name.to_owned(), String::new()),
        };
        out.push_str(&format!(
            "{place}: {} {}: {}{path}\n    see {}\n",
            finding.finding_type.as_str(),
            finding.issue_code.as_str(),
            finding.finding_details,
            finding.learn_more_link
        ));
    }
    let count = |t: FindingType| findings.iter().filter(|f| f.finding_type == t).count();
    if findings.is_empty() {
        out.push_str(&format!("{name}: no findings\n"));
    } else {
        out.push_str(&format!(
            "{name}: {} errors, {} security warnings, {} warnings, {} suggestions\n",
            count(FindingType::Error),
            count(FindingType::SecurityWarning),
            count(FindingType::Warning),
            count(FindingType::Suggestion)
        ));
    }
    out
}

#[derive(Serialize)]
struct Report<'a> {
    findings: Vec<FindingJson<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FindingJson<'a> {
    finding_details: &'a str,
    finding_type: &'static str,
    issue_code: &'static str,
    learn_more_link: &'a str,
    locations: Vec<LocationJson<'a>>,
}

#[derive(Serialize)]
struct LocationJson<'a> {
    path: Vec<PathElementJson<'a>>,
    span: SpanJson,
}

/// A path element as `ValidatePolicy` writes it: an object with one of these members.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
enum PathElementJson<'a> {
    Index(usize),
    Key(&'a str),
    Value(&'a str),
}

#[derive(Serialize)]
struct SpanJson {
    start: PositionJson,
    end: PositionJson,
}

#[derive(Serialize)]
struct PositionJson {
    line: u32,
    column: u32,
    offset: u32,
}

impl From<lint::SpanPosition> for PositionJson {
    fn from(p: lint::SpanPosition) -> Self {
        PositionJson {
            line: p.line,
            column: p.column,
            offset: p.offset,
        }
    }
}

fn json(findings: &[Finding]) -> String {
    let report = Report {
        findings: findings
            .iter()
            .map(|f| FindingJson {
                finding_details: &f.finding_details,
                finding_type: f.finding_type.as_str(),
                issue_code: f.issue_code.as_str(),
                learn_more_link: &f.learn_more_link,
                locations: f
                    .locations
                    .iter()
                    .map(|l| LocationJson {
                        path: l
                            .path
                            .iter()
                            .map(|p| match p {
                                PathElement::Index(i) => PathElementJson::Index(*i),
                                PathElement::Key(k) => PathElementJson::Key(k),
                                PathElement::Value(v) => PathElementJson::Value(v),
                            })
                            .collect(),
                        span: SpanJson {
                            start: l.span.start.into(),
                            end: l.span.end.into(),
                        },
                    })
                    .collect(),
            })
            .collect(),
    };
    // Strings and numbers only: serialization cannot fail, but an error would still be JSON.
    let mut out = serde_json::to_string_pretty(&report)
        .unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }).to_string());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TYPO: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Action": "secretsmanager:GetSecretValu",
    "Resource": "*",
    "Condition": {"StringEquals": {"secretsmanager:VersionStage": "AWSCURRENT"}}
  }]
}"#;

    #[test]
    fn text_names_the_file_line_column_and_path() {
        let outcome = run("typo.json", TYPO, None, Format::Text);
        assert!(outcome.blocking);
        assert_eq!(
            outcome.output,
            "typo.json:5:15: ERROR INVALID_ACTION: The action secretsmanager:GetSecretValu does not exist. (Statement[0].Action)\n    see https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html#access-analyzer-reference-policy-checks-error-invalid-action\ntypo.json: 1 errors, 0 security warnings, 0 warnings, 0 suggestions\n"
        );
    }

    #[test]
    fn json_has_validate_policy_fields() {
        let outcome = run("typo.json", TYPO, Some(PolicyType::Identity), Format::Json);
        let report: serde_json::Value = serde_json::from_str(&outcome.output).unwrap();
        assert_eq!(
            report,
            serde_json::json!({"findings": [{
                "findingDetails": "The action secretsmanager:GetSecretValu does not exist.",
                "findingType": "ERROR",
                "issueCode": "INVALID_ACTION",
                "learnMoreLink": "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html#access-analyzer-reference-policy-checks-error-invalid-action",
                "locations": [{
                    "path": [{"value": "Statement"}, {"index": 0}, {"value": "Action"}],
                    "span": {
                        "start": {"line": 5, "column": 14, "offset": 84},
                        "end": {"line": 5, "column": 44, "offset": 114}
                    }
                }]
            }]})
        );
    }

    #[test]
    fn warnings_alone_do_not_block_and_a_clean_policy_says_so() {
        let warning = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:ListSecrets","Resource":"*","Condition":{"StringEquals":{"secretsmanager:VersionStage":"AWSCURRENT"}}}]}"#;
        let outcome = run("w.json", warning, None, Format::Text);
        assert!(!outcome.blocking);
        assert!(outcome
            .output
            .contains("WARNING MISSING_ACTION_FOR_CONDITION_KEY"));
        assert!(outcome
            .output
            .contains("(Statement[0].Condition.StringEquals[\"secretsmanager:VersionStage\"])"));
        let clean = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:ListSecrets","Resource":"*"}]}"#;
        let outcome = run("c.json", clean, None, Format::Text);
        assert!(!outcome.blocking);
        assert_eq!(outcome.output, "c.json: no findings\n");
        let outcome = run("c.json", clean, None, Format::Json);
        assert_eq!(outcome.output, "{\n  \"findings\": []\n}\n");
    }

    #[test]
    fn the_policy_type_decides_what_the_grammar_accepts() {
        let resource_policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
        assert!(!run("p.json", resource_policy, None, Format::Text).blocking);
        let outcome = run(
            "p.json",
            resource_policy,
            Some(PolicyType::Identity),
            Format::Text,
        );
        assert!(outcome.blocking);
        assert!(outcome.output.starts_with(
            "p.json: ERROR MALFORMED_POLICY_DOCUMENT: Policy document should not specify a principal.\n"
        ));
    }
}
