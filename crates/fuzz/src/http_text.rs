//! A raw HTTP/1.1 request as text (`POST /?a=b HTTP/1.1\nHost:x\n\nbody`, the layout of the AWS
//! SigV4 test suite's `.req` files) read leniently into the parts signing sees: anything the
//! `http` crate would refuse as a header is skipped, everything else is kept as sent.

use http::{HeaderMap, HeaderName, HeaderValue};

#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl HttpRequest {
    pub fn parts(&self) -> coffer_auth::RequestParts<'_> {
        coffer_auth::RequestParts {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &self.headers,
            body: &self.body,
        }
    }
}

pub fn parse(data: &[u8]) -> HttpRequest {
    let (head, body) = split_head(data);
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().unwrap_or_default();
    let (method, rest) = request_line.split_once(' ').unwrap_or((request_line, "/"));
    // The target may contain spaces (`get-space` in the suite); the version is the last word.
    let target = match rest.rfind(" HTTP/") {
        Some(i) => &rest[..i],
        None => rest,
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));

    let mut headers = HeaderMap::new();
    let mut last: Option<HeaderName> = None;
    for line in lines {
        if line.starts_with([' ', '\t']) {
            // An obsolete folded continuation line: part of the previous header's value.
            if let Some(name) = &last {
                if let Some(prev) = headers.get_all(name).iter().next_back() {
                    let mut joined = prev.as_bytes().to_vec();
                    joined.push(b' ');
                    joined.extend_from_slice(line.trim_start().as_bytes());
                    if let Ok(value) = HeaderValue::from_bytes(&joined) {
                        let mut values: Vec<HeaderValue> =
                            headers.get_all(name).iter().cloned().collect();
                        values.pop();
                        values.push(value);
                        headers.remove(name);
                        for v in values {
                            headers.append(name.clone(), v);
                        }
                    }
                }
            }
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value.trim_start().as_bytes()),
        ) else {
            continue;
        };
        headers.append(name.clone(), value);
        last = Some(name);
    }
    HttpRequest {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers,
        body: body.to_vec(),
    }
}

/// Head and body split at the first blank line (`\n\n` or `\r\n\r\n`).
fn split_head(data: &[u8]) -> (&[u8], &[u8]) {
    let lf = data.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2));
    let crlf = data
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4));
    match [lf, crlf].into_iter().flatten().min_by_key(|(i, _)| *i) {
        Some((i, len)) => (&data[..i], &data[i + len..]),
        None => (data, &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_suite_request() {
        let req = parse(
            b"POST /a%20b?X=1&Y HTTP/1.1\r\nHost:example.amazonaws.com\r\nMy-Header1:a\r\n  b\r\nbad header\r\n\r\nParam1=value1",
        );
        assert_eq!(req.method, "POST");
        assert_eq!(req.path, "/a%20b");
        assert_eq!(req.query, "X=1&Y");
        assert_eq!(req.headers["host"], "example.amazonaws.com");
        assert_eq!(req.headers["my-header1"], "a b");
        assert_eq!(req.headers.len(), 2);
        assert_eq!(req.body, b"Param1=value1");
    }

    #[test]
    fn anything_parses() {
        let req = parse(b"");
        assert_eq!((req.method.as_str(), req.path.as_str()), ("", "/"));
        let req = parse(b"GET /example space/ HTTP/1.1\n\n");
        assert_eq!(req.path, "/example space/");
    }
}
