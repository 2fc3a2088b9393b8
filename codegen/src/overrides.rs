//! Every name-based exception to "follow the model", in one table, each with its reason.

/// How one service is generated.
pub struct ServiceSpec {
    /// Folder under `aws-models/` and under `generated/`; also the cargo feature.
    pub module: &'static str,
    pub api_version: &'static str,
    /// Trait name; the error enum is `<trait>Error`.
    pub rust_name: &'static str,
    /// Query responses need a namespace; used when the model has none.
    pub xml_namespace_fallback: Option<&'static str>,
    /// Code AWS answers when a model constraint is violated.
    pub validation_code: &'static str,
    /// Code for a canonical input value that does not deserialize into its typed request.
    pub decode_error_code: &'static str,
    /// Shapes to treat as sensitive although the model does not mark them.
    pub extra_sensitive: &'static [&'static str],
    /// Schema statics named explicitly because two shape names differ only in case.
    pub static_renames: &'static [(&'static str, &'static str)],
    /// `(structure, member)` pairs the model marks required that AWS leaves out of some answers:
    /// the field stays a `String`, and an empty one is not sent.
    pub omit_when_empty: &'static [(&'static str, &'static str)],
    /// Enum shapes whose values AWS lists, in its validation messages, in an order other than
    /// the model's: `(shape, values in AWS's order)`.
    pub enum_message_order: &'static [(&'static str, &'static [&'static str])],
}

pub const SERVICES: &[ServiceSpec] = &[
    ServiceSpec {
        module: "iam",
        api_version: "2010-05-08",
        rust_name: "Iam",
        xml_namespace_fallback: None,
        // IAM and STS answer constraint violations with `ValidationError` (Query protocol).
        validation_code: "ValidationError",
        decode_error_code: "ValidationError",
        extra_sensitive: &[],
        static_renames: &[],
        // `GetUser` called by the root user describes the account: AWS's answer has `UserId`
        // (the account id), `Arn` (`arn:aws:iam::<acct>:root`) and `CreateDate`, but neither
        // `Path` nor `UserName`.
        omit_when_empty: &[("User", "Path"), ("User", "UserName")],
        enum_message_order: &[],
    },
    ServiceSpec {
        module: "secretsmanager",
        api_version: "2017-10-17",
        rust_name: "SecretsManager",
        // AWS only speaks JSON 1.1 for Secrets Manager; Coffer also answers Query and documents
        // this namespace for it (docs/protocol-facts.md fact 17).
        xml_namespace_fallback: Some("https://secretsmanager.amazonaws.com/doc/2017-10-17/"),
        // Secrets Manager reports constraint violations as `ValidationException`
        // (docs/secretsmanager-behaviours.md, invalid names) and body type mismatches as
        // `SerializationException`, as every AWS JSON service does.
        validation_code: "ValidationException",
        decode_error_code: "SerializationException",
        extra_sensitive: &[],
        static_renames: &[],
        omit_when_empty: &[],
        // An unknown filter key answered `Member must satisfy enum value set: [all, name, tag-key,
        // description, tag-value]` when AWS had those five (quoted by getmoto/moto's
        // `test_with_invalid_filter_key`, written against AWS in 2020): AWS's own order, not the
        // model's. `primary-region` and `owning-service` came later; they are taken to follow.
        enum_message_order: &[(
            "FilterNameStringType",
            &[
                "all",
                "name",
                "tag-key",
                "description",
                "tag-value",
                "primary-region",
                "owning-service",
            ],
        )],
    },
    ServiceSpec {
        module: "sts",
        api_version: "2011-06-15",
        rust_name: "Sts",
        xml_namespace_fallback: None,
        validation_code: "ValidationError",
        decode_error_code: "ValidationError",
        // `tokenType` is `Credentials.SessionToken`: a bearer credential the model does not
        // mark sensitive, yet it must never reach a log.
        extra_sensitive: &["tokenType"],
        // The model names each error's message string after the error itself, in lower camel
        // case (`jwtPayloadSizeExceededException` for `JWTPayloadSizeExceededException`).
        static_renames: &[
            (
                "jwtPayloadSizeExceededException",
                "JWT_PAYLOAD_SIZE_EXCEEDED_EXCEPTION_MESSAGE",
            ),
            (
                "outboundWebIdentityFederationDisabledException",
                "OUTBOUND_WEB_IDENTITY_FEDERATION_DISABLED_EXCEPTION_MESSAGE",
            ),
            (
                "sessionDurationEscalationException",
                "SESSION_DURATION_ESCALATION_EXCEPTION_MESSAGE",
            ),
        ],
        omit_when_empty: &[],
        enum_message_order: &[],
    },
];
