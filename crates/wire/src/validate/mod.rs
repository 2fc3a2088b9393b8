//! Model constraints on the canonical value, reported in AWS's words.

pub(crate) mod pattern;

use base64::Engine;
use coffer_model::schema::{Kind, Member, Shape};
use serde_json::Value;

use crate::error::{ShownValue, Violation, WireError};
use crate::limits::MAX_DEPTH;

/// Checks required members, lengths, ranges, enum values and patterns of `value` against
/// `shape`, reporting every violation in member order:
/// `1 validation error detected: Value 'x' at 'secretId' failed to satisfy constraint: Member must
/// have length less than or equal to 2048`. Paths are lowerCamelCase (`tags.1.member.key`);
/// values of sensitive shapes are never echoed.
pub fn validate(value: &Value, shape: &'static Shape) -> Result<(), WireError> {
    let mut out = Vec::new();
    check_value(value, shape, "", &mut out, 0);
    if out.is_empty() {
        Ok(())
    } else {
        Err(WireError::Validation(out))
    }
}

/// AWS names members in messages by their lowerCamelCase name (`RoleSessionName` →
/// `roleSessionName`): only the first letter changes.
fn lower_camel(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn join(prefix: &str, segment: &str) -> String {
    if prefix.is_empty() {
        segment.to_string()
    } else {
        format!("{prefix}.{segment}")
    }
}

fn check_value(
    v: &Value,
    shape: &'static Shape,
    path: &str,
    out: &mut Vec<Violation>,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    for constraint in own_failures(v, shape) {
        let enum_values = (constraint == ENUM_CONSTRAINT).then(|| enum_order(shape));
        out.push(Violation {
            path: path.to_string(),
            value: shown(v, shape),
            constraint,
            enum_values,
        });
    }
    match &shape.kind {
        Kind::Structure { members } => check_members(v, members, path, out, depth),
        Kind::List { member, .. } => {
            let Some(items) = v.as_array() else {
                return;
            };
            if is_scalar(member) {
                let failures = collect_failures(items.iter(), member);
                if !failures.is_empty() {
                    out.push(Violation {
                        path: path.to_string(),
                        value: shown(v, shape),
                        constraint: format!(
                            "Member must satisfy constraint: [{}]",
                            failures.join(", ")
                        ),
                        enum_values: None,
                    });
                }
            } else {
                for (i, item) in items.iter().enumerate() {
                    let item_path = format!("{}.member", join(path, &(i + 1).to_string()));
                    check_value(item, member, &item_path, out, depth + 1);
                }
            }
        }
        Kind::Map { key, value, .. } => {
            let Some(entries) = v.as_object() else {
                return;
            };
            let keys: Vec<Value> = entries.keys().map(|k| Value::String(k.clone())).collect();
            let key_failures = collect_failures(keys.iter(), key);
            if !key_failures.is_empty() {
                out.push(Violation {
                    path: path.to_string(),
                    value: shown(v, shape),
                    constraint: format!(
                        "Map keys must satisfy constraint: [{}]",
                        key_failures.join(", ")
                    ),
                    enum_values: None,
                });
            }
            if is_scalar(value) {
                let failures = collect_failures(entries.values(), value);
                if !failures.is_empty() {
                    out.push(Violation {
                        path: path.to_string(),
                        value: shown(v, shape),
                        constraint: format!(
                            "Map value must satisfy constraint: [{}]",
                            failures.join(", ")
                        ),
                        enum_values: None,
                    });
                }
            } else {
                for (k, item) in entries {
                    check_value(item, value, &join(path, k), out, depth + 1);
                }
            }
        }
        _ => {}
    }
}

fn check_members(
    v: &Value,
    members: &'static [Member],
    path: &str,
    out: &mut Vec<Violation>,
    depth: usize,
) {
    let obj = v.as_object();
    for m in members {
        let member_path = join(path, &lower_camel(m.name));
        match obj.and_then(|o| o.get(m.name)).filter(|x| !x.is_null()) {
            Some(x) => check_value(x, m.target, &member_path, out, depth + 1),
            None if m.required => out.push(Violation {
                path: member_path,
                value: ShownValue::Null,
                constraint: "Member must not be null".to_string(),
                enum_values: None,
            }),
            None => {}
        }
    }
}

fn is_scalar(shape: &Shape) -> bool {
    !matches!(
        shape.kind,
        Kind::Structure { .. } | Kind::List { .. } | Kind::Map { .. }
    )
}

/// The distinct failed constraints of a collection's scalar items, in first-seen order.
fn collect_failures<'a>(
    items: impl Iterator<Item = &'a Value>,
    shape: &'static Shape,
) -> Vec<String> {
    let mut failures: Vec<String> = Vec::new();
    for item in items {
        for f in own_failures(item, shape) {
            if !failures.contains(&f) {
                failures.push(f);
            }
        }
    }
    failures
}

