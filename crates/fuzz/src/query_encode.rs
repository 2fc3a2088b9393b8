//! A reference AWS Query serializer (what botocore's `QuerySerializer` does): a canonical input
//! value to `Name.member.1.Key=value` parameters, and parameters to a form body. The Query
//! target decodes what it encodes and expects the value it started from.

use coffer_model::schema::{Kind, Member, Shape, TimestampFormat};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

/// RFC 3986 unreserved characters stay; everything else is escaped, as SDKs do.
const FORM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

pub fn encode_input(value: &Value, shape: &'static Shape) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Kind::Structure { members } = &shape.kind {
        encode_members(&mut out, "", members, value);
    }
    out
}

pub fn form_body(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, FORM),
                utf8_percent_encode(v, FORM)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn join(prefix: &str, segment: &str) -> String {
    if prefix.is_empty() {
        segment.to_string()
    } else {
        format!("{prefix}.{segment}")
    }
}

fn encode_members(
    out: &mut Vec<(String, String)>,
    prefix: &str,
    members: &'static [Member],
    value: &Value,
) {
    let Some(obj) = value.as_object() else {
        return;
    };
    for m in members {
        if let Some(v) = obj.get(m.name).filter(|v| !v.is_null()) {
            let key = join(prefix, m.wire_name());
            encode_value(out, &key, m.target, m.timestamp_format, m.flattened, v);
        }
    }
}

fn encode_value(
    out: &mut Vec<(String, String)>,
    key: &str,
    shape: &'static Shape,
    timestamp_format: Option<TimestampFormat>,
    member_flattened: bool,
    value: &Value,
) {
    match &shape.kind {
        Kind::Structure { members } => encode_members(out, key, members, value),
        Kind::List {
            member,
            member_name,
            flattened,
        } => {
            let items = value.as_array().map(Vec::as_slice).unwrap_or_default();
            if items.is_empty() {
                // An empty list travels as `Name=`.
                out.push((key.to_string(), String::new()));
                return;
            }
            let prefix = if member_flattened || *flattened {
                key.to_string()
            } else {
                join(key, member_name)
            };
            for (i, item) in items.iter().enumerate() {
                encode_value(
                    out,
                    &join(&prefix, &(i + 1).to_string()),
                    member,
                    None,
                    false,
                    item,
                );
            }
        }
        Kind::Map {
            value: value_shape,
            key_name,
            value_name,
            flattened,
            ..
        } => {
            let Some(entries) = value.as_object() else {
                return;
            };
            let prefix = if member_flattened || *flattened {
                key.to_string()
            } else {
                join(key, "entry")
            };
            for (i, (k, v)) in entries.iter().enumerate() {
                let entry = join(&prefix, &(i + 1).to_string());
                out.push((join(&entry, key_name), k.clone()));
                encode_value(out, &join(&entry, value_name), value_shape, None, false, v);
            }
        }
        Kind::Timestamp => {
            let format = timestamp_format
                .or(shape.timestamp_format)
                .unwrap_or(TimestampFormat::DateTime);
            out.push((key.to_string(), timestamp_text(value, format)));
        }
        _ => {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.push((key.to_string(), text));
        }
    }
}

/// A canonical epoch-seconds number as the member's wire format, millisecond precision.
fn timestamp_text(value: &Value, format: TimestampFormat) -> String {
    let millis = match value.as_i64() {
        Some(secs) => secs.saturating_mul(1000),
        None => (value.as_f64().unwrap_or(0.0) * 1000.0).round() as i64,
    };
    let Some(t) = chrono::DateTime::from_timestamp_millis(millis) else {
        return value.to_string();
    };
    match format {
        TimestampFormat::DateTime => t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        TimestampFormat::HttpDate => t.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        TimestampFormat::EpochSeconds => value.to_string(),
    }
}
