//! No input panics or exhausts the stack: random bytes and random Query keys against real
//! shapes (IAM `TagUser` has lists of structures, STS `AssumeRole` nested lists, Secrets
//! Manager `CreateSecret` blobs) and a recursive hand-made shape.

use coffer_model::schema::{Kind, Member, Shape};
use coffer_wire::{decode_json_input, decode_query_input, parse_query_params, validate};
use proptest::prelude::*;

use crate::botocore_model::AwsModel;

static STRING: Shape = Shape {
    name: "String",
    kind: Kind::String,
    min: None,
    max: None,
    pattern: None,
    enum_values: &[],
    enum_message_order: &[],
    sensitive: false,
    timestamp_format: None,
    error: None,
};

/// `Node { Name: String, Child: Node, Children: [Node] }`: recursion in statics, as the
/// generator emits for recursive models.
static NODE: Shape = Shape {
    name: "Node",
    kind: Kind::Structure {
        members: &[
            Member {
                name: "Name",
                target: &STRING,
                required: false,
                location_name: None,
                flattened: false,
                idempotency_token: false,
                timestamp_format: None,
            },
            Member {
                name: "Child",
                target: &NODE,
                required: false,
                location_name: None,
                flattened: false,
                idempotency_token: false,
                timestamp_format: None,
            },
            Member {
                name: "Children",
                target: &NODE_LIST,
                required: false,
                location_name: None,
                flattened: false,
                idempotency_token: false,
                timestamp_format: None,
            },
        ],
    },
    min: None,
    max: None,
    pattern: None,
    enum_values: &[],
    enum_message_order: &[],
    sensitive: false,
    timestamp_format: None,
    error: None,
};

static NODE_LIST: Shape = Shape {
    name: "NodeList",
    kind: Kind::List {
        member: &NODE,
        member_name: "member",
        flattened: false,
    },
    min: None,
    max: None,
    pattern: None,
    enum_values: &[],
    enum_message_order: &[],
    sensitive: false,
    timestamp_format: None,
    error: None,
};

/// Loaded once: parsing the models for every generated case would dominate the run time.
fn shapes() -> &'static [&'static Shape] {
    static SHAPES: std::sync::OnceLock<Vec<&'static Shape>> = std::sync::OnceLock::new();
    SHAPES.get_or_init(load_shapes)
}

fn load_shapes() -> Vec<&'static Shape> {
    let iam = AwsModel::iam();
    let sts = AwsModel::sts();
    let sm = AwsModel::secretsmanager();
    vec![
        iam.operation("TagUser").input.unwrap(),
        iam.operation("ListUsers").input.unwrap(),
        sts.operation("AssumeRole").input.unwrap(),
        sm.operation("CreateSecret").input.unwrap(),
        sm.operation("ListSecrets").input.unwrap(),
        &NODE,
    ]
}

fn key_strategy() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        Just("Tags".to_string()),
        Just("member".to_string()),
        Just("entry".to_string()),
        Just("Key".to_string()),
        Just("Value".to_string()),
        Just("Child".to_string()),
        Just("Children".to_string()),
        Just("Name".to_string()),
        Just("MaxItems".to_string()),
        Just("DurationSeconds".to_string()),
        Just("PolicyArns".to_string()),
        Just("SecretBinary".to_string()),
        (0u32..40).prop_map(|n| n.to_string()),
        "[a-zA-Z%.+]{0,6}",
    ];
    prop::collection::vec(segment, 1..40).prop_map(|s| s.join("."))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn parse_query_params_never_panics(query in ".{0,200}", body in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_query_params(&query, Some(&body));
    }

    #[test]
    fn decode_query_input_never_panics(
        pairs in prop::collection::vec((key_strategy(), "[a-zA-Z0-9=+/:. -]{0,12}"), 0..60),
    ) {
        for &shape in shapes() {
            if let Ok(v) = decode_query_input(&pairs, Some(shape)) {
                let _ = validate(&v, shape);
            }
        }
    }

    #[test]
    fn decode_json_input_never_panics(body in prop::collection::vec(any::<u8>(), 0..300)) {
        for &shape in shapes() {
            let _ = decode_json_input(&body, Some(shape));
        }
    }

    #[test]
    fn decode_json_input_structured_never_panics(body in json_text()) {
        for &shape in shapes() {
            if let Ok(v) = decode_json_input(body.as_bytes(), Some(shape)) {
                let _ = validate(&v, shape);
            }
        }
    }
}

fn json_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| if f.is_finite() {
            f.to_string()
        } else {
            "1.5".into()
        }),
        "[a-zA-Z0-9=+/]{0,10}".prop_map(|s| format!("\"{s}\"")),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("Name"),
                        Just("Tags"),
                        Just("Key"),
                        Just("Value"),
                        Just("Child"),
                        Just("Children"),
                        Just("MaxResults"),
                        Just("SecretBinary"),
                        Just("Filters")
                    ],
                    inner
                ),
                0..5
            )
            .prop_map(|kv| format!(
                "{{{}}}",
                kv.iter()
                    .map(|(k, v)| format!("\"{k}\":{v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            )),
        ]
    })
}

#[test]
fn deep_recursive_query_keys_are_bounded() {
    let key = vec!["Child"; 31].join(".") + ".Name";
    let v = decode_query_input(&[(key, "x".into())], Some(&NODE)).unwrap();
    let mut depth = 0;
    let mut cur = &v;
    while let Some(next) = cur.get("Child") {
        cur = next;
        depth += 1;
    }
    assert_eq!((depth, cur["Name"].as_str()), (31, Some("x")));
    let too_deep = vec!["Child"; 40].join(".");
    assert!(decode_query_input(&[(too_deep, "x".into())], Some(&NODE)).is_err());
}
