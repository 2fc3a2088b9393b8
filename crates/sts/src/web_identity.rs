//! `AssumeRoleWithWebIdentity` against the account's IAM OIDC providers: the token (a JWT signed
//! with RS256/384/512 or ES256/384) is checked against its issuer's published keys, its audience
//! against the provider's client ids, then the role's trust policy decides with
//! `<provider>:aud` / `:sub` (asked of the server's authorizer, see [`crate::federated`]). The
//! request is unsigned: the token is the caller's only credential.
//!
//! Everything that can be checked without the issuer is checked first (the token's shape and
//! algorithm, the provider, the audience, the times, the role), so that a request failing any of
//! those never makes Coffer call out; JWT decoding and signature checks are `jsonwebtoken`'s.

use coffer_model::access::FederatedCaller;
use coffer_model::context::RequestContext;
use coffer_model::sts::*;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;

use crate::access::parse_role_arn;
use crate::common::*;
use crate::federated::{assume_role_federated, find_role, FederatedAssumeRole};
use crate::oidc::SigningKey;
use crate::StsService;

/// The signing algorithms AWS accepts for web identity tokens, less ES512, which `jsonwebtoken`
/// does not implement. Symmetric (HS*) algorithms are never accepted: the keys are public.
const SUPPORTED_ALGORITHMS: [Algorithm; 5] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

/// Leeway for `nbf` and `iat` against the issuer's clock. `exp` has none, as on AWS.
const CLOCK_SKEW_SECS: i64 = 300;

/// AWS's answer when the issuer's keys cannot be had.
const NO_VERIFICATION_KEY: &str = "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements";

fn invalid_token(message: &str) -> StsError {
    StsError::invalid_identity_token(message)
}

fn malformed() -> StsError {
    invalid_token("The ID Token provided is not a valid JWT.")
}

fn not_authorized() -> StsError {
    access_denied("Not authorized to perform sts:AssumeRoleWithWebIdentity")
}

/// A claim that is one string or a list of them (`aud`, `amr`).
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// The claims Coffer reads. Times must be integers (AWS: "Timestamps in the token must be
/// formatted as either an integer or a long integer"): anything else makes the token malformed.
#[derive(Deserialize)]
struct Claims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<OneOrMany>,
    /// The authorized party (Google's hybrid apps): `accounts.google.com:aud` when present.
    azp: Option<ReadIfShaped<String>>,
    /// Authentication methods (Amazon Cognito: `authenticated` and the login provider).
    amr: Option<ReadIfShaped<OneOrMany>>,
    exp: Option<i64>,
    nbf: Option<i64>,
    iat: Option<i64>,
}

/// A claim Coffer reads for some issuers only (`azp`, `amr`). A value of another shape is ignored,
/// as every claim Coffer does not read is, instead of refusing a token its issuer signed.
#[derive(Deserialize)]
#[serde(untagged)]
enum ReadIfShaped<T> {
    Read(T),
    Ignored(serde::de::IgnoredAny),
}

impl<T> ReadIfShaped<T> {
    fn read(claim: &Option<ReadIfShaped<T>>) -> Option<&T> {
        match claim {
            Some(ReadIfShaped::Read(value)) => Some(value),
            _ => None,
        }
    }
}

impl Claims {
    fn audiences(&self) -> Vec<&str> {
        strings(self.aud.as_ref())
    }

    fn authorized_party(&self) -> Option<&str> {
        ReadIfShaped::read(&self.azp).map(String::as_str)
    }

    fn methods(&self) -> Vec<&str> {
        strings(ReadIfShaped::read(&self.amr))
    }
}

fn strings(claim: Option<&OneOrMany>) -> Vec<&str> {
    match claim {
        Some(OneOrMany::One(a)) => vec![a.as_str()],
        Some(OneOrMany::Many(many)) => many.iter().map(String::as_str).collect(),
        None => Vec::new(),
    }
}

