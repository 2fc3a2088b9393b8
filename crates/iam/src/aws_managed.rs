//! AWS managed policies present in every account (`arn:aws:iam::aws:policy/<path><name>`): the
//! 1,566 policies AWS publishes, with their documents, paths (`/`, `/service-role/`,
//! `/aws-service-role/`, `/job-function/`, …), default version ids and dates
//! (`data/aws/aws-managed-policies.jsonl.gz`, see `data/README.md`), and three that snapshot
//! lacks (`data/aws/aws-managed-policies-supplement.jsonl`): AdministratorAccess, PowerUserAccess
//! and AmazonLexBotPolicy, which AWS still attaches to Lex's service-linked role. Only the default
//! version of each is served. Policy ids are Coffer's own (stable per name): AWS does not publish them.
//!
//! The data is compiled into the binary as one gzip member per policy, with an index beside it
//! (`data/aws/aws-managed-policies.index.tsv`: name, path, version, dates, where each policy's line
//! lies), which `scripts/pack-aws-managed-policies` writes and this module's tests check against the
//! data. Nothing is read at start-up: the first request that needs an AWS managed policy parses the
//! index (names and paths stay in the binary's read-only data; ~0.1 MB of entries on the heap), and
//! a document is inflated only when a request asks for it or attaches it. Compiled documents are
//! kept, since they never change.
//!
//! Each account counts its own attachments of these policies in `AWS_POLICY_USAGE`.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::io::Read;
use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock};

use coffer_model::types::Timestamp;
use coffer_policy::{MalformedPolicy, ParseOptions, Policy, PolicyKind};
use coffer_store::{StoreError, Txn};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::TxResult;
use crate::paging;
use crate::policies::{PolicyDoc, VersionDoc};
use crate::records;

pub const AWS_POLICY_USAGE: &str = "iam_aws_policy_usage";

/// `data/aws/aws-managed-policies.jsonl.gz`: one JSON object a line, one gzip member a line.
static PACKED: &[u8] = include_bytes!("../../../data/aws/aws-managed-policies.jsonl.gz");
/// The policies the snapshot above lacks, in the same format, uncompressed.
static SUPPLEMENT: &str = include_str!("../../../data/aws/aws-managed-policies-supplement.jsonl");
/// One row per policy of both files, sorted by lower-cased name, after a header row.
static INDEX: &str = include_str!("../../../data/aws/aws-managed-policies.index.tsv");

/// One AWS managed policy as the index knows it; its document stays compressed until asked for.
#[derive(Debug)]
pub(crate) struct AwsManaged {
    pub name: &'static str,
    pub path: &'static str,
    /// The default version's number (`v12` → 12).
    pub version: u32,
    /// Seconds since the epoch.
    pub created: i64,
    /// When the default version was published, which IAM reports as the policy's `UpdateDate`.
    pub updated: i64,
    stored: Stored,
}

/// Where a policy's line lies.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stored {
    /// A gzip member of `PACKED`.
    Packed(Range<usize>),
    /// A line of `SUPPLEMENT`.
    Supplement(Range<usize>),
}

/// A line's document, exactly as the data holds it.
#[derive(Deserialize)]
struct DocumentLine<'a> {
    #[serde(rename = "Document", borrow)]
    document: &'a RawValue,
}

/// Compiled documents by policy name and the use they were compiled for.
type CompiledDocuments = HashMap<(&'static str, PolicyKind), Arc<Policy>>;

/// Every AWS managed policy, sorted by lower-cased name (IAM names are unique regardless of case).
pub(crate) struct Catalogue {
    policies: Vec<AwsManaged>,
    compiled: Mutex<CompiledDocuments>,
}

/// The index, read by the first caller.
pub(crate) fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(|| match Catalogue::index(INDEX) {
        Ok(c) => c,
        Err(e) => {
            // The data is compiled in and checked by this module's tests: only a damaged binary
            // gets here. Without the index no AWS managed policy exists, which fails closed.
            tracing::error!(error = %e, "AWS managed policy index does not read");
            Catalogue {
                policies: Vec::new(),
                compiled: Mutex::new(HashMap::new()),
            }
        }
    })
}

/// Inflates the gzip member at the start of `packed`; returns its text and the member's length.
fn inflate_member(packed: &[u8]) -> Result<(String, usize), String> {
    let mut decoder = flate2::bufread::GzDecoder::new(packed);
    let mut text = String::new();
    decoder
        .read_to_string(&mut text)
        .map_err(|e| format!("gzip member: {e}"))?;
    let rest = decoder.into_inner();
    Ok((text, packed.len() - rest.len()))
}

