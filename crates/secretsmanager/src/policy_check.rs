//! Resource policy checks: the document's shape (AWS's own MalformedPolicyDocumentException
//! wording), the full IAM grammar through the policy engine, and whether a policy grants public
//! access (the policy engine's rule).

use serde_json::Value;

/// Why a document is not a policy; `None` when it has the shape of one.
pub(crate) fn syntax_error(doc: &str) -> Option<&'static str> {
    let Ok(v) = serde_json::from_str::<Value>(doc) else {
        return Some("This resource policy contains a syntax error.");
    };
    let Some(obj) = v.as_object() else {
        return Some("This resource policy contains a syntax error.");
    };
    let statements = match obj.get("Statement") {
        Some(Value::Array(a)) if !a.is_empty() => a.clone(),
        Some(s @ Value::Object(_)) => vec![s.clone()],
        _ => return Some("This resource policy contains a syntax error."),
    };
    for s in &statements {
        let effect = s.get("Effect").and_then(Value::as_str);
        if !matches!(effect, Some("Allow") | Some("Deny")) {
            return Some("This resource policy contains a syntax error.");
        }
        if s.get("Principal").is_none() && s.get("NotPrincipal").is_none() {
            return Some("This resource policy contains an unsupported principal.");
        }
    }
    None
}

/// Why the policy engine refuses a document that has the shape of a resource policy (an unknown
/// element, a malformed action, ARN or condition, …), in IAM's words.
pub(crate) fn grammar_error(doc: &str) -> Option<String> {
    coffer_policy::Policy::parse(doc, coffer_policy::PolicyKind::Resource)
        .err()
        .map(|e| e.message().to_string())
}

/// What IAM Access Analyzer's policy validation, which `ValidateResourcePolicy` runs, finds wrong
/// in a document the grammar accepts: its errors (an action or service that does not exist, a
/// condition key its service does not define, a resource ARN of no known format), checked
/// against AWS's reference data. Its warnings do not fail a policy, and public access has its own
/// check.
pub(crate) fn reference_errors(doc: &str) -> Vec<String> {
    coffer_policy::lint::lint(
        doc,
        coffer_policy::PolicyKind::Resource,
        coffer_iam::aws_reference::policy_reference(),
    )
    .into_iter()
    .filter(|finding| finding.finding_type == coffer_policy::lint::FindingType::Error)
    .map(|finding| finding.finding_details)
    .collect()
}

/// Why each public statement of `doc` is public, in document order: the findings of
/// `ValidateResourcePolicy`'s public-access check; `BlockPublicPolicy` refuses a policy with any.
/// The rule (an `Allow` for everyone not pinned to fixed accounts, organizations, principals,
/// VPCs or source resources) is the policy engine's, shared with every other caller.
pub(crate) fn public_access_findings(doc: &str) -> Vec<String> {
    coffer_policy::public_grants(doc)
        .into_iter()
        .map(|grant| {
            let which = match &grant.sid {
                Some(sid) if !sid.is_empty() => format!("Statement {} (Sid \"{sid}\")", grant.index + 1),
                _ => format!("Statement {}", grant.index + 1),
            };
            format!(
                "{which} grants public access: it allows any principal, and no condition limits the caller to specific accounts, organizations, principals, VPCs or source resources."
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_principals_are_public_unless_pinned() {
        let public = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
        assert_eq!(
            public_access_findings(public),
            vec!["Statement 1 grants public access: it allows any principal, and no condition limits the caller to specific accounts, organizations, principals, VPCs or source resources.".to_string()]
        );
        assert_eq!(syntax_error(public), None);
        let transport_only = r#"{"Statement":{"Sid":"tls","Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}}"#;
        assert_eq!(public_access_findings(transport_only).len(), 1);
        assert!(public_access_findings(transport_only)[0]
            .starts_with("Statement 1 (Sid \"tls\") grants public access"));
        let pinned = r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalAccount":"123456789012"}}}}"#;
        assert!(public_access_findings(pinned).is_empty());
        let account = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"*","Resource":"*"}]}"#;
        assert!(public_access_findings(account).is_empty());
    }

    #[test]
    fn malformed_documents_are_reported() {
        assert!(syntax_error("not json").is_some());
        assert!(syntax_error("[]").is_some());
        assert!(syntax_error(r#"{"Statement":[]}"#).is_some());
        assert!(syntax_error(r#"{"Statement":[{"Effect":"Maybe","Principal":"*"}]}"#).is_some());
        let no_action = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Resource":"*"}]}"#;
        assert_eq!(syntax_error(no_action), None);
        assert_eq!(
            grammar_error(no_action).as_deref(),
            Some("Policy statement must contain actions.")
        );
        let fine = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
        assert_eq!(grammar_error(fine), None);
        assert_eq!(reference_errors(fine), Vec::<String>::new());
    }

    #[test]
    fn unknown_actions_and_keys_are_errors_but_warnings_are_not() {
        let typo = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":["secretsmanager:GetSecretValu","secretsmanager:ListSecrets"],"Resource":"*","Condition":{"StringEquals":{"secretsmanager:Stage":"x","secretsmanager:VersionStage":"AWSCURRENT"}}}]}"#;
        assert_eq!(
            reference_errors(typo),
            vec![
                "The action secretsmanager:GetSecretValu does not exist.".to_string(),
                "The condition key secretsmanager:Stage does not exist in the service secretsmanager.".to_string(),
            ]
        );
        // ListSecrets does not supply VersionStage: a warning, which does not fail the policy.
        let unsupplied = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"secretsmanager:ListSecrets","Resource":"*","Condition":{"StringEquals":{"secretsmanager:VersionStage":"AWSCURRENT"}}}]}"#;
        assert_eq!(reference_errors(unsupplied), Vec::<String>::new());
    }
}
