//! Whether a resource-based policy grants public access: the rule behind Secrets Manager's
//! `BlockPublicPolicy` and the public-access finding of `ValidateResourcePolicy`.
//!
//! AWS decides this with IAM Access Analyzer's reasoning (Zelkova), which "considers only certain
//! IAM condition keys that external users cannot directly influence" (IAM User Guide, "How IAM
//! Access Analyzer works"; the keys are those its findings report: `aws:PrincipalArn`,
//! `aws:PrincipalOrgID`, `aws:PrincipalOrgPaths`, `aws:UserId`, `aws:SourceVpc`, ...), and S3's
//! published form of the same rule ("The meaning of public") calls a grant non-public only when it
//! is limited to *fixed* principals, accounts, source ARNs, VPCs or VPC endpoints. So an `Allow`
//! for everyone (`"*"`, `{"AWS": "*"}`, or `NotPrincipal`) is public unless one of its conditions
//! pins the caller to known, non-wildcard values of such a key with a positive operator:
//!
//! - conditions on anything else (`aws:SecureTransport`, `aws:SourceIp`, `aws:CurrentTime`,
//!   `aws:UserAgent`, an empty `Condition`, ...) leave the grant open to every AWS account;
//! - negated operators (`StringNotEquals`, `ArnNotLike`, ...) name who is left out, not who is in;
//! - `...IfExists` and `ForAllValues:` hold when the key is absent (an anonymous or direct call);
//! - a value with a wildcard (`*`, `?`) or a policy variable is not a fixed value, except where the
//!   wildcard only ranges inside one account or organization (`arn:aws:iam::111122223333:role/*`,
//!   `o-a1b2c3d4e5/*`, a role's sessions `AROAEXAMPLEID:*`).
//!
//! A grant to another account's principals is cross-account access, not public. Where the rule
//! cannot tell, it answers "public" (Access Analyzer too errs towards a finding).

use super::json::{self, Json, Node};
use super::{read_grammar, RawCondition, RawStatement};
use crate::condition::{Family, Operator, Qualifier};
use crate::variables;

/// A statement that grants public access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicGrant {
    /// Position of the statement in the document: 0-based.
    pub index: usize,
    pub sid: Option<String>,
}

/// The statements of `document` that grant public access, in document order. A document that is
/// not a policy at all yields none: callers validate it first (and refuse it as malformed).
pub fn public_grants(document: &str) -> Vec<PublicGrant> {
    let Some(root) = json::parse(document) else {
        return Vec::new();
    };
    let Some(raw) = read_grammar(&root) else {
        return Vec::new();
    };
    // Policy variables exist only in 2012-10-17 documents; elsewhere `${x}` is literal text.
    let with_variables = raw.version == Some("2012-10-17");
    raw.statements
        .iter()
        .enumerate()
        .filter(|(_, s)| is_public(s, with_variables))
        .map(|(index, s)| PublicGrant {
            index,
            sid: s.sid.map(str::to_owned),
        })
        .collect()
}

fn is_public(statement: &RawStatement, with_variables: bool) -> bool {
    statement.effect == "Allow"
        && names_everyone(statement)
        && !statement
            .conditions
            .iter()
            .any(|c| pins_the_caller(c, with_variables))
}

/// `NotPrincipal` in an `Allow` grants everyone it does not list; `Principal` does when any of its
/// values is `*` (`"*"`, `{"AWS": "*"}`, or `*` among a list or under another principal type).
fn names_everyone(statement: &RawStatement) -> bool {
    match statement.principal {
        Some((_, true)) => true,
        Some((node, false)) => has_wildcard_value(node),
        None => false,
    }
}

fn has_wildcard_value(node: &Node) -> bool {
    match &node.value {
        Json::String(s) => s == "*",
        Json::Array(items) => items.iter().any(has_wildcard_value),
        Json::Object(fields) => fields.iter().any(|(_, v)| has_wildcard_value(v)),
        _ => false,
    }
}

/// The shape of a pinning key's values, which decides what counts as a fixed value.
#[derive(Clone, Copy)]
enum KeyShape {
    /// An account id, organization id, VPC or VPC endpoint id: fixed only without wildcards.
    Id,
    /// An ARN: fixed without wildcards, or when the wildcards stay within one named account.
    Arn,
    /// An organization path (`o-xxx/r-xxx/ou-xxx/`): fixed when its organization is.
    OrgPath,
    /// `aws:userid`: a unique id, or `ROLEID:*` (the sessions of one role).
    UserId,
}

/// Keys whose value the caller cannot choose and that identify who (or, for service calls,
/// on whose behalf) is calling: pinning one of them to fixed values leaves no public grant.
fn pinning_key(key: &str) -> Option<KeyShape> {
    let shape = match key.to_ascii_lowercase().as_str() {
        "aws:principalaccount" | "aws:sourceaccount" | "aws:sourceowner" => KeyShape::Id,
        "aws:principalorgid" | "aws:sourceorgid" => KeyShape::Id,
        "aws:sourcevpc" | "aws:sourcevpce" => KeyShape::Id,
        "aws:principalarn" | "aws:sourcearn" => KeyShape::Arn,
        "aws:principalorgpaths" | "aws:sourceorgpaths" => KeyShape::OrgPath,
        "aws:userid" => KeyShape::UserId,
        _ => return None,
    };
    Some(shape)
}

