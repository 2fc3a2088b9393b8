//! Target `xml_output`: the Query XML encoder (`encode_query_response`) round trip.
//!
//! Input: `<Service.Operation>\n<payload>`. When the payload is JSON, it is the canonical output
//! value (members of the wrong type dropped); otherwise its bytes drive a generator that builds
//! a well-typed output value for the operation's output shape.
//!
//! Properties:
//! - the response is well-formed XML 1.0: tags nest and match, and no character XML cannot carry
//!   (C0 controls, U+FFFE, U+FFFF) reaches the document, so any client's parser accepts it;
//! - the root is `<{Op}Response>` in the service's namespace, with the result wrapper and the
//!   request id (escaped and read back intact);
//! - decoding the XML by the shape, as an SDK does, gives back the value: strings as sent (the
//!   characters XML cannot carry become U+FFFD, as documented), numbers, booleans, timestamps to
//!   the millisecond, lists, maps and structures;
//! - encoding is deterministic.

use base64::Engine;
use chrono::{DateTime, Utc};
use coffer_model::schema::{Kind, Member, Shape, TimestampFormat};
use coffer_wire::encode_query_response;
use quick_xml::events::Event;
use serde_json::{Map, Number, Value};

use crate::operations::{self, Op};
use crate::split::{first_line, Choices};

/// Earliest and latest instants with a four-digit year, the range ISO 8601 timestamps (and so
/// every SDK's parser) cover.
const MIN_EPOCH_SECONDS: i64 = -62_135_596_800;
const MAX_EPOCH_SECONDS: i64 = 253_402_300_799;
/// Generated values nest at most this deep; recursive shapes stop growing here.
const MAX_GENERATED_DEPTH: usize = 6;

pub fn run(data: &[u8]) {
    let (target, payload) = first_line(data);
    let op = std::str::from_utf8(target)
        .ok()
        .and_then(operations::by_target)
        .unwrap_or_else(|| operations::by_hash(target));

    let mut choices = Choices::new(payload);
    let (output, request_id) = match serde_json::from_slice::<Value>(payload) {
        Ok(json) => (
            op.op
                .output
                .map(|shape| coerce(&json, shape, 0).unwrap_or(Value::Null))
                .unwrap_or(Value::Null),
            "fuzz-request".to_string(),
        ),
        Err(_) => {
            let request_id = choices.string(48);
            let output = op
                .op
                .output
                .map(|shape| generate(&mut choices, shape, 0))
                .unwrap_or(Value::Null);
            (output, request_id)
        }
    };

    let xml = encode_query_response(op.service, op.op, &output, &request_id);
    assert_eq!(
        xml,
        encode_query_response(op.service, op.op, &output, &request_id),
        "encoding is not deterministic"
    );
    let root = assert_well_formed(&xml);
    check_document(op, &root, &output, &request_id, &xml);
}

/// Parses `xml` into a tree, panicking unless it is a well-formed XML 1.0 document whose text
/// contains only characters XML allows.
pub fn assert_well_formed(xml: &[u8]) -> Element {
    let text = std::str::from_utf8(xml).expect("the XML is UTF-8");
    if let Some(bad) = text.chars().find(|c| !is_xml_char(*c)) {
        panic!(
            "character U+{:04X} cannot appear in XML 1.0: {text:?}",
            bad as u32
        );
    }
    let mut reader = quick_xml::Reader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                assert!(root.is_none(), "content after the root element: {text}");
                stack.push(Element::new(e.name().into_inner()));
            }
            Ok(Event::Empty(e)) => {
                let element = Element::new(e.name().into_inner());
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = Some(element),
                }
            }
            Ok(Event::End(_)) => {
                let element = stack.pop().expect("end without start");
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = Some(element),
                }
            }
            Ok(Event::Text(t)) => {
                let unescaped = t
                    .unescape()
                    .unwrap_or_else(|e| panic!("bad escape in {text:?}: {e}"));
                match stack.last_mut() {
                    Some(parent) => parent.text.push_str(&unescaped),
                    None => assert!(
                        unescaped.trim().is_empty(),
                        "text outside the root: {text:?}"
                    ),
                }
            }
            Ok(Event::Eof) => break,
            Ok(Event::Decl(_) | Event::Comment(_) | Event::PI(_)) => {}
            Ok(other) => panic!("unexpected XML event {other:?} in {text:?}"),
            Err(e) => panic!("malformed XML ({e}): {text:?}"),
        }
    }
    assert!(stack.is_empty(), "unclosed elements in {text:?}");
    root.unwrap_or_else(|| panic!("no root element in {text:?}"))
}

