//! The workloads of issue 7 as request generators: each load worker owns one and asks it for the
//! next operation, then tells it how the response went (ListSecrets follows its NextToken).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    GetCallerIdentity,
    AssumeRole,
    GetSecretValueHot,
    GetSecretValueRandom,
    DescribeSecret,
    ListSecrets,
    BatchGetSecretValue,
    Mixed,
    PutSecretValue,
    CreateSecret,
    ListSecretsCreatedDesc,
    ListSecretsChanged,
    ListSecretsChangedDesc,
    ListSecretsAccessed,
    ListSecretsAccessedDesc,
    ListSecretsName,
    ListSecretsNameDesc,
}

impl Workload {
    /// Reads first: the writes grow the data set the reads run on.
    pub const ALL: [Workload; 10] = [
        Workload::GetCallerIdentity,
        Workload::AssumeRole,
        Workload::GetSecretValueHot,
        Workload::GetSecretValueRandom,
        Workload::DescribeSecret,
        Workload::ListSecrets,
        Workload::BatchGetSecretValue,
        Workload::Mixed,
        Workload::PutSecretValue,
        Workload::CreateSecret,
    ];

    /// ListSecrets in its other sort orders (issue 15): run only when named with `--workloads`,
    /// to compare a page's cost with the default order's.
    pub const LIST_SORTS: [Workload; 7] = [
        Workload::ListSecretsCreatedDesc,
        Workload::ListSecretsChanged,
        Workload::ListSecretsChangedDesc,
        Workload::ListSecretsAccessed,
        Workload::ListSecretsAccessedDesc,
        Workload::ListSecretsName,
        Workload::ListSecretsNameDesc,
    ];

    /// Every workload, in the order reports list them.
    pub fn every() -> impl Iterator<Item = Workload> {
        Workload::ALL.into_iter().chain(Workload::LIST_SORTS)
    }

    /// The `SortBy` and `SortOrder` a ListSecrets workload sends (`None` for the default order),
    /// or `None` for the other workloads.
    pub fn list_order(self) -> Option<Option<(&'static str, &'static str)>> {
        Some(Some(match self {
            Workload::ListSecrets => return Some(None),
            Workload::ListSecretsCreatedDesc => ("created-date", "desc"),
            Workload::ListSecretsChanged => ("last-changed-date", "asc"),
            Workload::ListSecretsChangedDesc => ("last-changed-date", "desc"),
            Workload::ListSecretsAccessed => ("last-accessed-date", "asc"),
            Workload::ListSecretsAccessedDesc => ("last-accessed-date", "desc"),
            Workload::ListSecretsName => ("name", "asc"),
            Workload::ListSecretsNameDesc => ("name", "desc"),
            _ => return None,
        }))
    }

    pub fn label(self) -> &'static str {
        match self {
            Workload::GetCallerIdentity => "sts:GetCallerIdentity",
            Workload::AssumeRole => "sts:AssumeRole (IAM user, role trusting it)",
            Workload::GetSecretValueHot => "GetSecretValue, one hot secret",
            Workload::GetSecretValueRandom => "GetSecretValue, random secret",
            Workload::DescribeSecret => "DescribeSecret, random secret",
            Workload::ListSecrets => "ListSecrets, pages of 100",
            Workload::BatchGetSecretValue => "BatchGetSecretValue of 20",
            Workload::Mixed => "mixed: 80% Get, 10% Describe, 10% Put",
            Workload::PutSecretValue => "PutSecretValue, random secret",
            Workload::CreateSecret => "CreateSecret",
            Workload::ListSecretsCreatedDesc => "ListSecrets by created-date desc, pages of 100",
            Workload::ListSecretsChanged => "ListSecrets by last-changed-date asc, pages of 100",
            Workload::ListSecretsChangedDesc => {
                "ListSecrets by last-changed-date desc, pages of 100"
            }
            Workload::ListSecretsAccessed => "ListSecrets by last-accessed-date asc, pages of 100",
            Workload::ListSecretsAccessedDesc => {
                "ListSecrets by last-accessed-date desc, pages of 100"
            }
            Workload::ListSecretsName => "ListSecrets by name asc, pages of 100",
            Workload::ListSecretsNameDesc => "ListSecrets by name desc, pages of 100",
        }
    }

    /// Runs on a seeded data set.
    pub fn needs_seed(self) -> bool {
        !matches!(
            self,
            Workload::GetCallerIdentity | Workload::AssumeRole | Workload::CreateSecret
        )
    }

    /// Runs as an IAM user that may assume a role, created through IAM before the first point.
    pub fn needs_role(self) -> bool {
        self == Workload::AssumeRole
    }

    /// Changes no secret: the set that also runs against the baselines (AssumeRole stores a
    /// session, but reads as a read to the client, and the issue lists it with them).
    pub fn is_read(self) -> bool {
        !matches!(
            self,
            Workload::Mixed | Workload::PutSecretValue | Workload::CreateSecret
        )
    }
}

