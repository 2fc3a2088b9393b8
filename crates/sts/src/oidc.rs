//! OpenID Connect issuers' signing keys for `AssumeRoleWithWebIdentity`:
//! `https://<provider>/.well-known/openid-configuration`, then its `jwks_uri`, through the shared
//! outbound client (the system's roots plus `--oidc-ca`; timeouts and size caps).
//!
//! The operation is unsigned, so whoever can reach the port decides when Coffer calls an issuer.
//! Calls are therefore bounded per issuer, whatever the requests: keys are cached for
//! [`KEYS_MAX_AGE`]; concurrent requests for an issuer share one fetch; a token naming a key the
//! cached set lacks (the issuer may have rotated its keys) forces a refresh at most once per
//! [`FORCED_REFRESH_INTERVAL`]; and after a failed fetch the issuer is not called again for
//! [`RETRY_AFTER_FAILURE`]. Time is the request's clock, so tests move it instead of sleeping.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use coffer_outbound::{Client, Limits, Schemes};
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use serde::Deserialize;

/// How long fetched keys are used before they are fetched again.
pub(crate) const KEYS_MAX_AGE: Duration = Duration::from_secs(300);
/// Least time between two refreshes forced by tokens naming an unknown key.
pub(crate) const FORCED_REFRESH_INTERVAL: Duration = Duration::from_secs(60);
/// Least time between a failed fetch and the next call to that issuer.
pub(crate) const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(10);
/// Keys kept from one JWKS: bounds the signature checks a token without `kid` can cause.
const MAX_KEYS: usize = 100;
/// Issuers whose state is kept; only registered providers' issuers get here, so this is a bound
/// against growth across many accounts, not a cache that is expected to fill.
const MAX_ISSUERS: usize = 1024;

/// The limits of a call to an issuer: the discovery document and the JWKS together must arrive
/// within the timeout, each at most `max_response_bytes`.
pub(crate) const FETCH_LIMITS: Limits = Limits {
    connect_timeout: Duration::from_secs(5),
    timeout: Duration::from_secs(5),
    max_response_bytes: 1024 * 1024,
};

/// One usable signing key of an issuer.
#[derive(Clone)]
pub(crate) struct SigningKey {
    pub kid: Option<String>,
    /// The algorithm the JWKS binds the key to, if it names one.
    pub alg: Option<Algorithm>,
    pub family: AlgorithmFamily,
    pub key: DecodingKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("family", &self.family)
            .finish()
    }
}

pub(crate) type KeySet = Arc<Vec<SigningKey>>;

type FetchFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<SigningKey>, String>> + Send + 'a>>;

/// Where an issuer's keys come from: HTTPS in the server, a counting fake in tests.
pub(crate) trait KeySource: Send + Sync {
    /// `issuer` is the provider's URL without its scheme (`host[:port][/path]`).
    fn fetch<'a>(&'a self, issuer: &'a str) -> FetchFuture<'a>;
}

/// What is known of one issuer. Guarded by an async lock held across a fetch, so that the
/// requests waiting for an issuer's keys share the one fetch in flight.
#[derive(Default)]
struct IssuerState {
    keys: Option<(i64, KeySet)>,
    last_forced_refresh: Option<i64>,
    last_failure: Option<i64>,
}

/// `now` is within `window` of `then`, either way (a clock set back does not lock an issuer out
/// for longer than the window).
fn within(now: i64, then: Option<i64>, window: Duration) -> bool {
    then.is_some_and(|t| now.abs_diff(t) < window.as_millis() as u64)
}

pub(crate) struct Fetcher {
    source: Box<dyn KeySource>,
    issuers: Mutex<HashMap<String, Arc<tokio::sync::Mutex<IssuerState>>>>,
}

/// Why no keys could be had: the issuer failed, or it is resting after a failure.
#[derive(Debug)]
pub(crate) struct Unavailable(pub String);

impl Fetcher {
    /// Fetches over HTTPS, trusting the system's roots and `extra_roots`.
    pub fn new(extra_roots: Vec<coffer_outbound::CertificateDer<'static>>) -> Fetcher {
        Fetcher::with_source(Box::new(HttpsKeySource {
            client: Client::new(Schemes::HttpsOnly, FETCH_LIMITS, extra_roots),
        }))
    }

