//! Prometheus metrics of the whole process, served on `--metrics-listen` (see `ops.rs`).
//!
//! Every label value comes from a closed set the server itself defines (service and operation
//! names of the models, AWS error codes, fixed reason and outcome names): nothing a client sends
//! can create a new series, and no label carries a principal, a secret name or a message.

use std::borrow::Cow;
use std::sync::atomic::AtomicI64;
use std::sync::Arc;
use std::time::Duration;

use coffer_model::context::RequestContext;
use futures_util::future::BoxFuture;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

use crate::authorize::{AccessRequest, Authorizer, Denial};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    service: &'static str,
    operation: &'static str,
    status: u16,
    error_code: Cow<'static, str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    service: &'static str,
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    code: Cow<'static, str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransactionLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StorageErrorLabels {
    kind: &'static str,
    error: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    cache: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RotationLabels {
    trigger: &'static str,
    outcome: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Request latencies: 0.5 ms to about 16 s, doubling.
fn request_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// Storage latencies: 50 µs to about 1.6 s, doubling.
fn storage_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.00005, 2.0, 16))
}

/// The process's metrics. Cheap to update from any thread; [`Metrics::encode`] renders them.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_duration: HistogramFamily<OperationLabels>,
    denials: Family<ReasonLabels, Counter>,
    authentication_failures: Family<CodeLabels, Counter>,
    storage_duration: HistogramFamily<TransactionLabels>,
    storage_errors: Family<StorageErrorLabels, Counter>,
    cache_lookups: Family<CacheLabels, Counter>,
    rotations: Family<RotationLabels, Counter>,
    audit_write_duration: Histogram,
    audit_write_failures: Counter,
    open_connections: Gauge,
    certificate_expiry: Gauge<i64, AtomicI64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("coffer");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "AWS API requests answered, by service, operation, HTTP status and error code (empty when it succeeded)",
            requests.clone(),
        );
        let request_duration: HistogramFamily<OperationLabels> =
            Family::new_with_constructor(request_histogram);
        registry.register_with_unit(
            "request_duration",
            "Time from the request's headers to its answer, body read included",
            Unit::Seconds,
            request_duration.clone(),
        );
        let denials = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "authorization_denials",
            "Requests refused by authorization, by reason (which kind of policy denied or failed to allow)",
            denials.clone(),
        );
        let authentication_failures = Family::<CodeLabels, Counter>::default();
        registry.register(
            "authentication_failures",
            "Requests refused by authentication, by AWS error code",
            authentication_failures.clone(),
        );
        let storage_duration: HistogramFamily<TransactionLabels> =
            Family::new_with_constructor(storage_histogram);
        registry.register_with_unit(
            "storage_transaction_duration",
            "Storage transactions, queueing and commit included, by kind (read or write)",
            Unit::Seconds,
            storage_duration.clone(),
        );
        let storage_errors = Family::<StorageErrorLabels, Counter>::default();
        registry.register(
            "storage_errors",
            "Storage transactions that failed, by kind and error",
            storage_errors.clone(),
        );
        let cache_lookups = Family::<CacheLabels, Counter>::default();
        registry.register(
            "cache_lookups",
            "Store cache lookups, by cache (records: sealed records; decoded: what was made of them) and result (hit or miss)",
            cache_lookups.clone(),
        );
        let rotations = Family::<RotationLabels, Counter>::default();
        registry.register(
            "rotations",
            "Secret rotations run, by trigger (request or schedule) and outcome",
            rotations.clone(),
        );
        let audit_write_duration = storage_histogram();
        registry.register_with_unit(
            "audit_write_duration",
            "Time to append a request's audit record until it is durable (queueing, group commit and fsync included), failed writes too",
            Unit::Seconds,
            audit_write_duration.clone(),
        );
        let audit_write_failures = Counter::default();
        registry.register(
            "audit_write_failures",
            "Audit records that could not be written (the request is answered 503 when the audit is required)",
            audit_write_failures.clone(),
        );
        let open_connections = Gauge::default();
        registry.register(
            "open_connections",
            "Client connections open on the main port",
            open_connections.clone(),
        );
        let certificate_expiry = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "tls_certificate_expiry_timestamp_seconds",
            "When the served TLS certificate expires (Unix time; 0 when serving plain HTTP)",
            certificate_expiry.clone(),
        );
        Metrics {
            registry,
            requests,
            request_duration,
            denials,
            authentication_failures,
            storage_duration,
            storage_errors,
            cache_lookups,
            rotations,
            audit_write_duration,
            audit_write_failures,
            open_connections,
            certificate_expiry,
        }
    }

    /// The metrics in the OpenMetrics text format (which Prometheus reads), ending in `# EOF`.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    /// One answered AWS request. `service` and `operation` are empty when the request named
    /// none the server knows.
    pub fn request(
        &self,
        service: &'static str,
        operation: &'static str,
        status: u16,
        error_code: Option<Cow<'static, str>>,
        elapsed: Duration,
    ) {
        let error_code = error_code.unwrap_or(Cow::Borrowed(""));
        self.requests
            .get_or_create(&RequestLabels {
                service,
                operation,
                status,
                error_code,
            })
            .inc();
        self.request_duration
            .get_or_create(&OperationLabels { service, operation })
            .observe(elapsed.as_secs_f64());
    }

    pub fn authentication_failure(&self, code: Cow<'static, str>) {
        self.authentication_failures
            .get_or_create(&CodeLabels { code })
            .inc();
    }

    pub fn authorization_denial(&self, reason: &'static str) {
        self.denials.get_or_create(&ReasonLabels { reason }).inc();
    }

    /// A storage transaction: `kind` is `read` or `write`, `failure` the storage error's kind.
    pub fn storage_transaction(
        &self,
        kind: &'static str,
        elapsed: Duration,
        failure: Option<&'static str>,
    ) {
        self.storage_duration
            .get_or_create(&TransactionLabels { kind })
            .observe(elapsed.as_secs_f64());
        if let Some(error) = failure {
            self.storage_errors
                .get_or_create(&StorageErrorLabels { kind, error })
                .inc();
        }
    }

    pub fn cache_lookup(&self, cache: &'static str, hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        self.cache_lookups
            .get_or_create(&CacheLabels { cache, result })
            .inc();
    }

    pub fn rotation(&self, trigger: &'static str, outcome: &'static str) {
        self.rotations
            .get_or_create(&RotationLabels { trigger, outcome })
            .inc();
    }

    /// One audit record appended to the trail, or not (`failed`), taking `elapsed`.
    pub fn audit_write(&self, elapsed: Duration, failed: bool) {
        self.audit_write_duration.observe(elapsed.as_secs_f64());
        if failed {
            self.audit_write_failures.inc();
        }
    }

    /// Counts a connection as open until the returned guard is dropped.
    pub fn connection_opened(&self) -> OpenConnection {
        self.open_connections.inc();
        OpenConnection(self.open_connections.clone())
    }

    pub fn set_certificate_expiry(&self, unix_seconds: i64) {
        self.certificate_expiry.set(unix_seconds);
    }

    /// `authorizer`, counting the denials it decides by reason (the pipeline's and those a
    /// service asks for itself, such as the per-secret reads of BatchGetSecretValue).
    pub fn counting(self: &Arc<Self>, authorizer: Arc<dyn Authorizer>) -> Arc<dyn Authorizer> {
        Arc::new(CountingAuthorizer {
            inner: authorizer,
            metrics: self.clone(),
        })
    }
}

