//! A reader for the subset of the Smithy IDL the protocol test models use, turning their shapes
//! into `coffer_model::schema` shapes so the test cases can drive the real code. Recursive
//! shapes are unrolled to a fixed depth (leaked shapes cannot form cycles); the test data nests
//! far less deeply.

use std::collections::HashMap;
use std::path::Path;

use coffer_model::schema::{ErrorInfo, Kind, Member, Operation, Shape, TimestampFormat};

use crate::support::{leak, leak_slice, plain};

const UNROLL: usize = 10;

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Str(String),
    Num(f64),
    Ident(String),
    List(Vec<Node>),
    Obj(Vec<(String, Node)>),
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Str(s) | Node::Ident(s) => Some(s),
            _ => None,
        }
    }
    fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Obj(kv) => kv.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    fn as_i64(&self) -> Option<i64> {
        match self {
            Node::Num(n) => Some(*n as i64),
            _ => None,
        }
    }
}

type Traits = HashMap<String, Node>;

#[derive(Debug)]
struct RawMember {
    name: String,
    target: String,
    traits: Traits,
}

#[derive(Debug)]
struct RawShape {
    kind: String,
    traits: Traits,
    members: Vec<RawMember>,
    /// operation/service properties.
    props: Vec<(String, Node)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    P(char),
}

