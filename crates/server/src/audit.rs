//! The audit hook and the request log line. While the pipeline runs it notes what it learns in a
//! [`RequestTrace`]; once the request is answered, [`App::conclude`] turns the trace into one
//! CloudTrail record, appends it to the trail — durable before the response leaves — and writes
//! one `info` line to the log. When the trail cannot take the record and the audit is required,
//! the client gets 503 `ServiceUnavailable` instead of the answer.
//!
//! Ordering: an operation's effect (a store write) commits before its record is written. If the
//! record then cannot be written, the client is told 503 (nothing is acknowledged unaudited) but
//! the change stands; its log line says `audit=failed` and names it. While the trail is failing,
//! operations that change state are refused before they run, so at most the changes already in
//! progress when the trail broke can go unrecorded (SECURITY.md, "Audit trail").

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use coffer_audit::{
    cloudtrail_elements, Event, EventCategory, EventType, IdentityType, SessionContext, TlsDetails,
    Trail, UserIdentity,
};
use coffer_model::context::{Principal, PrincipalKind};
use coffer_model::schema::{AccessLevel, Operation, Service};
use coffer_model::{AwsError, Protocol};
use http::HeaderMap;
use serde_json::Value;

use crate::app::{error_response, App, Connection, HttpResponse};
use crate::classify::{self, Route};
use crate::ops::{reset_response, ResetOutcome};

/// The audit trail of an [`App`] and whether a request may be answered without its record.
#[derive(Clone)]
pub struct AuditSettings {
    pub trail: Arc<Trail>,
    /// `--audit-required`: a record that cannot be written fails its request with 503.
    pub required: bool,
}

/// The TLS version and cipher suite of an HTTPS connection, as CloudTrail's `tlsDetails` names
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsParameters {
    pub version: &'static str,
    pub cipher_suite: &'static str,
}

impl TlsParameters {
    pub fn of(connection: &rustls::ServerConnection) -> TlsParameters {
        let version = match connection.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2",
            Some(other) => other.as_str().unwrap_or("unknown"),
            None => "unknown",
        };
        let cipher_suite = connection
            .negotiated_cipher_suite()
            .map_or("unknown", |suite| cipher_suite_name(suite.suite()));
        TlsParameters {
            version,
            cipher_suite,
        }
    }
}

/// CloudTrail writes TLS 1.3 suites by their IANA names and TLS 1.2 suites by OpenSSL's.
fn cipher_suite_name(suite: rustls::CipherSuite) -> &'static str {
    use rustls::CipherSuite as S;
    match suite {
        S::TLS13_AES_128_GCM_SHA256 => "TLS_AES_128_GCM_SHA256",
        S::TLS13_AES_256_GCM_SHA384 => "TLS_AES_256_GCM_SHA384",
        S::TLS13_CHACHA20_POLY1305_SHA256 => "TLS_CHACHA20_POLY1305_SHA256",
        S::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => "ECDHE-ECDSA-AES128-GCM-SHA256",
        S::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => "ECDHE-ECDSA-AES256-GCM-SHA384",
        S::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => "ECDHE-ECDSA-CHACHA20-POLY1305",
        S::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => "ECDHE-RSA-AES128-GCM-SHA256",
        S::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => "ECDHE-RSA-AES256-GCM-SHA384",
        S::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 => "ECDHE-RSA-CHACHA20-POLY1305",
        other => other.as_str().unwrap_or("unknown"),
    }
}

/// Longest `userAgent` and claimed operation name kept: they are the client's to choose.
const MAX_CLIENT_TEXT: usize = 1024;
const MAX_CLAIMED_NAME: usize = 128;

/// What the pipeline learned about one request, filled in as it goes.
pub(crate) struct RequestTrace {
    pub request_id: String,
    started: Instant,
    protocol: Protocol,
    source_ip: Option<IpAddr>,
    user_agent: String,
    host: Option<String>,
    tls: Option<TlsParameters>,
    /// The service and operation, once known.
    pub service: Option<&'static Service>,
    pub operation: Option<&'static Operation>,
    /// What the request named when it is no operation of ours.
    pub claimed_service: Option<&'static str>,
    pub claimed_operation: Option<String>,
    /// The access key the signature names, before it is verified.
    pub access_key_id: Option<String>,
    pub principal: Option<Principal>,
    pub session: Option<SessionContext>,
    pub region: Option<String>,
    pub request_parameters: Option<Value>,
    pub response_elements: Option<Value>,
    /// Authorization refused the request (CloudTrail's `errorCode` is then `AccessDenied`).
    pub denied: bool,
    /// An event of Coffer's own rather than an AWS operation (the `--dev` reset): recorded with
    /// `eventSource` [`COFFER_EVENT_SOURCE`] and this `eventName`.
    pub coffer_event: Option<&'static str>,
}

