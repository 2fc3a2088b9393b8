//! The operator endpoints, answered without authentication: liveness and readiness on the main
//! port (`/healthz`, `/readyz`, and LocalStack's and Vault's health paths so that probes written
//! for those work), `POST /_coffer/reset` in `--dev`, and Prometheus metrics on their own
//! listener (`--metrics-listen`).
//!
//! They answer exactly these paths and methods and say nothing about the state beyond the
//! verdicts: no error message, no address, no count (the reset, a `--dev` tool, excepted).
//! Everything else goes to the AWS pipeline as before.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{HeaderValue, Method, Response, StatusCode};
use http_body_util::Full;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::json;
use tokio::net::TcpListener;

use crate::app::HttpResponse;
use crate::metrics::Metrics;

/// What the probes and the reset need of the storage behind the services.
pub trait Storage: Send + Sync {
    /// Reads the storage's key state: `Ok` when the storage answers and the master key opens
    /// what it holds.
    fn check(&self) -> BoxFuture<'_, Readiness>;
    /// Deletes every record (`--dev`): returns how many there were.
    fn reset(&self) -> BoxFuture<'_, Result<u64, String>>;
}

/// The verdicts of one readiness check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readiness {
    /// The storage answered.
    pub storage: bool,
    /// The master key opens the storage's key state.
    pub keys: bool,
}

impl Readiness {
    pub const READY: Readiness = Readiness {
        storage: true,
        keys: true,
    };
}

/// How long a readiness verdict is reused: probes from many places (load balancers, orchestrators,
/// anyone who can reach the port) cost at most one storage read a second.
const READINESS_REUSE: Duration = Duration::from_secs(1);
/// A storage that does not answer within this time is not ready.
const READINESS_TIMEOUT: Duration = Duration::from_secs(3);

/// The state the operator endpoints share with the listener.
pub struct Ops {
    pub metrics: Arc<Metrics>,
    storage: Option<Arc<dyn Storage>>,
    /// `--dev`: the reset endpoint exists.
    reset_enabled: bool,
    shutting_down: AtomicBool,
    /// The last readiness verdict and when it was made; the lock also makes concurrent probes
    /// share one check.
    last_check: tokio::sync::Mutex<Option<(Instant, Readiness)>>,
}

impl Default for Ops {
    fn default() -> Self {
        Ops::new(Arc::new(Metrics::new()), None, false)
    }
}

impl Ops {
    pub fn new(metrics: Arc<Metrics>, storage: Option<Arc<dyn Storage>>, dev_mode: bool) -> Ops {
        Ops {
            metrics,
            storage,
            reset_enabled: dev_mode,
            shutting_down: AtomicBool::new(false),
            last_check: tokio::sync::Mutex::new(None),
        }
    }

    /// From now on `/readyz` fails: the server stopped accepting and is finishing what it has.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::Relaxed);
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Relaxed)
    }

    async fn readiness(&self) -> Readiness {
        let Some(storage) = &self.storage else {
            return Readiness::READY;
        };
        let mut last = self.last_check.lock().await;
        if let Some((at, verdict)) = *last {
            if at.elapsed() < READINESS_REUSE {
                return verdict;
            }
        }
        let verdict = tokio::time::timeout(READINESS_TIMEOUT, storage.check())
            .await
            .unwrap_or(Readiness {
                storage: false,
                keys: false,
            });
        *last = Some((Instant::now(), verdict));
        verdict
    }

    /// Answers a request for one of the operator paths; `None` for any other path, which the AWS
    /// pipeline then handles.
    pub async fn answer(&self, method: &Method, path: &str, query: &str) -> Option<HttpResponse> {
        let probe = match Endpoint::of(path)? {
            Endpoint::Reset if !self.reset_enabled => {
                return Some(json_response(
                    StatusCode::NOT_FOUND,
                    json!({"error": "not found"}),
                    method,
                ))
            }
            Endpoint::Reset if method != Method::POST => return Some(method_not_allowed("POST")),
            Endpoint::Reset => return Some(self.reset(method).await),
            Endpoint::Probe(probe) => probe,
        };
        if method != Method::GET && method != Method::HEAD {
            return Some(method_not_allowed("GET, HEAD"));
        }
        Some(match probe {
            Probe::Live => json_response(StatusCode::OK, json!({"status": "ok"}), method),
            Probe::Ready => {
                let (ready, body) = self.ready_body().await;
                let status = if ready {
                    StatusCode::OK
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                };
                json_response(status, body, method)
            }
            Probe::LocalStack => localstack_health(self.ready_body().await.0, method),
            Probe::Vault => vault_health(self.ready_body().await.0, query, method),
        })
    }

    /// Whether the server is ready, and `/readyz`'s body saying which check failed.
    async fn ready_body(&self) -> (bool, serde_json::Value) {
        let verdict = self.readiness().await;
        let stopping = self.is_shutting_down();
        let ready = verdict.storage && verdict.keys && !stopping;
        let word = |ok: bool| if ok { "ok" } else { "failing" };
        let body = json!({
            "status": if ready { "ready" } else { "not ready" },
            "checks": {
                "storage": word(verdict.storage),
                "keys": word(verdict.keys),
                "shutdown": if stopping { "in progress" } else { "no" },
            },
        });
        (ready, body)
    }

    /// Whether this request is a reset this server answers (`--dev`, `POST`): the app then runs
    /// it through [`Ops::empty_storage`] and records it in the audit trail.
    pub(crate) fn answers_reset(&self, method: &Method, path: &str) -> bool {
        self.reset_enabled && *method == Method::POST && Endpoint::of(path) == Some(Endpoint::Reset)
    }

    /// Empties the storage (`--dev`'s reset).
    pub(crate) async fn empty_storage(&self) -> ResetOutcome {
        let Some(storage) = &self.storage else {
            return ResetOutcome::Reset {
                removed: 0,
                micros: 0,
            };
        };
        let started = Instant::now();
        match storage.reset().await {
            Ok(removed) => {
                let micros = started.elapsed().as_micros() as u64;
                tracing::info!(records = removed, micros, "state reset");
                ResetOutcome::Reset { removed, micros }
            }
            Err(error) => {
                tracing::error!(%error, "state reset failed");
                ResetOutcome::StorageFailed
            }
        }
    }

    async fn reset(&self, method: &Method) -> HttpResponse {
        reset_response(&self.empty_storage().await, method)
    }
}

