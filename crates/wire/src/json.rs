//! AWS JSON 1.1 bodies: decoding input against the shape, encoding output and errors.

use base64::Engine;
use coffer_model::schema::{Kind, Member, Shape, TimestampFormat};
use coffer_model::AwsError;
use serde_json::{Map, Value};

use crate::error::WireError;
use crate::limits::MAX_DEPTH;
use crate::timestamp;

/// Decodes a JSON 1.1 request body into the canonical input value.
///
/// An empty body is `{}`. Unparsable JSON is `SerializationException` without a message (our
/// sources record no AWS wording for it, and a parser's position details help nobody); a body
/// that is not an object, or a member of the wrong JSON type, is `SerializationException` with
/// messages in the style of AWS's Java framework (`Start of structure or map found where not
/// expected.` is quoted from AWS in mhart/kinesalite#101; `STRING_VALUE can not be converted to
/// an Integer` follows the same framework's wording). `null` members mean absent, unknown
/// members are dropped, and nesting deeper than serde_json's recursion limit (128) is refused by
/// the parser, so no input can exhaust the stack.
pub fn decode_json_input(body: &[u8], input: Option<&'static Shape>) -> Result<Value, WireError> {
    let parsed: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(body).map_err(|_| WireError::Serialization(None))?
    };
    if !parsed.is_object() {
        return Err(unexpected(&parsed));
    }
    let Some(shape) = input else {
        return Ok(Value::Object(Map::new()));
    };
    Ok(decode_value(&parsed, shape, None, 0)?.unwrap_or_else(|| Value::Object(Map::new())))
}

fn unexpected(found: &Value) -> WireError {
    let message = match found {
        Value::Object(_) => "Start of structure or map found where not expected.".to_string(),
        Value::Array(_) => "Start of list found where not expected".to_string(),
        Value::String(_) => "STRING_VALUE can not be converted to the expected type".to_string(),
        Value::Number(_) => "NUMBER_VALUE can not be converted to the expected type".to_string(),
        Value::Bool(_) => "BOOLEAN_VALUE can not be converted to the expected type".to_string(),
        Value::Null => "Unexpected null value".to_string(),
    };
    WireError::Serialization(Some(message))
}

fn converted(found: &Value, target: &str) -> WireError {
    let kind = match found {
        Value::String(_) => "STRING_VALUE",
        Value::Number(_) => "NUMBER_VALUE",
        Value::Bool(_) => "BOOLEAN_VALUE",
        Value::Array(_) => return unexpected(found),
        Value::Object(_) => return unexpected(found),
        Value::Null => "NULL_VALUE",
    };
    WireError::Serialization(Some(format!("{kind} can not be converted to {target}")))
}

fn decode_value(
    v: &Value,
    shape: &'static Shape,
    timestamp_format: Option<TimestampFormat>,
    depth: usize,
) -> Result<Option<Value>, WireError> {
    if v.is_null() {
        return Ok(None);
    }
    if depth > MAX_DEPTH {
        return Err(WireError::Serialization(Some(
            "The request is nested too deeply.".to_string(),
        )));
    }
    let out = match &shape.kind {
        Kind::Structure { members } => {
            let obj = v.as_object().ok_or_else(|| converted(v, "a structure"))?;
            Value::Object(decode_members(obj, members, depth)?)
        }
        Kind::List { member, .. } => {
            let items = v.as_array().ok_or_else(|| converted(v, "a list"))?;
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                if let Some(x) = decode_value(item, member, None, depth + 1)? {
                    out.push(x);
                }
            }
            Value::Array(out)
        }
        Kind::Map { value, .. } => {
            let entries = v.as_object().ok_or_else(|| converted(v, "a map"))?;
            let mut out = Map::new();
            for (k, item) in entries {
                if let Some(x) = decode_value(item, value, None, depth + 1)? {
                    out.insert(k.clone(), x);
                }
            }
            Value::Object(out)
        }
        Kind::String => match v {
            Value::String(_) => v.clone(),
            _ => return Err(converted(v, "a String")),
        },
        Kind::Boolean => match v {
            Value::Bool(_) => v.clone(),
            _ => return Err(converted(v, "a Boolean")),
        },
        Kind::Integer => integer(v, i64::from(i32::MIN), i64::from(i32::MAX), "an Integer")?,
        Kind::Long => integer(v, i64::MIN, i64::MAX, "a Long")?,
        Kind::Float | Kind::Double => match v {
            Value::Number(_) => v.clone(),
            Value::String(s) => match s.as_str() {
                "NaN" | "Infinity" | "-Infinity" => v.clone(),
                _ => return Err(converted(v, "a Double")),
            },
            _ => return Err(converted(v, "a Double")),
        },
        Kind::Timestamp => decode_timestamp(v, timestamp_format.or(shape.timestamp_format))?,
        Kind::Blob => match v {
            Value::String(s) => {
                let engine = &base64::engine::general_purpose::STANDARD;
                let bytes = engine.decode(s).map_err(|_| {
                    WireError::Serialization(Some(
                        "Base64 encoded binary data could not be decoded".to_string(),
                    ))
                })?;
                Value::String(engine.encode(bytes))
            }
            _ => return Err(converted(v, "a ByteBuffer")),
        },
    };
    Ok(Some(out))
}