fn parse_date(text: &str) -> Result<i64, String> {
    Timestamp::parse_iso8601(text)
        .map(|t| t.as_millis().div_euclid(1000))
        .ok_or_else(|| format!("date {text:?}"))
}

/// Names compared as IAM compares them: without regard to (ASCII) case.
fn cmp_ignoring_case(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

/// One row of the index: `name path version created updated file start length`.
fn parse_row(row: &'static str) -> Result<AwsManaged, String> {
    let fields: Vec<&'static str> = row.split('\t').collect();
    let [name, path, version, created, updated, file, start, length] = fields[..] else {
        return Err(format!("index row {row:?}"));
    };
    let number = |text: &str| {
        text.parse::<usize>()
            .map_err(|_| format!("index row {row:?}: {text:?}"))
    };
    let range = number(start)?..number(start)? + number(length)?;
    let stored = match file {
        "gz" if range.end <= PACKED.len() => Stored::Packed(range),
        "supplement" if range.end <= SUPPLEMENT.len() => Stored::Supplement(range),
        _ => return Err(format!("index row {row:?}: where")),
    };
    Ok(AwsManaged {
        name,
        path,
        version: crate::policies::parse_version_id(version)
            .ok_or_else(|| format!("index row {row:?}: version"))?,
        created: parse_date(created)?,
        updated: parse_date(updated)?,
        stored,
    })
}

impl Catalogue {
    fn index(index: &'static str) -> Result<Catalogue, String> {
        let policies = index
            .lines()
            .skip(1)
            .map(parse_row)
            .collect::<Result<Vec<_>, _>>()?;
        // Strictly ordered: lookups search it, and no name appears twice.
        if let Some(pair) = policies
            .windows(2)
            .find(|pair| cmp_ignoring_case(pair[0].name, pair[1].name) != Ordering::Less)
        {
            return Err(format!("index out of order at {}", pair[1].name));
        }
        Ok(Catalogue {
            policies,
            compiled: Mutex::new(HashMap::new()),
        })
    }

    /// Every policy, ordered by lower-cased name.
    pub fn all(&self) -> impl Iterator<Item = &AwsManaged> {
        self.policies.iter()
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.policies.len()
    }

    /// The policy named `name` (any case), wherever it lives.
    pub fn by_name(&self, name: &str) -> Option<&AwsManaged> {
        self.policies
            .binary_search_by(|p| cmp_ignoring_case(p.name, name))
            .ok()
            .map(|i| &self.policies[i])
    }

    /// The policy at `path` + `name`, as an ARN names it (the name's case must match too).
    pub fn find(&self, path: &str, name: &str) -> Option<&AwsManaged> {
        self.by_name(name)
            .filter(|p| p.path == path && p.name == name)
    }

    /// The policy compiled for `kind`, compiled once per process.
    pub fn compiled(&self, policy: &AwsManaged, kind: PolicyKind) -> Result<Arc<Policy>, String> {
        let key = (policy.name, kind);
        if let Some(hit) = self.lock_compiled().get(&key) {
            return Ok(hit.clone());
        }
        let document = policy.document()?;
        let options = ParseOptions {
            kind,
            require_current_version: false,
            authored_by_aws: true,
        };
        let compiled = Arc::new(
            Policy::parse_with(&document, options)
                .map_err(|e: MalformedPolicy| e.message().to_string())?,
        );
        self.lock_compiled().insert(key, compiled.clone());
        Ok(compiled)
    }

    fn lock_compiled(&self) -> std::sync::MutexGuard<'_, CompiledDocuments> {
        self.compiled.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl AwsManaged {
    pub fn arn(&self) -> String {
        format!("arn:aws:iam::aws:policy{}{}", self.path, self.name)
    }

    /// The default version's document, exactly as AWS serves it (the data's JSON text).
    pub fn document(&self) -> Result<String, String> {
        let text = match &self.stored {
            Stored::Packed(member) => inflate_member(&PACKED[member.clone()])?.0,
            Stored::Supplement(line) => SUPPLEMENT[line.clone()].to_string(),
        };
        let line: DocumentLine<'_> =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", self.name))?;
        Ok(line.document.get().to_string())
    }
}

/// How often one account uses an AWS managed policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Usage {
    pub attachment_count: u32,
    pub boundary_count: u32,
}

/// The policy at `path` + `name`.
pub(crate) fn find(path: &str, name: &str) -> Option<&'static AwsManaged> {
    catalogue().find(path, name)
}

