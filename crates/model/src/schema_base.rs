//! Defaults the generated statics build on, so each static names only what the model sets.

use crate::error::AwsError;
use crate::schema::{Kind, Member, Shape};

impl Shape {
    /// An unconstrained, non-sensitive string; generated shapes override `name`, `kind` and
    /// whatever constraints the model gives.
    pub const BASE: Shape = Shape {
        name: "",
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
}

impl Member {
    /// A required member without XML renaming or other traits.
    pub const fn required(name: &'static str, target: &'static Shape) -> Member {
        Member {
            required: true,
            ..Member::optional(name, target)
        }
    }

    /// An optional member without XML renaming or other traits.
    pub const fn optional(name: &'static str, target: &'static Shape) -> Member {
        Member {
            name,
            target,
            required: false,
            location_name: None,
            flattened: false,
            idempotency_token: false,
            timestamp_format: None,
        }
    }
}

impl AwsError {
    /// The error of a modeled error shape: its code, status and fault side come from the model's
    /// `error` trait (the protocol defaults when absent: shape name, 400, sender). An empty
    /// message is no message (some IAM errors model none).
    pub fn modeled(shape: &'static Shape, message: String) -> AwsError {
        let (code, status, sender_fault) = match &shape.error {
            Some(e) => (e.code, e.http_status, e.sender_fault),
            None => (shape.name, 400, true),
        };
        AwsError {
            status,
            code: code.into(),
            message: (!message.is_empty()).then_some(message),
            sender_fault,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ErrorInfo;

    static NOT_FOUND: Shape = Shape {
        name: "NoSuchEntityException",
        kind: Kind::Structure { members: &[] },
        error: Some(ErrorInfo {
            code: "NoSuchEntity",
            http_status: 404,
            sender_fault: true,
        }),
        ..Shape::BASE
    };

    static PLAIN: Shape = Shape {
        name: "ResourceNotFoundException",
        kind: Kind::Structure { members: &[] },
        ..Shape::BASE
    };

    #[test]
    fn modeled_errors_take_the_error_trait_or_the_defaults() {
        let e = AwsError::modeled(&NOT_FOUND, "gone".into());
        assert_eq!(
            (e.status, e.code.as_ref(), e.sender_fault),
            (404, "NoSuchEntity", true)
        );
        assert_eq!(e.message.as_deref(), Some("gone"));
        let e = AwsError::modeled(&PLAIN, String::new());
        assert_eq!(
            (e.status, e.code.as_ref()),
            (400, "ResourceNotFoundException")
        );
        assert_eq!(e.message, None);
    }

    #[test]
    fn member_constructors_set_only_name_target_and_required() {
        let m = Member::required("UserName", &PLAIN);
        assert!(m.required && !m.flattened && !m.idempotency_token);
        assert_eq!(m.wire_name(), "UserName");
        assert!(!Member::optional("Path", &PLAIN).required);
    }
}