/// The condition keys a verified token gives the role's trust decision, named by the provider
/// (`<provider>:aud`, `:sub`) as the IAM User Guide's "Available keys for AWS web identity
/// federation" has them: for Google, `:aud` is the authorized party (`azp`) when the token names
/// one and `:oaud` the audience it was issued for; for Amazon Cognito, `:amr` lists how the user
/// signed in.
fn trust_keys(
    provider_url: &str,
    claims: &Claims,
    audience: &str,
    subject: &str,
) -> Vec<(String, Vec<String>)> {
    let key = |name: &str| format!("{provider_url}:{name}");
    let mut keys = vec![(key("sub"), vec![subject.to_string()])];
    match provider_url {
        "accounts.google.com" => {
            let party = claims.authorized_party().unwrap_or(audience);
            keys.push((key("aud"), vec![party.to_string()]));
            keys.push((key("oaud"), vec![audience.to_string()]));
        }
        _ => keys.push((key("aud"), vec![audience.to_string()])),
    }
    let methods = claims.methods();
    if provider_url == "cognito-identity.amazonaws.com" && !methods.is_empty() {
        keys.push((
            key("amr"),
            methods.into_iter().map(str::to_string).collect(),
        ));
    }
    keys
}

/// A token as it claims to be: nothing in it is trusted until [`verify_signature`] passes.
struct UnverifiedToken<'a> {
    raw: &'a str,
    alg: Algorithm,
    kid: Option<String>,
    claims: Claims,
}

fn parse_token(raw: &str) -> Result<UnverifiedToken<'_>, StsError> {
    // Only the header and claims are read here; the signature is checked once the keys are in.
    let decoded =
        jsonwebtoken::dangerous::insecure_decode::<Claims>(raw).map_err(|_| malformed())?;
    let alg = decoded.header.alg;
    if !SUPPORTED_ALGORITHMS.contains(&alg) {
        return Err(invalid_token(&format!(
            "The token's signing algorithm {alg:?} is not supported: use RS256, RS384, RS512, ES256 or ES384."
        )));
    }
    Ok(UnverifiedToken {
        raw,
        alg,
        kid: decoded.header.kid,
        claims: decoded.claims,
    })
}

/// `exp` (required), `nbf` and `iat` against the request's clock.
fn check_times(claims: &Claims, now_secs: i64) -> Result<(), StsError> {
    let exp = claims
        .exp
        .ok_or_else(|| invalid_token("The token has no expiration (exp)."))?;
    if now_secs >= exp {
        return Err(StsError::expired_token(format!(
            "Token expired: current date/time {now_secs} must be before the expiration date/time{exp}"
        )));
    }
    if claims
        .nbf
        .is_some_and(|nbf| nbf > now_secs.saturating_add(CLOCK_SKEW_SECS))
    {
        return Err(invalid_token("The token is not valid yet (nbf)."));
    }
    if claims
        .iat
        .is_some_and(|iat| iat > now_secs.saturating_add(CLOCK_SKEW_SECS))
    {
        return Err(invalid_token("The token was issued in the future (iat)."));
    }
    Ok(())
}

/// Checks the token's signature with the issuer's key it names (or, without `kid`, any of its
/// keys of the token's algorithm), and again its issuer and audience as part of the verified token.
fn verify_signature(
    token: &UnverifiedToken<'_>,
    keys: &[SigningKey],
    issuer: &str,
    client_ids: &[String],
) -> Result<(), StsError> {
    let family = token.alg.family();
    let mut candidates = keys
        .iter()
        .filter(|k| k.family == family && k.alg.is_none_or(|alg| alg == token.alg))
        .filter(|k| token.kid.is_none() || k.kid.is_none() || k.kid == token.kid)
        .peekable();
    if candidates.peek().is_none() {
        return Err(invalid_token(NO_VERIFICATION_KEY));
    }
    let mut validation = Validation::new(token.alg);
    // Times were checked against the request's clock, not the system's.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.set_required_spec_claims(&["iss", "aud"]);
    validation.set_issuer(&[issuer]);
    validation.set_audience(client_ids);
    for key in candidates {
        match jsonwebtoken::decode::<serde::de::IgnoredAny>(token.raw, &key.key, &validation) {
            Ok(_) => return Ok(()),
            Err(e) => match e.kind() {
                // Not this key (or not a key for this algorithm): try the next one.
                ErrorKind::InvalidSignature
                | ErrorKind::InvalidAlgorithm
                | ErrorKind::InvalidKeyFormat
                | ErrorKind::InvalidRsaKey(_)
                | ErrorKind::InvalidEcdsaKey => continue,
                ErrorKind::InvalidAudience => {
                    return Err(invalid_token("Incorrect token audience"))
                }
                _ => return Err(malformed()),
            },
        }
    }
    Err(invalid_token(
        "The web identity token signature could not be verified with the keys of its issuer.",
    ))
}

