//! Establishes who sent a request: parses its signature, finds the key, checks the session token,
//! and verifies the signature. Every failure is AWS's error for the request's protocol.

use coffer_audit::SessionContext;
use coffer_auth::{AuthError, RequestParts, SignedRequest, VerifyOptions};
use coffer_model::context::{Principal, PrincipalKind};
use coffer_model::{AwsError, Protocol};
use subtle::ConstantTimeEq;

use crate::app::{dev_principal, App};
use crate::directory::KeyEntry;

pub struct Caller {
    pub principal: Principal,
    /// Region of the SigV4 credential scope; `None` for SigV2 and unsigned requests.
    pub region: Option<String>,
    /// For temporary credentials: how they were obtained (the audit record's `sessionContext`).
    pub session: Option<SessionContext>,
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
    let reject = |e: AuthError| {
        let error = e.to_aws(protocol);
        app.ops.metrics.authentication_failure(error.code.clone());
        error
    };
    let signed = match signed.map_err(reject)? {
        Some(signed) => signed,
        None if unsigned_allowed => {
            return Ok(Caller {
                principal: anonymous(),
                region: None,
                session: None,
            })
        }
        None if app.config.dev_mode => {
            return Ok(Caller {
                principal: dev_principal("", &app.config.default_account),
                region: None,
                session: None,
            })
        }
        None => return Err(reject(AuthError::MissingAuthentication)),
    };
    let region = signed.scope().map(|s| s.region.clone());
    if app.config.dev_mode {
        let (principal, session) =
            dev_caller(app, &signed, expected_service, region.as_deref()).await?;
        return Ok(Caller {
            principal,
            region,
            session,
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
    if !presents_issued_token(&entry, signed.session_token()) {
        return Err(reject(AuthError::UnknownAccessKey));
    }
    if let Some(session) = &entry.session {
        if now.timestamp_millis() >= session.expires_at_millis {
            return Err(reject(AuthError::ExpiredToken));
        }
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
        session: session_context(&entry),
    })
}

fn session_context(entry: &KeyEntry) -> Option<SessionContext> {
    entry.session.as_ref().and_then(|s| s.context.clone())
}

/// Who is calling in dev mode, which accepts any credentials and enforces nothing but still knows
/// the callers Coffer issued credentials to: a user's access key answers as that user, temporary
/// credentials as their session (assumed role, federated user, or the user or root behind
/// `GetSessionToken`), so `GetCallerIdentity` and the "calling user" defaults of IAM work as on
/// AWS. Anything else is an unknown key and answers as an account's root ([`dev_principal`]).
///
/// What identifies a credential is the key id and, for temporary credentials, the session token:
/// a session key sent with a wrong token or none (or a long-term key sent with a token) is treated
/// as an unknown key rather than as the session. Such a request almost always comes from mixed-up
/// credentials (a stale `AWS_SESSION_TOKEN` beside another profile's key), and answering as the
/// account's root rather than as the session makes `GetCallerIdentity` show that the session is
/// not the one in use, where production would refuse the request. A disabled key or an expired
/// session is still its owner: status and expiry are enforcement, which dev mode does without.
/// The signature is not verified, as for every dev-mode caller.
async fn dev_caller(
    app: &App,
    signed: &SignedRequest,
    service: Option<&str>,
    region: Option<&str>,
) -> Result<(Principal, Option<SessionContext>), AwsError> {
    let issued = app
        .directory
        .lookup(signed.access_key_id())
        .await?
        .filter(|entry| presents_issued_token(entry, signed.session_token()));
    let Some(entry) = issued else {
        return Ok((
            dev_principal(signed.access_key_id(), &app.config.default_account),
            None,
        ));
    };
    if let Some(service) = service {
        let used_region = region.unwrap_or(&app.config.default_region);
        app.directory
            .record_use(signed.access_key_id(), service, used_region);
    }
    Ok((entry.principal.clone(), session_context(&entry)))
}

/// Whether the session token sent with a key is the one it was issued with: none for a long-term
/// key, the session's own (compared in constant time) for temporary credentials.
fn presents_issued_token(entry: &KeyEntry, presented: Option<&str>) -> bool {
    match (&entry.session, presented) {
        (None, None) => true,
        (Some(session), Some(token)) => session
            .token
            .expose()
            .as_bytes()
            .ct_eq(token.as_bytes())
            .into(),
        _ => false,
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::SessionBinding;
    use coffer_auth::SecretAccessKey;

    fn entry(session_token: Option<&str>) -> KeyEntry {
        KeyEntry {
            secret: SecretAccessKey::new("secret"),
            principal: anonymous(),
            active: true,
            session: session_token.map(|token| SessionBinding {
                token: SecretAccessKey::new(token),
                expires_at_millis: 0,
                context: None,
            }),
        }
    }

    #[test]
    fn a_credential_is_its_key_with_exactly_the_token_it_was_issued_with() {
        let long_term = entry(None);
        assert!(presents_issued_token(&long_term, None));
        assert!(!presents_issued_token(&long_term, Some("any token")));
        let session = entry(Some("the-token"));
        assert!(presents_issued_token(&session, Some("the-token")));
        assert!(!presents_issued_token(&session, Some("the-token-")));
        assert!(!presents_issued_token(&session, Some("")));
        assert!(!presents_issued_token(&session, None));
    }
}