/// What became of a `POST /_coffer/reset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResetOutcome {
    Reset {
        removed: u64,
        micros: u64,
    },
    StorageFailed,
    /// The audit is required and the trail cannot be written: the reset did not run, or ran and
    /// could not be recorded.
    AuditFailed,
}

pub(crate) fn reset_response(outcome: &ResetOutcome, method: &Method) -> HttpResponse {
    match *outcome {
        ResetOutcome::Reset { removed, micros } => json_response(
            StatusCode::OK,
            json!({
                "status": "ok",
                "recordsRemoved": removed,
                "durationMicroseconds": micros,
            }),
            method,
        ),
        ResetOutcome::StorageFailed => json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"status": "failed", "error": "the storage could not be emptied; see the server's log"}),
            method,
        ),
        ResetOutcome::AuditFailed => json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"status": "failed", "error": "the audit trail cannot be written; see the server's log"}),
            method,
        ),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    Live,
    Ready,
    LocalStack,
    Vault,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Probe(Probe),
    Reset,
}

impl Endpoint {
    fn of(path: &str) -> Option<Endpoint> {
        Some(match path {
            "/healthz" => Endpoint::Probe(Probe::Live),
            "/readyz" => Endpoint::Probe(Probe::Ready),
            "/_localstack/health" => Endpoint::Probe(Probe::LocalStack),
            "/v1/sys/health" => Endpoint::Probe(Probe::Vault),
            "/_coffer/reset" => Endpoint::Reset,
            _ => return None,
        })
    }
}

/// The services every Coffer serves, as LocalStack names them.
const SERVICES: [&str; 3] = ["iam", "secretsmanager", "sts"];

/// LocalStack's `/_localstack/health`: `{"services": {name: state}, "edition", "version"}`, each
/// service `running` when ready. Not ready answers 503 with each service in `error`.
fn localstack_health(ready: bool, method: &Method) -> HttpResponse {
    let state = if ready { "running" } else { "error" };
    let services: serde_json::Map<String, serde_json::Value> = SERVICES
        .iter()
        .map(|s| (s.to_string(), json!(state)))
        .collect();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json_response(
        status,
        json!({
            "services": services,
            "edition": "coffer",
            "version": env!("CARGO_PKG_VERSION"),
        }),
        method,
    )
}

