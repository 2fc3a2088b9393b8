//! Loads the real AWS models (`data/aws-models/<svc>/<version>/service-2.json`, botocore's
//! format) into `coffer_model::schema` shapes, standing in for the generated statics so the
//! tests exercise IAM, STS and Secrets Manager shapes exactly as AWS defines them.

use std::cell::RefCell;
use std::collections::HashMap;

use coffer_model::schema::{ErrorInfo, Kind, Member, Operation, Service, Shape, TimestampFormat};
use serde_json::Value;

use crate::support::{leak, leak_slice, models_dir, plain};

const UNROLL: usize = 10;

fn s(v: &str) -> &'static str {
    Box::leak(v.to_string().into_boxed_str())
}

pub struct AwsModel {
    json: Value,
    memo: RefCell<HashMap<(String, usize), &'static Shape>>,
}

impl AwsModel {
    pub fn load(service: &str, version: &str) -> AwsModel {
        let path = models_dir()
            .join(service)
            .join(version)
            .join("service-2.json");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        AwsModel {
            json: serde_json::from_str(&text).expect("model JSON"),
            memo: RefCell::default(),
        }
    }

    pub fn iam() -> AwsModel {
        AwsModel::load("iam", "2010-05-08")
    }
    pub fn sts() -> AwsModel {
        AwsModel::load("sts", "2011-06-15")
    }
    pub fn secretsmanager() -> AwsModel {
        AwsModel::load("secretsmanager", "2017-10-17")
    }

    pub fn shape(&self, name: &str) -> &'static Shape {
        self.resolve(name, 0)
    }

    pub fn operation(&self, name: &str) -> &'static Operation {
        let op = &self.json["operations"][name];
        assert!(op.is_object(), "no operation {name}");
        leak(Operation {
            name: s(name),
            input: op["input"]["shape"].as_str().map(|n| self.shape(n)),
            output: op["output"]["shape"].as_str().map(|n| self.shape(n)),
            result_wrapper: op["output"]["resultWrapper"].as_str().map(s),
            errors: &[],
            http_method: "POST",
            authorization: &coffer_model::schema::Authorization::UNLISTED,
        })
    }

    /// The operation whose name equals `name` ignoring case and `-` (`list-mfa-devices`).
    pub fn operation_named_like(&self, name: &str) -> &'static Operation {
        let wanted = name.replace('-', "").to_ascii_lowercase();
        let found = self.json["operations"]
            .as_object()
            .and_then(|ops| ops.keys().find(|k| k.to_ascii_lowercase() == wanted))
            .unwrap_or_else(|| panic!("no operation like {name}"))
            .clone();
        self.operation(&found)
    }

    pub fn service(&self) -> &'static Service {
        let meta = &self.json["metadata"];
        leak(Service {
            signing_name: s(meta["signingName"]
                .as_str()
                .or(meta["endpointPrefix"].as_str())
                .unwrap_or("")),
            api_version: s(meta["apiVersion"].as_str().unwrap_or("")),
            xml_namespace: s(meta["xmlNamespace"].as_str().unwrap_or("")),
            target_prefix: meta["targetPrefix"].as_str().map(s),
            operations: &[],
        })
    }

    fn resolve(&self, name: &str, depth: usize) -> &'static Shape {
        if let Some(shape) = self.memo.borrow().get(&(name.to_string(), depth)) {
            return shape;
        }
        let shape = self.build(name, depth);
        self.memo
            .borrow_mut()
            .insert((name.to_string(), depth), shape);
        shape
    }

    fn build(&self, name: &str, depth: usize) -> &'static Shape {
        let j = &self.json["shapes"][name];
        assert!(j.is_object(), "no shape {name}");
        let target =
            |m: &Value| self.resolve(m["shape"].as_str().expect("member shape"), depth + 1);
        let kind = match j["type"].as_str().unwrap_or("") {
            "structure" if depth >= UNROLL => Kind::Structure { members: &[] },
            "structure" => {
                let required: Vec<&str> = j["required"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let members: Vec<Member> = j["members"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(mname, mj)| Member {
                                name: s(mname),
                                target: target(mj),
                                required: required.contains(&mname.as_str()),
                                location_name: mj["locationName"].as_str().map(s),
                                flattened: mj["flattened"].as_bool().unwrap_or(false),
                                idempotency_token: mj["idempotencyToken"]
                                    .as_bool()
                                    .unwrap_or(false),
                                timestamp_format: ts(&mj["timestampFormat"]),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Kind::Structure {
                    members: leak_slice(members),
                }
            }
            "list" => Kind::List {
                member: target(&j["member"]),
                member_name: j["member"]["locationName"]
                    .as_str()
                    .map(s)
                    .unwrap_or("member"),
                flattened: j["flattened"].as_bool().unwrap_or(false),
            },
            "map" => Kind::Map {
                key: target(&j["key"]),
                value: target(&j["value"]),
                key_name: j["key"]["locationName"].as_str().map(s).unwrap_or("key"),
                value_name: j["value"]["locationName"]
                    .as_str()
                    .map(s)
                    .unwrap_or("value"),
                flattened: j["flattened"].as_bool().unwrap_or(false),
            },
            "string" => Kind::String,
            "integer" => Kind::Integer,
            "long" => Kind::Long,
            "boolean" => Kind::Boolean,
            "float" => Kind::Float,
            "double" => Kind::Double,
            "timestamp" => Kind::Timestamp,
            "blob" => Kind::Blob,
            other => panic!("unsupported type {other} of {name}"),
        };
        let mut shape = plain(name, kind);
        shape.min = j["min"].as_i64();
        shape.max = j["max"].as_i64();
        shape.pattern = j["pattern"].as_str().map(s);
        shape.sensitive = j["sensitive"].as_bool().unwrap_or(false);
        shape.timestamp_format = ts(&j["timestampFormat"]);
        if let Some(values) = j["enum"].as_array() {
            shape.enum_values =
                leak_slice(values.iter().filter_map(Value::as_str).map(s).collect());
        }
        if j["exception"].as_bool().unwrap_or(false) {
            let e = &j["error"];
            shape.error = Some(ErrorInfo {
                code: e["code"].as_str().map(s).unwrap_or(s(name)),
                http_status: e["httpStatusCode"].as_u64().unwrap_or(400) as u16,
                sender_fault: e["senderFault"]
                    .as_bool()
                    .unwrap_or(!j["fault"].as_bool().unwrap_or(false)),
            });
        }
        leak(shape)
    }
}

fn ts(v: &Value) -> Option<TimestampFormat> {
    match v.as_str()? {
        "iso8601" => Some(TimestampFormat::DateTime),
        "rfc822" => Some(TimestampFormat::HttpDate),
        "unixTimestamp" => Some(TimestampFormat::EpochSeconds),
        _ => None,
    }
}
