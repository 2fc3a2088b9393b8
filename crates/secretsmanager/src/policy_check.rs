//! Resource policy checks: the document's shape (AWS's own MalformedPolicyDocumentException
//! wording), the full IAM grammar through the policy engine, and whether a policy grants access to
//! everyone.

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

fn is_wildcard(principal: &Value) -> bool {
    match principal {
        Value::String(s) => s == "*",
        Value::Array(a) => a.iter().any(is_wildcard),
        Value::Object(m) => m.values().any(is_wildcard),
        _ => false,
    }
}

/// An unconditioned Allow for `*` (directly or as `{"AWS": "*"}`), or any Allow with
/// `NotPrincipal`, grants broad access.
pub(crate) fn is_public(doc: &str) -> bool {
    let Ok(v) = serde_json::from_str::<Value>(doc) else {
        return false;
    };
    let statements = match v.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(s @ Value::Object(_)) => vec![s.clone()],
        _ => return false,
    };
    statements.iter().any(|s| {
        s.get("Effect").and_then(Value::as_str) == Some("Allow")
            && s.get("Condition").is_none()
            && (s.get("NotPrincipal").is_some() || s.get("Principal").is_some_and(is_wildcard))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_principals_are_public_unless_conditioned() {
        let public = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
        assert!(is_public(public));
        assert_eq!(syntax_error(public), None);
        let conditioned = r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalAccount":"123456789012"}}}}"#;
        assert!(!is_public(conditioned));
        let account = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"*","Resource":"*"}]}"#;
        assert!(!is_public(account));
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
    }
}