/// Vault's `/v1/sys/health`: 200 for an initialized, unsealed, active node; a server that is not
/// ready answers as a sealed Vault does (503). `activecode` and `sealedcode` change those
/// statuses, as on Vault; the other status parameters name states Coffer is never in and are
/// only checked. A parameter that is not a status code answers 400.
fn vault_health(ready: bool, query: &str, method: &Method) -> HttpResponse {
    const CODE_PARAMS: [&str; 9] = [
        "activecode",
        "sealedcode",
        "standbycode",
        "uninitcode",
        "drsecondarycode",
        "performancestandbycode",
        "removedcode",
        "haunhealthycode",
        "standbyok",
    ];
    let mut active = StatusCode::OK;
    let mut sealed = StatusCode::SERVICE_UNAVAILABLE;
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if !CODE_PARAMS.contains(&name.as_ref()) || matches!(name.as_ref(), "standbyok") {
            continue;
        }
        let Some(code) = value
            .parse::<u16>()
            .ok()
            .and_then(|c| StatusCode::from_u16(c).ok())
        else {
            return json_response(
                StatusCode::BAD_REQUEST,
                json!({"errors": [format!("invalid value for {name}: must be an HTTP status code")]}),
                method,
            );
        };
        match name.as_ref() {
            "activecode" => active = code,
            "sealedcode" => sealed = code,
            _ => {}
        }
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    json_response(
        if ready { active } else { sealed },
        json!({
            "initialized": true,
            "sealed": !ready,
            "standby": false,
            "performance_standby": false,
            "replication_performance_mode": "disabled",
            "replication_dr_mode": "disabled",
            "server_time_utc": now,
            "version": env!("CARGO_PKG_VERSION"),
            "cluster_name": "coffer",
        }),
        method,
    )
}

fn json_response(status: StatusCode, body: serde_json::Value, method: &Method) -> HttpResponse {
    let body = if *method == Method::HEAD {
        Bytes::new()
    } else {
        let mut text = body.to_string();
        text.push('\n');
        Bytes::from(text)
    };
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    resp
}

fn method_not_allowed(allow: &'static str) -> HttpResponse {
    let mut resp = json_response(
        StatusCode::METHOD_NOT_ALLOWED,
        json!({"error": "method not allowed"}),
        &Method::GET,
    );
    resp.headers_mut()
        .insert(http::header::ALLOW, HeaderValue::from_static(allow));
    resp
}

/// Connections the metrics listener holds at once; it serves a few scrapers.
const METRICS_CONNECTIONS: usize = 64;
/// Time a metrics client has to send its request headers.
const METRICS_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `GET /metrics` (Prometheus) on `listener`, plain HTTP/1.1, until `shutdown` resolves.
/// Anything else answers 404 (405 for another method on `/metrics`).
pub async fn serve_metrics(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(METRICS_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        let (stream, _peer) = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "metrics listener: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Over the limit the newcomer is closed at once: scrapers retry at their next interval.
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            continue;
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let metrics = metrics.clone();
                    async move {
                        Ok::<_, std::convert::Infallible>(metrics_response(
                            &metrics,
                            req.method(),
                            req.uri().path(),
                        ))
                    }
                });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(METRICS_HEADER_TIMEOUT)
                .max_buf_size(16 * 1024);
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
            drop(slot);
        });
    }
}

