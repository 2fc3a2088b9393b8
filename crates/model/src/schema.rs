//! Runtime description of AWS service shapes.
//!
//! The generator (`cargo run -p coffer-codegen`) writes one `static` graph of these per service from
//! the AWS models. The wire layer walks it to translate between the protocols (Query form, XML,
//! JSON 1.1) and the canonical JSON value that the typed shapes deserialize from; validation walks it
//! to produce AWS's constraint messages. Statics may reference each other (also cyclically), so
//! targets are plain `&'static Shape`.

/// How a timestamp member is written on the wire when the model overrides the protocol default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampFormat {
    /// Seconds since the epoch, fractional allowed (JSON 1.1 default).
    EpochSeconds,
    /// ISO 8601 / RFC 3339 `date-time` (Query and XML default).
    DateTime,
    /// RFC 7231 `http-date`.
    HttpDate,
}

#[derive(Debug)]
pub enum Kind {
    String,
    Integer,
    Long,
    Boolean,
    Float,
    Double,
    Timestamp,
    Blob,
    Structure {
        members: &'static [Member],
    },
    List {
        member: &'static Shape,
        /// XML/Query element name of each item (`member` unless renamed).
        member_name: &'static str,
        flattened: bool,
    },
    Map {
        key: &'static Shape,
        value: &'static Shape,
        key_name: &'static str,
        value_name: &'static str,
        flattened: bool,
    },
}

#[derive(Debug)]
pub struct Shape {
    pub name: &'static str,
    pub kind: Kind,
    /// Length (strings, blobs, lists, maps) or value (numbers) lower bound.
    pub min: Option<i64>,
    /// Length or value upper bound.
    pub max: Option<i64>,
    /// Java-style regular expression from the model, unanchored as AWS applies it.
    pub pattern: Option<&'static str>,
    /// Allowed values for enum strings; empty when unconstrained.
    pub enum_values: &'static [&'static str],
    /// The enum values in the order AWS lists them in a validation message, where that order is
    /// known and differs from the model's; empty: the model's order.
    pub enum_message_order: &'static [&'static str],
    /// The model marks the value as sensitive: never log or echo it.
    pub sensitive: bool,
    pub timestamp_format: Option<TimestampFormat>,
    /// For error shapes: the `error` trait of the model.
    pub error: Option<ErrorInfo>,
}

#[derive(Debug)]
pub struct Member {
    /// Member name as it appears in JSON and in Query keys.
    pub name: &'static str,
    pub target: &'static Shape,
    pub required: bool,
    /// XML element / Query key override (`locationName` / `xmlName`).
    pub location_name: Option<&'static str>,
    pub flattened: bool,
    pub idempotency_token: bool,
    pub timestamp_format: Option<TimestampFormat>,
}

impl Member {
    pub fn wire_name(&self) -> &'static str {
        self.location_name.unwrap_or(self.name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorInfo {
    /// Code on the wire (`NoSuchEntity` for shape `NoSuchEntityException`).
    pub code: &'static str,
    pub http_status: u16,
    /// `true` for client faults (`Sender`), `false` for server faults (`Receiver`).
    pub sender_fault: bool,
}

#[derive(Debug)]
pub struct Operation {
    pub name: &'static str,
    pub input: Option<&'static Shape>,
    pub output: Option<&'static Shape>,
    /// Query protocol: element wrapping the output (`GetCallerIdentityResult`).
    pub result_wrapper: Option<&'static str>,
    pub errors: &'static [&'static Shape],
    pub http_method: &'static str,
    /// The operation's IAM action as AWS's Service Authorization Reference describes it.
    pub authorization: &'static Authorization,
}

/// An action's entry in AWS's Service Authorization Reference (generated from
/// `data/aws/service-authorization.json.gz`): what a request is authorized against.
#[derive(Debug)]
pub struct Authorization {
    /// `service:Action`, e.g. `iam:GetUser`.
    pub action: &'static str,
    pub access_level: AccessLevel,
    /// The resource types the action is authorized against; none means only `*`.
    pub resources: &'static [ResourceType],
    /// Condition keys the action supplies whatever the resource.
    pub condition_keys: &'static [&'static str],
    /// Other actions a caller needs as well (e.g. `iam:PassRole`).
    pub dependent_actions: &'static [&'static str],
}

impl Authorization {
    /// For operations built by hand (protocol tests): no action, authorized against `*`.
    pub const UNLISTED: Authorization = Authorization {
        action: "",
        access_level: AccessLevel::Read,
        resources: &[],
        condition_keys: &[],
        dependent_actions: &[],
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessLevel {
    Read,
    Write,
    List,
    Tagging,
    PermissionsManagement,
}

#[derive(Debug)]
pub struct ResourceType {
    /// The reference's name: `user`, `role`, `Secret`, ...
    pub name: &'static str,
    /// Whether a request must name a resource of this type.
    pub required: bool,
    /// `arn:${Partition}:iam::${Account}:user/${UserNameWithPath}`.
    pub arn: &'static str,
    /// Keys the action supplies for this resource type, then the type's own keys.
    pub condition_keys: &'static [&'static str],
}

#[derive(Debug)]
pub struct Service {
    /// Endpoint prefix and SigV4 signing name (`sts`, `iam`, `secretsmanager`).
    pub signing_name: &'static str,
    pub api_version: &'static str,
    /// XML namespace of Query responses.
    pub xml_namespace: &'static str,
    /// JSON 1.1 `X-Amz-Target` prefix, when the service speaks JSON.
    pub target_prefix: Option<&'static str>,
    pub operations: &'static [Operation],
}

impl Service {
    pub fn operation(&self, name: &str) -> Option<&'static Operation> {
        self.operations.iter().find(|op| op.name == name)
    }
}