fn pins_the_caller(condition: &RawCondition, with_variables: bool) -> bool {
    let Some(shape) = pinning_key(condition.key) else {
        return false;
    };
    let Some(operator) = Operator::parse(condition.operator) else {
        return false;
    };
    let positive =
        !operator.negated && !operator.if_exists && operator.qualifier != Qualifier::ForAllValues;
    let comparable = match operator.family {
        Family::String(_) => true,
        // ARN operators compare ARNs; on any other key they never match, but that is no reason
        // to call the grant limited.
        Family::Arn => matches!(shape, KeyShape::Arn),
        _ => false,
    };
    positive
        && comparable
        && !condition.values.is_empty()
        && condition
            .values
            .iter()
            .all(|v| is_fixed(v, shape, with_variables))
}

fn has_wildcard(text: &str) -> bool {
    text.contains(['*', '?'])
}

fn is_fixed(value: &str, shape: KeyShape, with_variables: bool) -> bool {
    if value.is_empty() {
        return false;
    }
    if with_variables && !variables::is_static(&variables::parse(value)) {
        return false;
    }
    match shape {
        KeyShape::Id => !has_wildcard(value),
        KeyShape::Arn => !has_wildcard(value) || arn_within_one_account(value),
        KeyShape::OrgPath => value
            .split_once('/')
            .is_some_and(|(org, _)| !org.is_empty() && !has_wildcard(org)),
        KeyShape::UserId => {
            !has_wildcard(value)
                || value
                    .strip_suffix(":*")
                    .is_some_and(|id| !id.is_empty() && !has_wildcard(id))
        }
    }
}

