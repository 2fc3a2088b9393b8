//! The request pipeline: classify -> authenticate -> decode -> validate -> authorize -> run ->
//! encode. Only this crate touches HTTP; services receive a `RequestContext` and their input, typed
//! ([`PreparedCall`]) or as the canonical value.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use coffer_model::context::{Principal, PrincipalKind, RequestContext};
use coffer_model::schema::{Operation, Service};
use coffer_model::{AwsError, Protocol};
use coffer_wire::ValidationStyle;
use futures_util::future::BoxFuture;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode};
use serde_json::Value;

use crate::audit::{self, AuditSettings, RequestTrace, TlsParameters};
use crate::authenticate::authenticate;
use crate::authorize::{AccessRequest, Authorizer, UNAUTHORIZED_ACTIONS};
use crate::classify::{self, Route};
use crate::directory::Directory;
use crate::rate_limit::{self, RateLimiter, RateLimits};

/// One AWS service as the server sees it: its schema and a dispatcher for its operations.
pub trait ServiceHandler: Send + Sync {
    fn service(&self) -> &'static Service;
    fn call<'a>(
        &'a self,
        ctx: &'a RequestContext,
        op: &'static Operation,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, AwsError>>;

    /// What the operation asks permission for: its IAM action, the resource ARN (`None` for
    /// operations AWS authorizes against `*`), condition keys and the resource's policy.
    fn access<'a>(
        &'a self,
        ctx: &'a RequestContext,
        op: &'static Operation,
        input: &'a Value,
    ) -> BoxFuture<'a, Result<AccessRequest, AwsError>>;

    /// The typed path of `op` for an AWS JSON 1.1 `body`: the request decoded once into its
    /// typed input and validated, or `None` when the handler has no typed path for `op` or the
    /// body is not a valid request (the canonical path then answers it, with AWS's error).
    fn prepare_json<'a>(
        &'a self,
        op: &'static Operation,
        body: &[u8],
    ) -> Option<Box<dyn PreparedCall + 'a>> {
        let _ = (op, body);
        None
    }
}

/// A request decoded into its operation's typed input, authorized and run from it: the input is
/// never turned back into the canonical value (except for the audit trail), and what
/// authorization resolved (a secret's record) is what the operation runs on, not read again.
pub trait PreparedCall: Send {
    /// What the call asks permission for, as [`ServiceHandler::access`].
    fn access<'a>(
        &'a mut self,
        ctx: &'a RequestContext,
    ) -> BoxFuture<'a, Result<AccessRequest, AwsError>>;

    /// The canonical input, for the audit trail's request parameters.
    fn canonical_input(&self) -> Value;

    /// Runs the operation once: its AWS JSON 1.1 response body, and its canonical output when
    /// `canonical_output` asks for it (the audit trail's response elements).
    fn run<'a>(
        &'a mut self,
        ctx: &'a RequestContext,
        canonical_output: bool,
    ) -> BoxFuture<'a, Result<PreparedOutput, AwsError>>;
}

/// What a [`PreparedCall`] answers.
pub struct PreparedOutput {
    /// The AWS JSON 1.1 response body (empty for operations without output).
    pub body: Vec<u8>,
    pub canonical: Option<Value>,
}

/// A request on its way through the pipeline: typed, or as its canonical value.
enum Decoded<'h> {
    Typed(Box<dyn PreparedCall + 'h>),
    Canonical(Value),
}

/// The server's time source, replaceable in tests.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

