//! The typed path against the canonical one, on generated request bodies: whatever the typed path
//! accepts, the canonical path accepts too and means the same request; valid requests take the
//! typed path.

use coffer_model::schema::{Kind, Operation, Service, Shape};
use coffer_model::{iam, secretsmanager};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::*;
use crate::{decode_json_input, validate};

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

const PIECES: &[&str] = &[
    "a",
    "Z",
    "0",
    "-",
    "/",
    "_",
    "+",
    "=",
    ".",
    "@",
    ",",
    "é",
    "😀",
    "\u{0}",
    " ",
    "*",
    ":",
    "\"",
    "\\",
    "AWSCURRENT",
];

fn text(rng: &mut Rng, shape: &Shape) -> String {
    if !shape.enum_values.is_empty() && rng.below(2) == 0 {
        return rng.pick(shape.enum_values).to_string();
    }
    let edges = [
        0,
        1,
        3,
        shape.min.unwrap_or(1).max(1) as usize - 1,
        shape.min.unwrap_or(1) as usize,
        shape.max.unwrap_or(40).min(3000) as usize,
        shape.max.unwrap_or(40).min(3000) as usize + 1,
        32,
    ];
    let len = rng.pick(&edges);
    let piece = if rng.below(3) == 0 {
        "a"
    } else {
        rng.pick(PIECES)
    };
    let mut s = String::new();
    while s.chars().count() < len {
        s.push_str(if rng.below(4) == 0 {
            rng.pick(PIECES)
        } else {
            piece
        });
    }
    s.chars().take(len).collect()
}

/// Some JSON for a member: mostly of its own kind, sometimes of another.
fn member_json(rng: &mut Rng, shape: &Shape) -> String {
    let own = rng.below(4) != 0;
    let kind = if own { &shape.kind } else { &Kind::Blob };
    match (kind, rng.below(10)) {
        (Kind::String, _) => serde_json::to_string(&text(rng, shape)).unwrap(),
        (Kind::Boolean, _) => rng.pick(&["true", "false"]).to_string(),
        (Kind::Integer | Kind::Long, _) => rng
            .pick(&[
                "0",
                "1",
                "-1",
                "20",
                "100",
                "1000",
                "4096",
                "2147483647",
                "2147483648",
                "-2147483649",
                "9223372036854775807",
                "9223372036854775808",
                "1.0",
                "1e2",
                "\"5\"",
            ])
            .to_string(),
        (Kind::List { member, .. }, _) => {
            let n = rng.pick(&[0, 1, 2, 3, 25]);
            let items: Vec<String> = (0..n)
                .map(|_| match rng.below(12) {
                    0 => "null".to_string(),
                    1 => "7".to_string(),
                    _ => serde_json::to_string(&text(rng, member)).unwrap(),
                })
                .collect();
            format!("[{}]", items.join(","))
        }
        (_, 0) => "null".to_string(),
        (_, 1) => "{}".to_string(),
        (_, 2) => "[\"x\"]".to_string(),
        (_, 3) => "true".to_string(),
        (_, 4) => "12".to_string(),
        (_, 5) => "{\"a\":[[[[1]]]]}".to_string(),
        _ => "\"text\"".to_string(),
    }
}

/// A request body, and whether it names a member twice (which serde refuses and the canonical
/// path reads as its last value).
fn body(rng: &mut Rng, shape: &'static Shape) -> (String, bool) {
    let Kind::Structure { members } = &shape.kind else {
        unreachable!("inputs are structures");
    };
    let mut entries: Vec<String> = Vec::new();
    let mut duplicate = false;
    for m in members.iter() {
        // Required members are usually present, so that many bodies are valid.
        let present = if m.required {
            rng.below(10) != 0
        } else {
            rng.below(2) == 0
        };
        if present {
            entries.push(format!("\"{}\":{}", m.name, member_json(rng, m.target)));
        }
        if rng.below(40) == 0 {
            duplicate = true;
            entries.push(format!("\"{}\":{}", m.name, member_json(rng, m.target)));
        }
    }
    if rng.below(5) == 0 {
        entries.push(format!(
            "\"{}\":{}",
            rng.pick(&["Unknown", "secretId", "X"]),
            rng.pick(&[
                "1",
                "null",
                "{\"a\":[1,{}]}",
                "\"v\"",
                "\"\\ud800\"",
                "1e400",
                "\"\\u00e9\\ud83d\\ude00\"",
            ])
        ));
    }
    let object = format!("{{{}}}", entries.join(","));
    let body = match rng.below(40) {
        0 => format!("[{}]", entries.join(",").replace(':', ",")),
        1 => String::new(),
        2 => "null".to_string(),
        3 => format!("  {object}  "),
        4 => format!("{object} x"),
        5 => object[..object.len() - 1].to_string(),
        _ => object,
    };
    (body, duplicate)
}

