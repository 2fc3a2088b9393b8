//! `testdata/sigv4-test-suite/`: aws-c-auth `v4/`, the classic AWS suite, smithy-rs extras. Each
//! signed request is parsed and verified as received; the canonical request and string to sign
//! the verifier computes must equal the suite's files.

use std::path::{Path, PathBuf};

use coffer_auth::{parse, verify, AuthError, SecretAccessKey, SignatureVersion};

use crate::support::{
    basic_time, from_http, options, read, read_json, rfc3339_time, skip_list, OwnedRequest,
};

const CLASSIC_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

struct Expectation<'a> {
    id: String,
    request: OwnedRequest,
    canonical_request: Option<String>,
    string_to_sign: Option<String>,
    secret: &'a str,
    now: chrono::DateTime<chrono::Utc>,
    service: &'a str,
    region: &'a str,
    version: SignatureVersion,
    session_token: Option<&'a str>,
}

#[derive(Default)]
struct Tally {
    verified: usize,
    expected_mismatch: usize,
    skipped: usize,
    failures: Vec<String>,
}

impl Tally {
    fn finish(self, min_verified: usize) {
        assert!(
            self.failures.is_empty(),
            "{} failures:\n{}",
            self.failures.len(),
            self.failures.join("\n\n")
        );
        assert!(
            self.verified >= min_verified,
            "only {} cases verified (expected at least {min_verified})",
            self.verified
        );
    }
}

fn check(e: Expectation, tally: &mut Tally) {
    let skips = skip_list();
    let entry = skips.iter().find(|s| s.id == e.id);
    if entry.is_some_and(|s| s.outcome == "skip") {
        tally.skipped += 1;
        return;
    }
    let expect_mismatch = entry.is_some_and(|s| s.outcome == "mismatch");
    let mut fail = |msg: String| tally.failures.push(format!("{}: {msg}", e.id));
    let parts = e.request.parts();
    let signed = match parse(&parts) {
        Ok(Some(s)) => s,
        other => return fail(format!("parse gave {other:?}")),
    };
    if signed.version() != e.version {
        return fail(format!(
            "version {:?}, want {:?}",
            signed.version(),
            e.version
        ));
    }
    if signed.session_token() != e.session_token {
        return fail(format!(
            "session token {:?}, want {:?}",
            signed.session_token(),
            e.session_token
        ));
    }
    if !expect_mismatch {
        if let Some(want) = &e.canonical_request {
            match signed.canonical_request(&parts) {
                Ok(Some(got)) if &got == want => {}
                other => return fail(format!("canonical request\n{other:?}\nwant\n{want}")),
            }
        }
        if let Some(want) = &e.string_to_sign {
            match signed.string_to_sign(&parts) {
                Ok(got) if &got == want => {}
                other => return fail(format!("string to sign\n{other:?}\nwant\n{want}")),
            }
        }
    }
    let result = verify(
        &signed,
        &parts,
        &SecretAccessKey::new(e.secret),
        &options(e.now, e.service, e.region),
    );
    match (expect_mismatch, result) {
        (false, Ok(())) => tally.verified += 1,
        (true, Err(AuthError::SignatureMismatch)) => tally.expected_mismatch += 1,
        (_, r) => fail(format!(
            "verify gave {r:?} (expected mismatch: {expect_mismatch})"
        )),
    }
}