/// The seeded secrets: `{prefix}000000` … `{prefix}{count-1}`; the first is the hot one.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub prefix: String,
    pub count: u64,
    /// Random reads and writes pick among the first this many (issue 7: "10,000 secrets at
    /// random"), however many are seeded for ListSecrets and start-up.
    pub random_over: u64,
    /// The role AssumeRole asks for.
    pub role_arn: String,
}

/// Issue 7's random-read set.
pub const RANDOM_OVER: u64 = 10_000;

impl Dataset {
    pub fn new(prefix: &str, count: u64) -> Dataset {
        Dataset {
            prefix: prefix.to_string(),
            count,
            random_over: RANDOM_OVER,
            role_arn: String::new(),
        }
    }

    pub fn name(&self, i: u64) -> String {
        format!("{}{i:06}", self.prefix)
    }
}

/// Every seeded and written value has this length, so responses keep one size.
pub const VALUE_LEN: usize = 64;

pub fn seed_value(i: u64) -> String {
    format!("seed-{i:0width$}", width = VALUE_LEN - 5)
}

/// One request: the signing name of its service, and its wire form.
#[derive(Debug, Clone)]
pub struct Op {
    pub service: &'static str,
    pub content_type: &'static str,
    pub target: Option<&'static str>,
    pub body: Vec<u8>,
    pub list_page: bool,
}

const JSON: &str = "application/x-amz-json-1.1";
const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

fn sm(operation: &'static str, body: serde_json::Value) -> Op {
    Op {
        service: "secretsmanager",
        content_type: JSON,
        target: Some(operation),
        body: body.to_string().into_bytes(),
        list_page: false,
    }
}

/// An IAM / STS query-protocol request.
pub fn query(service: &'static str, params: &[(&str, &str)]) -> Op {
    Op {
        service,
        content_type: FORM,
        target: None,
        body: form(params).into_bytes(),
        list_page: false,
    }
}