fn tokenize(src: &str) -> Vec<Tok> {
    let chars: Vec<char> = src.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() || c == ',' {
            i += 1;
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '"' {
            if chars.get(i + 1) == Some(&'"') && chars.get(i + 2) == Some(&'"') {
                i += 3;
                let mut s = String::new();
                while i < chars.len()
                    && !(chars[i] == '"'
                        && chars.get(i + 1) == Some(&'"')
                        && chars.get(i + 2) == Some(&'"'))
                {
                    if chars[i] == '\\' {
                        s.push(chars[i]);
                        i += 1;
                    }
                    if i < chars.len() {
                        s.push(chars[i]);
                    }
                    i += 1;
                }
                i += 3;
                toks.push(Tok::Str(s));
            } else {
                i += 1;
                let mut s = String::new();
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        i += 1;
                        match chars.get(i) {
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some(other) => s.push(*other),
                            None => {}
                        }
                    } else {
                        s.push(chars[i]);
                    }
                    i += 1;
                }
                i += 1;
                toks.push(Tok::Str(s));
            }
        } else if c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let start = i;
            i += 1;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric()
                    || chars[i] == '.'
                    || chars[i] == '-'
                    || chars[i] == '+')
            {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            toks.push(Tok::Num(text.parse().unwrap_or(0.0)));
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || "_$#.".contains(chars[i])) {
                i += 1;
            }
            toks.push(Tok::Ident(chars[start..i].iter().collect()));
        } else {
            toks.push(Tok::P(c));
            i += 1;
        }
    }
    toks
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn peek_at(&self, n: usize) -> Option<&Tok> {
        self.toks.get(self.pos + n)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn eat(&mut self, p: char) -> bool {
        if self.peek() == Some(&Tok::P(p)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn ident(&mut self) -> String {
        match self.next() {
            Some(Tok::Ident(s)) | Some(Tok::Str(s)) => s,
            other => panic!("expected identifier, got {other:?} at {}", self.pos),
        }
    }

    fn value(&mut self) -> Node {
        match self.next() {
            Some(Tok::Str(s)) => Node::Str(s),
            Some(Tok::Num(n)) => Node::Num(n),
            Some(Tok::Ident(s)) => Node::Ident(s),
            Some(Tok::P('[')) => {
                let mut items = Vec::new();
                while !self.eat(']') {
                    items.push(self.value());
                }
                Node::List(items)
            }
            Some(Tok::P('{')) => {
                let mut kv = Vec::new();
                while !self.eat('}') {
                    let k = self.ident();
                    assert!(self.eat(':'), "expected ':' in object");
                    kv.push((k, self.value()));
                }
                Node::Obj(kv)
            }
            other => panic!("unexpected token {other:?}"),
        }
    }

    fn traits(&mut self) -> Traits {
        let mut traits = Traits::new();
        while self.eat('@') {
            let name = self.ident();
            let name = name.rsplit('#').next().unwrap_or(&name).to_string();
            let mut value = Node::Obj(Vec::new());
            if self.eat('(') {
                let structured = matches!(self.peek(), Some(Tok::Ident(_)) | Some(Tok::Str(_)))
                    && self.peek_at(1) == Some(&Tok::P(':'));
                if structured {
                    let mut kv = Vec::new();
                    while !self.eat(')') {
                        let k = self.ident();
                        assert!(self.eat(':'));
                        kv.push((k, self.value()));
                    }
                    value = Node::Obj(kv);
                } else if !self.eat(')') {
                    value = self.value();
                    assert!(self.eat(')'), "expected ')' after trait {name}");
                }
            }
            traits.insert(name, value);
        }
        traits
    }
}

fn short(id: &str) -> String {
    id.rsplit('#').next().unwrap_or(id).to_string()
}

/// The shapes and operations of one protocol's test model.
pub struct Model {
    raw: HashMap<String, RawShape>,
    memo: std::cell::RefCell<HashMap<(String, usize), &'static Shape>>,
}

impl Model {
    pub fn load(files: &[&Path]) -> Model {
        let mut raw = HashMap::new();
        for f in files {
            let src = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            parse_file(&src, &mut raw);
        }
        Model {
            raw,
            memo: Default::default(),
        }
    }

    pub fn is_operation(&self, name: &str) -> bool {
        self.raw.get(name).is_some_and(|s| s.kind == "operation")
    }

    pub fn shape(&self, name: &str) -> &'static Shape {
        self.resolve(name, 0)
    }

    pub fn operation(&self, name: &str) -> &'static Operation {
        let raw = &self.raw[name];
        let prop = |k: &str| raw.props.iter().find(|(p, _)| p == k).map(|(_, v)| v);
        let io = |k: &str| {
            prop(k)
                .and_then(Node::as_str)
                .map(short)
                .filter(|t| t != "Unit")
                .map(|t| self.shape(&t))
        };
        leak(Operation {
            name: Box::leak(name.to_string().into_boxed_str()),
            input: io("input"),
            output: io("output"),
            result_wrapper: None,
            errors: &[],
            http_method: "POST",
            authorization: &coffer_model::schema::Authorization::UNLISTED,
        })
    }

    /// Code, status and fault of an error shape as the awsQuery / awsJson protocols render it.
    pub fn error_info(&self, name: &str, query: bool) -> ErrorInfo {
        let raw = &self.raw[name];
        let sender_fault = raw.traits.get("error").and_then(Node::as_str) != Some("server");
        let mut code: &'static str = Box::leak(name.to_string().into_boxed_str());
        let mut status = raw
            .traits
            .get("httpError")
            .and_then(Node::as_i64)
            .map(|s| s as u16)
            .unwrap_or(if sender_fault { 400 } else { 500 });
        if query {
            if let Some(q) = raw.traits.get("awsQueryError") {
                if let Some(c) = q.get("code").and_then(Node::as_str) {
                    code = Box::leak(c.to_string().into_boxed_str());
                }
                if let Some(s) = q.get("httpResponseCode").and_then(Node::as_i64) {
                    status = s as u16;
                }
            }
        }
        ErrorInfo {
            code,
            http_status: status,
            sender_fault,
        }
    }

    fn resolve(&self, name: &str, depth: usize) -> &'static Shape {
        let name = short(name);
        if let Some(s) = self.memo.borrow().get(&(name.clone(), depth)) {
            return s;
        }
        let shape = self.build(&name, depth);
        self.memo.borrow_mut().insert((name, depth), shape);
        shape
    }

    fn build(&self, name: &str, depth: usize) -> &'static Shape {
        let Some(raw) = self.raw.get(name) else {
            return leak(plain(name, prelude(name)));
        };
        let kind = match raw.kind.as_str() {
            "structure" | "union" if depth >= UNROLL => Kind::Structure { members: &[] },
            "structure" | "union" => {
                let members: Vec<Member> = raw
                    .members
                    .iter()
                    .map(|m| Member {
                        name: Box::leak(m.name.clone().into_boxed_str()),
                        target: self.resolve(&m.target, depth + 1),
                        required: m.traits.contains_key("required"),
                        location_name: m
                            .traits
                            .get("xmlName")
                            .and_then(Node::as_str)
                            .map(|s| &*Box::leak(s.to_string().into_boxed_str())),
                        flattened: m.traits.contains_key("xmlFlattened"),
                        idempotency_token: m.traits.contains_key("idempotencyToken"),
                        timestamp_format: m.traits.get("timestampFormat").and_then(ts_format),
                    })
                    .collect();
                Kind::Structure {
                    members: leak_slice(members),
                }
            }
            "list" | "set" => {
                let m = &raw.members[0];
                Kind::List {
                    member: self.resolve(&m.target, depth + 1),
                    member_name: xml_name(m, "member"),
                    flattened: raw.traits.contains_key("xmlFlattened"),
                }
            }
            "map" => {
                let k = raw
                    .members
                    .iter()
                    .find(|m| m.name == "key")
                    .expect("map key");
                let v = raw
                    .members
                    .iter()
                    .find(|m| m.name == "value")
                    .expect("map value");
                Kind::Map {
                    key: self.resolve(&k.target, depth + 1),
                    value: self.resolve(&v.target, depth + 1),
                    key_name: xml_name(k, "key"),
                    value_name: xml_name(v, "value"),
                    flattened: raw.traits.contains_key("xmlFlattened"),
                }
            }
            other => simple_kind(other),
        };
        let mut shape = plain(name, kind);
        if raw.kind == "enum" {
            let values: Vec<&'static str> = raw
                .members
                .iter()
                .map(|m| {
                    let v = m
                        .traits
                        .get("enumValue")
                        .and_then(Node::as_str)
                        .unwrap_or(&m.name);
                    &*Box::leak(v.to_string().into_boxed_str())
                })
                .collect();
            shape.enum_values = leak_slice(values);
        }
        if let Some(l) = raw.traits.get("length").or(raw.traits.get("range")) {
            shape.min = l.get("min").and_then(Node::as_i64);
            shape.max = l.get("max").and_then(Node::as_i64);
        }
        shape.pattern = raw
            .traits
            .get("pattern")
            .and_then(Node::as_str)
            .map(|s| &*Box::leak(s.to_string().into_boxed_str()));
        shape.sensitive = raw.traits.contains_key("sensitive");
        shape.timestamp_format = raw.traits.get("timestampFormat").and_then(ts_format);
        leak(shape)
    }
}