/// Constraints of `shape` itself that `v` fails: length or range, then pattern, then enum.
fn own_failures(v: &Value, shape: &'static Shape) -> Vec<String> {
    let mut failures = Vec::new();
    let length = match (&shape.kind, v) {
        (Kind::String, Value::String(s)) => Some(s.chars().count() as i64),
        (Kind::Blob, Value::String(s)) => base64::engine::general_purpose::STANDARD
            .decode(s)
            .ok()
            .map(|b| b.len() as i64),
        (Kind::List { .. }, Value::Array(a)) => Some(a.len() as i64),
        (Kind::Map { .. }, Value::Object(m)) => Some(m.len() as i64),
        _ => None,
    };
    if let Some(len) = length {
        if let Some(max) = shape.max.filter(|max| len > *max) {
            failures.push(format!(
                "Member must have length less than or equal to {max}"
            ));
        }
        if let Some(min) = shape.min.filter(|min| len < *min) {
            failures.push(format!(
                "Member must have length greater than or equal to {min}"
            ));
        }
    }
    let numeric = matches!(
        shape.kind,
        Kind::Integer | Kind::Long | Kind::Float | Kind::Double
    );
    if let (true, Some(n)) = (numeric, v.as_f64()) {
        if let Some(max) = shape.max.filter(|max| n > *max as f64) {
            failures.push(format!(
                "Member must have value less than or equal to {max}"
            ));
        }
        if let Some(min) = shape.min.filter(|min| n < *min as f64) {
            failures.push(format!(
                "Member must have value greater than or equal to {min}"
            ));
        }
    }
    if let (Kind::String, Value::String(s)) = (&shape.kind, v) {
        if let Some(p) = shape.pattern {
            if !pattern::matches(p, s) {
                failures.push(format!(
                    "Member must satisfy regular expression pattern: {p}"
                ));
            }
        }
        // IAM's recorded answer (localstack snapshot `update-invalid-status`) names no values.
        if !shape.enum_values.is_empty() && !shape.enum_values.contains(&s.as_str()) {
            failures.push(ENUM_CONSTRAINT.to_string());
        }
    }
    failures
}

const ENUM_CONSTRAINT: &str = "Member must satisfy enum value set";

/// The values an enum violation lists, in AWS's order where the model's differs.
fn enum_order(shape: &'static Shape) -> &'static [&'static str] {
    if shape.enum_message_order.is_empty() {
        shape.enum_values
    } else {
        shape.enum_message_order
    }
}

fn shown(v: &Value, shape: &Shape) -> ShownValue {
    if contains_sensitive(shape, 0) {
        ShownValue::Hidden
    } else {
        ShownValue::Shown(display(v, 0))
    }
}

/// A collection or structure is echoed whole, so anything sensitive inside it hides it all.
fn contains_sensitive(shape: &Shape, depth: usize) -> bool {
    if shape.sensitive {
        return true;
    }
    if depth > MAX_DEPTH {
        return false;
    }
    match &shape.kind {
        Kind::Structure { members } => members
            .iter()
            .any(|m| contains_sensitive(m.target, depth + 1)),
        Kind::List { member, .. } => contains_sensitive(member, depth + 1),
        Kind::Map { key, value, .. } => {
            contains_sensitive(key, depth + 1) || contains_sensitive(value, depth + 1)
        }
        _ => false,
    }
}

/// Values as AWS's Java framework prints them: strings bare, lists `[a, b]`, maps `{k=v}`.
fn display(v: &Value, depth: usize) -> String {
    if depth > MAX_DEPTH {
        return "...".to_string();
    }
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(|x| display(x, depth + 1)).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Object(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, x)| format!("{k}={}", display(x, depth + 1)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        other => other.to_string(),
    }
}
