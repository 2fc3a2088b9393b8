//! The typed path: an AWS JSON 1.1 body decoded straight into an operation's typed request and
//! its model constraints checked on that typed value, without the canonical `Value` in between.
//!
//! It serves only requests that are well formed and valid, and only inputs whose members are
//! scalars or lists of strings ("flat": no nested structures, maps, blobs, timestamps or
//! floats). For those, serde's derived decoding accepts exactly what [`decode_json_input`]
//! accepts, with one exception guarded here: serde reads a structure from a JSON array, which
//! AWS refuses. Anything else (a malformed body, a violated constraint, a shape that is not flat)
//! answers `None`, and the caller takes the canonical path, whose error is AWS's: the typed path
//! never has to reproduce an error message. `typed_path_agrees_with_the_canonical_path` checks the
//! two paths on generated bodies.
//!
//! [`decode_json_input`]: crate::decode_json_input

use coffer_model::schema::{Kind, Shape};
use serde::de::DeserializeOwned;
use serde::ser::{self, Serialize};

use crate::validate::pattern;

/// Decodes `body` into `T` and checks `shape`'s constraints on it; `None` when the body is not a
/// well-formed, valid request of a flat shape (the canonical path then answers it).
pub fn decode_json_typed<T: DeserializeOwned + Serialize>(
    body: &[u8],
    shape: &'static Shape,
) -> Option<T> {
    if !is_flat(shape) {
        return None;
    }
    // serde's derived structures also deserialize from arrays; AWS answers those with
    // `SerializationException`. An empty body is an empty structure.
    let body = match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => body,
        Some(_) => return None,
        None => b"{}",
    };
    // serde skips unknown members with a lenient scan (no UTF-8, surrogate, number-range or depth
    // checks) where the canonical path parses them in full: read the whole body strictly first.
    serde_json::from_slice::<WellFormed>(body).ok()?;
    let value: T = serde_json::from_slice(body).ok()?;
    satisfies(&value, shape).then_some(value)
}

/// A JSON text parsed as strictly as `serde_json::Value` parses it, keeping nothing.
struct WellFormed;

impl<'de> serde::Deserialize<'de> for WellFormed {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(WellFormedVisitor)
    }
}

struct WellFormedVisitor;

impl<'de> serde::de::Visitor<'de> for WellFormedVisitor {
    type Value = WellFormed;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<WellFormed, E> {
        Ok(WellFormed)
    }
    fn visit_i64<E>(self, _: i64) -> Result<WellFormed, E> {
        Ok(WellFormed)
    }
    fn visit_u64<E>(self, _: u64) -> Result<WellFormed, E> {
        Ok(WellFormed)
    }
    fn visit_f64<E>(self, _: f64) -> Result<WellFormed, E> {
        Ok(WellFormed)
    }
    fn visit_str<E>(self, _: &str) -> Result<WellFormed, E> {
        Ok(WellFormed)
    }
    fn visit_unit<E>(self) -> Result<WellFormed, E> {
        Ok(WellFormed)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<WellFormed, A::Error> {
        while seq.next_element::<WellFormed>()?.is_some() {}
        Ok(WellFormed)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<WellFormed, A::Error> {
        while map.next_entry::<WellFormed, WellFormed>()?.is_some() {}
        Ok(WellFormed)
    }
}

/// A structure whose members are strings, booleans, integers, longs or lists of strings.
pub fn is_flat(shape: &Shape) -> bool {
    let Kind::Structure { members } = &shape.kind else {
        return false;
    };
    members.iter().all(|m| match &m.target.kind {
        Kind::String | Kind::Boolean | Kind::Integer | Kind::Long => true,
        Kind::List { member, .. } => matches!(member.kind, Kind::String),
        _ => false,
    })
}

/// Whether the typed `value` meets every constraint of the flat `shape` that
/// [`validate`](crate::validate) checks on its canonical form: required members, lengths,
/// ranges, patterns and enum values. Reads the value through its `Serialize` implementation,
/// so nothing is copied; anything it does not expect counts as a violation.
pub fn satisfies<T: Serialize>(value: &T, shape: &'static Shape) -> bool {
    value.serialize(Checker { shape }).is_ok()
}

#[derive(Debug)]
struct Violated;

impl std::fmt::Display for Violated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("constraint violated")
    }
}

impl std::error::Error for Violated {}

impl ser::Error for Violated {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        Violated
    }
}

type Checked = Result<(), Violated>;

fn check(ok: bool) -> Checked {
    if ok {
        Ok(())
    } else {
        Err(Violated)
    }
}

fn length_ok(shape: &Shape, len: usize) -> bool {
    let len = len as i64;
    shape.min.is_none_or(|min| len >= min) && shape.max.is_none_or(|max| len <= max)
}

fn string_ok(shape: &Shape, s: &str) -> bool {
    matches!(shape.kind, Kind::String)
        && length_ok(shape, s.chars().count())
        && shape.pattern.is_none_or(|p| pattern::matches(p, s))
        && (shape.enum_values.is_empty() || shape.enum_values.contains(&s))
}

