//! `Principal` and `NotPrincipal`: who a resource-based or trust policy statement is about.

use super::json::{Json, Node};
use crate::context::{Principal, PrincipalType};
use crate::error::{self, MalformedPolicy};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Entry {
    /// `"*"` or `{"AWS": "*"}`: everyone, including anonymous callers.
    Everyone,
    /// `"123456789012"` or `arn:aws:iam::123456789012:root`: every principal of that account.
    Account(String),
    /// An IAM user or role ARN, or an STS assumed-role or federated-user session ARN.
    Arn(String),
    /// The unique id (`AIDA…`, `AROA…`) of a user or role: what a saved policy names once the
    /// user or role its ARN named is deleted (or re-created, which makes another principal).
    UniqueId(String),
    Service(String),
    Federated(String),
    CanonicalUser(String),
}

/// How directly a resource-based policy statement names the caller. Same-account evaluation
/// depends on it: naming the account delegates to the caller's identity-based policies, naming
/// a role (for its sessions) or the IAM user behind a federated session is still limited by
/// permissions boundaries and session policies, and naming the caller itself grants outright.
/// `"*"` (and an `Allow` with `NotPrincipal`) names nobody in particular, so it counts as
/// `Parent`: AWS exempts from session policies only a grant to the session's own ARN, and a
/// wildcard taken as naming the caller would let scoped-down credentials escape their session
/// policies through any public resource policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grant {
    Account,
    Parent,
    Direct,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PrincipalElement {
    entries: Vec<Entry>,
}