/// XML 1.0's `Char` production.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// An element of a parsed response: name, child elements in order, and its own text.
#[derive(Debug)]
pub struct Element {
    pub name: String,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    fn new(name: &[u8]) -> Self {
        Element {
            name: String::from_utf8_lossy(name).into_owned(),
            children: Vec::new(),
            text: String::new(),
        }
    }

    fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
}

fn check_document(op: Op, root: &Element, output: &Value, request_id: &str, xml: &[u8]) {
    let xml = String::from_utf8_lossy(xml);
    assert_eq!(root.name, format!("{}Response", op.op.name), "{xml}");
    let metadata = root.child("ResponseMetadata").expect("ResponseMetadata");
    let id = metadata.child("RequestId").expect("RequestId");
    assert_eq!(id.text, xml_text(request_id), "request id in {xml}");

    let Some(shape) = op.op.output else {
        assert_eq!(root.children.len(), 1, "no result expected: {xml}");
        return;
    };
    let wrapper_name = match op.op.result_wrapper {
        Some(name) => name.to_string(),
        None => format!("{}Result", op.op.name),
    };
    let wrapper = root.child(&wrapper_name).expect("result wrapper");
    let Kind::Structure { members } = &shape.kind else {
        return;
    };
    let decoded = decode_members(wrapper, members);
    let expected = match expected_members(output, members) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    assert_eq!(
        Value::Object(decoded),
        Value::Object(expected),
        "{}: XML does not decode to the encoded value: {xml}",
        op.op.name
    );
}

// ---------------------------------------------------------------------------------------------
// The value an SDK reads back, and the value it must equal.

fn decode_members(element: &Element, members: &'static [Member]) -> Map<String, Value> {
    let mut out = Map::new();
    for m in members {
        let flattened = m.flattened || is_flattened(m.target);
        let value = if flattened {
            let items: Vec<&Element> = element.all(m.wire_name()).collect();
            (!items.is_empty()).then(|| decode_flattened(&items, m.target))
        } else {
            element
                .child(m.wire_name())
                .map(|child| decode_value(child, m.target, m.timestamp_format))
        };
        if let Some(v) = value {
            out.insert(m.name.to_string(), v);
        }
    }
    out
}

fn is_flattened(shape: &Shape) -> bool {
    matches!(
        shape.kind,
        Kind::List {
            flattened: true,
            ..
        } | Kind::Map {
            flattened: true,
            ..
        }
    )
}

fn decode_flattened(items: &[&Element], shape: &'static Shape) -> Value {
    match &shape.kind {
        Kind::List { member, .. } => Value::Array(
            items
                .iter()
                .map(|item| decode_value(item, member, None))
                .collect(),
        ),
        Kind::Map {
            key_name,
            value_name,
            value,
            ..
        } => Value::Object(decode_entries(items, key_name, value_name, value)),
        _ => Value::Null,
    }
}

fn decode_entries(
    entries: &[&Element],
    key_name: &str,
    value_name: &str,
    value_shape: &'static Shape,
) -> Map<String, Value> {
    let mut out = Map::new();
    for entry in entries {
        let key = entry
            .child(key_name)
            .map(|k| k.text.clone())
            .unwrap_or_default();
        if let Some(v) = entry.child(value_name) {
            // Two keys that differ only in characters XML cannot carry arrive equal: the first
            // stays, as in `expected_value`.
            out.entry(key)
                .or_insert_with(|| decode_value(v, value_shape, None));
        }
    }
    out
}

fn decode_value(
    element: &Element,
    shape: &'static Shape,
    timestamp_format: Option<TimestampFormat>,
) -> Value {
    let text = element.text.as_str();
    match &shape.kind {
        Kind::Structure { members } => Value::Object(decode_members(element, members)),
        Kind::List {
            member,
            member_name,
            ..
        } => Value::Array(
            element
                .all(member_name)
                .map(|item| decode_value(item, member, None))
                .collect(),
        ),
        Kind::Map {
            key_name,
            value_name,
            value,
            ..
        } => {
            let entries: Vec<&Element> = element.all("entry").collect();
            Value::Object(decode_entries(&entries, key_name, value_name, value))
        }
        Kind::String | Kind::Blob => Value::String(text.to_string()),
        Kind::Boolean => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            other => panic!("boolean written as {other:?}"),
        },
        Kind::Integer | Kind::Long => Value::from(
            text.parse::<i64>()
                .unwrap_or_else(|_| panic!("integer written as {text:?}")),
        ),
        Kind::Float | Kind::Double => match text {
            "NaN" | "Infinity" | "-Infinity" => Value::String(text.to_string()),
            _ => float(
                text.parse::<f64>()
                    .unwrap_or_else(|_| panic!("number written as {text:?}")),
            ),
        },
        Kind::Timestamp => {
            let format = timestamp_format
                .or(shape.timestamp_format)
                .unwrap_or(TimestampFormat::DateTime);
            let parsed = match format {
                TimestampFormat::DateTime => DateTime::parse_from_rfc3339(text)
                    .ok()
                    .map(|t| t.with_timezone(&Utc)),
                TimestampFormat::HttpDate => DateTime::parse_from_rfc2822(text)
                    .ok()
                    .map(|t| t.with_timezone(&Utc)),
                TimestampFormat::EpochSeconds => {
                    text.parse::<f64>().ok().and_then(|f| instant(&float(f)))
                }
            };
            epoch_value(parsed.unwrap_or_else(|| panic!("timestamp written as {text:?}")))
        }
    }
}

