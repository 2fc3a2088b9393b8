//! Per-principal request-rate limits: one token bucket per (principal, quota), refilled from the
//! server's injected clock when a request arrives (no timers, nothing runs between requests).
//!
//! The quotas and their defaults are AWS's published ones: Secrets Manager's per-operation quotas
//! ("AWS Secrets Manager quotas") and STS's request quota ("IAM and AWS STS quotas"). AWS counts
//! them per account and region; Coffer counts them per principal, so that one user or role session
//! cannot spend the server's CPU for every other caller. AWS publishes no request quota for IAM;
//! Coffer's default for it is its own choice. A bucket holds one second's worth of requests.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::Mutex;

use coffer_model::context::{Principal, PrincipalKind};
use coffer_model::schema::{Operation, Service};
use coffer_model::{AwsError, Protocol};

/// Requests per second of a quota shared by a set of operations of one service.
#[derive(Debug, Clone)]
pub struct Quota {
    /// Signing name of the service (`secretsmanager`, `iam`, `sts`).
    pub service: &'static str,
    /// Operations sharing the quota; empty means every operation of the service no other quota
    /// names.
    pub operations: &'static [&'static str],
    /// Sustained requests per second; the bucket also holds this many (at least one) for bursts.
    /// `None` is unlimited.
    pub per_second: Option<f64>,
}

/// The quotas enforced, or none at all (`--no-rate-limits`, `--dev`).
#[derive(Debug, Clone)]
pub struct RateLimits {
    pub enabled: bool,
    pub quotas: Vec<Quota>,
}

/// AWS's default for Secrets Manager's control-plane operations.
const SM_CONTROL_PLANE: Option<f64> = Some(50.0);

impl RateLimits {
    /// AWS's published defaults (Coffer's own for IAM, which AWS does not publish).
    pub fn aws_defaults() -> RateLimits {
        let sm = |operations, per_second| Quota {
            service: "secretsmanager",
            operations,
            per_second,
        };
        RateLimits {
            enabled: true,
            quotas: vec![
                sm(&["GetSecretValue", "DescribeSecret"], Some(10_000.0)),
                sm(&["BatchGetSecretValue"], Some(100.0)),
                sm(&["ListSecrets"], Some(100.0)),
                sm(
                    &[
                        "DeleteResourcePolicy",
                        "GetResourcePolicy",
                        "PutResourcePolicy",
                        "ValidateResourcePolicy",
                    ],
                    SM_CONTROL_PLANE,
                ),
                sm(
                    &[
                        "PutSecretValue",
                        "RemoveRegionsFromReplication",
                        "ReplicateSecretToRegions",
                        "StopReplicationToReplica",
                        "UpdateSecret",
                        "UpdateSecretVersionStage",
                    ],
                    SM_CONTROL_PLANE,
                ),
                sm(&["RestoreSecret"], SM_CONTROL_PLANE),
                sm(&["RotateSecret", "CancelRotateSecret"], SM_CONTROL_PLANE),
                sm(&["TagResource", "UntagResource"], SM_CONTROL_PLANE),
                sm(&["CreateSecret"], SM_CONTROL_PLANE),
                sm(&["DeleteSecret"], SM_CONTROL_PLANE),
                sm(&["GetRandomPassword"], SM_CONTROL_PLANE),
                sm(&["ListSecretVersionIds"], SM_CONTROL_PLANE),
                Quota {
                    service: "sts",
                    operations: &[],
                    per_second: Some(600.0),
                },
                Quota {
                    service: "iam",
                    operations: &[],
                    per_second: Some(100.0),
                },
            ],
        }
    }

    pub fn disabled() -> RateLimits {
        RateLimits {
            enabled: false,
            ..RateLimits::aws_defaults()
        }
    }