    pub(crate) fn with_source(source: Box<dyn KeySource>) -> Fetcher {
        Fetcher {
            source,
            issuers: Mutex::new(HashMap::new()),
        }
    }

    fn state_of(&self, issuer: &str) -> Arc<tokio::sync::Mutex<IssuerState>> {
        let mut issuers = self.issuers.lock().unwrap_or_else(|e| e.into_inner());
        if issuers.len() >= MAX_ISSUERS && !issuers.contains_key(issuer) {
            issuers.clear();
        }
        issuers.entry(issuer.to_string()).or_default().clone()
    }

    /// The issuer's keys as of `now_millis` (the request's clock). With `kid`, a cached set
    /// lacking that key is refreshed if the forced-refresh interval allows; the set returned may
    /// still lack it.
    pub async fn keys(
        &self,
        issuer: &str,
        kid: Option<&str>,
        now_millis: i64,
    ) -> Result<KeySet, Unavailable> {
        let state = self.state_of(issuer);
        let mut state = state.lock().await;
        // Either way, as for the intervals below: a request reads its clock before it waits for
        // this lock, so concurrent requests see keys "fetched after now" by a few milliseconds.
        // Taking those for stale made each such request fetch again — more calls to the issuer
        // than the refresh interval allows, under exactly the flood it is there to absorb.
        let fresh = state
            .keys
            .as_ref()
            .filter(|(fetched, _)| now_millis.abs_diff(*fetched) < KEYS_MAX_AGE.as_millis() as u64);
        let forced = match fresh {
            Some((_, keys)) => {
                let known =
                    kid.is_none_or(|kid| keys.iter().any(|k| k.kid.as_deref() == Some(kid)));
                if known
                    || within(
                        now_millis,
                        state.last_forced_refresh,
                        FORCED_REFRESH_INTERVAL,
                    )
                    || within(now_millis, state.last_failure, RETRY_AFTER_FAILURE)
                {
                    return Ok(keys.clone());
                }
                true
            }
            None => false,
        };
        if within(now_millis, state.last_failure, RETRY_AFTER_FAILURE) {
            return Err(Unavailable(format!(
                "{issuer}: the last fetch failed less than {RETRY_AFTER_FAILURE:?} ago"
            )));
        }
        if forced {
            state.last_forced_refresh = Some(now_millis);
        }
        match self.source.fetch(issuer).await {
            Ok(keys) => {
                let keys: KeySet = Arc::new(keys);
                state.keys = Some((now_millis, keys.clone()));
                state.last_failure = None;
                Ok(keys)
            }
            Err(e) => {
                state.last_failure = Some(now_millis);
                Err(Unavailable(e))
            }
        }
    }
}

struct HttpsKeySource {
    client: Client,
}

#[derive(Deserialize)]
struct Discovery {
    jwks_uri: String,
}

/// A JWKS whose keys are read one by one, so that one key of a kind Coffer does not know (an
/// encryption key, a new curve) does not hide the others.
#[derive(Deserialize)]
struct RawKeySet {
    keys: Vec<serde_json::Value>,
}

impl KeySource for HttpsKeySource {
    fn fetch<'a>(&'a self, issuer: &'a str) -> FetchFuture<'a> {
        Box::pin(async move {
            let both = async {
                let discovery_url = format!("https://{issuer}/.well-known/openid-configuration");
                let discovery: Discovery = self.get_json(&discovery_url).await?;
                let set: RawKeySet = self.get_json(&discovery.jwks_uri).await?;
                Ok(usable_keys(set.keys))
            };
            // One deadline for both calls, not one each.
            tokio::time::timeout(self.client.limits().timeout, both)
                .await
                .map_err(|_| {
                    format!(
                        "{issuer}: no keys within {:?}",
                        self.client.limits().timeout
                    )
                })?
        })
    }
}

impl HttpsKeySource {
    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let response = self
            .client
            .get(url, "application/json")
            .await
            .map_err(|e| e.to_string())?;
        if response.status.as_u16() != 200 {
            return Err(format!("{url}: HTTP {}", response.status.as_u16()));
        }
        serde_json::from_slice(&response.body).map_err(|e| format!("{url}: {e}"))
    }
}