/// The `eventSource` of Coffer's own events, which no AWS service has.
pub(crate) const COFFER_EVENT_SOURCE: &str = "coffer";
/// The `eventName` of `POST /_coffer/reset`.
pub(crate) const RESET_EVENT: &str = "ResetState";

impl RequestTrace {
    pub fn new(headers: &HeaderMap, conn: &Connection) -> RequestTrace {
        let header = |name: http::header::HeaderName| {
            headers
                .get(name)
                .map(|v| truncated(&String::from_utf8_lossy(v.as_bytes()), MAX_CLIENT_TEXT))
        };
        RequestTrace {
            request_id: uuid::Uuid::new_v4().to_string(),
            started: Instant::now(),
            protocol: classify::protocol_of(headers),
            source_ip: conn.peer_ip,
            user_agent: header(http::header::USER_AGENT).unwrap_or_default(),
            host: header(http::header::HOST),
            tls: conn.tls,
            service: None,
            operation: None,
            claimed_service: None,
            claimed_operation: None,
            access_key_id: None,
            principal: None,
            session: None,
            region: None,
            request_parameters: None,
            response_elements: None,
            denied: false,
            coffer_event: None,
        }
    }

    /// Notes the operation the request is for, or what it named when that is none of ours.
    pub fn named(
        &mut self,
        route: &Route,
        resolved: Option<&(&'static Service, &'static Operation)>,
        hinted_service: Option<&str>,
        schemas: &[&'static Service],
    ) {
        if let Some((service, op)) = resolved {
            self.service = Some(service);
            self.operation = Some(op);
            return;
        }
        let known = |name: &str| {
            schemas
                .iter()
                .find(|s| s.signing_name == name)
                .map(|s| s.signing_name)
        };
        let (service, operation) = match route {
            Route::Json { target } => {
                let (prefix, name) = target.split_once('.').unwrap_or(("", target));
                let service = schemas
                    .iter()
                    .find(|s| s.target_prefix == Some(prefix))
                    .map(|s| s.signing_name);
                (service, Some(name))
            }
            Route::Query { params } => {
                let get = |key: &str| {
                    params
                        .iter()
                        .find(|(k, _)| k == key)
                        .map(|(_, v)| v.as_str())
                };
                let service = get("Version")
                    .and_then(|v| {
                        classify::QUERY_VERSIONS
                            .iter()
                            .find(|(version, _)| *version == v)
                    })
                    .and_then(|(_, name)| known(name))
                    .or_else(|| hinted_service.and_then(known));
                (service, get("Action"))
            }
        };
        self.claimed_service = service.or_else(|| hinted_service.and_then(known));
        self.claimed_operation = operation.filter(|o| !o.is_empty()).map(claimed_name);
    }

    /// Notes the operation's input, when a trail will record it.
    pub fn input(&mut self, app: &App, op: &'static Operation, input: &Value) {
        if app.audit.is_some() {
            self.request_parameters = cloudtrail_elements(input, op.input);
        }
    }

    /// Notes the operation's output: CloudTrail records the response of operations that change
    /// state only.
    pub fn output(&mut self, app: &App, op: &'static Operation, output: &Value) {
        if app.audit.is_some() && !read_only(op) {
            self.response_elements = cloudtrail_elements(output, op.output);
        }
    }

    fn operation_label(&self) -> String {
        if let Some(name) = self.coffer_event {
            return format!("{COFFER_EVENT_SOURCE}:{name}");
        }
        match (self.service, self.operation) {
            (Some(service), Some(op)) => format!("{}:{}", service.signing_name, op.name),
            _ => match (&self.claimed_service, &self.claimed_operation) {
                (Some(service), Some(op)) => format!("{service}:{op}"),
                (None, Some(op)) => op.clone(),
                _ => "-".to_string(),
            },
        }
    }

    fn event(&self, app: &App, error: Option<&AwsError>) -> Event {
        let event_source = match self.coffer_event {
            Some(_) => COFFER_EVENT_SOURCE.to_string(),
            None => self
                .service
                .map(|s| s.signing_name)
                .or(self.claimed_service)
                .map_or_else(|| "unknown".to_string(), coffer_audit::event::event_source),
        };
        let event_name = match (self.coffer_event, self.operation, &self.claimed_operation) {
            (Some(name), _, _) => name.to_string(),
            (None, Some(op), _) => op.name.to_string(),
            (None, None, Some(claimed)) => claimed.clone(),
            (None, None, None) => String::new(),
        };
        let error_code = error.map(|e| {
            if self.denied {
                // CloudTrail's code for authorization failures, whatever the protocol's.
                "AccessDenied".to_string()
            } else {
                e.code.to_string()
            }
        });
        Event {
            event_version: coffer_audit::event::EVENT_VERSION.to_string(),
            user_identity: self.user_identity(),
            event_time: coffer_audit::event::cloudtrail_time(app.clock.now()),
            event_source,
            event_name,
            aws_region: self
                .region
                .clone()
                .unwrap_or_else(|| app.config.default_region.clone()),
            source_ip_address: self.source_ip.map(|ip| ip.to_string()).unwrap_or_default(),
            user_agent: self.user_agent.clone(),
            error_code,
            error_message: error.and_then(|e| e.message.clone()),
            request_parameters: self.request_parameters.clone(),
            response_elements: if error.is_none() {
                self.response_elements.clone()
            } else {
                None
            },
            request_id: self.request_id.clone(),
            event_id: uuid::Uuid::new_v4().to_string(),
            read_only: self.operation.is_some_and(read_only),
            event_type: EventType::AwsApiCall,
            management_event: true,
            recipient_account_id: self
                .principal
                .as_ref()
                .map(|p| p.account_id.clone())
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| app.config.default_account.clone()),
            event_category: EventCategory::Management,
            tls_details: self.tls.map(|tls| TlsDetails {
                tls_version: tls.version.to_string(),
                cipher_suite: tls.cipher_suite.to_string(),
                client_provided_host_header: self.host.clone(),
            }),
        }
    }