    /// Sets the rate of the quota `action` (`service:Operation`) belongs to, or of every quota of
    /// the service for `service:*`; `0` makes it unlimited. The operation must exist in one of
    /// `services`, so a misspelt flag fails the start instead of limiting nothing.
    pub fn set(
        &mut self,
        action: &str,
        per_second: f64,
        services: &[&'static Service],
    ) -> Result<(), String> {
        if !per_second.is_finite() || per_second < 0.0 {
            return Err(format!(
                "{action}: the rate must be a number of requests per second, 0 for unlimited"
            ));
        }
        let rate = (per_second > 0.0).then_some(per_second);
        let (service_name, operation) = action
            .split_once(':')
            .ok_or_else(|| format!("{action}: expected SERVICE:Operation or SERVICE:*"))?;
        let service = services
            .iter()
            .find(|s| s.signing_name == service_name)
            .ok_or_else(|| format!("{action}: unknown service {service_name:?}"))?;
        if operation == "*" {
            for quota in self.quotas.iter_mut().filter(|q| q.service == service_name) {
                quota.per_second = rate;
            }
            return Ok(());
        }
        if service.operation(operation).is_none() {
            return Err(format!(
                "{action}: {service_name} has no operation {operation:?}"
            ));
        }
        let index = quota_index(&self.quotas, service_name, operation)
            .ok_or_else(|| format!("{action}: no quota covers this operation"))?;
        self.quotas[index].per_second = rate;
        Ok(())
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits::aws_defaults()
    }
}

/// The quota an operation counts against: the one naming it, else its service's catch-all.
fn quota_index(quotas: &[Quota], service: &str, operation: &str) -> Option<usize> {
    quotas
        .iter()
        .position(|q| q.service == service && q.operations.contains(&operation))
        .or_else(|| {
            quotas
                .iter()
                .position(|q| q.service == service && q.operations.is_empty())
        })
}

/// AWS's throttling error for the request's protocol: `ThrottlingException` over JSON 1.1,
/// `Throttling` over Query, both HTTP 400 "Rate exceeded" (what SDKs retry with back-off).
pub fn throttled(protocol: Protocol) -> AwsError {
    let code = match protocol {
        Protocol::Json => "ThrottlingException",
        Protocol::Query => "Throttling",
    };
    AwsError::new(400, code, "Rate exceeded")
}

/// Buckets are spread over shards so that concurrent requests rarely wait on the same lock.
const SHARDS: usize = 16;
/// A shard holding more buckets than this drops the full ones (idle callers) before growing.
const SHARD_SWEEP_AT: usize = 4096;

/// One token bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    /// Clock reading (microseconds since the epoch) the tokens were counted at.
    at_micros: i64,
}

impl Bucket {
    fn full(capacity: f64, now_micros: i64) -> Bucket {
        Bucket {
            tokens: capacity,
            at_micros: now_micros,
        }
    }

    fn refill(&mut self, rate: f64, capacity: f64, now_micros: i64) {
        // A clock that steps back adds nothing (and never removes tokens).
        let elapsed = now_micros.saturating_sub(self.at_micros).max(0) as f64 / 1e6;
        self.tokens = (self.tokens + elapsed * rate).min(capacity);
        self.at_micros = self.at_micros.max(now_micros);
    }

