//! `coffer admin audit`: the records of a trail that match filters, as `aws cloudtrail
//! lookup-events` selects events (every filter given must match): by principal, event name,
//! event source, access key, secret, read-only or not, and time range.

use std::io::Write;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::AuditError;
use crate::event::Event;
use crate::files::read_in_chain_order;

#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// The caller: `userIdentity.arn`, `principalId` or `userName` (lookup-events' `Username`).
    pub principal: Option<String>,
    pub event_name: Option<String>,
    pub event_source: Option<String>,
    pub access_key_id: Option<String>,
    /// A Secrets Manager secret, by name or ARN: the secret a request named (`secretId`, `name`,
    /// `secretIdList`) or that a response returned (`arn`, `name`).
    pub secret: Option<String>,
    pub read_only: Option<bool>,
    /// Inclusive.
    pub start_time: Option<DateTime<Utc>>,
    /// Inclusive.
    pub end_time: Option<DateTime<Utc>>,
}

impl Filter {
    pub fn matches(&self, event: &Event) -> bool {
        let identity = &event.user_identity;
        let principal_matches = self.principal.as_deref().is_none_or(|p| {
            [&identity.arn, &identity.principal_id, &identity.user_name]
                .into_iter()
                .any(|field| field.as_deref() == Some(p))
        });
        let time = DateTime::parse_from_rfc3339(&event.event_time).map(|t| t.with_timezone(&Utc));
        let in_time = match (&time, self.start_time, self.end_time) {
            (_, None, None) => true,
            (Ok(t), start, end) => start.is_none_or(|s| *t >= s) && end.is_none_or(|e| *t <= e),
            (Err(_), _, _) => false,
        };
        principal_matches
            && in_time
            && self
                .event_name
                .as_deref()
                .is_none_or(|n| event.event_name == n)
            && self
                .event_source
                .as_deref()
                .is_none_or(|s| event.event_source == s)
            && self
                .access_key_id
                .as_deref()
                .is_none_or(|k| identity.access_key_id.as_deref() == Some(k))
            && self.read_only.is_none_or(|r| event.read_only == r)
            && self
                .secret
                .as_deref()
                .is_none_or(|s| names_secret(event, s))
    }
}

fn names_secret(event: &Event, wanted: &str) -> bool {
    if event.event_source != "secretsmanager.amazonaws.com" {
        return false;
    }
    let mut named: Vec<&str> = Vec::new();
    for elements in [&event.request_parameters, &event.response_elements]
        .into_iter()
        .flatten()
    {
        for member in ["secretId", "name", "arn"] {
            if let Some(Value::String(s)) = elements.get(member) {
                named.push(s);
            }
        }
        if let Some(Value::Array(ids)) = elements.get("secretIdList") {
            named.extend(ids.iter().filter_map(Value::as_str));
        }
    }
    let wanted_name = secret_name(wanted);
    named
        .into_iter()
        .any(|n| n == wanted || secret_name(n) == wanted_name)
}

/// The secret's name from its ARN (`arn:aws:secretsmanager:R:A:secret:NAME-AbCdEf`), or the
/// text itself when it is a name.
fn secret_name(id: &str) -> &str {
    let Some((_, name)) = id
        .strip_prefix("arn:")
        .and_then(|rest| rest.split_once(":secret:"))
    else {
        return id;
    };
    // The six random characters AWS appends, when present.
    match name.rsplit_once('-') {
        Some((base, suffix))
            if suffix.len() == 6 && suffix.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            base
        }
        _ => name,
    }
}

/// What a lookup read.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LookupSummary {
    pub matched: u64,
    pub read: u64,
    /// Lines that are not records (reported by `verify-audit`).
    pub skipped: u64,
}

/// Writes every record of `paths` (taken in chain order) that `filter` matches to `out`, one JSON
/// line each, exactly as stored.
pub fn lookup(
    paths: &[PathBuf],
    filter: &Filter,
    out: &mut dyn Write,
) -> Result<LookupSummary, AuditError> {
    let mut summary = LookupSummary::default();
    for file in read_in_chain_order(paths)? {
        for line in &file.lines {
            let event = line.sealed.as_ref().ok().and_then(|sealed| {
                serde_json::from_slice::<Event>(&sealed.event_json(&line.bytes)).ok()
            });
            let Some(event) = event else {
                summary.skipped += 1;
                continue;
            };
            summary.read += 1;
            if filter.matches(&event) {
                summary.matched += 1;
                out.write_all(&line.bytes)
                    .and_then(|()| out.write_all(b"\n"))
                    .map_err(|e| AuditError::Stdout(e.to_string()))?;
            }
        }
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_come_out_of_arns() {
        assert_eq!(
            secret_name("arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbC123"),
            "prod/db"
        );
        assert_eq!(
            secret_name("arn:aws:secretsmanager:us-east-1:1:secret:db"),
            "db"
        );
        assert_eq!(secret_name("prod/db"), "prod/db");
        assert_eq!(secret_name("a-b"), "a-b");
    }
}