/// The AWS managed policy an ARN names (`arn:aws:iam::aws:policy/…`), if any.
pub(crate) fn find_arn(arn: &str) -> Option<&'static AwsManaged> {
    let parsed = crate::policies::parse_arn(arn)?;
    (parsed.account == "aws")
        .then(|| find(&parsed.path, &parsed.name))
        .flatten()
}

/// `ANPA` and 17 characters derived from the name (FNV-1a), so ids are stable across restarts
/// and nodes.
pub(crate) fn policy_id(name: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut hash: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for b in name.bytes() {
        hash ^= u128::from(b);
        hash = hash.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
    }
    let mut id = String::from("ANPA");
    for _ in 0..17 {
        id.push(char::from(ALPHABET[(hash % 32) as usize]));
        hash /= 32;
    }
    id
}

pub(crate) fn usage_key(account: &str, name: &str) -> String {
    records::key(account, name)
}

pub(crate) fn usage(txn: &mut dyn Txn, account: &str, name: &str) -> TxResult<Usage> {
    Ok(records::get(txn, AWS_POLICY_USAGE, &usage_key(account, name))?.unwrap_or_default())
}

/// The account's usage of every AWS managed policy it has ever attached, by lower-cased name
/// (a handful of rows: the rest are unused).
pub(crate) fn usage_by_name(txn: &mut dyn Txn, account: &str) -> TxResult<HashMap<String, Usage>> {
    let prefix = format!("{account}/");
    let page = paging::scan(
        txn,
        AWS_POLICY_USAGE,
        &prefix,
        None,
        Some(i32::MAX),
        |key, raw| {
            let name = key.strip_prefix(&prefix).unwrap_or(key).to_string();
            Ok(Some((name, records::decode::<Usage>(raw)?)))
        },
    )?;
    Ok(page.items.into_iter().collect())
}

fn corrupt(e: String) -> StoreError {
    StoreError::Corrupt(format!("AWS managed policy data: {e}"))
}

/// The policy as one account sees it, with its document and that account's usage counts.
pub(crate) fn doc(txn: &mut dyn Txn, account: &str, p: &AwsManaged) -> TxResult<PolicyDoc> {
    let usage = usage(txn, account, p.name)?;
    let document = p.document().map_err(corrupt)?;
    Ok(PolicyDoc {
        versions: vec![VersionDoc {
            id: p.version,
            document,
            created: p.updated,
        }],
        ..listing(p, &usage)
    })
}

