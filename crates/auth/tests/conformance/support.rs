//! Building requests from the test vector files (`testdata/`), as a server would receive them.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDateTime, Utc};
use coffer_auth::{RequestParts, VerifyOptions};
use http::{HeaderMap, HeaderName, HeaderValue};

/// The repository's `testdata/` folder (copies of upstream test suites, with their licences).
pub fn testdata_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

pub fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

pub fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// One line of `tests/skip-list.txt`: `<case id> <outcome> <reason>`.
pub struct SkipEntry {
    pub id: String,
    /// `skip`: not run at all; `mismatch`: must fail with SignatureMismatch.
    pub outcome: String,
    pub reason: String,
}

pub fn skip_list() -> Vec<SkipEntry> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/skip-list.txt");
    read(&path)
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut it = l.splitn(3, char::is_whitespace);
            let id = it.next().unwrap_or_default().to_string();
            let outcome = it.next().unwrap_or_default().to_string();
            let reason = it.next().unwrap_or_default().trim().to_string();
            assert!(
                (outcome == "skip" || outcome == "mismatch") && !reason.is_empty(),
                "bad skip-list line: {l}"
            );
            SkipEntry {
                id,
                outcome,
                reason,
            }
        })
        .collect()
}

pub struct OwnedRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl OwnedRequest {
    pub fn parts(&self) -> RequestParts<'_> {
        RequestParts {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &self.headers,
            body: &self.body,
        }
    }

    pub fn set_header(&mut self, name: &str, value: &str) {
        self.headers.insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
}

fn split_target(target: &str) -> (String, String) {
    match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target.to_string(), String::new()),
    }
}

fn append(headers: &mut HeaderMap, name: &str, value: &str) {
    headers.append(
        HeaderName::from_bytes(name.trim().as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}")),
        HeaderValue::from_bytes(value.trim_matches([' ', '\t']).as_bytes()).unwrap(),
    );
}

/// From a vector's `url` + ordered `[name, value]` header pairs + body.
pub fn from_url(method: &str, url: &str, headers: &serde_json::Value, body: &str) -> OwnedRequest {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let target = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    let (path, query) = split_target(target);
    let mut map = HeaderMap::new();
    for pair in headers.as_array().unwrap() {
        append(
            &mut map,
            pair[0].as_str().unwrap(),
            pair[1].as_str().unwrap(),
        );
    }
    OwnedRequest {
        method: method.to_string(),
        path,
        query,
        headers: map,
        body: body.as_bytes().to_vec(),
    }
}

/// From a raw HTTP/1.1 request file. Obsolete line folding is unfolded into one space, as
/// RFC 7230 3.2.4 tells a recipient to do (hyper rejects it; the suites still carry it). The
/// request target is taken verbatim, spaces included (`get-space`).
pub fn from_http(text: &str) -> OwnedRequest {
    let text = text.replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").unwrap_or((text.as_str(), ""));
    let mut lines = head.lines();
    let request_line = lines.next().unwrap();
    let (method, rest) = request_line.split_once(' ').unwrap();
    let target = rest.strip_suffix(" HTTP/1.1").unwrap_or(rest);
    let (path, query) = split_target(target);
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            let last = fields.last_mut().unwrap();
            last.1.push(' ');
            last.1.push_str(line.trim());
        } else {
            let (n, v) = line.split_once(':').unwrap();
            fields.push((n.to_string(), v.to_string()));
        }
    }
    let mut headers = HeaderMap::new();
    for (n, v) in &fields {
        append(&mut headers, n, v);
    }
    OwnedRequest {
        method: method.to_string(),
        path,
        query,
        headers,
        body: body.as_bytes().to_vec(),
    }
}

pub fn basic_time(s: &str) -> DateTime<Utc> {
    NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%SZ")
        .unwrap()
        .and_utc()
}

pub fn rfc3339_time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

pub fn options<'a>(now: DateTime<Utc>, service: &'a str, region: &'a str) -> VerifyOptions<'a> {
    VerifyOptions {
        now,
        max_skew: VerifyOptions::DEFAULT_MAX_SKEW,
        expected_service: Some(service),
        expected_region: Some(region),
        enforce_presigned_expiry: false,
    }
}