#[derive(Debug, Clone)]
pub struct AppConfig {
    /// `--dev`: any access key is accepted without checking its signature; nothing is enforced.
    pub dev_mode: bool,
    /// Account of dev-mode callers whose access key is not a 12-digit account id.
    pub default_account: String,
    /// Region for requests whose signature names none (SigV2, dev mode without a scope).
    pub default_region: String,
    /// Largest request body accepted (AWS Query APIs take about 1 MB).
    pub max_body_bytes: usize,
    /// Largest total size of the request headers.
    pub max_header_bytes: usize,
    /// How long a client may take to send its body.
    pub body_timeout: Duration,
    /// Allowed difference between the request's signing time and the server clock.
    pub max_clock_skew: Duration,
    /// Per-principal request-rate quotas (never enforced in dev mode).
    pub rate_limits: RateLimits,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            dev_mode: false,
            default_account: "000000000000".to_string(),
            default_region: "us-east-1".to_string(),
            max_body_bytes: 1024 * 1024,
            max_header_bytes: 16 * 1024,
            body_timeout: Duration::from_secs(30),
            max_clock_skew: Duration::from_secs(15 * 60),
            rate_limits: RateLimits::aws_defaults(),
        }
    }
}

pub struct App {
    pub config: AppConfig,
    pub directory: Arc<dyn Directory>,
    pub authorizer: Arc<dyn Authorizer>,
    pub services: Vec<Arc<dyn ServiceHandler>>,
    pub clock: Arc<dyn Clock>,
    /// Operator endpoints and metrics (`ops.rs`, `metrics.rs`).
    pub ops: crate::ops::Ops,
    schemas: Vec<&'static Service>,
    rate_limiter: RateLimiter,
    pub(crate) audit: Option<AuditSettings>,
}

/// Operations AWS serves without a signature.
const UNSIGNED_OPERATIONS: &[(&str, &str)] = &[
    ("sts", "AssumeRoleWithWebIdentity"),
    ("sts", "AssumeRoleWithSAML"),
];

/// What the listener hands the pipeline besides the request itself.
pub struct Connection {
    pub peer_ip: Option<IpAddr>,
    pub secure: bool,
    /// The TLS version and cipher suite, for HTTPS connections (the audit record's `tlsDetails`).
    pub tls: Option<TlsParameters>,
}

/// A fully read request.
pub struct IncomingRequest {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

pub type HttpResponse = Response<http_body_util::Full<Bytes>>;

impl App {
    pub fn new(
        config: AppConfig,
        directory: Arc<dyn Directory>,
        authorizer: Arc<dyn Authorizer>,
        services: Vec<Arc<dyn ServiceHandler>>,
        clock: Arc<dyn Clock>,
    ) -> App {
        let schemas: Vec<&'static Service> = services.iter().map(|s| s.service()).collect();
        let rate_limiter = if config.dev_mode {
            RateLimiter::new(&RateLimits::disabled(), &schemas)
        } else {
            RateLimiter::new(&config.rate_limits, &schemas)
        };
        App {
            config,
            directory,
            authorizer,
            services,
            clock,
            ops: crate::ops::Ops::default(),
            schemas,
            rate_limiter,
            audit: None,
        }
    }

    /// Serves the operator endpoints and counts metrics with `ops` instead of a private default.
    pub fn with_ops(mut self, ops: crate::ops::Ops) -> App {
        self.ops = ops;
        self
    }

    /// Records every request in `audit.trail` (README, "Audit trail").
    pub fn with_audit(mut self, audit: AuditSettings) -> App {
        self.audit = Some(audit);
        self
    }

    /// Whether the request names an active access key of this server, judged from its headers
    /// and query string alone, before its body is read (a SigV4 `Authorization` header or
    /// presigned URL; the signature itself needs the body). It only decides which share of the
    /// body budget the request may use; dev mode knows every caller.
    pub(crate) async fn presents_known_key(
        &self,
        method: &Method,
        path: &str,
        query: &str,
        headers: &HeaderMap,
    ) -> bool {
        if self.config.dev_mode {
            return true;
        }
        let parts = coffer_auth::RequestParts {
            method: method.as_str(),
            path,
            query,
            headers,
            body: &[],
        };
        let Ok(Some(signed)) = coffer_auth::parse(&parts) else {
            return false;
        };
        matches!(
            self.directory.lookup(signed.access_key_id()).await,
            Ok(Some(entry)) if entry.active
        )
    }