/// The policy as listings show it: everything but the document (`versions` is empty).
pub(crate) fn listing(p: &AwsManaged, usage: &Usage) -> PolicyDoc {
    PolicyDoc {
        name: p.name.to_string(),
        policy_id: policy_id(p.name),
        path: p.path.to_string(),
        description: None,
        created: p.created,
        updated: p.updated,
        default_version: p.version,
        next_version: p.version + 1,
        versions: Vec::new(),
        attachment_count: usage.attachment_count,
        boundary_count: usage.boundary_count,
        tags: Vec::new(),
        aws_managed: true,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// The fields of a data line the index repeats.
    #[derive(Deserialize)]
    struct Line {
        #[serde(rename = "PolicyName")]
        name: String,
        #[serde(rename = "Path")]
        path: String,
        #[serde(rename = "DefaultVersionId")]
        version: String,
        #[serde(rename = "CreateDate")]
        created: String,
        #[serde(rename = "UpdateDate")]
        updated: String,
    }

    fn row(text: &str, file: &str, at: usize, len: usize) -> (String, String) {
        let line: Line = serde_json::from_str(text).expect("a data line");
        let row = [
            line.name.as_str(),
            &line.path,
            &line.version,
            &line.created,
            &line.updated,
            file,
            &at.to_string(),
            &len.to_string(),
        ]
        .join("\t");
        (line.name.to_lowercase(), row)
    }

    /// The index is what `scripts/pack-aws-managed-policies` derives from the two data files.
    #[test]
    fn the_index_matches_the_data() {
        let mut rows = Vec::new();
        let mut at = 0;
        while at < PACKED.len() {
            let (text, len) = inflate_member(&PACKED[at..]).expect("a gzip member");
            assert!(len > 0);
            rows.push(row(&text, "gz", at, len));
            at += len;
        }
        assert_eq!(rows.len(), 1566);
        let mut at = 0;
        for line in SUPPLEMENT.split_inclusive('\n') {
            let text = line.trim_end_matches('\n');
            rows.push(row(text, "supplement", at, text.len()));
            at += line.len();
        }
        rows.sort();
        let mut expected =
            String::from("name\tpath\tversion\tcreated\tupdated\tfile\tstart\tlength\n");
        for (_, row) in rows {
            expected.push_str(&row);
            expected.push('\n');
        }
        assert!(
            INDEX == expected,
            "the index differs from the data: rerun scripts/pack-aws-managed-policies"
        );
    }

    #[test]
    fn every_policy_is_indexed_with_its_path_version_and_dates() {
        let c = Catalogue::index(INDEX).expect("the index reads");
        assert_eq!(c.len(), 1569);
        let mut by_path: BTreeMap<&str, usize> = BTreeMap::new();
        for p in c.all() {
            *by_path.entry(p.path).or_default() += 1;
        }
        assert_eq!(
            by_path.into_iter().collect::<Vec<_>>(),
            [
                ("/", 970),
                ("/aws-service-role/", 357),
                ("/job-function/", 11),
                ("/root-task/", 5),
                ("/service-role/", 226)
            ]
        );
        let lambda = c.find("/", "AWSLambdaExecute").expect("AWSLambdaExecute");
        assert_eq!(lambda.version, 1);
        assert_eq!(lambda.created, 1_423_248_046); // 2015-02-06T18:40:46Z
        assert_eq!(lambda.arn(), "arn:aws:iam::aws:policy/AWSLambdaExecute");
        let basic = c
            .find("/service-role/", "AWSLambdaBasicExecutionRole")
            .expect("a /service-role/ policy");
        assert_eq!(
            basic.arn(),
            "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
        );
        // The path and the name's case are part of the ARN.
        assert!(c.find("/", "AWSLambdaBasicExecutionRole").is_none());
        assert!(c.find("/", "awslambdaexecute").is_none());
        assert!(c.by_name("awslambdaexecute").is_some());
    }

    #[test]
    fn the_supplement_adds_what_the_snapshot_lacks() {
        let c = catalogue();
        let admin = c
            .find("/", "AdministratorAccess")
            .expect("AdministratorAccess");
        assert_eq!((admin.version, admin.created), (1, 1_423_247_986));
        assert_eq!(
            admin.document().unwrap(),
            r#"{"Statement":[{"Action":"*","Effect":"Allow","Resource":"*"}],"Version":"2012-10-17"}"#
        );
        let power = c.find("/", "PowerUserAccess").expect("PowerUserAccess");
        assert_eq!(power.version, 12);
        assert!(power
            .document()
            .unwrap()
            .contains(r#""NotAction":["iam:*","organizations:*","account:*"]"#));
    }

    #[test]
    fn documents_are_served_as_the_data_holds_them() {
        let c = catalogue();
        let lambda = c.by_name("AWSLambdaExecute").unwrap();
        assert_eq!(
            lambda.document().unwrap(),
            r#"{"Statement":[{"Action":["logs:*"],"Effect":"Allow","Resource":"arn:aws:logs:*:*:*"},{"Action":["s3:GetObject","s3:PutObject"],"Effect":"Allow","Resource":"arn:aws:s3:::*"}],"Version":"2012-10-17"}"#
        );
    }

    /// Every document compiles as an identity policy and as a permissions boundary: none of them
    /// can fail to evaluate once attached.
    #[test]
    fn every_document_compiles() {
        let c = catalogue();
        let mut failures = Vec::new();
        for p in c.all() {
            for kind in [PolicyKind::Identity, PolicyKind::PermissionsBoundary] {
                if let Err(e) = c.compiled(p, kind) {
                    failures.push(format!("{} ({kind:?}): {e}", p.name));
                }
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }

    #[test]
    fn compiled_documents_are_kept() {
        let c = catalogue();
        let p = c.by_name("ReadOnlyAccess").unwrap();
        let first = c.compiled(p, PolicyKind::Identity).unwrap();
        let again = c.compiled(p, PolicyKind::Identity).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let ids: Vec<String> = catalogue().all().map(|p| policy_id(p.name)).collect();
        assert!(ids
            .iter()
            .all(|id| id.len() == 21 && id.starts_with("ANPA")));
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len());
        assert_eq!(
            policy_id("AdministratorAccess"),
            policy_id("AdministratorAccess")
        );
    }

    #[test]
    fn arns_find_their_policy() {
        assert_eq!(
            find_arn("arn:aws:iam::aws:policy/job-function/ViewOnlyAccess").map(|p| p.name),
            Some("ViewOnlyAccess")
        );
        assert!(find_arn("arn:aws:iam::aws:policy/ViewOnlyAccess").is_none());
        assert!(find_arn("arn:aws:iam::123456789012:policy/ReadOnlyAccess").is_none());
        assert!(find_arn("arn:aws:iam::aws:policy/NoSuchPolicy").is_none());
    }
}
