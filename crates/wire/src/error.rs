//! The wire layer's one error type, mapped once to what AWS puts on the wire.

use coffer_model::{AwsError, Protocol};

/// How a value appears in a constraint message. AWS echoes offending values except for members
/// the model marks `sensitive` (`Value at 'secretString' failed…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShownValue {
    /// The member is missing: `Value null at 'name'`.
    Null,
    /// Sensitive: `Value at 'name'`.
    Hidden,
    /// `Value 'x' at 'name'`.
    Shown(String),
}

/// One failed constraint, in AWS's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// lowerCamelCase member path (`tags.1.member.key`).
    pub path: String,
    pub value: ShownValue,
    /// `Member must have length less than or equal to 64`.
    pub constraint: String,
    /// For `Member must satisfy enum value set`: the values, in the order AWS lists them, for
    /// the services whose messages list them ([`ValidationStyle::list_enum_values`]).
    pub enum_values: Option<&'static [&'static str]>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.value {
            ShownValue::Null => write!(f, "Value null at '{}'", self.path)?,
            ShownValue::Hidden => write!(f, "Value at '{}'", self.path)?,
            ShownValue::Shown(v) => write!(f, "Value '{}' at '{}'", v, self.path)?,
        }
        write!(f, " failed to satisfy constraint: {}", self.constraint)
    }
}

/// How a service words constraint violations.
///
/// Code: AWS's Query services (IAM, STS) answer `ValidationError`; Secrets Manager over JSON 1.1
/// answers `ValidationException` (absent from its model, but AWS sends it: the localstack
/// snapshots record it for invalid names, and aws/aws-sdk-kotlin#1469 and pulumi/pulumi-aws#1613
/// quote `ValidationException: 1 validation error detected: …` from Secrets Manager). Both are
/// HTTP 400 client faults.
///
/// Echo: STS echoes the offending value (`Value 'Session1:2' at 'roleSessionName'`, localstack
/// snapshot, 2025), but IAM's recordings from 2025 do not (`Value at 'status' failed to satisfy
/// constraint: Member must satisfy enum value set`, `Value at 'serviceSpecificCredentialId' …`),
/// although older IAM answers quoted in issues did. Sensitive values are never echoed either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidationStyle {
    pub code: &'static str,
    pub echo_values: bool,
    /// Whether an enum violation lists the allowed values: Secrets Manager's does
    /// (`Member must satisfy enum value set: [all, name, …]`, quoted by getmoto/moto's
    /// `test_with_invalid_filter_key`), IAM's recorded one does not.
    pub list_enum_values: bool,
}

impl ValidationStyle {
    /// STS and other Query services.
    pub const QUERY: ValidationStyle = ValidationStyle {
        code: "ValidationError",
        echo_values: true,
        list_enum_values: false,
    };
    /// IAM as recorded in 2025: Query's code, no values echoed.
    pub const IAM: ValidationStyle = ValidationStyle {
        code: "ValidationError",
        echo_values: false,
        list_enum_values: false,
    };
    /// Secrets Manager over JSON 1.1.
    pub const JSON: ValidationStyle = ValidationStyle {
        code: "ValidationException",
        echo_values: true,
        list_enum_values: true,
    };

    pub fn for_protocol(protocol: Protocol) -> ValidationStyle {
        match protocol {
            Protocol::Query => ValidationStyle::QUERY,
            Protocol::Json => ValidationStyle::JSON,
        }
    }
}

/// Everything that can go wrong translating a request body. Messages never contain values of
/// sensitive members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// Query string or form body is not decodable: bad `%` escape, invalid UTF-8, too many
    /// parameters, keys nested too deeply.
    MalformedQueryString(String),
    /// A Query parameter does not parse as its member's type (`MaxItems=abc`).
    InvalidParameterValue { parameter: String, message: String },
    /// A parameter the protocol itself needs is absent.
    MissingParameter(String),
    /// No `Action` parameter on a Query request.
    MissingAction,
    /// `Action` names no operation of the service.
    InvalidAction { action: String, version: String },
    /// JSON body malformed, not an object, or a member of the wrong JSON type. Unparsable JSON
    /// carries no message, hence the `Option`.
    Serialization(Option<String>),
    /// Constraint violations found by [`crate::validate`], in member order.
    Validation(Vec<Violation>),
}

impl WireError {
    /// The error as AWS renders it on `protocol`, with the protocol's usual validation code.
    pub fn to_aws(&self, protocol: Protocol) -> AwsError {
        self.to_aws_with(protocol, ValidationStyle::for_protocol(protocol))
    }

    /// Like [`WireError::to_aws`], with the service's own validation error code.
    pub fn to_aws_with(&self, protocol: Protocol, style: ValidationStyle) -> AwsError {
        match self {
            // The AWS Common Errors pages list MalformedQueryString with HTTP 404.
            WireError::MalformedQueryString(m) => match protocol {
                Protocol::Query => AwsError::new(404, "MalformedQueryString", m.clone()),
                Protocol::Json => AwsError::new(400, "SerializationException", m.clone()),
            },
            WireError::InvalidParameterValue { message, .. } => match protocol {
                Protocol::Query => AwsError::new(400, "InvalidParameterValue", message.clone()),
                Protocol::Json => AwsError::new(400, "SerializationException", message.clone()),
            },
            WireError::MissingParameter(name) => AwsError::new(
                400,
                "MissingParameter",
                format!("The request must contain the parameter {name}"),
            ),
            WireError::MissingAction => AwsError::new(
                400,
                "MissingAction",
                "The request must contain the parameter Action.",
            ),
            WireError::InvalidAction { action, version } => AwsError::new(
                400,
                "InvalidAction",
                format!("Could not find operation {action} for version {version}"),
            ),
            WireError::Serialization(message) => match message {
                Some(m) => AwsError::new(400, "SerializationException", m.clone()),
                None => AwsError::without_message(400, "SerializationException"),
            },
            WireError::Validation(violations) => {
                AwsError::new(400, style.code, validation_message(violations, style))
            }
        }
    }
}

/// `1 validation error detected: …` / `2 validation errors detected: …; …`.
pub fn validation_message(violations: &[Violation], style: ValidationStyle) -> String {
    let n = violations.len();
    let noun = if n == 1 { "error" } else { "errors" };
    let details: Vec<String> = violations
        .iter()
        .map(|v| {
            let mut shown = v.clone();
            if let (ShownValue::Shown(_), false) = (&v.value, style.echo_values) {
                shown.value = ShownValue::Hidden;
            }
            if let (Some(values), true) = (v.enum_values, style.list_enum_values) {
                shown.constraint = format!("{}: [{}]", v.constraint, values.join(", "));
            }
            shown.to_string()
        })
        .collect();
    format!("{n} validation {noun} detected: {}", details.join("; "))
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let aws = self.to_aws(Protocol::Query);
        write!(f, "{aws}")
    }
}

impl std::error::Error for WireError {}