/// The signature keys among a JWKS's entries: RSA and EC public keys not marked for encryption.
/// Symmetric (`oct`) keys are never used: a JWKS is public, and an HMAC key from it would let
/// anyone sign.
fn usable_keys(entries: Vec<serde_json::Value>) -> Vec<SigningKey> {
    entries
        .into_iter()
        .filter_map(|entry| serde_json::from_value::<Jwk>(entry).ok())
        .filter(|jwk| jwk.common.public_key_use != Some(PublicKeyUse::Encryption))
        .filter_map(|jwk| {
            // A key bound to an algorithm that is not a signature one (`RSA-OAEP`, ...) is not
            // a signing key.
            let alg = match jwk.common.key_algorithm {
                None => None,
                Some(named) => Some(named.to_string().parse::<Algorithm>().ok()?),
            };
            let key = DecodingKey::from_jwk(&jwk).ok()?;
            let family = key.family();
            matches!(family, AlgorithmFamily::Rsa | AlgorithmFamily::Ec).then(|| SigningKey {
                kid: jwk.common.key_id.clone(),
                alg,
                family,
                key,
            })
        })
        .take(MAX_KEYS)
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// What the fake issuer serves next: its keys, or a failure.
    type Served = Arc<Mutex<Result<Vec<SigningKey>, String>>>;

    /// Serves a fixed key set (or a failure) and counts the fetches.
    pub(crate) struct CountingSource {
        pub fetches: Arc<AtomicUsize>,
        pub keys: Served,
    }

    impl KeySource for CountingSource {
        fn fetch<'a>(&'a self, _issuer: &'a str) -> FetchFuture<'a> {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            let keys = self.keys.lock().unwrap().clone();
            Box::pin(async move {
                tokio::task::yield_now().await;
                keys
            })
        }
    }

    pub(crate) fn rsa_jwk(kid: &str) -> serde_json::Value {
        serde_json::json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
            "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw",
            "e": "AQAB"})
    }

    pub(crate) fn usable(entries: Vec<serde_json::Value>) -> Vec<SigningKey> {
        usable_keys(entries)
    }

    fn key(kid: &str) -> SigningKey {
        usable_keys(vec![rsa_jwk(kid)]).remove(0)
    }

    fn fetcher(keys: Result<Vec<SigningKey>, String>) -> (Fetcher, Arc<AtomicUsize>, Served) {
        let fetches = Arc::new(AtomicUsize::new(0));
        let keys = Arc::new(Mutex::new(keys));
        let source = CountingSource {
            fetches: fetches.clone(),
            keys: keys.clone(),
        };
        (Fetcher::with_source(Box::new(source)), fetches, keys)
    }

    const T0: i64 = 1_700_000_000_000;
    const SEC: i64 = 1000;

    #[tokio::test]
    async fn keys_are_cached_until_their_max_age() {
        let (f, fetches, _) = fetcher(Ok(vec![key("k1")]));
        for i in 0..20 {
            f.keys("idp.example.com", Some("k1"), T0 + i * SEC)
                .await
                .unwrap();
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        let max_age = KEYS_MAX_AGE.as_millis() as i64;
        f.keys("idp.example.com", Some("k1"), T0 + max_age - 1)
            .await
            .unwrap();
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        f.keys("idp.example.com", Some("k1"), T0 + max_age)
            .await
            .unwrap();
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
        // Each issuer has its own keys.
        f.keys("other.example.com", None, T0 + max_age)
            .await
            .unwrap();
        assert_eq!(fetches.load(Ordering::SeqCst), 3);
    }

    /// Requests read their clock before they queue for the issuer's lock: one that read it just
    /// before the keys were fetched, and so carries an earlier time, uses them too.
    #[tokio::test]
    async fn keys_fetched_just_after_a_request_read_its_clock_are_fresh() {
        let (f, fetches, _) = fetcher(Ok(vec![key("k1")]));
        f.keys("idp", Some("forged"), T0 + SEC).await.unwrap();
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        for earlier in [T0 + SEC - 1, T0, T0 - 30 * SEC] {
            f.keys("idp", Some("k1"), earlier).await.unwrap();
            f.keys("idp", Some("forged-again"), earlier).await.unwrap();
        }
        assert_eq!(
            fetches.load(Ordering::SeqCst),
            2,
            "one forced refresh, no more"
        );
    }

    #[tokio::test]
    async fn unknown_kids_force_at_most_one_refresh_per_interval() {
        let (f, fetches, keys) = fetcher(Ok(vec![key("k1")]));
        f.keys("idp", Some("k1"), T0).await.unwrap();
        // Fifty tokens naming keys the issuer never had: one refresh.
        for i in 0..50 {
            let set = f
                .keys("idp", Some(&format!("forged-{i}")), T0 + SEC)
                .await
                .unwrap();
            assert!(set.iter().all(|k| k.kid.as_deref() == Some("k1")));
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
        // The issuer rotates: within the interval the new key is not fetched, after it it is.
        *keys.lock().unwrap() = Ok(vec![key("k2")]);
        let interval = FORCED_REFRESH_INTERVAL.as_millis() as i64;
        let set = f
            .keys("idp", Some("k2"), T0 + SEC + interval - 1)
            .await
            .unwrap();
        assert!(set.iter().all(|k| k.kid.as_deref() == Some("k1")));
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
        let set = f
            .keys("idp", Some("k2"), T0 + SEC + interval)
            .await
            .unwrap();
        assert_eq!(set[0].kid.as_deref(), Some("k2"));
        assert_eq!(fetches.load(Ordering::SeqCst), 3);
        // Known keys need no fetch, and a key still unknown waits for the next interval.
        f.keys("idp", Some("k2"), T0 + 2 * interval).await.unwrap();
        f.keys("idp", Some("k3"), T0 + 2 * interval).await.unwrap();
        assert_eq!(fetches.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_failing_issuer_rests_before_the_next_call() {
        let (f, fetches, keys) = fetcher(Err("down".into()));
        for i in 0..5 {
            assert!(f.keys("idp", Some("k1"), T0 + i * SEC).await.is_err());
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        *keys.lock().unwrap() = Ok(vec![key("k1")]);
        let rest = RETRY_AFTER_FAILURE.as_millis() as i64;
        assert!(f.keys("idp", Some("k1"), T0 + rest - 1).await.is_err());
        assert_eq!(f.keys("idp", Some("k1"), T0 + rest).await.unwrap().len(), 1);
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_clock_set_back_does_not_keep_stale_keys() {
        let (f, fetches, _) = fetcher(Ok(vec![key("k1")]));
        f.keys("idp", Some("k1"), T0).await.unwrap();
        f.keys("idp", Some("k1"), T0 - 3_600 * SEC).await.unwrap();
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_share_one_fetch() {
        let (f, fetches, _) = fetcher(Ok(vec![key("k1")]));
        let f = Arc::new(f);
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let f = f.clone();
                tokio::spawn(async move { f.keys("idp", Some("k1"), T0).await.is_ok() })
            })
            .collect();
        for t in tasks {
            assert!(t.await.unwrap());
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn only_public_signature_keys_are_kept() {
        let mut enc = rsa_jwk("enc");
        enc["use"] = "enc".into();
        let entries = vec![
            rsa_jwk("k1"),
            enc,
            serde_json::json!({"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}),
            serde_json::json!({"kty": "EC", "kid": "ec", "crv": "P-256",
                "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}),
            serde_json::json!({"kty": "future-kind", "kid": "x"}),
            serde_json::json!("not an object"),
        ];
        let kids: Vec<_> = usable_keys(entries)
            .into_iter()
            .map(|k| k.kid.unwrap())
            .collect();
        assert_eq!(kids, ["k1", "ec"]);
        let many: Vec<_> = (0..150).map(|i| rsa_jwk(&format!("k{i}"))).collect();
        assert_eq!(usable_keys(many).len(), MAX_KEYS);
    }

    #[tokio::test]
    async fn an_issuer_that_never_answers_is_given_up_on() {
        // Accepts TCP connections (the kernel's backlog) but never answers the TLS handshake.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("127.0.0.1:{}", silent.local_addr().unwrap().port());
        let source = HttpsKeySource {
            client: Client::new(
                Schemes::HttpsOnly,
                Limits {
                    timeout: Duration::from_millis(200),
                    ..FETCH_LIMITS
                },
                Vec::new(),
            ),
        };
        let error = source.fetch(&issuer).await.unwrap_err();
        assert!(error.contains("within"), "{error}");
    }
}