/// What the decoded XML must equal: `value` without nulls, strings as XML carries them, numbers
/// of floating shapes as floats, timestamps at the precision of their format.
fn expected_members(value: &Value, members: &'static [Member]) -> Value {
    let mut out = Map::new();
    let Some(obj) = value.as_object() else {
        return Value::Object(out);
    };
    for m in members {
        let Some(v) = obj.get(m.name).filter(|v| !v.is_null()) else {
            continue;
        };
        let flattened = m.flattened || is_flattened(m.target);
        let expected = expected_value(v, m.target, m.timestamp_format);
        // A flattened collection with no items leaves no element behind.
        let vanished = flattened
            && match &expected {
                Value::Array(items) => items.is_empty(),
                Value::Object(entries) => entries.is_empty(),
                _ => false,
            };
        if !vanished {
            out.insert(m.name.to_string(), expected);
        }
    }
    Value::Object(out)
}

fn expected_value(
    value: &Value,
    shape: &'static Shape,
    timestamp_format: Option<TimestampFormat>,
) -> Value {
    match &shape.kind {
        Kind::Structure { members } => expected_members(value, members),
        Kind::List { member, .. } => Value::Array(
            value
                .as_array()
                .into_iter()
                .flatten()
                .filter(|v| !v.is_null())
                .map(|v| expected_value(v, member, None))
                .collect(),
        ),
        Kind::Map {
            value: value_shape, ..
        } => {
            let mut out = Map::new();
            for (k, v) in value.as_object().into_iter().flatten() {
                if !v.is_null() {
                    out.entry(xml_text(k))
                        .or_insert_with(|| expected_value(v, value_shape, None));
                }
            }
            Value::Object(out)
        }
        Kind::String | Kind::Blob => Value::String(xml_text(value.as_str().unwrap_or_default())),
        Kind::Float | Kind::Double => match value {
            Value::Number(n) => float(n.as_f64().unwrap_or_default()),
            other => other.clone(),
        },
        Kind::Timestamp => {
            let format = timestamp_format
                .or(shape.timestamp_format)
                .unwrap_or(TimestampFormat::DateTime);
            let t = instant(value).expect("generated timestamps are in range");
            let t = if format == TimestampFormat::HttpDate {
                // The HTTP date format has whole seconds.
                DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
            } else {
                t
            };
            epoch_value(t)
        }
        _ => value.clone(),
    }
}

/// `text` as an XML document carries it: the characters XML 1.0 cannot represent become U+FFFD
/// (the encoder's documented substitution).
fn xml_text(text: &str) -> String {
    text.chars()
        .map(|c| if is_xml_char(c) { c } else { '\u{FFFD}' })
        .collect()
}

