//! Establishes who sent a request: parses its signature, finds the key, checks the session token,
//! and verifies the signature. Every failure is AWS's error for the request's protocol.

use coffer_auth::{AuthError, RequestParts, SignedRequest, VerifyOptions};
use coffer_model::context::{Principal, PrincipalKind};
use coffer_model::{AwsError, Protocol};
use subtle::ConstantTimeEq;

use crate::app::{dev_principal, App};

pub struct Caller {
    pub principal: Principal,
    /// Region of the SigV4 credential scope; `None` for SigV2 and unsigned requests.
    pub region: Option<String>,
}

pub(crate) async fn authenticate(
    app: &App,
    signed: Result<Option<SignedRequest>, AuthError>,
    parts: &RequestParts<'_>,
    protocol: Protocol,
    expected_service: Option<&str>,
    host_region: Option<&str>,
    unsigned_allowed: bool,
) -> Result<Caller, AwsError> {
    let reject = |e: AuthError| e.to_aws(protocol);
    let signed = match signed.map_err(reject)? {
        Some(signed) => signed,
        None if unsigned_allowed => {
            return Ok(Caller {
                principal: anonymous(),
                region: None,
            })
        }
        None if app.config.dev_mode => {
            return Ok(Caller {
                principal: dev_principal("", &app.config.default_account),
                region: None,
            })
        }
        None => return Err(reject(AuthError::MissingAuthentication)),
    };
    let region = signed.scope().map(|s| s.region.clone());
    if app.config.dev_mode {
        return Ok(Caller {
            principal: dev_principal(signed.access_key_id(), &app.config.default_account),
            region,
        });
    }

    // Before the key is looked at: a service that takes only SigV4 does not read SigV2's
    // parameters as authentication, whoever's key they name.
    signed.accepted_by(expected_service).map_err(reject)?;
    let entry = app
        .directory
        .lookup(signed.access_key_id())
        .await?
        .filter(|e| e.active)
        .ok_or_else(|| reject(AuthError::UnknownAccessKey))?;
    let now = app.clock.now();
    match (&entry.session, signed.session_token()) {
        (None, None) => {}
        (Some(session), Some(token)) => {
            let same: bool = session
                .token
                .expose()
                .as_bytes()
                .ct_eq(token.as_bytes())
                .into();
            if !same {
                return Err(reject(AuthError::UnknownAccessKey));
            }
            if now.timestamp_millis() >= session.expires_at_millis {
                return Err(reject(AuthError::ExpiredToken));
            }
        }
        // A temporary key without its token, or a long-term key with one, is not a valid credential.
        _ => return Err(reject(AuthError::UnknownAccessKey)),
    }

    let opts = VerifyOptions {
        now,
        max_skew: app.config.max_clock_skew,
        expected_service,
        expected_region: host_region,
        enforce_presigned_expiry: false,
    };
    coffer_auth::verify(&signed, parts, &entry.secret, &opts).map_err(reject)?;
    if let Some(service) = expected_service {
        let used_region = region.as_deref().unwrap_or(&app.config.default_region);
        app.directory
            .record_use(signed.access_key_id(), service, used_region);
    }
    Ok(Caller {
        principal: entry.principal.clone(),
        region,
    })
}

fn anonymous() -> Principal {
    Principal {
        account_id: String::new(),
        arn: String::new(),
        user_id: String::new(),
        kind: PrincipalKind::Anonymous,
        access_key_id: String::new(),
    }
}