    /// Takes one token if there is one.
    fn take(&mut self, rate: f64, capacity: f64, now_micros: i64) -> bool {
        self.refill(rate, capacity, now_micros);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The enforcing side of [`RateLimits`].
pub struct RateLimiter {
    enabled: bool,
    quotas: Vec<Quota>,
    /// (signing name, operation) -> quota index.
    index: HashMap<(&'static str, &'static str), usize>,
    /// Keys buckets by a keyed hash of (caller, quota), so no string is allocated per request and
    /// callers cannot aim collisions at one another.
    hasher: RandomState,
    shards: Vec<Mutex<HashMap<u64, Bucket>>>,
}

impl RateLimiter {
    pub fn new(limits: &RateLimits, services: &[&'static Service]) -> RateLimiter {
        let mut index = HashMap::new();
        for service in services {
            for op in service.operations {
                if let Some(i) = quota_index(&limits.quotas, service.signing_name, op.name) {
                    index.insert((service.signing_name, op.name), i);
                }
            }
        }
        RateLimiter {
            enabled: limits.enabled,
            quotas: limits.quotas.clone(),
            index,
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    /// Counts one request of `principal` (or of the client address, for unsigned requests) to
    /// `op`; `false` when its quota is spent.
    pub fn admit(
        &self,
        principal: &Principal,
        peer_ip: Option<IpAddr>,
        service: &'static Service,
        op: &'static Operation,
        now_micros: i64,
    ) -> bool {
        if !self.enabled {
            return true;
        }
        let Some(&quota) = self.index.get(&(service.signing_name, op.name)) else {
            return true;
        };
        let Some(rate) = self.quotas[quota].per_second else {
            return true;
        };
        let capacity = rate.max(1.0);
        let key = match principal.kind {
            PrincipalKind::Anonymous => self.hasher.hash_one((1u8, peer_ip, quota)),
            _ => self.hasher.hash_one((0u8, principal.arn.as_str(), quota)),
        };
        let shard = &self.shards[(key as usize) % SHARDS];
        let mut buckets = shard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() >= SHARD_SWEEP_AT && !buckets.contains_key(&key) {
            self.sweep(&mut buckets, now_micros);
        }
        buckets
            .entry(key)
            .or_insert_with(|| Bucket::full(capacity, now_micros))
            .take(rate, capacity, now_micros)
    }

    /// Drops the buckets that are full again: their callers have been idle long enough that a
    /// fresh bucket is the same thing.
    fn sweep(&self, buckets: &mut HashMap<u64, Bucket>, now_micros: i64) {
        // A bucket does not record its quota; the slowest quota's time to fill (capacity / rate)
        // bounds every bucket's, so anything idle that long is full.
        let refill_micros = self
            .quotas
            .iter()
            .filter_map(|q| q.per_second)
            .map(|rate| rate.max(1.0) / rate * 1e6)
            .fold(0.0, f64::max);
        buckets.retain(|_, bucket| {
            (now_micros.saturating_sub(bucket.at_micros) as f64) < refill_micros
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coffer_model::schema::Operation;

    const fn op(name: &'static str) -> Operation {
        Operation {
            name,
            input: None,
            output: None,
            result_wrapper: None,
            errors: &[],
            http_method: "POST",
            authorization: &coffer_model::schema::Authorization::UNLISTED,
        }
    }

    static OPS: &[Operation] = &[
        op("GetSecretValue"),
        op("DescribeSecret"),
        op("ListSecrets"),
    ];
    static SM: Service = Service {
        signing_name: "secretsmanager",
        api_version: "2017-10-17",
        xml_namespace: "",
        target_prefix: Some("secretsmanager"),
        operations: OPS,
    };
    static STS_OPS: &[Operation] = &[op("GetCallerIdentity")];
    static STS: Service = Service {
        signing_name: "sts",
        api_version: "2011-06-15",
        xml_namespace: "",
        target_prefix: None,
        operations: STS_OPS,
    };

    fn principal(arn: &str) -> Principal {
        Principal {
            account_id: "123456789012".into(),
            arn: arn.into(),
            user_id: "AIDAEXAMPLE".into(),
            kind: PrincipalKind::User,
            access_key_id: "AKIAEXAMPLE".into(),
        }
    }

    fn limiter(set: &[(&str, f64)]) -> RateLimiter {
        let mut limits = RateLimits::aws_defaults();
        for (action, rate) in set {
            limits.set(action, *rate, &[&SM, &STS]).expect("valid flag");
        }
        RateLimiter::new(&limits, &[&SM, &STS])
    }

    const SECOND: i64 = 1_000_000;

    #[test]
    fn bucket_allows_a_burst_then_refills_from_the_clock() {
        let limiter = limiter(&[("secretsmanager:GetSecretValue", 3.0)]);
        let alice = principal("arn:aws:iam::123456789012:user/alice");
        let get = &OPS[0];
        let t0 = 1_700_000_000 * SECOND;
        for _ in 0..3 {
            assert!(limiter.admit(&alice, None, &SM, get, t0));
        }
        assert!(!limiter.admit(&alice, None, &SM, get, t0));
        // A third of a second later one token is back, and only one.
        assert!(limiter.admit(&alice, None, &SM, get, t0 + SECOND / 3 + 1));
        assert!(!limiter.admit(&alice, None, &SM, get, t0 + SECOND / 3 + 1));
        // Idle for long: the bucket holds its capacity, not more.
        let later = t0 + 3600 * SECOND;
        for _ in 0..3 {
            assert!(limiter.admit(&alice, None, &SM, get, later));
        }
        assert!(!limiter.admit(&alice, None, &SM, get, later));
    }

    #[test]
    fn combined_quota_is_shared_and_other_quotas_and_principals_are_not() {
        let limiter = limiter(&[("secretsmanager:DescribeSecret", 1.0)]);
        let alice = principal("arn:aws:iam::123456789012:user/alice");
        let bob = principal("arn:aws:iam::123456789012:user/bob");
        let t0 = 1_700_000_000 * SECOND;
        assert!(limiter.admit(&alice, None, &SM, &OPS[0], t0));
        // GetSecretValue and DescribeSecret share AWS's combined quota.
        assert!(!limiter.admit(&alice, None, &SM, &OPS[1], t0));
        // ListSecrets has its own; bob has his own bucket.
        assert!(limiter.admit(&alice, None, &SM, &OPS[2], t0));
        assert!(limiter.admit(&bob, None, &SM, &OPS[1], t0));
    }

    #[test]
    fn fractional_rates_and_a_clock_stepping_back() {
        let limiter = limiter(&[("sts:*", 0.5)]);
        let alice = principal("arn:aws:iam::123456789012:user/alice");
        let t0 = 1_700_000_000 * SECOND;
        assert!(limiter.admit(&alice, None, &STS, &STS_OPS[0], t0));
        assert!(!limiter.admit(&alice, None, &STS, &STS_OPS[0], t0 - 10 * SECOND));
        assert!(!limiter.admit(&alice, None, &STS, &STS_OPS[0], t0 + SECOND));
        assert!(limiter.admit(&alice, None, &STS, &STS_OPS[0], t0 + 2 * SECOND));
    }

    #[test]
    fn anonymous_callers_are_counted_per_address() {
        let limiter = limiter(&[("sts:*", 1.0)]);
        let mut anon = principal("");
        anon.kind = PrincipalKind::Anonymous;
        let t0 = 1_700_000_000 * SECOND;
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(limiter.admit(&anon, Some(a), &STS, &STS_OPS[0], t0));
        assert!(!limiter.admit(&anon, Some(a), &STS, &STS_OPS[0], t0));
        assert!(limiter.admit(&anon, Some(b), &STS, &STS_OPS[0], t0));
    }

    #[test]
    fn zero_is_unlimited_and_disabled_admits_everything() {
        let limiter = limiter(&[("secretsmanager:*", 0.0)]);
        let alice = principal("arn:aws:iam::123456789012:user/alice");
        for _ in 0..100_000 {
            assert!(limiter.admit(&alice, None, &SM, &OPS[0], 0));
        }
        let mut limits = RateLimits::disabled();
        limits.set("sts:*", 1.0, &[&STS]).unwrap();
        let off = RateLimiter::new(&limits, &[&SM, &STS]);
        for _ in 0..10 {
            assert!(off.admit(&alice, None, &STS, &STS_OPS[0], 0));
        }
    }

    #[test]
    fn flags_name_real_actions() {
        let mut limits = RateLimits::aws_defaults();
        let services: &[&'static Service] = &[&SM, &STS];
        assert!(limits
            .set("secretsmanager:GetSecretValues", 1.0, services)
            .is_err());
        assert!(limits.set("GetSecretValue", 1.0, services).is_err());
        assert!(limits.set("kms:*", 1.0, services).is_err());
        assert!(limits
            .set("secretsmanager:ListSecrets", -1.0, services)
            .is_err());
        assert!(limits
            .set("secretsmanager:ListSecrets", f64::NAN, services)
            .is_err());
        limits
            .set("secretsmanager:ListSecrets", 7.0, services)
            .unwrap();
        let list = limits
            .quotas
            .iter()
            .find(|q| q.operations == ["ListSecrets"])
            .unwrap();
        assert_eq!(list.per_second, Some(7.0));
    }

    #[test]
    fn idle_buckets_are_swept_when_a_shard_fills() {
        let limiter = limiter(&[("sts:*", 1.0)]);
        let mut anon = principal("");
        anon.kind = PrincipalKind::Anonymous;
        let t0 = 1_700_000_000 * SECOND;
        for i in 0..(SHARDS * SHARD_SWEEP_AT * 2) as u32 {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(i));
            assert!(limiter.admit(&anon, Some(ip), &STS, &STS_OPS[0], t0 + i as i64 * SECOND));
        }
        let held: usize = limiter.shards.iter().map(|s| s.lock().unwrap().len()).sum();
        assert!(held <= SHARDS * SHARD_SWEEP_AT, "{held} buckets kept");
    }

    #[test]
    fn aws_defaults_cover_every_secrets_manager_operation_by_name() {
        let named: Vec<&str> = RateLimits::aws_defaults()
            .quotas
            .iter()
            .filter(|q| q.service == "secretsmanager")
            .flat_map(|q| q.operations.iter().copied())
            .collect();
        assert_eq!(named.len(), 23);
        let mut unique = named.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 23);
    }

    #[test]
    fn throttling_errors_by_protocol() {
        let json = throttled(Protocol::Json);
        assert_eq!(
            (json.status, json.code.as_ref()),
            (400, "ThrottlingException")
        );
        let query = throttled(Protocol::Query);
        assert_eq!((query.status, query.code.as_ref()), (400, "Throttling"));
        assert_eq!(query.message.as_deref(), Some("Rate exceeded"));
        assert!(query.sender_fault);
    }
}
