//! Every way authentication fails, and the exact error AWS answers with on each protocol
//! (docs/protocol-facts.md section 3). Messages never carry a signature or a secret.

use coffer_model::{AwsError, Protocol};

const MISMATCH: &str = "The request signature we calculated does not match the signature you provided. \
Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
const TOKEN_INVALID: &str = "The security token included in the request is invalid.";
const TOKEN_EXPIRED: &str = "The security token included in the request is expired";

/// Which SigV2 time parameter a request carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V2TimeField {
    Timestamp,
    Expires,
}

impl V2TimeField {
    pub fn as_str(self) -> &'static str {
        match self {
            V2TimeField::Timestamp => "Timestamp",
            V2TimeField::Expires => "Expires",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub enum AuthError {
    /// No Authorization header, no `X-Amz-*` query authentication, no SigV2 parameters.
    MissingAuthentication,
    /// Malformed or incomplete authentication data; the message says what is wrong.
    Incomplete(String),
    /// An algorithm other than `AWS4-HMAC-SHA256` (header or `X-Amz-Algorithm`).
    UnsupportedAlgorithm(String),
    /// Produced by the caller: the access key id is not known.
    UnknownAccessKey,
    /// Produced by the caller: the session token has expired.
    ExpiredToken,
    SignatureMismatch,
    /// Request time more than the allowed skew before the server clock (all basic ISO 8601).
    SignatureExpired {
        request_time: String,
        earliest: String,
        now: String,
        skew_minutes: u64,
    },
    /// Request time more than the allowed skew after the server clock.
    SignatureNotYetCurrent {
        request_time: String,
        latest: String,
        now: String,
        skew_minutes: u64,
    },
    /// Credential scope date differs from the date of the request time.
    ScopeDate,
    /// Credential scope region is not this endpoint's region (or not a region name at all).
    ScopeRegion,
    /// Credential scope service is not the service the request was routed to.
    ScopeService {
        expected: String,
    },
    /// Credential scope does not end in `aws4_request`.
    ScopeTerminator,
    /// `host` is not in SignedHeaders.
    HostNotSigned,
    /// A header named in SignedHeaders is absent from the request.
    SignedHeaderMissing {
        name: String,
    },
    /// Presigned URL used after `X-Amz-Date + X-Amz-Expires` (only when expiry is enforced).
    PresignedUrlExpired,
    /// `X-Amz-Content-Sha256` does not match the body.
    ContentSha256Mismatch,
    /// SigV2: `Timestamp` outside the skew window, or `Expires` in the past.
    RequestExpired {
        field: V2TimeField,
        value: String,
    },
    /// SigV2 `Expires` further ahead of the server clock than the skew window (all extended
    /// ISO 8601). AWS honours any future `Expires`; Coffer refuses them so that a SigV2 URL cannot
    /// become a long-lived bearer link.
    ExpiresTooFarAhead {
        value: String,
        latest: String,
        now: String,
        skew_minutes: u64,
    },
    /// SigV2 sent to a service that only accepts SigV4 (Secrets Manager). Such a service does not
    /// know SigV2's parameters as authentication at all, so it answers as to a request with none.
    SignatureVersionNotAccepted {
        service: String,
    },
}

enum Family {
    Missing,
    Incomplete,
    UnknownKey,
    ExpiredToken,
    Signature,
    RequestExpired,
}

impl AuthError {
    /// The message AWS puts in `<Message>` / `message`.
    pub fn message(&self) -> String {
        match self {
            AuthError::MissingAuthentication => "Request is missing Authentication Token".into(),
            AuthError::Incomplete(m) => m.clone(),
            AuthError::UnsupportedAlgorithm(a) => format!("Unsupported AWS 'algorithm': '{a}'"),
            AuthError::UnknownAccessKey => TOKEN_INVALID.into(),
            AuthError::ExpiredToken => TOKEN_EXPIRED.into(),
            AuthError::SignatureMismatch => MISMATCH.into(),
            AuthError::SignatureExpired {
                request_time,
                earliest,
                now,
                skew_minutes,
            } => format!(
                "Signature expired: {request_time} is now earlier than {earliest} ({now} - {skew_minutes} min.)"
            ),
            AuthError::SignatureNotYetCurrent {
                request_time,
                latest,
                now,
                skew_minutes,
            } => format!(
                "Signature not yet current: {request_time} is still later than {latest} ({now} + {skew_minutes} min.)"
            ),
            AuthError::ScopeDate => {
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP".into()
            }
            AuthError::ScopeRegion => "Credential should be scoped to a valid region. ".into(),
            AuthError::ScopeService { expected } => {
                format!("Credential should be scoped to correct service: '{expected}'. ")
            }
            AuthError::ScopeTerminator => {
                "Credential should be scoped with a valid terminator: 'aws4_request'".into()
            }
            AuthError::HostNotSigned => {
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into()
            }
            AuthError::SignedHeaderMissing { name } => {
                format!("The header '{name}' is listed in SignedHeaders but is not present in the request.")
            }
            AuthError::PresignedUrlExpired => "Request has expired".into(),
            AuthError::ContentSha256Mismatch => {
                "The provided 'x-amz-content-sha256' header does not match what was computed.".into()
            }
            AuthError::RequestExpired { field, value } => {
                format!("Request has expired. {} date is {value}", field.as_str())
            }
            AuthError::ExpiresTooFarAhead {
                value,
                latest,
                now,
                skew_minutes,
            } => format!(
                "Signature expiry too far ahead: Expires {value} is later than {latest} ({now} + {skew_minutes} min.)"
            ),
            AuthError::SignatureVersionNotAccepted { .. } => {
                AuthError::MissingAuthentication.message()
            }
        }
    }

    fn family(&self) -> Family {
        match self {
            AuthError::MissingAuthentication | AuthError::SignatureVersionNotAccepted { .. } => {
                Family::Missing
            }
            AuthError::Incomplete(_)
            | AuthError::UnsupportedAlgorithm(_)
            | AuthError::HostNotSigned
            | AuthError::SignedHeaderMissing { .. } => Family::Incomplete,
            AuthError::UnknownAccessKey => Family::UnknownKey,
            AuthError::ExpiredToken => Family::ExpiredToken,
            AuthError::SignatureMismatch
            | AuthError::SignatureExpired { .. }
            | AuthError::SignatureNotYetCurrent { .. }
            | AuthError::ScopeDate
            | AuthError::ScopeRegion
            | AuthError::ScopeService { .. }
            | AuthError::ScopeTerminator
            | AuthError::PresignedUrlExpired
            | AuthError::ContentSha256Mismatch
            | AuthError::ExpiresTooFarAhead { .. } => Family::Signature,
            AuthError::RequestExpired { .. } => Family::RequestExpired,
        }
    }

    /// The exact status, code and message AWS returns for this failure on `protocol`.
    pub fn to_aws(&self, protocol: Protocol) -> AwsError {
        let json = protocol == Protocol::Json;
        let (status, code): (u16, &'static str) = match (self.family(), json) {
            (Family::Missing, false) => (403, "MissingAuthenticationToken"),
            // Secrets Manager's status for this is not documented; 400 like its other auth errors.
            (Family::Missing, true) => (400, "MissingAuthenticationTokenException"),
            (Family::Incomplete, false) => (400, "IncompleteSignature"),
            (Family::Incomplete, true) => (400, "IncompleteSignatureException"),
            (Family::UnknownKey, false) => (403, "InvalidClientTokenId"),
            (Family::UnknownKey, true) => (400, "UnrecognizedClientException"),
            (Family::ExpiredToken, false) => (403, "ExpiredToken"),
            (Family::ExpiredToken, true) => (400, "ExpiredTokenException"),
            (Family::Signature, false) => (403, "SignatureDoesNotMatch"),
            (Family::Signature, true) => (400, "InvalidSignatureException"),
            (Family::RequestExpired, _) => (400, "RequestExpired"),
        };
        let message = match (self.family(), json) {
            (Family::Missing, true) => "Missing Authentication Token".to_string(),
            _ => self.message(),
        };
        AwsError::new(status, code, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_name_the_same_failure_differently() {
        let q = AuthError::SignatureMismatch.to_aws(Protocol::Query);
        let j = AuthError::SignatureMismatch.to_aws(Protocol::Json);
        assert_eq!((q.status, &*q.code), (403, "SignatureDoesNotMatch"));
        assert_eq!((j.status, &*j.code), (400, "InvalidSignatureException"));
        assert_eq!(q.message, j.message);
        assert!(q.sender_fault && j.sender_fault);
    }

    #[test]
    fn expired_token_renders() {
        let q = AuthError::ExpiredToken.to_aws(Protocol::Query);
        assert_eq!((q.status, &*q.code), (403, "ExpiredToken"));
        assert_eq!(
            q.message.as_deref(),
            Some("The security token included in the request is expired")
        );
        let j = AuthError::ExpiredToken.to_aws(Protocol::Json);
        assert_eq!((j.status, &*j.code), (400, "ExpiredTokenException"));
    }

    #[test]
    fn sigv2_to_a_sigv4_only_service_reads_as_no_authentication() {
        let e = AuthError::SignatureVersionNotAccepted {
            service: "secretsmanager".into(),
        };
        let missing = AuthError::MissingAuthentication;
        for protocol in [Protocol::Json, Protocol::Query] {
            let (got, want) = (e.to_aws(protocol), missing.to_aws(protocol));
            assert_eq!(
                (got.status, &got.code, &got.message),
                (want.status, &want.code, &want.message)
            );
        }
        let j = e.to_aws(Protocol::Json);
        assert_eq!(
            (j.status, &*j.code, j.message.as_deref()),
            (
                400,
                "MissingAuthenticationTokenException",
                Some("Missing Authentication Token")
            )
        );
    }

    #[test]
    fn v2_expires_too_far_ahead_is_a_signature_error() {
        let e = AuthError::ExpiresTooFarAhead {
            value: "2099-01-01T00:00:00Z".into(),
            latest: "2024-01-15T09:45:00Z".into(),
            now: "2024-01-15T09:30:00Z".into(),
            skew_minutes: 15,
        };
        let q = e.to_aws(Protocol::Query);
        assert_eq!((q.status, &*q.code), (403, "SignatureDoesNotMatch"));
        assert_eq!(
            q.message.as_deref(),
            Some("Signature expiry too far ahead: Expires 2099-01-01T00:00:00Z is later than 2024-01-15T09:45:00Z (2024-01-15T09:30:00Z + 15 min.)")
        );
    }

    #[test]
    fn v2_expiry_message_names_the_field() {
        let e = AuthError::RequestExpired {
            field: V2TimeField::Expires,
            value: "2024-01-15T09:45:00Z".into(),
        };
        assert_eq!(
            e.to_aws(Protocol::Query).message.as_deref(),
            Some("Request has expired. Expires date is 2024-01-15T09:45:00Z")
        );
    }
}