    fn handler_for(&self, service: &'static Service) -> Option<&Arc<dyn ServiceHandler>> {
        self.services
            .iter()
            .find(|h| std::ptr::eq(h.service(), service))
    }

    /// Handles one request end to end. Every failure becomes an AWS-format error response; every
    /// request gets its audit record and log line ([`App::conclude`]).
    pub async fn handle(&self, req: &IncomingRequest, conn: &Connection) -> HttpResponse {
        let mut trace = RequestTrace::new(&req.headers, conn);
        let outcome = match self.process(req, conn, &mut trace).await {
            Ok(response) => Ok(response),
            Err(failure) => {
                trace.service = trace.service.or(failure.service);
                Err(failure.error)
            }
        };
        let named = trace.service.zip(trace.operation);
        let mut response = self.conclude(trace, outcome).await;
        if let Some((service, op)) = named {
            crate::metrics::name_operation(&mut response, service.signing_name, op.name);
        }
        response
    }

    /// Runs the pipeline; `trace` learns what the request is as soon as it is known.
    async fn process(
        &self,
        req: &IncomingRequest,
        conn: &Connection,
        trace: &mut RequestTrace,
    ) -> Result<HttpResponse, Failure> {
        let request_id = trace.request_id.clone();
        let request_id = request_id.as_str();
        let route = self.route(req)?;
        let host = req
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let (host_service, host_region) = classify::service_from_host(host);

        // The operation is looked up before authentication (unsigned STS operations need it), but
        // an unknown one is reported only after the caller is authenticated, as AWS does.
        let auth_parts = coffer_auth::RequestParts {
            method: req.method.as_str(),
            path: &req.path,
            query: &req.query,
            headers: &req.headers,
            body: &req.body,
        };
        let signed = coffer_auth::parse(&auth_parts);
        let scope_service = signed
            .as_ref()
            .ok()
            .and_then(|s| s.as_ref())
            .and_then(|s| s.scope())
            .map(|s| s.service.clone());
        let resolved = match &route {
            Route::Json { target } => classify::json_operation(&self.schemas, target),
            Route::Query { params } => classify::query_operation(
                &self.schemas,
                params,
                scope_service.as_deref().or(host_service),
            ),
        };
        let service_hint = resolved.as_ref().ok().map(|(s, _)| *s);
        trace.named(
            &route,
            resolved.as_ref().ok(),
            scope_service.as_deref().or(host_service),
            &self.schemas,
        );
        trace.access_key_id = signed
            .as_ref()
            .ok()
            .and_then(|s| s.as_ref())
            .map(|s| audit::claimed_name(s.access_key_id()));
        let fail = |error: AwsError| Failure {
            service: service_hint,
            error,
        };

        let unsigned_allowed = resolved
            .as_ref()
            .is_ok_and(|(s, op)| UNSIGNED_OPERATIONS.contains(&(s.signing_name, op.name)));
        let caller = authenticate(
            self,
            signed,
            &auth_parts,
            route.protocol(),
            service_hint.map(|s| s.signing_name),
            host_region.as_deref(),
            unsigned_allowed,
        )
        .await
        .map_err(fail)?;
        trace.principal = Some(caller.principal.clone());
        trace.session = caller.session.clone();
        trace.region = caller.region.clone();

        let (service, op) = resolved.map_err(fail)?;
        // IAM's service last-accessed data counts every authenticated attempt, denied and
        // throttled ones included, as AWS does.
        if let Some((_, action)) = op.authorization.action.split_once(':') {
            let attempt_region = caller
                .region
                .as_deref()
                .unwrap_or(&self.config.default_region);
            self.directory.record_access(
                &caller.principal,
                service.signing_name,
                action,
                attempt_region,
            );
        }
        // Before decoding and authorization, so a caller over its quota costs next to nothing.
        let now_micros = self.clock.now().timestamp_micros();
        if !self
            .rate_limiter
            .admit(&caller.principal, conn.peer_ip, service, op, now_micros)
        {
            return Err(fail(rate_limit::throttled(route.protocol())));
        }
        let handler = self
            .handler_for(service)
            .ok_or_else(|| fail(AwsError::not_implemented(op.name)))?;

        let protocol = route.protocol();
        // IAM does not echo offending values in its validation messages; STS and Secrets Manager do.
        let style = match (protocol, service.signing_name) {
            (Protocol::Query, "iam") => ValidationStyle::IAM,
            _ => ValidationStyle::for_protocol(protocol),
        };
        let wire_error = |e: coffer_wire::WireError| fail(e.to_aws_with(protocol, style));
        let typed = match &route {
            Route::Json { .. } => handler.prepare_json(op, &req.body),
            Route::Query { .. } => None,
        };
        let mut decoded = match typed {
            Some(prepared) => {
                if self.audit.is_some() {
                    trace.input(self, op, &prepared.canonical_input());
                }
                Decoded::Typed(prepared)
            }
            None => {
                let input = match &route {
                    Route::Json { .. } => coffer_wire::decode_json_input(&req.body, op.input),
                    Route::Query { params } => coffer_wire::decode_query_input(params, op.input),
                }
                .map_err(wire_error)?;
                if let Some(shape) = op.input {
                    coffer_wire::validate(&input, shape).map_err(wire_error)?;
                }
                trace.input(self, op, &input);
                Decoded::Canonical(input)
            }
        };

        let mut ctx = RequestContext {
            request_id: request_id.to_string(),
            principal: caller.principal,
            region: caller
                .region
                .unwrap_or_else(|| self.config.default_region.clone()),
            source_ip: conn.peer_ip,
            secure_transport: conn.secure,
            now_millis: self.clock.now().timestamp_millis(),
            mfa_authenticated_at_millis: None,
        };
        if !self.config.dev_mode {
            let action = format!("{}:{}", service.signing_name, op.name);
            if !UNAUTHORIZED_ACTIONS.contains(&action.as_str()) {
                let request = match &mut decoded {
                    Decoded::Typed(prepared) => prepared.access(&ctx).await,
                    Decoded::Canonical(input) => handler.access(&ctx, op, input).await,
                }
                .map_err(fail)?;
                ctx.mfa_authenticated_at_millis = request.mfa_authenticated_at_millis;
                if let Err(denial) = self.authorizer.authorize(&ctx, &request).await {
                    trace.denied = matches!(denial, crate::authorize::Denial::Denied { .. });
                    return Err(fail(denial.to_aws(protocol)));
                }
            }
        }
        if !audit::read_only(op) && self.audit_refuses_changes() {
            return Err(fail(audit::service_unavailable()));
        }
        let failed = |error: AwsError| {
            if error.status >= 500 && error.status != 501 {
                tracing::error!(request_id, operation = op.name, %error, "operation failed");
            }
            fail(error)
        };
        let input = match decoded {
            Decoded::Typed(mut prepared) => {
                let recorded = self.audit.is_some() && !audit::read_only(op);
                let output = prepared.run(&ctx, recorded).await.map_err(failed)?;
                if let Some(canonical) = &output.canonical {
                    trace.output(self, op, canonical);
                }
                return Ok(response(
                    StatusCode::OK,
                    "application/x-amz-json-1.1",
                    output.body,
                    request_id,
                ));
            }
            Decoded::Canonical(input) => input,
        };
        let output = handler.call(&ctx, op, input).await.map_err(failed)?;
        trace.output(self, op, &output);

        Ok(match route.protocol() {
            Protocol::Json => response(
                StatusCode::OK,
                "application/x-amz-json-1.1",
                coffer_wire::encode_json_response(&output),
                request_id,
            ),
            Protocol::Query => response(
                StatusCode::OK,
                "text/xml",
                coffer_wire::encode_query_response(service, op, &output, request_id),
                request_id,
            ),
        })
    }

