//! `AssumeRoleWithWebIdentity` against the account's IAM OIDC providers: the token (an RS256 JWT)
//! is checked against its issuer's published keys, its audience against the provider's client ids,
//! then the role's trust policy decides with `<provider>:aud` / `:sub`. The request is unsigned:
//! the token is the caller's only credential.

use base64::Engine;
use coffer_model::context::RequestContext;
use coffer_model::sts::*;
use coffer_policy::{
    evaluate, AttachedPolicy, ContextValue, Policy, PolicyKind, PolicySet, PolicySource,
    PrincipalType, Request,
};
use serde_json::Value;

use crate::access::parse_role_arn;
use crate::assume_role::DEFAULT_DURATION;
use crate::common::*;
use crate::oidc::Jwk;
use crate::sessions::{SessionDoc, SessionKind, SessionRole};
use crate::StsService;

pub(crate) fn base64url(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .ok()
}

fn invalid_token(message: &str) -> StsError {
    StsError::invalid_identity_token(message)
}

fn not_authorized() -> StsError {
    access_denied("Not authorized to perform sts:AssumeRoleWithWebIdentity")
}

struct Jwt {
    kid: Option<String>,
    claims: Value,
    signed: Vec<u8>,
    signature: Vec<u8>,
}

fn parse_jwt(token: &str) -> Result<Jwt, StsError> {
    let malformed = || invalid_token("The ID Token provided is not a valid JWT.");
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    let header: Value = base64url(h)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(malformed)?;
    let claims: Value = base64url(p)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(malformed)?;
    let signature = base64url(s).ok_or_else(malformed)?;
    if header.get("alg").and_then(Value::as_str) != Some("RS256") {
        return Err(invalid_token(
            "The token's signing algorithm is not supported: only RS256 is.",
        ));
    }
    Ok(Jwt {
        kid: header
            .get("kid")
            .and_then(Value::as_str)
            .map(str::to_string),
        claims,
        signed: format!("{h}.{p}").into_bytes(),
        signature,
    })
}

fn verify_signature(jwt: &Jwt, keys: &[Jwk]) -> bool {
    keys.iter()
        .filter(|k| jwt.kid.is_none() || k.kid.is_none() || k.kid == jwt.kid)
        .any(|k| {
            aws_lc_rs::signature::RsaPublicKeyComponents { n: &k.n, e: &k.e }
                .verify(
                    &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
                    &jwt.signed,
                    &jwt.signature,
                )
                .is_ok()
        })
}

fn audiences(claims: &Value) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

