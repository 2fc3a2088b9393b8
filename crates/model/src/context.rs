//! What every operation receives besides its typed input. Services never see HTTP: the server
//! builds this from the authenticated request.

use std::net::IpAddr;

/// Who is calling, as established by authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub account_id: String,
    /// `arn:aws:iam::<acct>:root`, `arn:aws:iam::<acct>:user/<path><name>`, ...
    pub arn: String,
    /// The `UserId` STS reports: the account id for root, the unique id (`AIDA...`) for users,
    /// `AROA...:<session>` for role sessions.
    pub user_id: String,
    pub kind: PrincipalKind,
    /// Access key used to sign the request.
    pub access_key_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    Root,
    User,
    AssumedRole,
    FederatedUser,
    /// Unsigned requests, which AWS serves only for web-identity and SAML federation.
    Anonymous,
}

#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: String,
    pub principal: Principal,
    /// Region from the SigV4 credential scope (or the server default for SigV2 / dev mode).
    pub region: String,
    pub source_ip: Option<IpAddr>,
    /// `aws:SecureTransport`.
    pub secure_transport: bool,
    /// Request time in milliseconds since the epoch (the server's clock, injectable in tests).
    pub now_millis: i64,
    /// When an MFA code sent with the request (`SerialNumber` + `TokenCode` of `AssumeRole`,
    /// `GetSessionToken`) was verified: part of who the caller is, established once before
    /// authorization (the trust policy may require `aws:MultiFactorAuthPresent`) and read by the
    /// operation (a code is good only once, so it cannot be verified twice).
    pub mfa_authenticated_at_millis: Option<i64>,
}