    fn route(&self, req: &IncomingRequest) -> Result<Route, Failure> {
        let no_service = |error: AwsError| Failure {
            service: None,
            error,
        };
        if let Some(target) = req.headers.get("x-amz-target") {
            let target = target.to_str().map_err(|_| {
                no_service(AwsError::without_message(400, "UnknownOperationException"))
            })?;
            if req.method != Method::POST {
                return Err(no_service(AwsError::without_message(
                    400,
                    "UnknownOperationException",
                )));
            }
            let content_type = req
                .headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(classify::media_type)
                .unwrap_or_default();
            if content_type != "application/x-amz-json-1.1" {
                return Err(no_service(AwsError::new(
                    400,
                    "SerializationException",
                    format!("Unsupported Content-Type '{content_type}': expected application/x-amz-json-1.1"),
                )));
            }
            return Ok(Route::Json {
                target: target.to_string(),
            });
        }
        if classify::protocol_of(&req.headers) == Protocol::Json {
            // A JSON content type without a target names no operation.
            return Err(no_service(AwsError::without_message(
                400,
                "UnknownOperationException",
            )));
        }
        let form_body = match req.method {
            Method::GET | Method::HEAD => None,
            Method::POST => {
                let content_type = req
                    .headers
                    .get(http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(classify::media_type)
                    .unwrap_or_default();
                if content_type == "application/x-www-form-urlencoded" {
                    Some(&req.body[..])
                } else if req.body.is_empty() {
                    None
                } else {
                    return Err(no_service(AwsError::new(
                        400,
                        "InvalidParameterValue",
                        format!(
                            "Unsupported Content-Type '{content_type}': Query requests are GET or POST application/x-www-form-urlencoded"
                        ),
                    )));
                }
            }
            _ => {
                return Err(no_service(AwsError::new(
                    405,
                    "MethodNotAllowed",
                    format!("The HTTP method {} is not allowed.", req.method),
                )))
            }
        };
        let params = coffer_wire::parse_query_params(&req.query, form_body)
            .map_err(|e| no_service(e.to_aws(Protocol::Query)))?;
        Ok(Route::Query { params })
    }
}

/// An error together with the service it concerns (for the XML namespace), when known.
pub(crate) struct Failure {
    pub service: Option<&'static Service>,
    pub error: AwsError,
}

pub fn error_response(
    protocol: Protocol,
    xml_namespace: Option<&str>,
    error: &AwsError,
    request_id: &str,
) -> HttpResponse {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut resp = match protocol {
        Protocol::Json => response(
            status,
            "application/x-amz-json-1.1",
            coffer_wire::encode_json_error(error),
            request_id,
        ),
        Protocol::Query => response(
            status,
            "text/xml",
            coffer_wire::encode_query_error(xml_namespace, error, request_id),
            request_id,
        ),
    };
    if protocol == Protocol::Json {
        if let Ok(v) = HeaderValue::from_str(&error.code) {
            resp.headers_mut().insert("x-amzn-errortype", v);
        }
    }
    resp.extensions_mut().insert(crate::metrics::Answered {
        error_code: Some(error.code.clone()),
        ..Default::default()
    });
    resp
}

fn response(
    status: StatusCode,
    content_type: &'static str,
    body: Vec<u8>,
    request_id: &str,
) -> HttpResponse {
    let mut resp = Response::new(http_body_util::Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", v);
    }
    resp
}

/// Identity of dev-mode callers: the access key is the account when it is a 12-digit number.
pub fn dev_principal(access_key_id: &str, default_account: &str) -> Principal {
    let account = if access_key_id.len() == 12 && access_key_id.bytes().all(|b| b.is_ascii_digit())
    {
        access_key_id.to_string()
    } else {
        default_account.to_string()
    };
    Principal {
        arn: format!("arn:aws:iam::{account}:root"),
        user_id: account.clone(),
        account_id: account,
        kind: PrincipalKind::Root,
        access_key_id: access_key_id.to_string(),
    }
}