/// What the metrics learn of an answered AWS request, carried in its response's extensions:
/// the error code from the error response, the service and operation from the pipeline when it
/// got as far as naming them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Answered {
    pub service: &'static str,
    pub operation: &'static str,
    pub error_code: Option<Cow<'static, str>>,
}

/// Marks `response` as the answer to `operation` of `service`.
pub(crate) fn name_operation(
    response: &mut crate::app::HttpResponse,
    service: &'static str,
    operation: &'static str,
) {
    let extensions = response.extensions_mut();
    match extensions.get_mut::<Answered>() {
        Some(answered) => {
            answered.service = service;
            answered.operation = operation;
        }
        None => {
            extensions.insert(Answered {
                service,
                operation,
                error_code: None,
            });
        }
    }
}

/// Counts an answered AWS request.
pub(crate) fn record_request(
    metrics: &Metrics,
    response: &crate::app::HttpResponse,
    elapsed: Duration,
) {
    let answered = response.extensions().get::<Answered>();
    metrics.request(
        answered.map_or("", |a| a.service),
        answered.map_or("", |a| a.operation),
        response.status().as_u16(),
        answered.and_then(|a| a.error_code.clone()),
        elapsed,
    );
}

/// An open connection, counted until dropped.
pub struct OpenConnection(Gauge);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}