fn float(f: f64) -> Value {
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// The instant of a canonical epoch-seconds number, to the millisecond.
fn instant(v: &Value) -> Option<DateTime<Utc>> {
    if let Some(i) = v.as_i64() {
        return DateTime::from_timestamp(i, 0);
    }
    let millis = (v.as_f64()? * 1000.0).round();
    if !millis.is_finite() || millis.abs() > 1e17 {
        return None;
    }
    DateTime::from_timestamp_millis(millis as i64)
}

/// The canonical number of an instant: whole seconds as an integer, else seconds with
/// milliseconds.
fn epoch_value(t: DateTime<Utc>) -> Value {
    let millis = t.timestamp_subsec_millis();
    if millis == 0 {
        Value::from(t.timestamp())
    } else {
        float(t.timestamp() as f64 + f64::from(millis) / 1000.0)
    }
}

// ---------------------------------------------------------------------------------------------
// Output values: from JSON seeds, and generated from bytes.

/// `json` restricted to what `shape` allows: members of the wrong type are dropped, timestamps
/// must fall in the four-digit-year range.
fn coerce(json: &Value, shape: &'static Shape, depth: usize) -> Option<Value> {
    if depth > MAX_GENERATED_DEPTH * 2 {
        return None;
    }
    match (&shape.kind, json) {
        (Kind::Structure { members }, Value::Object(obj)) => {
            let mut out = Map::new();
            for m in *members {
                if let Some(v) = obj.get(m.name).and_then(|v| coerce(v, m.target, depth + 1)) {
                    out.insert(m.name.to_string(), v);
                }
            }
            Some(Value::Object(out))
        }
        (Kind::List { member, .. }, Value::Array(items)) => Some(Value::Array(
            items
                .iter()
                .filter_map(|v| coerce(v, member, depth + 1))
                .collect(),
        )),
        (Kind::Map { value, .. }, Value::Object(obj)) => Some(Value::Object(
            obj.iter()
                .filter_map(|(k, v)| Some((k.clone(), coerce(v, value, depth + 1)?)))
                .collect(),
        )),
        (Kind::String | Kind::Blob, Value::String(_)) => Some(json.clone()),
        (Kind::Boolean, Value::Bool(_)) => Some(json.clone()),
        (Kind::Integer | Kind::Long, Value::Number(n)) => n.as_i64().map(Value::from),
        (Kind::Float | Kind::Double, Value::Number(_)) => Some(json.clone()),
        (Kind::Float | Kind::Double, Value::String(s))
            if matches!(s.as_str(), "NaN" | "Infinity" | "-Infinity") =>
        {
            Some(json.clone())
        }
        (Kind::Timestamp, Value::Number(_)) => instant(json)
            .filter(|t| (MIN_EPOCH_SECONDS..=MAX_EPOCH_SECONDS).contains(&t.timestamp()))
            .map(|_| json.clone()),
        _ => None,
    }
}

fn generate(choices: &mut Choices, shape: &'static Shape, depth: usize) -> Value {
    match &shape.kind {
        Kind::Structure { members } => {
            let mut out = Map::new();
            if depth < MAX_GENERATED_DEPTH {
                for m in *members {
                    if choices.bool() {
                        let v = generate(choices, m.target, depth + 1);
                        out.insert(m.name.to_string(), v);
                    }
                }
            }
            Value::Object(out)
        }
        Kind::List { member, .. } => {
            let len = if depth < MAX_GENERATED_DEPTH {
                choices.below(4)
            } else {
                0
            };
            Value::Array(
                (0..len)
                    .map(|_| generate(choices, member, depth + 1))
                    .collect(),
            )
        }
        Kind::Map { key, value, .. } => {
            let len = if depth < MAX_GENERATED_DEPTH {
                choices.below(4)
            } else {
                0
            };
            let mut out = Map::new();
            for _ in 0..len {
                let k = match generate(choices, key, depth + 1) {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                out.insert(k, generate(choices, value, depth + 1));
            }
            Value::Object(out)
        }
        Kind::String => match shape.enum_values {
            values if !values.is_empty() && choices.bool() => Value::from(choices.pick(values)),
            _ => Value::String(choices.string(40)),
        },
        Kind::Blob => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(choices.bytes(24)))
        }
        Kind::Boolean => Value::Bool(choices.bool()),
        Kind::Integer => Value::from(choices.u32() as i32),
        Kind::Long => Value::from(choices.u64() as i64),
        Kind::Float | Kind::Double => match choices.below(8) {
            0 => Value::from(choices.pick(&["NaN", "Infinity", "-Infinity"])),
            _ => {
                let f = f64::from_bits(choices.u64());
                if f.is_finite() {
                    float(f)
                } else {
                    float(f64::from(choices.u32()))
                }
            }
        },
        Kind::Timestamp => {
            let span = (MAX_EPOCH_SECONDS - MIN_EPOCH_SECONDS) as u64;
            let secs = MIN_EPOCH_SECONDS + (choices.u64() % span) as i64;
            let t = if choices.bool() {
                DateTime::from_timestamp(secs, 0)
            } else {
                DateTime::from_timestamp_millis(secs * 1000 + i64::from(choices.u16() % 1000))
            };
            epoch_value(t.unwrap_or_default())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::SecondsFormat;

    #[test]
    fn rejects_characters_xml_cannot_carry() {
        let result = std::panic::catch_unwind(|| assert_well_formed(b"<a>\x01</a>"));
        assert!(result.is_err());
        let result = std::panic::catch_unwind(|| assert_well_formed(b"<a><b></a>"));
        assert!(result.is_err());
        let root = assert_well_formed(b"<a><b>x&amp;&#xD;</b></a>");
        assert_eq!(root.children[0].text, "x&\r");
    }

    #[test]
    fn timestamps_keep_milliseconds() {
        let t = instant(&serde_json::json!(1310414129.611)).unwrap();
        assert_eq!(
            t.to_rfc3339_opts(SecondsFormat::Millis, true),
            "2011-07-11T19:55:29.611Z"
        );
        assert_eq!(epoch_value(t), serde_json::json!(1310414129.611));
    }
}