fn xml_name(m: &RawMember, default: &'static str) -> &'static str {
    m.traits
        .get("xmlName")
        .and_then(Node::as_str)
        .map(|s| &*Box::leak(s.to_string().into_boxed_str()))
        .unwrap_or(default)
}

fn ts_format(n: &Node) -> Option<TimestampFormat> {
    match n.as_str()? {
        "date-time" => Some(TimestampFormat::DateTime),
        "http-date" => Some(TimestampFormat::HttpDate),
        "epoch-seconds" => Some(TimestampFormat::EpochSeconds),
        _ => None,
    }
}

fn simple_kind(kind: &str) -> Kind {
    match kind {
        "string" | "enum" => Kind::String,
        "blob" => Kind::Blob,
        "boolean" => Kind::Boolean,
        "byte" | "short" | "integer" | "intEnum" => Kind::Integer,
        "long" | "bigInteger" => Kind::Long,
        "float" => Kind::Float,
        "double" | "bigDecimal" => Kind::Double,
        "timestamp" => Kind::Timestamp,
        // Documents are not part of the schema; a string stands in (cases using them are skipped).
        _ => Kind::String,
    }
}

fn prelude(name: &str) -> Kind {
    let lower = name.trim_start_matches("Primitive").to_ascii_lowercase();
    simple_kind(match lower.as_str() {
        "biginteger" => "bigInteger",
        "bigdecimal" => "bigDecimal",
        other => other,
    })
}

const SHAPE_KINDS: &[&str] = &[
    "structure",
    "union",
    "list",
    "set",
    "map",
    "string",
    "blob",
    "boolean",
    "byte",
    "short",
    "integer",
    "long",
    "float",
    "double",
    "bigInteger",
    "bigDecimal",
    "timestamp",
    "document",
    "enum",
    "intEnum",
    "operation",
    "service",
    "resource",
];

fn parse_file(src: &str, out: &mut HashMap<String, RawShape>) {
    let mut p = Parser {
        toks: tokenize(src),
        pos: 0,
    };
    while p.peek().is_some() {
        let traits = p.traits();
        let Some(Tok::Ident(word)) = p.next() else {
            panic!("expected statement at token {}", p.pos);
        };
        match word.as_str() {
            "$version" => {
                p.eat(':');
                p.value();
            }
            "metadata" => {
                p.ident();
                p.eat('=');
                p.value();
            }
            "namespace" | "use" => {
                p.ident();
            }
            "apply" => {
                p.ident();
                p.traits();
            }
            kind if SHAPE_KINDS.contains(&kind) => {
                let name = p.ident();
                let mut shape = RawShape {
                    kind: kind.to_string(),
                    traits,
                    members: Vec::new(),
                    props: Vec::new(),
                };
                if p.peek() == Some(&Tok::Ident("with".into())) {
                    p.next();
                    p.value();
                }
                if p.eat('{') {
                    while !p.eat('}') {
                        if matches!(kind, "operation" | "service" | "resource") {
                            let k = p.ident();
                            p.eat(':');
                            shape.props.push((k, p.value()));
                            continue;
                        }
                        let mut member_traits = p.traits();
                        let member_name = p.ident();
                        let mut target = String::new();
                        if p.eat(':') {
                            target = short(&p.ident());
                        }
                        if p.eat('=') {
                            let v = p.value();
                            if kind == "enum" {
                                member_traits.insert("enumValue".to_string(), v);
                            }
                        }
                        shape.members.push(RawMember {
                            name: member_name,
                            target,
                            traits: member_traits,
                        });
                    }
                }
                out.insert(name, shape);
            }
            other => panic!("unknown statement {other}"),
        }
    }
}