struct CountingAuthorizer {
    inner: Arc<dyn Authorizer>,
    metrics: Arc<Metrics>,
}

impl Authorizer for CountingAuthorizer {
    fn authorize<'a>(
        &'a self,
        ctx: &'a RequestContext,
        request: &'a AccessRequest,
    ) -> BoxFuture<'a, Result<(), Denial>> {
        Box::pin(async move {
            let decision = self.inner.authorize(ctx, request).await;
            if let Err(denial) = &decision {
                if let Some(reason) = denial.reason() {
                    self.metrics.authorization_denial(reason.label());
                }
            }
            decision
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the sample `name{labels}` in `text`, if present.
    pub(crate) fn sample(text: &str, name_and_labels: &str) -> Option<f64> {
        text.lines().find_map(|line| {
            let rest = line.strip_prefix(name_and_labels)?;
            rest.strip_prefix(' ')?.parse().ok()
        })
    }

    #[test]
    fn counters_histograms_and_gauges_render_in_the_text_format() {
        let m = Metrics::new();
        m.request(
            "secretsmanager",
            "GetSecretValue",
            200,
            None,
            Duration::from_millis(3),
        );
        m.request(
            "secretsmanager",
            "GetSecretValue",
            400,
            Some(Cow::Borrowed("ResourceNotFoundException")),
            Duration::from_millis(1),
        );
        m.authentication_failure(Cow::Borrowed("SignatureDoesNotMatch"));
        m.authorization_denial("no_allow_identity_policy");
        m.storage_transaction("write", Duration::from_micros(80), Some("unavailable"));
        m.cache_lookup("records", true);
        m.rotation("request", "succeeded");
        m.audit_write(Duration::from_micros(300), false);
        m.audit_write(Duration::from_millis(20), true);
        let open = m.connection_opened();
        m.set_certificate_expiry(1_800_000_000);
        let text = m.encode();
        assert!(text.ends_with("# EOF\n"), "{text}");
        for (series, value) in [
            (
                r#"coffer_requests_total{service="secretsmanager",operation="GetSecretValue",status="200",error_code=""}"#,
                1.0,
            ),
            (
                r#"coffer_requests_total{service="secretsmanager",operation="GetSecretValue",status="400",error_code="ResourceNotFoundException"}"#,
                1.0,
            ),
            (
                r#"coffer_request_duration_seconds_count{service="secretsmanager",operation="GetSecretValue"}"#,
                2.0,
            ),
            (
                r#"coffer_request_duration_seconds_bucket{le="0.002",service="secretsmanager",operation="GetSecretValue"}"#,
                1.0,
            ),
            (
                r#"coffer_authentication_failures_total{code="SignatureDoesNotMatch"}"#,
                1.0,
            ),
            (
                r#"coffer_authorization_denials_total{reason="no_allow_identity_policy"}"#,
                1.0,
            ),
            (
                r#"coffer_storage_transaction_duration_seconds_count{kind="write"}"#,
                1.0,
            ),
            (
                r#"coffer_storage_errors_total{kind="write",error="unavailable"}"#,
                1.0,
            ),
            (
                r#"coffer_cache_lookups_total{cache="records",result="hit"}"#,
                1.0,
            ),
            (
                r#"coffer_rotations_total{trigger="request",outcome="succeeded"}"#,
                1.0,
            ),
            ("coffer_audit_write_duration_seconds_count", 2.0),
            (
                r#"coffer_audit_write_duration_seconds_bucket{le="0.0004"}"#,
                1.0,
            ),
            ("coffer_audit_write_failures_total", 1.0),
            ("coffer_open_connections", 1.0),
            ("coffer_tls_certificate_expiry_timestamp_seconds", 1.8e9),
        ] {
            assert_eq!(sample(&text, series), Some(value), "{series} in\n{text}");
        }
        drop(open);
        assert_eq!(sample(&m.encode(), "coffer_open_connections"), Some(0.0));
    }
}