fn integer_ok(shape: &Shape, n: i64) -> bool {
    let range = match shape.kind {
        Kind::Integer => i64::from(i32::MIN)..=i64::from(i32::MAX),
        Kind::Long => i64::MIN..=i64::MAX,
        _ => return false,
    };
    // The canonical check compares as f64; integers of these shapes' bounds are exact in f64.
    range.contains(&n)
        && shape.min.is_none_or(|min| n >= min)
        && shape.max.is_none_or(|max| n <= max)
}

/// Walks a value alongside the shape it should have.
struct Checker {
    shape: &'static Shape,
}

/// A structure's members: each checked against its member shape; every required one must appear.
struct StructChecker {
    shape: &'static Shape,
    required_seen: usize,
}

/// A list's items, each checked against the list's member shape, then the list's length.
struct SeqChecker {
    shape: &'static Shape,
    items: usize,
}

impl ser::Serializer for Checker {
    type Ok = ();
    type Error = Violated;
    type SerializeSeq = SeqChecker;
    type SerializeTuple = ser::Impossible<(), Violated>;
    type SerializeTupleStruct = ser::Impossible<(), Violated>;
    type SerializeTupleVariant = ser::Impossible<(), Violated>;
    type SerializeMap = ser::Impossible<(), Violated>;
    type SerializeStruct = StructChecker;
    type SerializeStructVariant = ser::Impossible<(), Violated>;

    fn serialize_bool(self, _: bool) -> Checked {
        check(matches!(self.shape.kind, Kind::Boolean))
    }
    fn serialize_i8(self, v: i8) -> Checked {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Checked {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i32(self, v: i32) -> Checked {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i64(self, v: i64) -> Checked {
        check(integer_ok(self.shape, v))
    }
    fn serialize_u8(self, v: u8) -> Checked {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Checked {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Checked {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Checked {
        self.serialize_i64(i64::try_from(v).map_err(|_| Violated)?)
    }
    fn serialize_f32(self, _: f32) -> Checked {
        Err(Violated)
    }
    fn serialize_f64(self, _: f64) -> Checked {
        Err(Violated)
    }
    fn serialize_char(self, v: char) -> Checked {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Checked {
        check(string_ok(self.shape, v))
    }
    fn serialize_bytes(self, _: &[u8]) -> Checked {
        Err(Violated)
    }
    // An absent optional member is skipped before it gets here; a present `None` would be `null`,
    // which the canonical form drops.
    fn serialize_none(self) -> Checked {
        Err(Violated)
    }
    fn serialize_some<V: ?Sized + Serialize>(self, value: &V) -> Checked {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Checked {
        Err(Violated)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Checked {
        Err(Violated)
    }
    /// A modelled enum: its wire value is the variant's (renamed) name.
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Checked {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<V: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &V,
    ) -> Checked {
        value.serialize(self)
    }
    fn serialize_newtype_variant<V: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &V,
    ) -> Checked {
        Err(Violated)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<SeqChecker, Violated> {
        match &self.shape.kind {
            Kind::List { .. } => Ok(SeqChecker {
                shape: self.shape,
                items: 0,
            }),
            _ => Err(Violated),
        }
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Violated> {
        Err(Violated)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Violated> {
        Err(Violated)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Violated> {
        Err(Violated)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Violated> {
        Err(Violated)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<StructChecker, Violated> {
        match &self.shape.kind {
            Kind::Structure { .. } => Ok(StructChecker {
                shape: self.shape,
                required_seen: 0,
            }),
            _ => Err(Violated),
        }
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Violated> {
        Err(Violated)
    }
}

impl ser::SerializeStruct for StructChecker {
    type Ok = ();
    type Error = Violated;

    fn serialize_field<V: ?Sized + Serialize>(&mut self, key: &'static str, value: &V) -> Checked {
        let Kind::Structure { members } = &self.shape.kind else {
            return Err(Violated);
        };
        let member = members.iter().find(|m| m.name == key).ok_or(Violated)?;
        value.serialize(Checker {
            shape: member.target,
        })?;
        if member.required {
            self.required_seen += 1;
        }
        Ok(())
    }

    fn end(self) -> Checked {
        let Kind::Structure { members } = &self.shape.kind else {
            return Err(Violated);
        };
        check(self.required_seen == members.iter().filter(|m| m.required).count())
    }
}

impl ser::SerializeSeq for SeqChecker {
    type Ok = ();
    type Error = Violated;

    fn serialize_element<V: ?Sized + Serialize>(&mut self, value: &V) -> Checked {
        let Kind::List { member, .. } = &self.shape.kind else {
            return Err(Violated);
        };
        self.items += 1;
        value.serialize(Checker { shape: member })
    }

    fn end(self) -> Checked {
        check(length_ok(self.shape, self.items))
    }
}

#[cfg(test)]
mod tests;