fn strings(node: &Node) -> Option<Vec<&str>> {
    match &node.value {
        Json::String(s) => Some(vec![s.as_str()]),
        Json::Array(items) => items.iter().map(Node::as_str).collect(),
        _ => None,
    }
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// A user's or role's unique id: `AIDA` or `AROA` and upper-case letters and digits.
fn is_unique_id(s: &str) -> bool {
    (s.starts_with("AIDA") || s.starts_with("AROA"))
        && (16..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn aws_entry(value: &str) -> Option<Entry> {
    if value == "*" {
        return Some(Entry::Everyone);
    }
    if is_account_id(value) {
        return Some(Entry::Account(value.to_owned()));
    }
    if is_unique_id(value) {
        return Some(Entry::UniqueId(value.to_owned()));
    }
    if value.contains(['*', '?']) {
        return None;
    }
    let mut parts = value.splitn(6, ':');
    let (arn, _partition, service, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if arn != "arn" || !region.is_empty() || !is_account_id(account) {
        return None;
    }
    let valid = match service {
        "iam" => {
            resource == "root" || resource.starts_with("user/") || resource.starts_with("role/")
        }
        "sts" => resource.starts_with("assumed-role/") || resource.starts_with("federated-user/"),
        _ => false,
    };
    if !valid {
        return None;
    }
    if resource == "root" {
        Some(Entry::Account(account.to_owned()))
    } else {
        Some(Entry::Arn(value.to_owned()))
    }
}

impl PrincipalElement {
    /// Parses the element. `Err(None)` is a syntax error; `Err(Some(_))` a specific message.
    pub fn parse(node: &Node) -> Result<PrincipalElement, Option<MalformedPolicy>> {
        let mut entries = Vec::new();
        match &node.value {
            Json::String(s) if s == "*" => entries.push(Entry::Everyone),
            Json::Object(fields) if !fields.is_empty() => {
                for (kind, value) in fields {
                    let values = strings(value).ok_or(None)?;
                    for v in values {
                        let entry = match kind.as_str() {
                            "AWS" => aws_entry(v),
                            "Service" if !v.is_empty() => Some(Entry::Service(v.to_owned())),
                            "Federated" if !v.is_empty() => Some(Entry::Federated(v.to_owned())),
                            "CanonicalUser" if !v.is_empty() => {
                                Some(Entry::CanonicalUser(v.to_owned()))
                            }
                            "Service" | "Federated" | "CanonicalUser" => None,
                            _ => return Err(None),
                        };
                        entries
                            .push(entry.ok_or_else(|| {
                                Some(MalformedPolicy::invalid_principal(kind, v))
                            })?);
                    }
                }
            }
            _ => return Err(Some(MalformedPolicy::new(error::SYNTAX))),
        }
        Ok(PrincipalElement { entries })
    }

    /// ARNs of users and roles the element names, so callers can check they exist.
    pub fn named_arns(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Arn(a) => Some(a.as_str()),
            _ => None,
        })
    }

    /// The strongest way an entry names the caller, if any does.
    pub fn grant_for(&self, p: &Principal) -> Option<Grant> {
        self.entries.iter().filter_map(|e| entry_grant(e, p)).max()
    }

    /// True when every identity the caller holds (its account, its role, its session, ...) is
    /// listed, which is what `NotPrincipal` needs to leave a caller out.
    pub fn covers_all_identities(&self, p: &Principal) -> bool {
        let covered = |identity: &Identity| self.entries.iter().any(|e| covers(e, identity));
        match p.kind {
            PrincipalType::Root => covered(&Identity::Account(&p.account)),
            PrincipalType::User | PrincipalType::FederatedUser => {
                covered(&Identity::Account(&p.account)) && covered(&Identity::Arn(&p.arn))
            }
            PrincipalType::AssumedRole => {
                covered(&Identity::Account(&p.account))
                    && p.role_arn
                        .as_deref()
                        .is_none_or(|r| covered(&Identity::Arn(r)))
                    && covered(&Identity::Arn(&p.arn))
            }
            PrincipalType::Service => {
                covered(&Identity::Service(p.provider.as_deref().unwrap_or("")))
            }
            PrincipalType::Federated => {
                covered(&Identity::Federated(p.provider.as_deref().unwrap_or("")))
            }
            PrincipalType::Anonymous => self.entries.contains(&Entry::Everyone),
        }
    }
}

enum Identity<'a> {
    Account(&'a str),
    Arn(&'a str),
    Service(&'a str),
    Federated(&'a str),
}

fn covers(entry: &Entry, identity: &Identity) -> bool {
    match (entry, identity) {
        (Entry::Everyone, _) => true,
        (Entry::Account(a), Identity::Account(b)) => a == b,
        (Entry::Arn(a), Identity::Arn(b)) => a == b,
        (Entry::Service(a), Identity::Service(b)) => a.eq_ignore_ascii_case(b),
        (Entry::Federated(a), Identity::Federated(b)) => a == b,
        _ => false,
    }
}

fn entry_grant(entry: &Entry, p: &Principal) -> Option<Grant> {
    let aws_caller = matches!(
        p.kind,
        PrincipalType::Root
            | PrincipalType::User
            | PrincipalType::AssumedRole
            | PrincipalType::FederatedUser
    );
    match entry {
        Entry::Everyone => Some(Grant::Parent),
        Entry::Account(a) if aws_caller && *a == p.account => Some(Grant::Account),
        Entry::Arn(a) if aws_caller && *a == p.arn => Some(Grant::Direct),
        Entry::Arn(a)
            if p.role_arn.as_deref() == Some(a) || p.source_user_arn.as_deref() == Some(a) =>
        {
            Some(Grant::Parent)
        }
        // `aws:userid` is the user's id, or the role's id and the session name.
        Entry::UniqueId(id) if p.kind == PrincipalType::User && p.user_id == *id => {
            Some(Grant::Direct)
        }
        Entry::UniqueId(id)
            if p.kind == PrincipalType::AssumedRole
                && p.user_id
                    .split_once(':')
                    .is_some_and(|(role_id, _)| role_id == id) =>
        {
            Some(Grant::Parent)
        }
        Entry::Service(s)
            if p.kind == PrincipalType::Service
                && p.provider
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(s)) =>
        {
            Some(Grant::Direct)
        }
        Entry::Federated(f)
            if p.kind == PrincipalType::Federated && p.provider.as_deref() == Some(f) =>
        {
            Some(Grant::Direct)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::json::parse;

    fn element(json: &str) -> Result<PrincipalElement, Option<MalformedPolicy>> {
        PrincipalElement::parse(&parse(json).unwrap())
    }

    #[test]
    fn parse_table() {
        assert!(element(r#""*""#).is_ok());
        assert!(element(r#"{"AWS":"*"}"#).is_ok());
        assert!(element(r#"{"AWS":["123456789012","arn:aws:iam::123456789012:root"]}"#).is_ok());
        assert!(element(r#"{"AWS":"arn:aws:iam::123456789012:role/path/R"}"#).is_ok());
        assert!(element(r#"{"AWS":"arn:aws:sts::123456789012:assumed-role/R/s"}"#).is_ok());
        assert!(element(
            r#"{"Service":["ec2.amazonaws.com"],"Federated":"cognito-identity.amazonaws.com"}"#
        )
        .is_ok());
        assert_eq!(
            element(r#"{"AWS":"arn:aws:iam::123456789012:user/*"}"#)
                .unwrap_err()
                .unwrap()
                .message(),
            r#"Invalid principal in policy: "AWS":"arn:aws:iam::123456789012:user/*""#
        );
        assert_eq!(
            element(r#"{"AWS":"alice"}"#)
                .unwrap_err()
                .unwrap()
                .message(),
            r#"Invalid principal in policy: "AWS":"alice""#
        );
        assert_eq!(element(r#"{"Bogus":"x"}"#).unwrap_err(), None);
        assert_eq!(element(r#"{"AWS":{"x":1}}"#).unwrap_err(), None);
    }

    #[test]
    fn grants_by_specificity() {
        let acct = "111122223333";
        let session = Principal::assumed_role(acct, "R", "s1", "AROA1");
        let user = Principal::user(acct, "alice", "AIDA1");
        let check = |json: &str, p: &Principal| element(json).unwrap().grant_for(p);
        assert_eq!(
            check(r#"{"AWS":"111122223333"}"#, &user),
            Some(Grant::Account)
        );
        assert_eq!(
            check(r#"{"AWS":"arn:aws:iam::111122223333:user/alice"}"#, &user),
            Some(Grant::Direct)
        );
        assert_eq!(
            check(r#"{"AWS":"arn:aws:iam::111122223333:role/R"}"#, &session),
            Some(Grant::Parent)
        );
        assert_eq!(
            check(
                r#"{"AWS":"arn:aws:sts::111122223333:assumed-role/R/s1"}"#,
                &session
            ),
            Some(Grant::Direct)
        );
        assert_eq!(
            check(
                r#"{"AWS":"arn:aws:sts::111122223333:assumed-role/R/s2"}"#,
                &session
            ),
            None
        );
        assert_eq!(
            check(
                r#"{"AWS":["111122223333","arn:aws:iam::111122223333:user/alice"]}"#,
                &user
            ),
            Some(Grant::Direct)
        );
        assert_eq!(check(r#"{"AWS":"444455556666"}"#, &user), None);
        // Unique ids: the user itself, or the role of a session; nobody else.
        assert!(element(r#"{"AWS":"AIDA1"}"#).is_err());
        let bob = Principal::user(acct, "bob", "AIDAEXAMPLEBOB12345");
        assert_eq!(
            check(r#"{"AWS":"AIDAEXAMPLEBOB12345"}"#, &bob),
            Some(Grant::Direct)
        );
        assert_eq!(check(r#"{"AWS":"AIDAEXAMPLEBOB12345"}"#, &user), None);
        let ops = Principal::assumed_role(acct, "Ops", "s1", "AROAEXAMPLEOPS123456");
        assert_eq!(
            check(r#"{"AWS":"AROAEXAMPLEOPS123456"}"#, &ops),
            Some(Grant::Parent)
        );
        assert_eq!(check(r#"{"AWS":"AROAEXAMPLEOPS123456"}"#, &session), None);
        assert_eq!(check(r#""*""#, &user), Some(Grant::Parent));
        assert_eq!(check(r#"{"AWS":"*"}"#, &session), Some(Grant::Parent));
    }

    #[test]
    fn not_principal_needs_every_identity() {
        let acct = "111122223333";
        let session = Principal::assumed_role(acct, "R", "s1", "AROA1");
        let covers = |json: &str| element(json).unwrap().covers_all_identities(&session);
        assert!(!covers(
            r#"{"AWS":"arn:aws:sts::111122223333:assumed-role/R/s1"}"#
        ));
        assert!(!covers(
            r#"{"AWS":["arn:aws:iam::111122223333:role/R","arn:aws:sts::111122223333:assumed-role/R/s1"]}"#
        ));
        assert!(covers(
            r#"{"AWS":["111122223333","arn:aws:iam::111122223333:role/R","arn:aws:sts::111122223333:assumed-role/R/s1"]}"#
        ));
        let user = Principal::user(acct, "bob", "AIDA2");
        assert!(element(
            r#"{"AWS":["arn:aws:iam::111122223333:root","arn:aws:iam::111122223333:user/bob"]}"#
        )
        .unwrap()
        .covers_all_identities(&user));
    }
}
