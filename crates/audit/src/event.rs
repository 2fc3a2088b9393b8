//! One audit record: an AWS CloudTrail event (management event, `AwsApiCall`), with the fields and
//! names of CloudTrail's record contents and `userIdentity` element. Optional fields are left out
//! when they do not apply, as CloudTrail does; `requestParameters` and `responseElements` are
//! `null` when there are none.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The CloudTrail record format version these records follow.
pub const EVENT_VERSION: &str = "1.11";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub event_version: String,
    pub user_identity: UserIdentity,
    /// When the request was completed, UTC, to the second (`2026-06-14T12:00:00Z`).
    pub event_time: String,
    /// `secretsmanager.amazonaws.com`, `iam.amazonaws.com`, `sts.amazonaws.com`.
    pub event_source: String,
    /// The operation (`GetSecretValue`).
    pub event_name: String,
    pub aws_region: String,
    #[serde(rename = "sourceIPAddress")]
    pub source_ip_address: String,
    pub user_agent: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// The request's parameters as CloudTrail names them (camelCase), without the members the
    /// model marks sensitive and without binary blobs.
    pub request_parameters: Option<Value>,
    /// For operations that change state: the response, filtered like the parameters.
    pub response_elements: Option<Value>,
    #[serde(rename = "requestID")]
    pub request_id: String,
    #[serde(rename = "eventID")]
    pub event_id: String,
    pub read_only: bool,
    pub event_type: EventType,
    pub management_event: bool,
    pub recipient_account_id: String,
    pub event_category: EventCategory,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_details: Option<TlsDetails>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    AwsApiCall,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventCategory {
    Management,
}

/// CloudTrail's `userIdentity` element.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    #[serde(rename = "type")]
    pub identity_type: IdentityType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_context: Option<SessionContext>,
    /// For `WebIdentityUser`: the issuer of the web identity token; for `SAMLUser`, the
    /// response's `NameQualifier`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_provider: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum IdentityType {
    Root,
    #[serde(rename = "IAMUser")]
    IamUser,
    AssumedRole,
    FederatedUser,
    WebIdentityUser,
    #[serde(rename = "SAMLUser")]
    SamlUser,
    /// Not authenticated: no signature, or one that did not verify.
    #[default]
    Unknown,
}

/// How temporary credentials were obtained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionContext {
    /// The role, user or root behind the session; absent for `GetSessionToken` sessions, which
    /// answer as their user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_issuer: Option<SessionIssuer>,
    pub attributes: SessionAttributes,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionIssuer {
    /// `Role`, `IAMUser` or `Root`.
    #[serde(rename = "type")]
    pub issuer_type: String,
    pub principal_id: String,
    pub arn: String,
    pub account_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionAttributes {
    /// When the credentials were issued (`2026-06-14T12:00:00Z`).
    pub creation_date: String,
    /// `"true"` or `"false"`: CloudTrail writes it as a string.
    pub mfa_authenticated: String,
}

/// The connection's TLS parameters and the host the client asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsDetails {
    /// `TLSv1.2` or `TLSv1.3`.
    pub tls_version: String,
    /// The suite's name as CloudTrail writes it: IANA's for TLS 1.3 (`TLS_AES_128_GCM_SHA256`),
    /// OpenSSL's for TLS 1.2 (`ECDHE-RSA-AES128-GCM-SHA256`).
    pub cipher_suite: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_provided_host_header: Option<String>,
}

/// `eventTime` and `creationDate` format: UTC to the second, as CloudTrail writes them.
pub fn cloudtrail_time(at: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::{Datelike, Timelike};
    let Ok(year) = u32::try_from(at.year()) else {
        return at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    };
    if year > 9999 {
        return at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    }
    // Every record has one: written digit by digit, as `format` with a pattern to parse cost
    // ~1,600 instructions, a tenth of building the record (bench/NOTES.md, "audit trail").
    let mut text = String::with_capacity(20);
    for (n, after) in [
        (year / 100, None),
        (year % 100, Some('-')),
        (at.month(), Some('-')),
        (at.day(), Some('T')),
        (at.hour(), Some(':')),
        (at.minute(), Some(':')),
        (at.second(), Some('Z')),
    ] {
        text.push(char::from(b'0' + (n / 10) as u8));
        text.push(char::from(b'0' + (n % 10) as u8));
        text.extend(after);
    }
    text
}

