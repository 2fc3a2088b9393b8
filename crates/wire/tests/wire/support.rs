//! Shared helpers: leaked shapes built at run time, the test data folders, value comparison.

use std::path::PathBuf;

use base64::Engine;
use coffer_model::schema::{Kind, Member, Shape, TimestampFormat};
use serde_json::{Map, Value};

/// The repository's `testdata/` folder, where the conformance data lives (with its licences).
pub fn testdata_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

/// The AWS models the code generator reads (`data/aws-models/`).
pub fn models_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/aws-models")
}

pub fn leak<T>(v: T) -> &'static T {
    Box::leak(Box::new(v))
}

pub fn leak_slice<T>(v: Vec<T>) -> &'static [T] {
    Box::leak(v.into_boxed_slice())
}

pub fn plain(name: &str, kind: Kind) -> Shape {
    Shape {
        name: Box::leak(name.to_string().into_boxed_str()),
        kind,
        min: None,
        max: None,
        pattern: None,
        enum_values: &[],
        enum_message_order: &[],
        sensitive: false,
        timestamp_format: None,
        error: None,
    }
}

pub fn member(name: &str, target: &'static Shape) -> Member {
    Member {
        name: Box::leak(name.to_string().into_boxed_str()),
        target,
        required: false,
        location_name: None,
        flattened: false,
        idempotency_token: false,
        timestamp_format: None,
    }
}

pub fn string() -> &'static Shape {
    leak(plain("String", Kind::String))
}

pub fn structure(name: &str, members: Vec<Member>) -> &'static Shape {
    leak(plain(
        name,
        Kind::Structure {
            members: leak_slice(members),
        },
    ))
}

pub fn list_of(member: &'static Shape) -> &'static Shape {
    leak(plain(
        "List",
        Kind::List {
            member,
            member_name: "member",
            flattened: false,
        },
    ))
}

pub fn map_of(key: &'static Shape, value: &'static Shape) -> &'static Shape {
    leak(plain(
        "Map",
        Kind::Map {
            key,
            value,
            key_name: "key",
            value_name: "value",
            flattened: false,
        },
    ))
}

/// Converts a test's `params` (timestamps as epoch numbers, blobs as their UTF-8 text, ISO
/// strings in botocore fixtures) into the canonical value for `shape`.
pub fn canonical(v: &Value, shape: &'static Shape, blob_is_text: bool) -> Value {
    match (&shape.kind, v) {
        (Kind::Structure { members }, Value::Object(obj)) => {
            let mut out = Map::new();
            for (k, x) in obj {
                match members.iter().find(|m| m.name == k) {
                    Some(m) => {
                        out.insert(k.clone(), canonical(x, m.target, blob_is_text));
                    }
                    None => {
                        out.insert(k.clone(), x.clone());
                    }
                }
            }
            Value::Object(out)
        }
        (Kind::List { member, .. }, Value::Array(items)) => Value::Array(
            items
                .iter()
                .map(|x| canonical(x, member, blob_is_text))
                .collect(),
        ),
        (Kind::Map { value, .. }, Value::Object(obj)) => Value::Object(
            obj.iter()
                .map(|(k, x)| (k.clone(), canonical(x, value, blob_is_text)))
                .collect(),
        ),
        (Kind::Blob, Value::String(s)) if blob_is_text => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(s.as_bytes()))
        }
        (Kind::Timestamp, Value::String(s)) => {
            let t = chrono::DateTime::parse_from_rfc3339(s).expect("fixture timestamp");
            let millis = t.timestamp_millis();
            if millis % 1000 == 0 {
                Value::from(millis / 1000)
            } else {
                Value::from(millis as f64 / 1000.0)
            }
        }
        _ => v.clone(),
    }
}

/// JSON equality where numbers compare by value (`5` equals `5.0`).
pub fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_json(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k.as_str()).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

#[allow(dead_code)]
pub fn timestamp_member(name: &str, format: Option<TimestampFormat>) -> Member {
    let ts = leak(plain("Timestamp", Kind::Timestamp));
    Member {
        timestamp_format: format,
        ..member(name, ts)
    }
}
