//! Server-side verification of AWS request signatures: SigV4 (Authorization header and presigned
//! query) and SigV2 (Query API parameters).
//!
//! The flow is `parse` (no secrets needed: finds the access key id, session token and scope), the
//! caller's key lookup, then `verify`. Checks run in the order of docs/protocol-facts.md fact 3 so that
//! every failure maps to the same AWS error the real services return (`AuthError::to_aws`).
//!
//! Only IAM/STS/Secrets Manager ("non-S3") canonicalisation is implemented: the path is normalised
//! and encoded a second time, `X-Amz-Expires` is ignored unless asked for, no chunked payloads.

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::todo,
        clippy::unimplemented
    )
)]

mod amz_date;
mod authorization_header;
mod canonical;
mod encoding;
mod error;
mod presigned;
mod request;
mod secret;
mod signing_key;
mod sigv2;
mod v4_fields;
mod verify;

pub use error::{AuthError, V2TimeField};
pub use request::{parse, CredentialScope, RequestParts, SignatureVersion, SignedRequest};
pub use secret::SecretAccessKey;
pub use signing_key::SigningKeyCache;
pub use verify::{verify, verify_with_cache, VerifyOptions};

/// The only SigV4 algorithm accepted (SigV4a, `AWS4-ECDSA-P256-SHA256`, is not supported).
pub const SIGV4_ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// Last element of every SigV4 credential scope.
pub const SIGV4_TERMINATOR: &str = "aws4_request";
/// The `X-Amz-Content-Sha256` value that opts out of payload signing (S3 only: refused here).
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// Signing names of the services that still accept Signature Version 2: AWS keeps it for the
/// older Query APIs only (IAM, STS); Secrets Manager has only ever accepted SigV4.
pub const SIGV2_SERVICES: [&str; 2] = ["iam", "sts"];