/// `eventSource` of a service from its signing name.
pub fn event_source(signing_name: &str) -> String {
    format!("{signing_name}.amazonaws.com")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Event {
        Event {
            event_version: EVENT_VERSION.into(),
            user_identity: UserIdentity {
                identity_type: IdentityType::AssumedRole,
                principal_id: Some("AROAEXAMPLE:s".into()),
                arn: Some("arn:aws:sts::123456789012:assumed-role/R/s".into()),
                account_id: Some("123456789012".into()),
                access_key_id: Some("ASIAEXAMPLE".into()),
                user_name: None,
                session_context: Some(SessionContext {
                    session_issuer: Some(SessionIssuer {
                        issuer_type: "Role".into(),
                        principal_id: "AROAEXAMPLE".into(),
                        arn: "arn:aws:iam::123456789012:role/R".into(),
                        account_id: "123456789012".into(),
                        user_name: Some("R".into()),
                    }),
                    attributes: SessionAttributes {
                        creation_date: "2026-06-14T12:00:00Z".into(),
                        mfa_authenticated: "false".into(),
                    },
                    source_identity: None,
                }),
                identity_provider: None,
            },
            event_time: "2026-06-14T12:00:01Z".into(),
            event_source: event_source("secretsmanager"),
            event_name: "GetSecretValue".into(),
            aws_region: "us-east-1".into(),
            source_ip_address: "127.0.0.1".into(),
            user_agent: "aws-cli/2".into(),
            error_code: Some("AccessDenied".into()),
            error_message: Some("no".into()),
            request_parameters: Some(serde_json::json!({"secretId": "db"})),
            response_elements: None,
            request_id: "r".into(),
            event_id: "e".into(),
            read_only: true,
            event_type: EventType::AwsApiCall,
            management_event: true,
            recipient_account_id: "123456789012".into(),
            event_category: EventCategory::Management,
            tls_details: Some(TlsDetails {
                tls_version: "TLSv1.3".into(),
                cipher_suite: "TLS_AES_128_GCM_SHA256".into(),
                client_provided_host_header: Some("localhost:4566".into()),
            }),
        }
    }

    #[test]
    fn serializes_with_cloudtrail_names() {
        let json = serde_json::to_value(sample()).unwrap();
        for field in [
            "eventVersion",
            "userIdentity",
            "eventTime",
            "eventSource",
            "eventName",
            "awsRegion",
            "sourceIPAddress",
            "userAgent",
            "errorCode",
            "errorMessage",
            "requestParameters",
            "responseElements",
            "requestID",
            "eventID",
            "readOnly",
            "eventType",
            "managementEvent",
            "recipientAccountId",
            "eventCategory",
            "tlsDetails",
        ] {
            assert!(json.get(field).is_some(), "{field} missing");
        }
        assert_eq!(json["responseElements"], Value::Null);
        assert_eq!(json["eventType"], "AwsApiCall");
        assert_eq!(json["eventCategory"], "Management");
        assert_eq!(json["userIdentity"]["type"], "AssumedRole");
        assert_eq!(
            json["userIdentity"]["sessionContext"]["sessionIssuer"]["type"],
            "Role"
        );
        assert_eq!(
            json["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"],
            "false"
        );
        assert_eq!(
            json["tlsDetails"]["clientProvidedHostHeader"],
            "localhost:4566"
        );
    }

    #[test]
    fn absent_optional_fields_are_left_out_and_reading_back_gives_the_event() {
        let mut event = sample();
        event.error_code = None;
        event.error_message = None;
        event.tls_details = None;
        event.user_identity = UserIdentity {
            identity_type: IdentityType::IamUser,
            ..UserIdentity::default()
        };
        let text = serde_json::to_string(&event).unwrap();
        assert!(!text.contains("errorCode") && !text.contains("tlsDetails"));
        assert!(text.contains(r#""type":"IAMUser""#));
        let back: Event = serde_json::from_str(&text).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn times_are_utc_seconds() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-06-14T12:00:00.987+02:00")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(cloudtrail_time(at), "2026-06-14T10:00:00Z");
    }

    #[test]
    fn cloudtrail_time_writes_what_the_strftime_pattern_writes() {
        use chrono::{Datelike, TimeZone};
        let pattern =
            |at: chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let mut at = chrono::Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap();
        // Every field through its whole range, across four millennia.
        while at.year() < 4000 {
            assert_eq!(cloudtrail_time(at), pattern(at));
            at += chrono::Duration::seconds(86_400 * 37 + 3_600 * 5 + 60 * 7 + 13);
        }
        for at in [
            chrono::Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap(),
            chrono::Utc
                .with_ymd_and_hms(9999, 12, 31, 23, 59, 59)
                .unwrap(),
            chrono::Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
            chrono::Utc.with_ymd_and_hms(-1, 6, 14, 12, 0, 0).unwrap(),
        ] {
            assert_eq!(cloudtrail_time(at), pattern(at));
        }
    }
}