fn op(service: &'static Service, name: &str) -> &'static Operation {
    service.operation(name).expect("operation in the model")
}

/// Runs `rounds` generated bodies of `op` through both paths; returns how many the typed path took.
fn compare<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(
    op: &'static Operation,
    rounds: usize,
    seed: u64,
) -> usize {
    let shape = op.input.expect("input shape");
    assert!(is_flat(shape), "{} has a flat input", op.name);
    let mut rng = Rng(seed);
    let mut typed_count = 0;
    let mut valid_count = 0;
    for _ in 0..rounds {
        let (body, duplicate) = body(&mut rng, shape);
        let canonical = decode_json_input(body.as_bytes(), Some(shape))
            .ok()
            .filter(|v| validate(v, shape).is_ok());
        // Completeness is judged on bodies serde can read: no member twice, no null list item.
        let plain = !duplicate && !body.contains("[null") && !body.contains(",null");
        valid_count += usize::from(canonical.is_some() && plain);
        let Some(typed) = decode_json_typed::<T>(body.as_bytes(), shape) else {
            continue;
        };
        typed_count += usize::from(plain);
        let canonical = canonical.unwrap_or_else(|| {
            panic!(
                "{}: the typed path accepted a body the canonical path refuses: {body}",
                op.name
            )
        });
        let from_canonical: T = serde_json::from_value(canonical).unwrap_or_else(|e| {
            panic!("{}: canonical value does not decode ({e}): {body}", op.name)
        });
        assert_eq!(typed, from_canonical, "{}: {body}", op.name);
    }
    // The generator must exercise both sides, and valid bodies go the typed way.
    assert!(
        valid_count > rounds / 20,
        "{}: {valid_count} valid",
        op.name
    );
    assert!(
        typed_count == valid_count,
        "{}: typed {typed_count} of {valid_count} valid",
        op.name
    );
    typed_count
}

#[test]
fn typed_path_agrees_with_the_canonical_path() {
    let sm = &secretsmanager::SERVICE;
    let iam_service = &iam::SERVICE;
    let rounds = 4000;
    compare::<secretsmanager::GetSecretValueRequest>(op(sm, "GetSecretValue"), rounds, 1);
    compare::<secretsmanager::DescribeSecretRequest>(op(sm, "DescribeSecret"), rounds, 2);
    compare::<secretsmanager::ListSecretVersionIdsRequest>(
        op(sm, "ListSecretVersionIds"),
        rounds,
        3,
    );
    compare::<secretsmanager::UntagResourceRequest>(op(sm, "UntagResource"), rounds, 4);
    compare::<secretsmanager::GetRandomPasswordRequest>(op(sm, "GetRandomPassword"), rounds, 5);
    compare::<secretsmanager::UpdateSecretVersionStageRequest>(
        op(sm, "UpdateSecretVersionStage"),
        rounds,
        6,
    );
    compare::<iam::ListPoliciesRequest>(op(iam_service, "ListPolicies"), rounds, 7);
    compare::<iam::GetUserRequest>(op(iam_service, "GetUser"), rounds, 8);
}

#[test]
fn a_well_formed_get_secret_value_takes_the_typed_path() {
    let shape = op(&secretsmanager::SERVICE, "GetSecretValue")
        .input
        .unwrap();
    let typed: secretsmanager::GetSecretValueRequest = decode_json_typed(
        br#"{"SecretId":"db/password","VersionStage":"AWSPREVIOUS"}"#,
        shape,
    )
    .expect("typed");
    assert_eq!(typed.secret_id, "db/password");
    assert_eq!(typed.version_stage.as_deref(), Some("AWSPREVIOUS"));
}

#[test]
fn what_aws_refuses_is_left_to_the_canonical_path() {
    let shape = op(&secretsmanager::SERVICE, "GetSecretValue")
        .input
        .unwrap();
    for body in [
        // serde would read these structures from arrays.
        &br#"["db/password"]"#[..],
        br#"["db/password", null, "AWSCURRENT"]"#,
        br#""#,
        br#"{}"#,
        br#"{"SecretId":null}"#,
        br#"{"SecretId":""}"#,
        br#"{"SecretId":5}"#,
        br#"{"SecretId":"a","VersionId":"short"}"#,
        br#"{"SecretId":"a","SecretId":"b"}"#,
        br#"{"SecretId":"a"} trailing"#,
        // Unknown members are parsed as strictly as known ones (serde would skip these leniently).
        br#"{"SecretId":"a","X":"\ud800"}"#,
        b"{\"SecretId\":\"a\",\"X\":\"\xff\"}",
        b"{\"SecretId\":\"a\",\"X\":{\"\xff\":1}}",
        br#"{"SecretId":"a","X":1e400}"#,
    ] {
        assert!(
            decode_json_typed::<secretsmanager::GetSecretValueRequest>(body, shape).is_none(),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    let deep = format!(
        r#"{{"SecretId":"a","X":{}{}}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    assert!(
        decode_json_typed::<secretsmanager::GetSecretValueRequest>(deep.as_bytes(), shape)
            .is_none()
    );
    let long = format!(r#"{{"SecretId":"{}"}}"#, "a".repeat(2049));
    assert!(
        decode_json_typed::<secretsmanager::GetSecretValueRequest>(long.as_bytes(), shape)
            .is_none()
    );
}

#[test]
fn inputs_with_nested_members_are_not_flat() {
    let sm = &secretsmanager::SERVICE;
    for name in [
        "CreateSecret",
        "ListSecrets",
        "PutSecretValue",
        "TagResource",
    ] {
        assert!(!is_flat(op(sm, name).input.unwrap()), "{name}");
    }
    assert!(is_flat(op(sm, "GetSecretValue").input.unwrap()));
}

/// A typed request whose required member can be left out when serialized (the generator does
/// this for members AWS omits when empty): absent, it violates the model like a missing member.
#[test]
fn a_required_member_left_out_violates_the_model() {
    #[derive(Serialize)]
    struct Skippable {
        #[serde(rename = "SecretId", skip_serializing_if = "Option::is_none")]
        secret_id: Option<String>,
    }
    let shape = op(&secretsmanager::SERVICE, "GetSecretValue")
        .input
        .unwrap();
    assert!(!satisfies(&Skippable { secret_id: None }, shape));
    assert!(satisfies(
        &Skippable {
            secret_id: Some("db".into())
        },
        shape
    ));
}

/// The typed path writes its response with serde directly; the canonical one goes through the
/// value. Both write the same bytes, for every member GetSecretValue answers.
#[test]
fn a_typed_response_is_written_as_the_canonical_one() {
    use coffer_model::{Blob, Sensitive, Timestamp};
    let full = secretsmanager::GetSecretValueResponse {
        arn: Some("arn:aws:secretsmanager:us-east-1:123456789012:secret:a-AbCdEf".into()),
        name: Some("a".into()),
        version_id: Some("v1".into()),
        secret_binary: Some(Sensitive::new(Blob(vec![0, 1, 2, 255]))),
        secret_string: Some(Sensitive::new("s\"\\é😀".to_string())),
        version_stages: Some(vec!["AWSCURRENT".into()]),
        created_date: Some(Timestamp::from_millis(1_523_477_145_713)),
    };
    let sparse = secretsmanager::GetSecretValueResponse {
        name: Some("a".into()),
        ..Default::default()
    };
    for response in [full, sparse] {
        let canonical = crate::encode_json_response(&serde_json::to_value(&response).unwrap());
        assert_eq!(serde_json::to_vec(&response).unwrap(), canonical);
    }
}