/// `arn:partition:service:region:account:...` where everything up to and including a 12-digit
/// account is free of wildcards: whatever the rest matches, it is in that account.
fn arn_within_one_account(value: &str) -> bool {
    let mut parts = value.splitn(6, ':');
    let head: Vec<&str> = parts.by_ref().take(5).collect();
    let rest = parts.next();
    match (head.as_slice(), rest) {
        ([arn, _partition, _service, _region, account], Some(_)) => {
            *arn == "arn"
                && !head.iter().any(|p| has_wildcard(p))
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement(principal: &str, condition: &str) -> String {
        let condition = if condition.is_empty() {
            String::new()
        } else {
            format!(r#","Condition":{condition}"#)
        };
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{principal},"Action":"secretsmanager:GetSecretValue","Resource":"*"{condition}}}]}}"#
        )
    }

    fn public(principal: &str, condition: &str) -> bool {
        let doc = statement(principal, condition);
        assert!(
            crate::Policy::parse(&doc, crate::PolicyKind::Resource).is_ok(),
            "not a valid policy: {doc}"
        );
        !public_grants(&doc).is_empty()
    }

    const EVERYONE: &str = r#""*""#;

    #[test]
    fn wildcard_principals_are_public_without_a_pinning_condition() {
        for principal in [
            r#""*""#,
            r#"{"AWS":"*"}"#,
            r#"{"AWS":["arn:aws:iam::111122223333:root","*"]}"#,
            r#"{"Service":"*"}"#,
        ] {
            assert!(public(principal, ""), "{principal}");
            assert!(public(principal, "{}"), "{principal}");
        }
    }

    #[test]
    fn named_principals_are_not_public() {
        for principal in [
            r#"{"AWS":"arn:aws:iam::111122223333:root"}"#,
            r#"{"AWS":"111122223333"}"#,
            r#"{"AWS":"arn:aws:iam::111122223333:role/app"}"#,
            r#"{"Service":"lambda.amazonaws.com"}"#,
        ] {
            assert!(!public(principal, ""), "{principal}");
        }
    }

    #[test]
    fn conditions_that_do_not_pin_the_caller_leave_it_public() {
        for condition in [
            r#"{"Bool":{"aws:SecureTransport":"true"}}"#,
            r#"{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}"#,
            r#"{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#,
            r#"{"StringLike":{"aws:PrincipalAccount":"*"}}"#,
            r#"{"StringLike":{"aws:PrincipalAccount":"1111222233?3"}}"#,
            r#"{"StringEquals":{"aws:PrincipalAccount":["111122223333","*"]}}"#,
            r#"{"StringNotEquals":{"aws:PrincipalAccount":"111122223333"}}"#,
            r#"{"StringEqualsIfExists":{"aws:PrincipalAccount":"111122223333"}}"#,
            r#"{"ForAllValues:StringEquals":{"aws:PrincipalOrgPaths":"o-a1b2c3d4e5/r-ab12/"}}"#,
            r#"{"Null":{"aws:PrincipalAccount":"false"}}"#,
            r#"{"StringEquals":{"aws:PrincipalTag/team":"blue"}}"#,
            r#"{"StringEquals":{"aws:UserAgent":"my-app"}}"#,
            r#"{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::*:root"}}"#,
            r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/app"}}"#,
            r#"{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::bucket-*"}}"#,
            r#"{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/x"}}"#,
            r#"{"ArnEquals":{"aws:PrincipalAccount":"111122223333"}}"#,
            r#"{"StringLike":{"aws:PrincipalOrgPaths":"o-a1b2*"}}"#,
            r#"{"StringLike":{"aws:userid":"AIDA*"}}"#,
            r#"{"StringEquals":{"aws:PrincipalAccount":"${aws:PrincipalAccount}"}}"#,
            r#"{"StringEquals":{"aws:PrincipalAccount":""}}"#,
            r#"{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}"#,
        ] {
            assert!(public(EVERYONE, condition), "{condition}");
            assert!(public(r#"{"AWS":"*"}"#, condition), "{condition}");
        }
    }

    #[test]
    fn conditions_that_pin_the_caller_to_fixed_values_are_not_public() {
        for condition in [
            r#"{"StringEquals":{"aws:PrincipalAccount":"111122223333"}}"#,
            r#"{"StringEquals":{"AWS:principalaccount":["111122223333","444455556666"]}}"#,
            r#"{"StringEqualsIgnoreCase":{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}"#,
            r#"{"StringLike":{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}"#,
            r#"{"ForAnyValue:StringLike":{"aws:PrincipalOrgPaths":"o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"}}"#,
            r#"{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/app"}}"#,
            r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/app-*"}}"#,
            r#"{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:*"}}"#,
            r#"{"ArnEquals":{"aws:SourceArn":"arn:aws:lambda:us-east-1:111122223333:function:rotate"}}"#,
            r#"{"StringEquals":{"aws:SourceAccount":"111122223333"}}"#,
            r#"{"StringEquals":{"aws:SourceOwner":"111122223333"}}"#,
            r#"{"StringEquals":{"aws:SourceVpc":"vpc-1a2b3c4d"}}"#,
            r#"{"StringEquals":{"aws:SourceVpce":"vpce-1a2b3c4d"}}"#,
            r#"{"StringEquals":{"aws:SourceOrgID":"o-a1b2c3d4e5"}}"#,
            r#"{"StringEquals":{"aws:userid":"AIDAEXAMPLEUSERID"}}"#,
            r#"{"StringLike":{"aws:userid":"AROAEXAMPLEROLEID:*"}}"#,
            // One pinning key is enough: conditions AND together.
            r#"{"Bool":{"aws:SecureTransport":"true"},"StringEquals":{"aws:PrincipalAccount":"111122223333"}}"#,
        ] {
            assert!(!public(EVERYONE, condition), "{condition}");
        }
    }

    #[test]
    fn variables_are_literal_text_in_2008_documents() {
        let doc = r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"secretsmanager:*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalAccount":"${x}"}}}]}"#;
        assert!(public_grants(doc).is_empty());
        let doc = doc.replace("2008-10-17", "2012-10-17");
        assert_eq!(public_grants(&doc).len(), 1);
    }

    #[test]
    fn not_principal_allow_is_public_and_deny_never_is() {
        let not_principal = r#"{"Version":"2012-10-17","Statement":[{"Sid":"everyone-else","Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"secretsmanager:*","Resource":"*"}]}"#;
        assert_eq!(
            public_grants(not_principal),
            vec![PublicGrant {
                index: 0,
                sid: Some("everyone-else".into())
            }]
        );
        let conditioned = not_principal.replace(
            r#""Resource":"*""#,
            r#""Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}"#,
        );
        assert_eq!(public_grants(&conditioned).len(), 1);
        let deny =
            r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}"#;
        assert!(public_grants(deny).is_empty());
    }

    #[test]
    fn every_public_statement_is_reported_in_order() {
        let doc = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"*","Resource":"*"},
            {"Sid":"a","Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}},
            {"Effect":"Allow","Principal":{"AWS":"*"},"Action":"*","Resource":"*"}]}"#;
        assert_eq!(
            public_grants(doc),
            vec![
                PublicGrant {
                    index: 1,
                    sid: Some("a".into())
                },
                PublicGrant {
                    index: 2,
                    sid: None
                }
            ]
        );
    }

    #[test]
    fn not_a_policy_has_no_grants() {
        assert!(public_grants("not json").is_empty());
        assert!(public_grants("[]").is_empty());
        assert!(
            public_grants(r#"{"Statement":[{"Effect":"Allow","Principal":"*","Bogus":1}]}"#)
                .is_empty()
        );
    }

    #[test]
    fn arn_account_pinning() {
        assert!(arn_within_one_account("arn:aws:iam::111122223333:role/*"));
        assert!(arn_within_one_account(
            "arn:aws:sts::111122223333:assumed-role/r/*"
        ));
        assert!(!arn_within_one_account("arn:aws:iam::*:role/x"));
        assert!(!arn_within_one_account("arn:aws:iam::11112222333*:role/x"));
        assert!(!arn_within_one_account("arn:*:iam::111122223333:*"));
        assert!(!arn_within_one_account("arn:aws:s3:::bucket/*"));
        assert!(!arn_within_one_account("arn:aws:iam::111122223333"));
        assert!(!arn_within_one_account("*:111122223333:x"));
    }
}