pub(crate) async fn assume_role_with_web_identity(
    svc: &StsService,
    ctx: &RequestContext,
    input: AssumeRoleWithWebIdentityRequest,
) -> Result<AssumeRoleWithWebIdentityResponse, StsError> {
    let role_arn = parse_role_arn(&input.role_arn)
        .map_err(StsError::Other)?
        .ok_or_else(not_authorized)?;
    let token = parse_token(input.web_identity_token.expose())?;
    let issuer = token
        .claims
        .iss
        .clone()
        .ok_or_else(|| invalid_token("The token has no issuer (iss)."))?;
    let subject = token.claims.sub.clone().unwrap_or_default();

    let (account, role_name, iss) = (
        role_arn.account.clone(),
        role_arn.name.clone(),
        issuer.clone(),
    );
    let (role, provider) = svc
        .store
        .read(move |txn| {
            Ok::<_, coffer_store::StoreError>((
                find_role(txn, &account, &role_name)?,
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
    let audience = token
        .claims
        .audiences()
        .into_iter()
        .find(|a| provider.client_ids.iter().any(|id| id == a))
        .ok_or_else(|| invalid_token("Incorrect token audience"))?
        .to_string();
    check_times(&token.claims, ctx.now_millis.div_euclid(1000))?;
    // The cache is keyed by the provider's URL, not the token's `iss` spelling, so variants of
    // one issuer (a trailing `/`) share their keys and their refresh budget.
    let keys = svc
        .oidc
        .keys(&provider.url, token.kid.as_deref(), ctx.now_millis)
        .await
        .map_err(|e| {
            tracing::warn!(issuer = %issuer, error = %e.0, "fetching the OIDC issuer's keys failed");
            StsError::idp_communication_error(NO_VERIFICATION_KEY)
        })?;
    verify_signature(&token, &keys, &issuer, &provider.client_ids)?;
    // Whether the role exists is told only to a token its issuer signed: checked before the
    // signature, a forged token naming a missing role (AccessDenied) could be told from one naming
    // an existing role (InvalidIdentityToken), which enumerates roles without any credential. The
    // issuer is not called more for it: keys are cached and refreshed at a bounded rate.
    let role = role
        .filter(|r| r.role.path == role_arn.path)
        .ok_or_else(not_authorized)?;

    // The trust policy decides, with the provider as the (federated) principal.
    let provider_keys = trust_keys(&provider.url, &token.claims, &audience, &subject);
    let issued = assume_role_federated(
        svc,
        ctx,
        FederatedAssumeRole {
            action: "sts:AssumeRoleWithWebIdentity",
            role_arn: &input.role_arn,
            role,
            caller: FederatedCaller {
                provider_arn: provider.arn(&role_arn.account),
                account_id: role_arn.account.clone(),
                subject: subject.clone(),
            },
            provider_keys,
            session_name: input.role_session_name.clone(),
            duration_seconds: input.duration_seconds,
            not_on_or_after_millis: None,
            policy: input.policy.as_deref(),
            policy_arns: input.policy_arns.as_deref(),
            tags: Vec::new(),
            transitive_tag_keys: Vec::new(),
            source_identity: None,
        },
    )
    .await?;
    Ok(AssumeRoleWithWebIdentityResponse {
        credentials: Some(issued.credentials),
        subject_from_web_identity_token: Some(subject),
        assumed_role_user: Some(issued.assumed_role_user),
        packed_policy_size: issued.packed_policy_size,
        provider: Some(issuer),
        audience: Some(audience),
        source_identity: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    const ISSUER: &str = "https://idp.example.com";
    const NOW: i64 = 1_700_000_000;

    /// A P-256 key: its PKCS#8 (to sign) and its JWK (as the issuer publishes it).
    fn ec_key(kid: &str) -> (Vec<u8>, serde_json::Value) {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        // Uncompressed point: 0x04 || x || y.
        let point = pair.public_key().as_ref();
        let jwk = json!({"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..])});
        (pkcs8.as_ref().to_vec(), jwk)
    }

    fn keys(jwks: &[serde_json::Value]) -> Vec<SigningKey> {
        crate::oidc::tests::usable(jwks.to_vec())
    }

    fn claims() -> serde_json::Value {
        json!({"iss": ISSUER, "sub": "repo:acme/app", "aud": "my-app", "iat": NOW, "exp": NOW + 600})
    }

    fn es256(pkcs8: &[u8], kid: Option<&str>, claims: &serde_json::Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = kid.map(str::to_string);
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ec_der(pkcs8)).unwrap()
    }

    fn unsigned(header: serde_json::Value, claims: &serde_json::Value, signature: &[u8]) -> String {
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string()),
            URL_SAFE_NO_PAD.encode(signature)
        )
    }

    fn verify(raw: &str, jwks: &[serde_json::Value]) -> Result<(), StsError> {
        let token = parse_token(raw)?;
        check_times(&token.claims, NOW)?;
        verify_signature(&token, &keys(jwks), ISSUER, &["my-app".to_string()])
    }

    fn message(e: StsError) -> String {
        match e {
            StsError::InvalidIdentityToken(m) => m,
            other => panic!("not InvalidIdentityToken: {other:?}"),
        }
    }

    #[test]
    fn a_token_signed_by_the_key_it_names_verifies() {
        let (pkcs8, jwk) = ec_key("k1");
        let (_, other) = ec_key("k2");
        let jwks = [other, jwk];
        assert!(verify(&es256(&pkcs8, Some("k1"), &claims()), &jwks).is_ok());
        // Without `kid`, any key of the token's algorithm may have signed it.
        assert!(verify(&es256(&pkcs8, None, &claims()), &jwks).is_ok());
    }

    #[test]
    fn a_token_naming_a_key_the_issuer_lacks_is_refused() {
        let (pkcs8, _) = ec_key("k1");
        let (_, published) = ec_key("k2");
        let e = verify(
            &es256(&pkcs8, Some("k1"), &claims()),
            std::slice::from_ref(&published),
        )
        .unwrap_err();
        assert_eq!(message(e), NO_VERIFICATION_KEY);
        // Claiming the published key's id does not help a token signed by another key.
        let e = verify(&es256(&pkcs8, Some("k2"), &claims()), &[published]).unwrap_err();
        assert!(message(e).contains("signature could not be verified"));
    }

    #[test]
    fn tampered_claims_break_the_signature() {
        let (pkcs8, jwk) = ec_key("k1");
        let token = es256(&pkcs8, Some("k1"), &claims());
        let mut parts: Vec<&str> = token.split('.').collect();
        let mut forged = claims();
        forged["sub"] = "repo:evil/app".into();
        let forged = URL_SAFE_NO_PAD.encode(forged.to_string());
        parts[1] = &forged;
        let e = verify(&parts.join("."), &[jwk]).unwrap_err();
        assert!(message(e).contains("signature could not be verified"));
    }

    #[test]
    fn alg_none_and_symmetric_algorithms_are_refused() {
        let (_, jwk) = ec_key("k1");
        let none = unsigned(json!({"alg": "none", "kid": "k1"}), &claims(), b"");
        assert_eq!(
            message(verify(&none, std::slice::from_ref(&jwk)).unwrap_err()),
            "The ID Token provided is not a valid JWT."
        );
        // The classic confusion: HS256 with the issuer's public key as the HMAC secret.
        let public_key = jwk.to_string();
        let hs = jsonwebtoken::encode(
            &Header {
                kid: Some("k1".into()),
                ..Header::new(Algorithm::HS256)
            },
            &claims(),
            &EncodingKey::from_secret(public_key.as_bytes()),
        )
        .unwrap();
        assert!(
            message(verify(&hs, std::slice::from_ref(&jwk)).unwrap_err())
                .contains("HS256 is not supported")
        );
        // An HMAC key published in the JWKS is never a candidate either.
        let oct = json!({"kty": "oct", "kid": "k1", "k": URL_SAFE_NO_PAD.encode(b"secret")});
        assert!(keys(&[oct]).is_empty());
        // PS256 is not among AWS's algorithms.
        let ps = unsigned(json!({"alg": "PS256", "kid": "k1"}), &claims(), b"sig");
        assert!(
            message(verify(&ps, std::slice::from_ref(&jwk)).unwrap_err())
                .contains("PS256 is not supported")
        );
        // An ES256 token cannot be checked with an RSA key of the same id.
        let (pkcs8, _) = ec_key("k1");
        let rsa = crate::oidc::tests::rsa_jwk("k1");
        let e = verify(&es256(&pkcs8, Some("k1"), &claims()), &[rsa]).unwrap_err();
        assert_eq!(message(e), NO_VERIFICATION_KEY);
    }

    #[test]
    fn malformed_tokens_are_invalid_identity_tokens() {
        let (_, jwk) = ec_key("k1");
        for raw in [
            "",
            "not-a-jwt",
            "a.b",
            "a.b.c.d",
            "e30.e30.e30",
            "%%%.%%%.%%%",
            &unsigned(
                json!({"alg": "ES256"}),
                &json!("claims are not an object"),
                b"s",
            ),
            &unsigned(json!({"alg": "ES256"}), &json!({"exp": 1.7e9}), b"s"),
            &unsigned(json!({"alg": "ES256"}), &json!({"exp": "1700000600"}), b"s"),
            &unsigned(json!({"alg": "ES256"}), &json!({"aud": 5}), b"s"),
        ] {
            assert!(
                matches!(
                    verify(raw, std::slice::from_ref(&jwk)),
                    Err(StsError::InvalidIdentityToken(_))
                ),
                "{raw}"
            );
        }
    }

    #[test]
    fn times_are_checked_against_the_request_clock() {
        let with = |k: &str, v: serde_json::Value| {
            let mut c = claims();
            c[k] = v;
            serde_json::from_value::<Claims>(c).unwrap()
        };
        assert!(check_times(&with("exp", json!(NOW + 1)), NOW).is_ok());
        match check_times(&with("exp", json!(NOW)), NOW) {
            Err(StsError::ExpiredToken(m)) => assert_eq!(
                m,
                format!("Token expired: current date/time {NOW} must be before the expiration date/time{NOW}")
            ),
            other => panic!("{other:?}"),
        }
        let mut no_exp = claims();
        no_exp.as_object_mut().unwrap().remove("exp");
        let no_exp = serde_json::from_value::<Claims>(no_exp).unwrap();
        assert!(matches!(
            check_times(&no_exp, NOW),
            Err(StsError::InvalidIdentityToken(_))
        ));
        assert!(check_times(&with("nbf", json!(NOW + CLOCK_SKEW_SECS)), NOW).is_ok());
        assert!(matches!(
            check_times(&with("nbf", json!(NOW + CLOCK_SKEW_SECS + 1)), NOW),
            Err(StsError::InvalidIdentityToken(_))
        ));
        assert!(check_times(&with("iat", json!(NOW + CLOCK_SKEW_SECS)), NOW).is_ok());
        assert!(matches!(
            check_times(&with("iat", json!(NOW + CLOCK_SKEW_SECS + 1)), NOW),
            Err(StsError::InvalidIdentityToken(_))
        ));
        // Extreme values are compared, not overflowed.
        assert!(matches!(
            check_times(&with("nbf", json!(i64::MAX)), NOW),
            Err(StsError::InvalidIdentityToken(_))
        ));
        assert!(check_times(&with("exp", json!(i64::MAX)), i64::MAX - 1).is_ok());
    }

    #[test]
    fn audience_and_issuer_are_part_of_the_verified_token() {
        let (pkcs8, jwk) = ec_key("k1");
        let raw = es256(&pkcs8, Some("k1"), &claims());
        let token = parse_token(&raw).unwrap();
        let keys = keys(&[jwk]);
        let e = verify_signature(&token, &keys, ISSUER, &["other-app".to_string()]);
        assert_eq!(message(e.unwrap_err()), "Incorrect token audience");
        let e = verify_signature(&token, &keys, "https://other", &["my-app".to_string()]);
        assert!(matches!(e, Err(StsError::InvalidIdentityToken(_))));
    }

    fn claims_of(value: serde_json::Value) -> Claims {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn google_keys_follow_the_authorized_party() {
        let plain = claims_of(json!({"aud": "web-client", "sub": "110"}));
        let keys = trust_keys("accounts.google.com", &plain, "web-client", "110");
        assert_eq!(
            key_values(&keys, "accounts.google.com:aud"),
            Some(&["web-client".to_string()][..])
        );
        assert_eq!(
            key_values(&keys, "accounts.google.com:oaud"),
            Some(&["web-client".to_string()][..])
        );
        assert_eq!(
            key_values(&keys, "accounts.google.com:sub"),
            Some(&["110".to_string()][..])
        );
        // A hybrid app: the authorized party is `:aud`, the audience only `:oaud`.
        let hybrid = claims_of(json!({"aud": "web-client", "azp": "android-client"}));
        let keys = trust_keys("accounts.google.com", &hybrid, "web-client", "110");
        assert_eq!(
            key_values(&keys, "accounts.google.com:aud"),
            Some(&["android-client".to_string()][..])
        );
        assert_eq!(
            key_values(&keys, "accounts.google.com:oaud"),
            Some(&["web-client".to_string()][..])
        );
        // Another issuer's `azp` changes nothing, and it gets no `:oaud`.
        let keys = trust_keys("token.example.com", &hybrid, "web-client", "110");
        assert_eq!(
            key_values(&keys, "token.example.com:aud"),
            Some(&["web-client".to_string()][..])
        );
        assert_eq!(key_values(&keys, "token.example.com:oaud"), None);
    }

    #[test]
    fn cognito_lists_its_authentication_methods() {
        let claims = claims_of(json!({"aud": "us-east-1:pool",
            "amr": ["authenticated", "graph.facebook.com"]}));
        let keys = trust_keys(
            "cognito-identity.amazonaws.com",
            &claims,
            "us-east-1:pool",
            "id",
        );
        assert_eq!(
            key_values(&keys, "cognito-identity.amazonaws.com:amr"),
            Some(
                &[
                    "authenticated".to_string(),
                    "graph.facebook.com".to_string()
                ][..]
            )
        );
        let one = claims_of(json!({"amr": "unauthenticated"}));
        let keys = trust_keys(
            "cognito-identity.amazonaws.com",
            &one,
            "us-east-1:pool",
            "id",
        );
        assert_eq!(
            key_values(&keys, "cognito-identity.amazonaws.com:amr"),
            Some(&["unauthenticated".to_string()][..])
        );
        // Other issuers' `amr` is not a key AWS defines.
        let keys = trust_keys("token.example.com", &claims, "a", "id");
        assert_eq!(key_values(&keys, "token.example.com:amr"), None);
    }

    /// `azp` and `amr` of another shape are ignored like any claim Coffer does not read: the
    /// token still parses (its signature and audience decide), and supplies no key from them.
    #[test]
    fn odd_shaped_azp_and_amr_are_ignored_not_malformed() {
        for odd in [json!(5), json!({"a": 1}), json!([1, 2]), json!(null)] {
            let mut body = claims();
            body["azp"] = odd.clone();
            body["amr"] = odd.clone();
            let raw = unsigned(json!({"alg": "RS256", "typ": "JWT"}), &body, b"sig");
            let token = parse_token(&raw).unwrap_or_else(|_| panic!("{odd} made it malformed"));
            let keys = trust_keys("accounts.google.com", &token.claims, "my-app", "s");
            assert_eq!(
                key_values(&keys, "accounts.google.com:aud"),
                Some(&["my-app".to_string()][..])
            );
            let keys = trust_keys(
                "cognito-identity.amazonaws.com",
                &token.claims,
                "my-app",
                "s",
            );
            assert_eq!(
                key_values(&keys, "cognito-identity.amazonaws.com:amr"),
                None
            );
        }
    }

    /// Every key AWS's Service Authorization Reference lists for `AssumeRoleWithWebIdentity` under
    /// the Google and Amazon Cognito providers reaches the trust decision of a token from them.
    /// (Facebook's and Login with Amazon's keys come from OAuth access tokens that only those
    /// providers can check; Coffer verifies OIDC ID tokens against IAM OIDC providers.)
    #[test]
    fn every_google_and_cognito_key_of_the_reference_is_supplied() {
        let listed = reference_condition_keys("AssumeRoleWithWebIdentity");
        let claims = claims_of(json!({"aud": "client", "azp": "party", "amr": ["authenticated"]}));
        let mut checked = 0;
        for provider in ["accounts.google.com", "cognito-identity.amazonaws.com"] {
            let keys = trust_keys(provider, &claims, "client", "subject");
            let prefix = format!("{provider}:");
            for key in listed {
                if key.starts_with(&prefix) {
                    assert!(
                        key_values(&keys, key).is_some_and(|v| !v.is_empty()),
                        "{key}"
                    );
                    checked += 1;
                }
            }
            for (key, _) in &keys {
                assert!(listed.contains(&key.as_str()), "{key}");
            }
        }
        assert_eq!(checked, 6);
    }
}