fn decode_members(
    obj: &Map<String, Value>,
    members: &'static [Member],
    depth: usize,
) -> Result<Map<String, Value>, WireError> {
    let mut out = Map::new();
    for m in members {
        // JSON 1.1 names members by their model name; `jsonName` is not honoured by awsJson1_1.
        let Some(v) = obj.get(m.name) else {
            continue;
        };
        if let Some(x) = decode_value(v, m.target, m.timestamp_format, depth + 1)? {
            out.insert(m.name.to_string(), x);
        }
    }
    Ok(out)
}

fn integer(v: &Value, min: i64, max: i64, target: &str) -> Result<Value, WireError> {
    match v.as_i64() {
        Some(i) if (min..=max).contains(&i) => Ok(Value::from(i)),
        _ => Err(converted(v, target)),
    }
}

/// JSON 1.1 timestamps are epoch seconds unless the model overrides the format; the canonical
/// value is always epoch seconds.
fn decode_timestamp(v: &Value, format: Option<TimestampFormat>) -> Result<Value, WireError> {
    let format = format.unwrap_or(TimestampFormat::EpochSeconds);
    let parsed = match (format, v) {
        (TimestampFormat::EpochSeconds, Value::Number(_)) => timestamp::from_epoch_value(v),
        (TimestampFormat::DateTime | TimestampFormat::HttpDate, Value::String(s)) => {
            timestamp::parse(s, format)
        }
        _ => return Err(converted(v, "a Date")),
    };
    match parsed {
        Some(t) => Ok(timestamp::to_epoch_value(t)),
        None => Err(converted(v, "a Date")),
    }
}

/// The response body: `output` with `null` members omitted at every level. AWS sends an empty
/// body when the operation has no output, which callers express as `Value::Null`.
pub fn encode_json_response(output: &Value) -> Vec<u8> {
    if output.is_null() {
        return Vec::new();
    }
    serde_json::to_vec(&WithoutNulls(output, 0)).unwrap_or_default()
}

/// Serializes a value with its null members left out, as AWS omits absent members, without
/// copying it (the copy would be one more of the secret value in memory, and a third of the
/// encoding's cost).
struct WithoutNulls<'a>(&'a Value, usize);

impl serde::Serialize for WithoutNulls<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        let WithoutNulls(value, depth) = *self;
        if depth > MAX_DEPTH * 4 {
            return serializer.serialize_unit();
        }
        match value {
            Value::Object(members) => {
                let mut map = serializer.serialize_map(None)?;
                for (k, v) in members.iter().filter(|(_, v)| !v.is_null()) {
                    map.serialize_entry(k, &WithoutNulls(v, depth + 1))?;
                }
                map.end()
            }
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for v in items {
                    seq.serialize_element(&WithoutNulls(v, depth + 1))?;
                }
                seq.end()
            }
            other => other.serialize(serializer),
        }
    }
}

/// Errors raised by AWS's request front end (authentication) rather than by the service. They are
/// written with a lower-case `message` (docs/protocol-facts.md fact 22, aws/aws-sdk-php-laravel#228).
const FRONT_END_CODES: &[&str] = &[
    "MissingAuthenticationTokenException",
    "IncompleteSignatureException",
    "InvalidSignatureException",
    "UnrecognizedClientException",
    "ExpiredTokenException",
    // The front end's throttle (`com.amazon.coral.availability#ThrottlingException`).
    "ThrottlingException",
];

/// `{"__type":"Code","Message":"…"}`: the bare code, as AWS JSON 1.1 servers send it, and
/// `Message` with a capital M as Secrets Manager's modelled errors have it (`message` for the
/// front end's authentication errors).
pub fn encode_json_error(err: &AwsError) -> Vec<u8> {
    let mut body = Map::new();
    body.insert("__type".to_string(), Value::String(err.code.to_string()));
    if let Some(message) = &err.message {
        let key = if FRONT_END_CODES.contains(&err.code.as_ref()) {
            "message"
        } else {
            "Message"
        };
        body.insert(key.to_string(), Value::String(message.clone()));
    }
    serde_json::to_vec(&Value::Object(body)).unwrap_or_default()
}