fn metrics_response(metrics: &Metrics, method: &Method, path: &str) -> HttpResponse {
    if path != "/metrics" {
        return json_response(StatusCode::NOT_FOUND, json!({"error": "not found"}), method);
    }
    if method != Method::GET && method != Method::HEAD {
        return method_not_allowed("GET, HEAD");
    }
    let body = if *method == Method::HEAD {
        Bytes::new()
    } else {
        Bytes::from(metrics.encode())
    };
    let mut resp = Response::new(Full::new(body));
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    struct FakeStorage {
        verdict: std::sync::Mutex<Readiness>,
        checks: std::sync::atomic::AtomicUsize,
    }

    impl Storage for FakeStorage {
        fn check(&self) -> BoxFuture<'_, Readiness> {
            self.checks.fetch_add(1, Ordering::Relaxed);
            let verdict = *self.verdict.lock().unwrap();
            Box::pin(async move { verdict })
        }
        fn reset(&self) -> BoxFuture<'_, Result<u64, String>> {
            Box::pin(async { Ok(7) })
        }
    }

    fn ops(verdict: Readiness, dev: bool) -> (Ops, Arc<FakeStorage>) {
        let storage = Arc::new(FakeStorage {
            verdict: std::sync::Mutex::new(verdict),
            checks: Default::default(),
        });
        (
            Ops::new(Arc::new(Metrics::new()), Some(storage.clone()), dev),
            storage,
        )
    }

    async fn call(ops: &Ops, method: Method, path: &str, query: &str) -> Option<(u16, String)> {
        let resp = ops.answer(&method, path, query).await?;
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        Some((status, String::from_utf8(body.to_vec()).unwrap()))
    }

    #[tokio::test]
    async fn only_the_operator_paths_are_answered() {
        let (ops, _) = ops(Readiness::READY, false);
        for path in [
            "/",
            "/healthz/",
            "/readyz/x",
            "/metrics",
            "/_localstack",
            "/v1/sys",
        ] {
            assert!(call(&ops, Method::GET, path, "").await.is_none(), "{path}");
        }
        assert_eq!(
            call(&ops, Method::GET, "/healthz", "").await,
            Some((200, "{\"status\":\"ok\"}\n".to_string()))
        );
        let (status, body) = call(&ops, Method::POST, "/readyz", "").await.unwrap();
        assert_eq!(
            (status, body.as_str()),
            (405, "{\"error\":\"method not allowed\"}\n")
        );
        // HEAD: the status alone.
        assert_eq!(
            call(&ops, Method::HEAD, "/readyz", "").await,
            Some((200, String::new()))
        );
    }

    #[tokio::test]
    async fn readiness_names_the_failing_check_and_nothing_more() {
        let failing = Readiness {
            storage: false,
            keys: true,
        };
        let (ops, storage) = ops(failing, false);
        let (status, body) = call(&ops, Method::GET, "/readyz", "").await.unwrap();
        assert_eq!(status, 503);
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            body,
            json!({"status": "not ready", "checks": {"storage": "failing", "keys": "ok", "shutdown": "no"}})
        );
        // Verdicts are reused for a second: many probes, one storage read.
        for _ in 0..5 {
            call(&ops, Method::GET, "/readyz", "").await.unwrap();
        }
        assert_eq!(storage.checks.load(Ordering::Relaxed), 1);

        let (ops, _) = self::ops(Readiness::READY, false);
        ops.begin_shutdown();
        let (status, body) = call(&ops, Method::GET, "/readyz", "").await.unwrap();
        assert_eq!(status, 503);
        assert!(body.contains("\"shutdown\":\"in progress\""), "{body}");
        // Liveness is not readiness: a stopping server is still alive.
        assert_eq!(
            call(&ops, Method::GET, "/healthz", "").await.unwrap().0,
            200
        );
    }

    #[tokio::test]
    async fn localstack_and_vault_shapes() {
        let (ops, _) = ops(Readiness::READY, false);
        let (status, body) = call(&ops, Method::GET, "/_localstack/health", "")
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(status, 200);
        assert_eq!(
            body["services"],
            json!({"iam": "running", "secretsmanager": "running", "sts": "running"})
        );
        let (status, body) = call(&ops, Method::GET, "/v1/sys/health", "").await.unwrap();
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(status, 200);
        assert_eq!(
            (&body["initialized"], &body["sealed"], &body["standby"]),
            (&json!(true), &json!(false), &json!(false))
        );
        let custom = call(
            &ops,
            Method::GET,
            "/v1/sys/health",
            "activecode=204&standbyok=true",
        )
        .await
        .unwrap();
        assert_eq!(custom.0, 204);
        let bad = call(&ops, Method::GET, "/v1/sys/health", "activecode=abc")
            .await
            .unwrap();
        assert_eq!(bad.0, 400);
        let bad = call(&ops, Method::GET, "/v1/sys/health", "sealedcode=99")
            .await
            .unwrap();
        assert_eq!(bad.0, 400);

        let (ops, _) = self::ops(
            Readiness {
                storage: true,
                keys: false,
            },
            false,
        );
        let (status, body) = call(&ops, Method::GET, "/v1/sys/health", "sealedcode=500")
            .await
            .unwrap();
        assert_eq!(status, 500);
        assert!(body.contains("\"sealed\":true"), "{body}");
        let (status, body) = call(&ops, Method::GET, "/_localstack/health", "")
            .await
            .unwrap();
        assert_eq!(status, 503);
        assert!(body.contains("\"secretsmanager\":\"error\""), "{body}");
    }

    #[tokio::test]
    async fn reset_exists_in_dev_mode_only() {
        let (ops, _) = ops(Readiness::READY, false);
        assert_eq!(
            call(&ops, Method::POST, "/_coffer/reset", "")
                .await
                .unwrap()
                .0,
            404
        );
        let (ops, _) = self::ops(Readiness::READY, true);
        assert_eq!(
            call(&ops, Method::GET, "/_coffer/reset", "")
                .await
                .unwrap()
                .0,
            405
        );
        let (status, body) = call(&ops, Method::POST, "/_coffer/reset", "")
            .await
            .unwrap();
        assert_eq!(status, 200);
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (&body["status"], &body["recordsRemoved"]),
            (&json!("ok"), &json!(7))
        );
        assert!(body["durationMicroseconds"].is_u64());
    }

    #[test]
    fn metrics_are_served_on_their_path_only() {
        let m = Metrics::new();
        let resp = metrics_response(&m, &Method::GET, "/metrics");
        assert_eq!(resp.status(), 200);
        assert!(resp.headers()[http::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text"));
        assert_eq!(metrics_response(&m, &Method::GET, "/").status(), 404);
        assert_eq!(
            metrics_response(&m, &Method::POST, "/metrics").status(),
            405
        );
    }
}