/// `application/x-www-form-urlencoded`, every byte outside the unreserved set percent-encoded.
pub fn form(params: &[(&str, &str)]) -> String {
    let enc = |v: &str| {
        let mut out = String::with_capacity(v.len());
        for b in v.bytes() {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    };
    params
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Run(Workload),
    /// CreateSecret of dataset secret number `from + seq`: seeding through the same client.
    Seed {
        from: u64,
    },
}

pub struct Generator {
    kind: Kind,
    data: Dataset,
    rng: StdRng,
    /// Distinguishes the names CreateSecret invents in this run from earlier runs'.
    tag: String,
    next_token: Option<String>,
}

impl Generator {
    pub fn new(kind: Kind, data: Dataset, tag: &str) -> Generator {
        Generator {
            kind,
            data,
            rng: StdRng::from_entropy(),
            tag: tag.to_string(),
            next_token: None,
        }
    }

    fn random_name(&mut self) -> String {
        let n = self.data.count.min(self.data.random_over).max(1);
        let i = self.rng.gen_range(0..n);
        self.data.name(i)
    }

    /// The operation for global request number `seq`.
    pub fn next(&mut self, seq: u64) -> Op {
        let workload = match self.kind {
            Kind::Seed { from } => {
                let i = from + seq;
                return sm(
                    "secretsmanager.CreateSecret",
                    json!({
                        "Name": self.data.name(i),
                        "SecretString": seed_value(i),
                        "ClientRequestToken": uuid::Uuid::new_v4().to_string(),
                    }),
                );
            }
            Kind::Run(Workload::Mixed) => match self.rng.gen_range(0..100) {
                0..=79 => Workload::GetSecretValueRandom,
                80..=89 => Workload::DescribeSecret,
                _ => Workload::PutSecretValue,
            },
            Kind::Run(w) => w,
        };
        match workload {
            Workload::GetCallerIdentity => Op {
                service: "sts",
                content_type: FORM,
                target: None,
                body: b"Action=GetCallerIdentity&Version=2011-06-15".to_vec(),
                list_page: false,
            },
            Workload::AssumeRole => Op {
                service: "sts",
                content_type: FORM,
                target: None,
                body: form(&[
                    ("Action", "AssumeRole"),
                    ("Version", "2011-06-15"),
                    ("RoleArn", &self.data.role_arn),
                    ("RoleSessionName", &format!("bench-{seq}")),
                ])
                .into_bytes(),
                list_page: false,
            },
            Workload::GetSecretValueHot => sm(
                "secretsmanager.GetSecretValue",
                json!({ "SecretId": self.data.name(0) }),
            ),
            Workload::GetSecretValueRandom => {
                let id = self.random_name();
                sm("secretsmanager.GetSecretValue", json!({ "SecretId": id }))
            }
            Workload::DescribeSecret => {
                let id = self.random_name();
                sm("secretsmanager.DescribeSecret", json!({ "SecretId": id }))
            }
            Workload::PutSecretValue => {
                let id = self.random_name();
                let value = format!("put-{seq:0width$}", width = VALUE_LEN - 4);
                sm(
                    "secretsmanager.PutSecretValue",
                    json!({
                        "SecretId": id,
                        "SecretString": value,
                        "ClientRequestToken": uuid::Uuid::new_v4().to_string(),
                    }),
                )
            }
            Workload::CreateSecret => sm(
                "secretsmanager.CreateSecret",
                json!({
                    "Name": format!("{}new-{}-{seq}", self.data.prefix, self.tag),
                    "SecretString": seed_value(seq),
                    "ClientRequestToken": uuid::Uuid::new_v4().to_string(),
                }),
            ),
            Workload::ListSecrets
            | Workload::ListSecretsCreatedDesc
            | Workload::ListSecretsChanged
            | Workload::ListSecretsChangedDesc
            | Workload::ListSecretsAccessed
            | Workload::ListSecretsAccessedDesc
            | Workload::ListSecretsName
            | Workload::ListSecretsNameDesc => {
                let mut body = json!({ "MaxResults": 100 });
                if let Some(t) = &self.next_token {
                    body["NextToken"] = json!(t);
                }
                if let Some(Some((sort_by, sort_order))) = workload.list_order() {
                    body["SortBy"] = json!(sort_by);
                    body["SortOrder"] = json!(sort_order);
                }
                let mut op = sm("secretsmanager.ListSecrets", body);
                op.list_page = true;
                op
            }
            Workload::BatchGetSecretValue => {
                let ids: Vec<String> = (0..20).map(|_| self.random_name()).collect();
                sm(
                    "secretsmanager.BatchGetSecretValue",
                    json!({ "SecretIdList": ids }),
                )
            }
            // Resolved to one of its parts above.
            Workload::Mixed => sm("secretsmanager.GetSecretValue", json!({})),
        }
    }

    /// Follows ListSecrets pages to the end, then starts over.
    pub fn observe(&mut self, op: &Op, ok: bool, body: &[u8]) {
        if !op.list_page {
            return;
        }
        self.next_token = if ok {
            serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v.get("NextToken")?.as_str().map(str::to_string))
        } else {
            None
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Dataset {
        Dataset::new("bench/", 50)
    }

    fn body(op: &Op) -> serde_json::Value {
        serde_json::from_slice(&op.body).unwrap()
    }

    #[test]
    fn seeding_names_follow_the_sequence() {
        let mut g = Generator::new(Kind::Seed { from: 0 }, data(), "t");
        let op = g.next(7);
        assert_eq!(op.target, Some("secretsmanager.CreateSecret"));
        let b = body(&op);
        assert_eq!(b["Name"], "bench/000007");
        assert_eq!(b["SecretString"].as_str().unwrap().len(), VALUE_LEN);
        let mut later = Generator::new(Kind::Seed { from: 10_000 }, data(), "t");
        assert_eq!(body(&later.next(7))["Name"], "bench/010007");
    }

    #[test]
    fn random_reads_stay_inside_the_data_set() {
        let mut g = Generator::new(Kind::Run(Workload::GetSecretValueRandom), data(), "t");
        for seq in 0..500 {
            let name = body(&g.next(seq))["SecretId"].as_str().unwrap().to_string();
            let i: u64 = name.strip_prefix("bench/").unwrap().parse().unwrap();
            assert!(i < 50);
        }
        let mut wide = Dataset::new("bench/", 100_000);
        wide.random_over = 10;
        let mut g = Generator::new(Kind::Run(Workload::DescribeSecret), wide, "t");
        for seq in 0..200 {
            let name = body(&g.next(seq))["SecretId"].as_str().unwrap().to_string();
            let i: u64 = name.strip_prefix("bench/").unwrap().parse().unwrap();
            assert!(i < 10, "{name}");
        }
        let mut hot = Generator::new(Kind::Run(Workload::GetSecretValueHot), data(), "t");
        assert_eq!(body(&hot.next(3))["SecretId"], "bench/000000");
    }

    #[test]
    fn sorted_list_workloads_send_their_order_and_follow_tokens() {
        let mut g = Generator::new(Kind::Run(Workload::ListSecrets), data(), "t");
        let b = body(&g.next(0));
        assert_eq!(b["MaxResults"], 100);
        assert!(b.get("SortBy").is_none() && b.get("SortOrder").is_none());
        for w in Workload::LIST_SORTS {
            let (sort_by, sort_order) = w.list_order().unwrap().unwrap();
            let mut g = Generator::new(Kind::Run(w), data(), "t");
            let first = g.next(0);
            assert!(first.list_page);
            let b = body(&first);
            assert_eq!(
                (b["SortBy"].as_str(), b["SortOrder"].as_str()),
                (Some(sort_by), Some(sort_order))
            );
            assert!(b.get("NextToken").is_none());
            g.observe(&first, true, br#"{"SecretList":[],"NextToken":"abc"}"#);
            let b = body(&g.next(1));
            assert_eq!(b["NextToken"], "abc");
            assert_eq!(b["SortBy"], sort_by);
            assert!(w.needs_seed() && w.is_read());
        }
        assert_eq!(Workload::every().count(), 17);
    }

    #[test]
    fn batch_get_asks_for_twenty_and_puts_keep_the_value_length() {
        let mut g = Generator::new(Kind::Run(Workload::BatchGetSecretValue), data(), "t");
        assert_eq!(
            body(&g.next(0))["SecretIdList"].as_array().unwrap().len(),
            20
        );
        let mut p = Generator::new(Kind::Run(Workload::PutSecretValue), data(), "t");
        let b = body(&p.next(123_456));
        assert_eq!(b["SecretString"].as_str().unwrap().len(), VALUE_LEN);
    }

    #[test]
    fn list_secrets_follows_next_token_then_restarts() {
        let mut g = Generator::new(Kind::Run(Workload::ListSecrets), data(), "t");
        let first = g.next(0);
        assert!(body(&first).get("NextToken").is_none());
        g.observe(&first, true, br#"{"SecretList":[],"NextToken":"abc"}"#);
        let second = g.next(1);
        assert_eq!(body(&second)["NextToken"], "abc");
        g.observe(&second, true, br#"{"SecretList":[]}"#);
        assert!(body(&g.next(2)).get("NextToken").is_none());
    }

    #[test]
    fn assume_role_is_a_signed_form_with_the_role_arn_encoded() {
        let mut d = data();
        d.role_arn = "arn:aws:iam::123456789012:role/bench-role".into();
        let mut g = Generator::new(Kind::Run(Workload::AssumeRole), d, "t");
        let op = g.next(5);
        assert_eq!(op.service, "sts");
        assert_eq!(
            String::from_utf8(op.body).unwrap(),
            "Action=AssumeRole&Version=2011-06-15\
             &RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fbench-role&RoleSessionName=bench-5"
        );
        assert!(Workload::AssumeRole.needs_role() && !Workload::AssumeRole.needs_seed());
    }

    #[test]
    fn mixed_profile_proportions() {
        let mut g = Generator::new(Kind::Run(Workload::Mixed), data(), "t");
        let mut counts = std::collections::HashMap::new();
        for seq in 0..10_000 {
            *counts.entry(g.next(seq).target.unwrap()).or_insert(0u32) += 1;
        }
        let get = counts["secretsmanager.GetSecretValue"];
        let put = counts["secretsmanager.PutSecretValue"];
        assert!((7_500..8_500).contains(&get), "{counts:?}");
        assert!((700..1_300).contains(&put), "{counts:?}");
    }

    #[test]
    fn create_names_are_unique_per_run_and_sequence() {
        let mut a = Generator::new(Kind::Run(Workload::CreateSecret), data(), "r1");
        let mut b = Generator::new(Kind::Run(Workload::CreateSecret), data(), "r2");
        assert_ne!(body(&a.next(1))["Name"], body(&a.next(2))["Name"]);
        assert_ne!(body(&a.next(1))["Name"], body(&b.next(1))["Name"]);
        assert!(Workload::GetCallerIdentity.is_read() && !Workload::Mixed.is_read());
    }
}