fn dirs(path: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(path)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

#[test]
fn aws_c_auth_v4_suite() {
    let root = crate::support::testdata_dir().join("sigv4-test-suite/v4");
    let mut tally = Tally::default();
    let mut cases = 0;
    for dir in dirs(&root) {
        cases += 1;
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let ctx = read_json(&dir.join("context.json"));
        let creds = &ctx["credentials"];
        let token = creds["token"].as_str();
        for (form, version) in [
            ("header", SignatureVersion::V4Header),
            ("query", SignatureVersion::V4Presigned),
        ] {
            let file = |suffix: &str| read(&dir.join(format!("{form}-{suffix}")));
            check(
                Expectation {
                    id: format!("v4/{name}/{form}"),
                    request: from_http(&file("signed-request.txt")),
                    canonical_request: Some(file("canonical-request.txt")),
                    string_to_sign: Some(file("string-to-sign.txt")),
                    secret: creds["secret_access_key"].as_str().unwrap(),
                    now: rfc3339_time(ctx["timestamp"].as_str().unwrap()),
                    service: ctx["service"].as_str().unwrap(),
                    region: ctx["region"].as_str().unwrap(),
                    version,
                    session_token: token,
                },
                &mut tally,
            );
        }
    }
    assert_eq!(cases, 38, "the v4 suite has 38 cases");
    tally.finish(60);
}

fn classic_cases(dir: &Path, out: &mut Vec<PathBuf>) {
    for d in dirs(dir) {
        let name = d.file_name().unwrap().to_string_lossy().to_string();
        if d.join(format!("{name}.sreq")).exists() {
            out.push(d.clone());
        }
        classic_cases(&d, out);
    }
}

#[test]
fn classic_aws_suite() {
    let root = crate::support::testdata_dir().join("sigv4-test-suite/aws-sig-v4-test-suite");
    let mut cases = Vec::new();
    classic_cases(&root, &mut cases);
    assert_eq!(cases.len(), 34, "the classic suite has 34 cases");
    let mut tally = Tally::default();
    for dir in cases {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let rel = dir
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .to_string();
        let file = |ext: &str| read(&dir.join(format!("{name}.{ext}")));
        let sreq = from_http(&file("sreq"));
        let token = sreq
            .headers
            .get("x-amz-security-token")
            .map(|v| v.to_str().unwrap().to_string());
        // The same request once more with the Authorization value from `.authz`.
        let mut with_authz = from_http(&file("sreq"));
        with_authz.set_header("authorization", &file("authz"));
        for (suffix, request) in [("sreq", sreq), ("authz", with_authz)] {
            check(
                Expectation {
                    id: format!("classic/{rel}/{suffix}"),
                    request,
                    canonical_request: Some(file("creq")),
                    string_to_sign: Some(file("sts")),
                    secret: CLASSIC_SECRET,
                    now: basic_time("20150830T123600Z"),
                    service: "service",
                    region: "us-east-1",
                    version: SignatureVersion::V4Header,
                    session_token: token.as_deref(),
                },
                &mut tally,
            );
        }
    }
    tally.finish(66);
}

#[test]
fn smithy_rs_double_url_encode() {
    let dir =
        crate::support::testdata_dir().join("sigv4-test-suite/smithy-rs-extra/double-url-encode");
    let mut tally = Tally::default();
    check(
        Expectation {
            id: "smithy/double-url-encode".into(),
            request: from_http(&read(&dir.join("header-signed-request.txt"))),
            // These two files end in a newline, unlike the rest of the suite.
            canonical_request: Some(
                read(&dir.join("header-canonical-request.txt"))
                    .trim_end()
                    .to_string(),
            ),
            string_to_sign: Some(
                read(&dir.join("header-string-to-sign.txt"))
                    .trim_end()
                    .to_string(),
            ),
            secret: CLASSIC_SECRET,
            now: basic_time("20210511T154045Z"),
            service: "lambda",
            region: "us-east-2",
            version: SignatureVersion::V4Header,
            session_token: None,
        },
        &mut tally,
    );
    tally.finish(1);
}

/// Only its canonical URI line is consistent (suite README), so only that is compared.
#[test]
fn smithy_rs_double_encode_path_canonical_uri() {
    let dir =
        crate::support::testdata_dir().join("sigv4-test-suite/smithy-rs-extra/double-encode-path");
    let req = from_http(&read(&dir.join("header-signed-request.txt")));
    let signed = parse(&req.parts()).unwrap().unwrap();
    let creq = signed.canonical_request(&req.parts()).unwrap().unwrap();
    let want = read(&dir.join("header-canonical-request.txt"));
    assert_eq!(creq.lines().nth(1), want.lines().nth(1));
    assert_eq!(
        creq.lines().nth(1),
        Some("/test/%40connections/JBDvjfGEIAMCERw%253D")
    );
}

/// Every skip-list entry names a case that exists, so the list cannot go stale silently.
#[test]
fn skip_list_names_existing_cases() {
    let root = crate::support::testdata_dir().join("sigv4-test-suite");
    let entries = skip_list();
    assert!(!entries.is_empty());
    for e in entries {
        let (suite, rest) = e.id.split_once('/').unwrap();
        let (case, form) = rest.rsplit_once('/').unwrap();
        let (dir, forms): (PathBuf, &[&str]) = match suite {
            "v4" => (root.join("v4").join(case), &["header", "query"]),
            "classic" => (
                root.join("aws-sig-v4-test-suite").join(case),
                &["sreq", "authz"],
            ),
            _ => panic!("unknown suite in skip list: {} ({})", e.id, e.reason),
        };
        assert!(
            dir.is_dir() && forms.contains(&form),
            "stale skip-list entry {} ({})",
            e.id,
            e.reason
        );
    }
}