    fn user_identity(&self) -> UserIdentity {
        let Some(principal) = self
            .principal
            .as_ref()
            .filter(|p| p.kind != PrincipalKind::Anonymous)
        else {
            return self.unauthenticated_identity();
        };
        let identity_type = match principal.kind {
            PrincipalKind::Root => IdentityType::Root,
            PrincipalKind::User => IdentityType::IamUser,
            PrincipalKind::AssumedRole => IdentityType::AssumedRole,
            PrincipalKind::FederatedUser => IdentityType::FederatedUser,
            PrincipalKind::Anonymous => IdentityType::Unknown,
        };
        let user_name = (principal.kind == PrincipalKind::User)
            .then(|| principal.arn.rsplit('/').next().map(str::to_string))
            .flatten();
        UserIdentity {
            identity_type,
            principal_id: Some(principal.user_id.clone()),
            arn: Some(principal.arn.clone()),
            account_id: Some(principal.account_id.clone()),
            access_key_id: Some(principal.access_key_id.clone()).filter(|k| !k.is_empty()),
            user_name,
            session_context: self.session.clone(),
            identity_provider: None,
        }
    }

    /// No verified identity: a web identity that `AssumeRoleWithWebIdentity` accepted or a SAML
    /// user `AssumeRoleWithSAML` accepted (from the response), otherwise `Unknown` with the access
    /// key the request claimed, if any.
    fn unauthenticated_identity(&self) -> UserIdentity {
        let operation = self.operation.map(|op| op.name);
        let federated = self.response_elements.as_ref().filter(|_| {
            matches!(
                operation,
                Some("AssumeRoleWithWebIdentity" | "AssumeRoleWithSAML")
            )
        });
        if let Some(elements) = federated {
            let field = |name: &str| {
                elements
                    .get(name)
                    .and_then(Value::as_str)
                    .map(str::to_string)
            };
            if operation == Some("AssumeRoleWithSAML") {
                // CloudTrail: `principalId` is `<NameQualifier>:<Subject>`.
                let (qualifier, subject) = (field("nameQualifier"), field("subject"));
                return UserIdentity {
                    identity_type: IdentityType::SamlUser,
                    principal_id: Some(format!(
                        "{}:{}",
                        qualifier.as_deref().unwrap_or_default(),
                        subject.as_deref().unwrap_or_default()
                    )),
                    user_name: subject,
                    identity_provider: qualifier,
                    ..UserIdentity::default()
                };
            }
            let (provider, audience, subject) = (
                field("provider"),
                field("audience"),
                field("subjectFromWebIdentityToken"),
            );
            return UserIdentity {
                identity_type: IdentityType::WebIdentityUser,
                principal_id: Some(format!(
                    "{}:{}:{}",
                    provider.as_deref().unwrap_or_default(),
                    audience.as_deref().unwrap_or_default(),
                    subject.as_deref().unwrap_or_default()
                )),
                user_name: subject,
                identity_provider: provider,
                ..UserIdentity::default()
            };
        }
        UserIdentity {
            identity_type: IdentityType::Unknown,
            access_key_id: self.access_key_id.clone(),
            ..UserIdentity::default()
        }
    }
}