pub(crate) async fn assume_role_with_web_identity(
    svc: &StsService,
    ctx: &RequestContext,
    input: AssumeRoleWithWebIdentityRequest,
) -> Result<AssumeRoleWithWebIdentityResponse, StsError> {
    let role_arn = parse_role_arn(&input.role_arn)
        .map_err(StsError::Other)?
        .ok_or_else(not_authorized)?;
    let jwt = parse_jwt(input.web_identity_token.expose())?;
    let issuer = jwt
        .claims
        .get("iss")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid_token("The token has no issuer (iss)."))?
        .to_string();
    let subject = jwt
        .claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();

    let (account, role_name, iss) = (
        role_arn.account.clone(),
        role_arn.name.clone(),
        issuer.clone(),
    );
    let (role, provider) = svc
        .store
        .read(move |txn| {
            Ok::<_, coffer_store::StoreError>((
                coffer_iam::roles::find(txn, &account, &role_name)?,
                coffer_iam::oidc_providers::find_by_issuer(txn, &account, &iss)?,
            ))
        })
        .await
        .map_err(store_failed)?;
    let provider = provider.ok_or_else(|| {
        invalid_token(&format!(
            "No OpenIDConnect provider found in your account for {issuer}"
        ))
    })?;
    let audience = audiences(&jwt.claims)
        .into_iter()
        .find(|a| provider.client_ids.contains(a))
        .ok_or_else(|| invalid_token("Incorrect token audience"))?;
    let now_secs = ctx.now_millis.div_euclid(1000);
    if let Some(exp) = jwt.claims.get("exp").and_then(Value::as_i64) {
        if now_secs >= exp {
            return Err(StsError::expired_token(format!(
                "Token expired: current date/time {now_secs} must be before the expiration date/time{exp}"
            )));
        }
    } else {
        return Err(invalid_token("The token has no expiration (exp)."));
    }
    if let Some(nbf) = jwt.claims.get("nbf").and_then(Value::as_i64) {
        if now_secs + 300 < nbf {
            return Err(invalid_token("The token is not valid yet (nbf)."));
        }
    }

    let Some(fetcher) = &svc.oidc else {
        return Err(StsError::idp_communication_error(
            "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements",
        ));
    };
    let fetch_failed = |e: String| {
        tracing::warn!(issuer = %issuer, error = %e, "fetching the OIDC issuer's keys failed");
        StsError::idp_communication_error(
            "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements",
        )
    };
    let keys = fetcher.keys(&issuer, false).await.map_err(fetch_failed)?;
    let mut verified = verify_signature(&jwt, &keys);
    if !verified && !keys.iter().any(|k| k.kid.is_some() && k.kid == jwt.kid) {
        // Signed with a key the cached set lacks: the issuer may have rotated its keys.
        let keys = fetcher.keys(&issuer, true).await.map_err(fetch_failed)?;
        verified = verify_signature(&jwt, &keys);
    }
    if !verified {
        return Err(invalid_token(
            "The web identity token signature could not be verified with the keys of its issuer.",
        ));
    }

    // The trust policy decides, with the provider as the (federated) principal.
    let role = role
        .filter(|r| r.path == role_arn.path)
        .ok_or_else(not_authorized)?;
    let provider_arn = provider.arn(&role_arn.account);
    let trust = Policy::parse(&role.assume_role_policy, PolicyKind::Trust)
        .map_err(|_| StsError::Other(coffer_model::AwsError::internal()))?;
    let trust = AttachedPolicy::new("TrustPolicy", PolicySource::Resource, trust);
    let mut principal = coffer_policy::Principal::new(
        PrincipalType::Federated,
        provider_arn.clone(),
        &role_arn.account,
        &subject,
    );
    principal.provider = Some(provider_arn.clone());
    let mut request = Request::new(
        principal,
        "sts:AssumeRoleWithWebIdentity",
        Some(&input.role_arn),
    )
    .with_time_millis(ctx.now_millis)
    .with_secure_transport(ctx.secure_transport)
    .with_value(
        &format!("{}:aud", provider.url),
        ContextValue::string(&audience),
    )
    .with_value(
        &format!("{}:sub", provider.url),
        ContextValue::string(&subject),
    )
    .with_value("aws:FederatedProvider", ContextValue::string(&provider_arn));
    if let Some(ip) = ctx.source_ip {
        request = request.with_source_ip(ip);
    }
    let set = PolicySet {
        trust: Some(&trust),
        resource_account: Some(&role_arn.account),
        ..PolicySet::default()
    };
    if !evaluate(&request, &set).is_allowed() {
        return Err(not_authorized());
    }

    let duration = input.duration_seconds.unwrap_or(DEFAULT_DURATION);
    if duration > role.max_session_duration {
        return Err(StsError::validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }
    let policies = session_policies(input.policy.as_deref(), input.policy_arns.as_deref())?;
    let packed = packed_size(&policies, &[])?;
    let session_name = input.role_session_name.clone();
    let arn = format!(
        "arn:aws:sts::{}:assumed-role/{}/{}",
        role_arn.account, role.name, session_name
    );
    let id = format!("{}:{}", role.role_id, session_name);
    let (issued, expires) = expiry(ctx, i64::from(duration));
    let passed_policies = !policies.inline.is_empty() || !policies.arns.is_empty();
    let doc = SessionDoc {
        kind: SessionKind::AssumedRole,
        account_id: role_arn.account.clone(),
        arn: arn.clone(),
        user_id: id.clone(),
        issued_at_millis: issued,
        expires_at_millis: expires,
        role: Some(SessionRole {
            name: role.name.clone(),
            path: role.path.clone(),
            role_id: role.role_id.clone(),
        }),
        user_name: None,
        source_user_id: None,
        source_arn: Some(provider_arn),
        session_policies: policies.inline,
        policy_arns: policies.arns,
        tags: Vec::new(),
        transitive_tag_keys: Vec::new(),
        source_identity: None,
        mfa_authenticated_at_millis: None,
        chained: false,
    };
    let credentials = issue(svc, doc).await?;
    Ok(AssumeRoleWithWebIdentityResponse {
        credentials: Some(credentials),
        subject_from_web_identity_token: Some(subject),
        assumed_role_user: Some(AssumedRoleUser {
            assumed_role_id: id,
            arn,
        }),
        packed_policy_size: passed_policies.then_some(packed),
        provider: Some(issuer),
        audience: Some(audience),
        source_identity: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_must_be_rs256_jwts() {
        assert!(matches!(
            parse_jwt("not-a-jwt"),
            Err(StsError::InvalidIdentityToken(_))
        ));
        let enc = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let hs = format!("{}.{}.c2ln", enc(r#"{"alg":"HS256"}"#), enc("{}"));
        assert!(matches!(
            parse_jwt(&hs),
            Err(StsError::InvalidIdentityToken(_))
        ));
        let rs = format!(
            "{}.{}.c2ln",
            enc(r#"{"alg":"RS256","kid":"k1"}"#),
            enc(r#"{"aud":["a","b"]}"#)
        );
        let jwt = parse_jwt(&rs).unwrap();
        assert_eq!(jwt.kid.as_deref(), Some("k1"));
        assert_eq!(audiences(&jwt.claims), vec!["a", "b"]);
        assert!(!verify_signature(&jwt, &[]));
    }
}