/// CloudTrail's `readOnly`: the operation reads or lists.
pub(crate) fn read_only(op: &Operation) -> bool {
    matches!(
        op.authorization.access_level,
        AccessLevel::Read | AccessLevel::List
    )
}

fn truncated(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// The operation a request names, when it is none of ours: bounded, for the record and the log.
pub(crate) fn claimed_name(name: &str) -> String {
    truncated(name, MAX_CLAIMED_NAME)
}

pub(crate) fn service_unavailable() -> AwsError {
    AwsError::new(
        503,
        "ServiceUnavailable",
        "The service is unavailable. Please try again later.",
    )
}

impl App {
    /// Whether a request that would change state must be refused before it runs: the audit is
    /// required and the trail's last write failed, so the change could not be recorded.
    pub(crate) fn audit_refuses_changes(&self) -> bool {
        self.audit
            .as_ref()
            .is_some_and(|audit| audit.required && audit.trail.is_failing())
    }

    /// Records the request and logs its line; answers `response`, or 503 when its record could
    /// not be written and the audit is required.
    pub(crate) async fn conclude(
        &self,
        trace: RequestTrace,
        outcome: Result<HttpResponse, AwsError>,
    ) -> HttpResponse {
        let namespace = trace.service.map(|s| s.xml_namespace);
        let (response, error) = match outcome {
            Ok(response) => (response, None),
            Err(error) => (
                error_response(trace.protocol, namespace, &error, &trace.request_id),
                Some(error),
            ),
        };
        self.record_and_log(trace, response, error, |trace, unavailable| {
            error_response(trace.protocol, namespace, unavailable, &trace.request_id)
        })
        .await
    }

    /// `POST /_coffer/reset` in `--dev`: empties the store and records the reset as one audit
    /// record (`eventSource` `coffer`, `eventName` `ResetState`, `responseElements`
    /// `{"recordsRemoved": N}`) with its log line; the answer's `x-amzn-RequestId` is the
    /// record's `requestID`. The trail is no part of the store: the reset
    /// leaves it whole and its chain goes on. Like any change, a reset is refused while a
    /// required trail is failing.
    pub(crate) async fn reset_state(
        &self,
        method: &http::Method,
        headers: &HeaderMap,
        conn: &Connection,
    ) -> HttpResponse {
        let mut trace = RequestTrace::new(headers, conn);
        trace.coffer_event = Some(RESET_EVENT);
        let outcome = if self.audit_refuses_changes() {
            ResetOutcome::AuditFailed
        } else {
            self.ops.empty_storage().await
        };
        let error = match outcome {
            ResetOutcome::Reset { removed, .. } => {
                trace.response_elements = Some(serde_json::json!({"recordsRemoved": removed}));
                None
            }
            ResetOutcome::StorageFailed => Some(AwsError::new(
                503,
                "ServiceUnavailable",
                "The storage could not be emptied.",
            )),
            ResetOutcome::AuditFailed => Some(service_unavailable()),
        };
        let request_id = http::HeaderValue::from_str(&trace.request_id).ok();
        let response = reset_response(&outcome, method);
        let mut response = self
            .record_and_log(trace, response, error, |_, _| {
                reset_response(&ResetOutcome::AuditFailed, method)
            })
            .await;
        // As on AWS answers: the id that finds the request's record and log line.
        if let Some(id) = request_id {
            response.headers_mut().insert("x-amzn-requestid", id);
        }
        response
    }

    /// Appends the request's record and logs its line; answers `response`, or what `refusal`
    /// makes of 503 `ServiceUnavailable` when the record could not be written and the audit is
    /// required.
    async fn record_and_log(
        &self,
        trace: RequestTrace,
        response: HttpResponse,
        error: Option<AwsError>,
        refusal: impl FnOnce(&RequestTrace, &AwsError) -> HttpResponse,
    ) -> HttpResponse {
        let mut audit_failed = false;
        if let Some(audit) = &self.audit {
            let event = trace.event(self, error.as_ref());
            let started = Instant::now();
            // The writer logs why; here only the consequence for this request.
            audit_failed = audit.trail.append(&event).await.is_err();
            self.ops
                .metrics
                .audit_write(started.elapsed(), audit_failed);
        }
        let refused = audit_failed && self.audit.as_ref().is_some_and(|a| a.required);
        let (response, error) = if refused {
            let unavailable = service_unavailable();
            (refusal(&trace, &unavailable), Some(unavailable))
        } else {
            (response, error)
        };
        let latency_ms = trace.started.elapsed().as_secs_f64() * 1000.0;
        let audit_state = match (&self.audit, audit_failed) {
            (None, _) => "off",
            (Some(_), true) => "failed",
            (Some(_), false) => "ok",
        };
        tracing::info!(
            target: "coffer::request",
            request_id = %trace.request_id,
            principal = %trace
                .principal
                .as_ref()
                .map(|p| p.arn.as_str())
                .filter(|arn| !arn.is_empty())
                .unwrap_or("-"),
            operation = %trace.operation_label(),
            status = response.status().as_u16(),
            error_code = %error.as_ref().map_or("-", |e| &*e.code),
            latency_ms = (latency_ms * 1000.0).round() / 1000.0,
            source_ip = %trace.source_ip.map(|ip| ip.to_string()).unwrap_or_default(),
            audit = %audit_state,
            "request"
        );
        response
    }

    /// Answers a request refused before the pipeline ran (headers or body over their limits, a
    /// body that never came, a handler that panicked), with its record and log line.
    pub(crate) async fn refuse(
        &self,
        headers: &HeaderMap,
        conn: &Connection,
        error: AwsError,
    ) -> HttpResponse {
        let trace = RequestTrace::new(headers, conn);
        self.conclude(trace, Err(error)).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use bytes::Bytes;
    use coffer_audit::{Destination, SigningKey, TrailConfig};
    use coffer_model::context::RequestContext;
    use futures_util::future::BoxFuture;
    use http::{HeaderValue, Method};
    use serde_json::json;

    use super::*;
    use crate::app::{AppConfig, IncomingRequest, ServiceHandler, SystemClock};
    use crate::authorize::{AccessRequest, Authorizer, Denial};
    use crate::directory::MemoryDirectory;

    const PLANTED: &str = "planted-secret-value-7f3a";

    /// Secrets Manager's schema with canned answers; counts the operations it ran.
    struct CannedSecrets {
        calls: AtomicUsize,
    }

    impl ServiceHandler for CannedSecrets {
        fn service(&self) -> &'static Service {
            &coffer_model::secretsmanager::SERVICE
        }

        fn call<'a>(
            &'a self,
            _ctx: &'a RequestContext,
            op: &'static Operation,
            _input: Value,
        ) -> BoxFuture<'a, Result<Value, AwsError>> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let output = match op.name {
                "GetSecretValue" => {
                    json!({"ARN": "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf",
                                           "Name": "db", "SecretString": PLANTED})
                }
                _ => {
                    json!({"ARN": "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf",
                            "Name": "db", "VersionId": "v1"})
                }
            };
            Box::pin(async move { Ok(output) })
        }

        fn access<'a>(
            &'a self,
            _ctx: &'a RequestContext,
            op: &'static Operation,
            _input: &'a Value,
        ) -> BoxFuture<'a, Result<AccessRequest, AwsError>> {
            let request = AccessRequest::new(op.authorization.action.to_string(), None);
            Box::pin(async move { Ok(request) })
        }
    }

    struct AllowAll;

    impl Authorizer for AllowAll {
        fn authorize<'a>(
            &'a self,
            _ctx: &'a RequestContext,
            _request: &'a AccessRequest,
        ) -> BoxFuture<'a, Result<(), Denial>> {
            Box::pin(async { Ok(()) })
        }
    }

    struct Fixture {
        app: App,
        handler: Arc<CannedSecrets>,
        path: std::path::PathBuf,
        _dir: tempfile::TempDir,
    }

    fn fixture(required: bool) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let trail = Trail::open(TrailConfig {
            destination: Destination::File(path.clone()),
            max_file_bytes: 1 << 30,
            keep_rotated: 1,
            key: SigningKey::from_derived(zeroize::Zeroizing::new([3; 32])),
            flush: coffer_audit::Flush::Fsync,
            sync_interval: coffer_audit::DEFAULT_SYNC_INTERVAL,
        })
        .unwrap();
        let handler = Arc::new(CannedSecrets {
            calls: AtomicUsize::new(0),
        });
        let app = App::new(
            AppConfig {
                dev_mode: true,
                ..AppConfig::default()
            },
            Arc::new(MemoryDirectory::default()),
            Arc::new(AllowAll),
            vec![handler.clone()],
            Arc::new(SystemClock),
        )
        .with_audit(AuditSettings {
            trail: Arc::new(trail),
            required,
        });
        Fixture {
            app,
            handler,
            path,
            _dir: dir,
        }
    }

    fn json_request(operation: &str, body: Value) -> IncomingRequest {
        let mut headers = HeaderMap::new();
        let target = format!("secretsmanager.{operation}");
        headers.insert("x-amz-target", HeaderValue::from_str(&target).unwrap());
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-amz-json-1.1"),
        );
        headers.insert(
            http::header::USER_AGENT,
            HeaderValue::from_static("unit-test/1"),
        );
        headers.insert(
            http::header::HOST,
            HeaderValue::from_static("localhost:4566"),
        );
        headers.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=AKIADEVCALLER/20260614/eu-west-1/secretsmanager/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000",
            ),
        );
        headers.insert("x-amz-date", HeaderValue::from_static("20260614T120000Z"));
        IncomingRequest {
            method: Method::POST,
            path: "/".into(),
            query: String::new(),
            headers,
            body: Bytes::from(body.to_string()),
        }
    }

    fn connection() -> Connection {
        Connection {
            peer_ip: Some("192.0.2.7".parse().unwrap()),
            secure: true,
            tls: Some(TlsParameters {
                version: "TLSv1.3",
                cipher_suite: "TLS_AES_128_GCM_SHA256",
            }),
        }
    }

    fn records(path: &std::path::Path) -> Vec<Value> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn request_id(response: &HttpResponse) -> String {
        response.headers()["x-amzn-requestid"]
            .to_str()
            .unwrap()
            .to_string()
    }

    #[tokio::test]
    async fn each_request_gets_one_record_with_its_identity_parameters_and_outcome() {
        let f = fixture(true);
        let read = f
            .app
            .handle(
                &json_request("GetSecretValue", json!({"SecretId": "db"})),
                &connection(),
            )
            .await;
        assert_eq!(read.status(), 200);
        let create = f
            .app
            .handle(
                &json_request(
                    "CreateSecret",
                    json!({"Name": "db", "SecretString": PLANTED, "ClientRequestToken": "token-0000000000000000000000000001"}),
                ),
                &connection(),
            )
            .await;
        assert_eq!(create.status(), 200);
        let unknown = f
            .app
            .handle(&json_request("StealEverything", json!({})), &connection())
            .await;
        assert_eq!(unknown.status(), 400);

        let records = records(&f.path);
        assert_eq!(records.len(), 3);
        let [read_record, create_record, unknown_record] = &records[..] else {
            unreachable!()
        };
        assert_eq!(read_record["requestID"], request_id(&read));
        assert_eq!(read_record["eventName"], "GetSecretValue");
        assert_eq!(read_record["eventSource"], "secretsmanager.amazonaws.com");
        assert_eq!(read_record["awsRegion"], "eu-west-1");
        assert_eq!(read_record["sourceIPAddress"], "192.0.2.7");
        assert_eq!(read_record["userAgent"], "unit-test/1");
        assert_eq!(read_record["readOnly"], true);
        assert_eq!(read_record["requestParameters"], json!({"secretId": "db"}));
        assert_eq!(read_record["responseElements"], Value::Null);
        assert_eq!(read_record["userIdentity"]["type"], "Root");
        assert_eq!(read_record["userIdentity"]["accessKeyId"], "AKIADEVCALLER");
        assert_eq!(read_record["recipientAccountId"], "000000000000");
        assert_eq!(
            read_record["tlsDetails"],
            json!({"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                   "clientProvidedHostHeader": "localhost:4566"})
        );
        assert!(read_record.get("errorCode").is_none());

        assert_eq!(create_record["readOnly"], false);
        assert_eq!(
            create_record["requestParameters"],
            json!({"name": "db", "clientRequestToken": "token-0000000000000000000000000001"})
        );
        assert_eq!(create_record["responseElements"]["versionId"], "v1");
        assert_eq!(
            create_record["responseElements"]["arn"],
            "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf"
        );

        assert_eq!(unknown_record["eventName"], "StealEverything");
        assert_eq!(unknown_record["errorCode"], "UnknownOperationException");
        assert_eq!(unknown_record["requestID"], request_id(&unknown));

        let file = std::fs::read_to_string(&f.path).unwrap();
        assert!(!file.contains(PLANTED), "{file}");
    }

    #[tokio::test]
    async fn a_record_that_cannot_be_written_fails_the_request_and_stops_changes() {
        let f = fixture(true);
        let aside = f.path.with_file_name("aside");
        std::fs::write(&f.path, b"").unwrap();
        std::fs::rename(&f.path, &aside).unwrap();
        std::fs::create_dir(&f.path).unwrap();

        let read = f
            .app
            .handle(
                &json_request("GetSecretValue", json!({"SecretId": "db"})),
                &connection(),
            )
            .await;
        assert_eq!(read.status(), 503);
        assert_eq!(read.headers()["x-amzn-errortype"], "ServiceUnavailable");
        let body = http_body_util::BodyExt::collect(read.into_body())
            .await
            .unwrap()
            .to_bytes();
        assert!(!String::from_utf8_lossy(&body).contains(PLANTED));
        let ran = f.handler.calls.load(Ordering::SeqCst);

        // The trail is failing: a change is refused before it runs.
        let write = f
            .app
            .handle(
                &json_request(
                    "PutSecretValue",
                    json!({"SecretId": "db", "SecretString": PLANTED}),
                ),
                &connection(),
            )
            .await;
        assert_eq!(write.status(), 503);
        assert_eq!(f.handler.calls.load(Ordering::SeqCst), ran);

        // Writable again: requests are answered and recorded.
        std::fs::remove_dir(&f.path).unwrap();
        std::fs::rename(&aside, &f.path).unwrap();
        let read = f
            .app
            .handle(
                &json_request("GetSecretValue", json!({"SecretId": "db"})),
                &connection(),
            )
            .await;
        assert_eq!(read.status(), 200);
        let records = records(&f.path);
        assert_eq!(records.len(), 1);
        assert_eq!(records[0]["requestID"], request_id(&read));

        // Three writes timed, the two refused ones counted as failures.
        let metrics = f.app.ops.metrics.encode();
        assert!(
            metrics.contains("\ncoffer_audit_write_duration_seconds_count 3\n"),
            "{metrics}"
        );
        assert!(
            metrics.contains("\ncoffer_audit_write_failures_total 2\n"),
            "{metrics}"
        );
    }

    #[tokio::test]
    async fn without_required_audit_a_failed_record_does_not_fail_the_request() {
        let f = fixture(false);
        std::fs::create_dir(&f.path).unwrap();
        let read = f
            .app
            .handle(
                &json_request("GetSecretValue", json!({"SecretId": "db"})),
                &connection(),
            )
            .await;
        assert_eq!(read.status(), 200);
    }

    #[tokio::test]
    async fn requests_refused_before_the_pipeline_are_recorded() {
        let f = fixture(true);
        let request = json_request("GetSecretValue", json!({}));
        let response = f
            .app
            .refuse(
                &request.headers,
                &connection(),
                AwsError::new(413, "RequestEntityTooLarge", "too large"),
            )
            .await;
        assert_eq!(response.status(), 413);
        let records = records(&f.path);
        assert_eq!(records.len(), 1);
        assert_eq!(records[0]["errorCode"], "RequestEntityTooLarge");
        assert_eq!(records[0]["userIdentity"], json!({"type": "Unknown"}));
        assert_eq!(records[0]["requestID"], request_id(&response));
    }

    #[tokio::test]
    async fn a_reset_is_one_record_in_the_same_chain() {
        let f = fixture(true);
        let get = json_request("GetSecretValue", json!({"SecretId": "db"}));
        assert_eq!(f.app.handle(&get, &connection()).await.status(), 200);
        let reset = f
            .app
            .reset_state(&Method::POST, &get.headers, &connection())
            .await;
        assert_eq!(reset.status(), 200);
        assert_eq!(f.app.handle(&get, &connection()).await.status(), 200);

        let records = records(&f.path);
        assert_eq!(records.len(), 3);
        let reset_record = &records[1];
        assert_eq!(reset_record["eventSource"], "coffer");
        assert_eq!(reset_record["eventName"], "ResetState");
        assert_eq!(reset_record["readOnly"], false);
        assert_eq!(
            reset_record["responseElements"],
            json!({"recordsRemoved": 0})
        );
        assert_eq!(reset_record["requestID"], request_id(&reset));
        let verified = coffer_audit::verify::verify(
            std::slice::from_ref(&f.path),
            &[SigningKey::from_derived(zeroize::Zeroizing::new([3; 32]))],
        )
        .unwrap();
        assert_eq!(verified.records, 3);
        assert!(verified.problem.is_none(), "{:?}", verified.problem);
    }

    #[tokio::test]
    async fn a_reset_is_refused_while_a_required_trail_is_failing() {
        let f = fixture(true);
        std::fs::create_dir(&f.path).unwrap();
        let get = json_request("GetSecretValue", json!({"SecretId": "db"}));
        assert_eq!(f.app.handle(&get, &connection()).await.status(), 503);
        let reset = f
            .app
            .reset_state(&Method::POST, &get.headers, &connection())
            .await;
        assert_eq!(reset.status(), 503);
        let body = http_body_util::BodyExt::collect(reset.into_body())
            .await
            .unwrap()
            .to_bytes();
        assert!(
            String::from_utf8_lossy(&body).contains("audit trail cannot be written"),
            "{body:?}"
        );
    }

    #[test]
    fn identities_take_cloudtrail_shapes() {
        let headers = HeaderMap::new();
        let mut trace = RequestTrace::new(&headers, &connection());
        trace.access_key_id = Some("AKIACLAIMED".into());
        assert_eq!(
            trace.user_identity(),
            UserIdentity {
                identity_type: IdentityType::Unknown,
                access_key_id: Some("AKIACLAIMED".into()),
                ..UserIdentity::default()
            }
        );
        trace.principal = Some(Principal {
            account_id: "123456789012".into(),
            arn: "arn:aws:iam::123456789012:user/team/alice".into(),
            user_id: "AIDAEXAMPLE".into(),
            kind: PrincipalKind::User,
            access_key_id: "AKIAALICE".into(),
        });
        let user = trace.user_identity();
        assert_eq!(user.identity_type, IdentityType::IamUser);
        assert_eq!(user.user_name.as_deref(), Some("alice"));
        assert_eq!(user.principal_id.as_deref(), Some("AIDAEXAMPLE"));
        assert_eq!(user.access_key_id.as_deref(), Some("AKIAALICE"));

        let mut web = RequestTrace::new(&headers, &connection());
        web.operation = coffer_model::sts::SERVICE.operation("AssumeRoleWithWebIdentity");
        web.principal = Some(Principal {
            account_id: String::new(),
            arn: String::new(),
            user_id: String::new(),
            kind: PrincipalKind::Anonymous,
            access_key_id: String::new(),
        });
        web.response_elements = Some(json!({"provider": "issuer.example", "audience": "app",
                                            "subjectFromWebIdentityToken": "user-1"}));
        let identity = web.user_identity();
        assert_eq!(identity.identity_type, IdentityType::WebIdentityUser);
        assert_eq!(
            identity.principal_id.as_deref(),
            Some("issuer.example:app:user-1")
        );
        assert_eq!(identity.user_name.as_deref(), Some("user-1"));
        assert_eq!(
            identity.identity_provider.as_deref(),
            Some("issuer.example")
        );

        let mut saml = RequestTrace::new(&headers, &connection());
        saml.operation = coffer_model::sts::SERVICE.operation("AssumeRoleWithSAML");
        saml.principal = web.principal.clone();
        saml.response_elements = Some(json!({"nameQualifier": "q1+/=", "subject": "alice",
                                             "issuer": "https://idp.example.com"}));
        let identity = saml.user_identity();
        assert_eq!(identity.identity_type, IdentityType::SamlUser);
        assert_eq!(identity.principal_id.as_deref(), Some("q1+/=:alice"));
        assert_eq!(identity.user_name.as_deref(), Some("alice"));
        assert_eq!(identity.identity_provider.as_deref(), Some("q1+/="));
        assert_eq!(
            serde_json::to_value(identity.identity_type).unwrap(),
            json!("SAMLUser")
        );
    }

    #[test]
    fn client_text_is_bounded_on_a_character_boundary() {
        let long = "é".repeat(MAX_CLIENT_TEXT);
        let cut = truncated(&long, MAX_CLIENT_TEXT);
        assert!(cut.len() <= MAX_CLIENT_TEXT && long.starts_with(&cut));
        assert_eq!(claimed_name("GetSecretValue"), "GetSecretValue");
        assert_eq!(claimed_name(&"x".repeat(500)).len(), MAX_CLAIMED_NAME);
    }
}
