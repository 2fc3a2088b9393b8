//! Accepts connections (TLS or, when asked for, plain HTTP), speaks HTTP/1.1 and HTTP/2, applies the
//! size, time, connection and memory limits, and shuts down gracefully: in-flight requests finish,
//! new ones are refused.

use std::convert::Infallible;
use std::error::Error as StdError;
use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use coffer_model::{AwsError, Protocol};
use futures_util::FutureExt;
use http_body_util::BodyExt;
use hyper::body::{Body, Incoming};
use hyper::rt::{Read, Write};
use hyper::service::{service_fn, Service};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::{self, HttpServerConnExec};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

use crate::app::{App, Connection, HttpResponse, IncomingRequest};
use crate::audit::TlsParameters;
use crate::body_budget::{BodyBudget, Reservation};
use crate::classify;
use crate::connections::{ConnectionTable, Registration, Tracked, Tracker};
use crate::plain_http::{self, Opening};

#[derive(Debug, Clone)]
pub struct ListenerLimits {
    /// Connections held at once. A newcomer beyond it takes the place of the connection idle the
    /// longest, or is refused at once when every connection has a request in progress.
    pub max_connections: usize,
    /// Connections one client (an IPv4 address, an IPv6 /64) may hold at once, with the same
    /// rule among that client's own connections.
    pub max_connections_per_client: usize,
    pub tls_handshake_timeout: Duration,
    /// From accept (after the TLS handshake) to the first byte of a request.
    pub first_byte_timeout: Duration,
    /// A connection with no request in progress that receives nothing for this long is closed
    /// (HTTP/1.1 keep-alive and HTTP/2 alike).
    pub idle_timeout: Duration,
    /// Time allowed to send the request headers (slow-loris protection).
    pub header_read_timeout: Duration,
    /// HTTP/2 streams (requests) open at once on one connection.
    pub http2_max_concurrent_streams: u32,
    /// HTTP/2 PING interval, to find peers that are gone; `None` sends none.
    pub http2_keep_alive_interval: Option<Duration>,
    /// How long a PING may go unanswered before the connection is closed.
    pub http2_keep_alive_timeout: Duration,
    /// Request-body bytes held in memory at once, across all connections.
    pub body_budget_bytes: usize,
    /// How long a request waits for body budget before it is answered with a throttling error.
    pub body_budget_wait: Duration,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_grace: Duration,
}

impl Default for ListenerLimits {
    fn default() -> Self {
        ListenerLimits {
            max_connections: 4096,
            max_connections_per_client: 512,
            tls_handshake_timeout: Duration::from_secs(10),
            first_byte_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(20),
            header_read_timeout: Duration::from_secs(20),
            http2_max_concurrent_streams: 32,
            http2_keep_alive_interval: Some(Duration::from_secs(30)),
            http2_keep_alive_timeout: Duration::from_secs(20),
            body_budget_bytes: 64 * 1024 * 1024,
            body_budget_wait: Duration::from_secs(2),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// HTTP/2 receive windows. Data a client sends ahead of the server reading it sits in these, so
/// they bound what a connection can make the server buffer outside the body budget; AWS requests
/// are small, and the spec's default stream window (64 KiB) keeps large ones flowing.
const H2_STREAM_WINDOW: u32 = 64 * 1024;
const H2_CONNECTION_WINDOW: u32 = 128 * 1024;

/// How long a connection closed for idleness may take to say goodbye (an HTTP/2 GOAWAY).
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Serves `listener` until `shutdown` resolves. The listener is bound by the caller, so tests can
/// bind port 0 and read the address before the server starts.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Arc<App>,
    limits: ListenerLimits,
    shutdown: impl Future<Output = ()>,
) {
    let table = ConnectionTable::new(limits.max_connections, limits.max_connections_per_client);
    let budget = Arc::new(BodyBudget::new(
        limits.body_budget_bytes,
        limits.body_budget_wait,
    ));
    let builder = Arc::new(http_builder(&limits));
    let limits = Arc::new(limits);
    let (stop, stopped) = watch::channel(false);

    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors: give up the connection idle the longest, so the
                    // newcomer waiting in the accept queue gets its descriptor.
                    let freed = is_out_of_descriptors(&e) && table.shed_one_idle();
                    tracing::warn!(error = %e, freed, "accept failed");
                    let pause = if freed { 10 } else { 50 };
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                    continue;
                }
            },
        };
        let registration = match table.admit(peer.ip()) {
            Ok(registration) => registration,
            Err(refusal) => {
                // Every connection is busy with a request: closing now tells the client at once.
                tracing::debug!(%peer, ?refusal, "connection refused");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(
            stream,
            peer,
            tls.clone(),
            registration,
            ConnectionContext {
                app: app.clone(),
                budget: budget.clone(),
                builder: builder.clone(),
                limits: limits.clone(),
                stopped: stopped.clone(),
            },
        ));
    }
    drop(listener);
    app.ops.begin_shutdown();
    let _ = stop.send(true);
    tokio::select! {
        _ = table.drained() => {}
        _ = tokio::time::sleep(limits.shutdown_grace) => {
            tracing::warn!("shutdown grace period over; closing remaining connections");
        }
    }
}

fn http_builder(limits: &ListenerLimits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        // hyper starts this timer when a connection goes idle, not at its first byte, so it also
        // caps keep-alive idleness: it must not cut the idle timeout short.
        .header_read_timeout(limits.header_read_timeout.max(limits.idle_timeout))
        // Headers beyond the app's own limit are still read so the client gets an AWS-format
        // error; only far larger ones are cut off by hyper with a bare 431.
        .max_buf_size(64 * 1024);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(64 * 1024)
        .max_concurrent_streams(limits.http2_max_concurrent_streams)
        .initial_stream_window_size(H2_STREAM_WINDOW)
        .initial_connection_window_size(H2_CONNECTION_WINDOW)
        .keep_alive_interval(limits.http2_keep_alive_interval)
        .keep_alive_timeout(limits.http2_keep_alive_timeout);
    builder
}

fn is_out_of_descriptors(e: &std::io::Error) -> bool {
    // EMFILE (per process) and ENFILE (system-wide) on Linux and the BSDs.
    matches!(e.raw_os_error(), Some(23) | Some(24))
}

/// What every connection task shares.
struct ConnectionContext {
    app: Arc<App>,
    budget: Arc<BodyBudget>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    limits: Arc<ListenerLimits>,
    stopped: watch::Receiver<bool>,
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    registration: Registration,
    ctx: ConnectionContext,
) {
    let _open = ctx.app.ops.metrics.connection_opened();
    let tracker = registration.tracker().clone();
    // One service per connection: it knows the connection's peer and TLS parameters.
    let service = |tls: Option<TlsParameters>| {
        let tracker = tracker.clone();
        let app = ctx.app.clone();
        let budget = ctx.budget.clone();
        service_fn(move |req| {
            let in_progress = tracker.request_started();
            let app = app.clone();
            let budget = budget.clone();
            async move {
                let response = handle(&app, &budget, req, peer, tls).await;
                drop(in_progress);
                Ok::<_, Infallible>(response)
            }
        })
    };
    match tls {
        Some(acceptor) => {
            // The first byte and the handshake share the handshake's time limit.
            let deadline = Instant::now() + ctx.limits.tls_handshake_timeout;
            let opening = tokio::select! {
                opening = tokio::time::timeout_at(deadline, plain_http::opening(&stream)) => opening,
                _ = tracker.shed.notified() => return,
            };
            match opening {
                Ok(Opening::Tls) => {}
                Ok(Opening::PlainHttp) => {
                    tracing::debug!(%peer, "plain HTTP on the HTTPS port: answered 400");
                    tokio::select! {
                        _ = tokio::time::timeout_at(deadline, plain_http::refuse(stream)) => {}
                        _ = tracker.shed.notified() => {}
                    }
                    return;
                }
                Ok(Opening::Closed) | Err(_) => return,
            }
            let handshake = tokio::time::timeout_at(deadline, acceptor.accept(stream));
            let stream = tokio::select! {
                result = handshake => match result {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(e)) => {
                        tracing::debug!(%peer, error = %e, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%peer, "TLS handshake timed out");
                        return;
                    }
                },
                _ = tracker.shed.notified() => return,
            };
            // The first-byte timer runs from here.
            tracker.touch();
            let parameters = TlsParameters::of(stream.get_ref().1);
            let io = TokioIo::new(Tracked::new(stream, tracker.clone()));
            drive(
                ctx.builder.serve_connection(io, service(Some(parameters))),
                &tracker,
                &ctx,
                peer,
            )
            .await;
        }
        None => {
            let io = TokioIo::new(Tracked::new(stream, tracker.clone()));
            drive(
                ctx.builder.serve_connection(io, service(None)),
                &tracker,
                &ctx,
                peer,
            )
            .await;
        }
    }
    drop(registration);
}

/// Runs one connection to its end, closing it when it says nothing for too long, when it is
/// chosen to make room for a newcomer, or (gracefully) when the server stops.
async fn drive<I, S, B>(
    conn: auto::Connection<'_, I, S, TokioExecutor>,
    tracker: &Tracker,
    ctx: &ConnectionContext,
    peer: SocketAddr,
) where
    S: Service<Request<Incoming>, Response = Response<B>>,
    S::Future: 'static,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
    B: Body + 'static,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
    I: Read + Write + Unpin + 'static,
    TokioExecutor: HttpServerConnExec<S::Future, B>,
{
    tokio::pin!(conn);
    let limits = &ctx.limits;
    let mut stopped = ctx.stopped.clone();
    // Set once the connection was asked to close for idleness: it is dropped if still open then.
    let mut closing_by: Option<Instant> = None;
    let mut stopping = *stopped.borrow();
    if stopping {
        conn.as_mut().graceful_shutdown();
        closing_by = Some(Instant::now() + CLOSE_GRACE);
    }
    loop {
        // Activity moves the deadline without waking this task, and the first byte switches it
        // from the first-byte timeout to the idle timeout, so look again at least every shorter
        // timeout; while a request is in progress there is no deadline at all.
        let wake_at = closing_by.unwrap_or_else(|| {
            let recheck = Instant::now() + limits.first_byte_timeout.min(limits.idle_timeout);
            tracker
                .deadline(limits.first_byte_timeout, limits.idle_timeout)
                .map_or(recheck, |deadline| Instant::from_std(deadline).min(recheck))
        });
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            _ = tracker.shed.notified() => {
                tracing::debug!(%peer, "idle connection closed to make room for a new one");
                return;
            }
            _ = tokio::time::sleep_until(wake_at) => {
                if closing_by.is_some() {
                    return;
                }
                let due = tracker
                    .deadline(limits.first_byte_timeout, limits.idle_timeout)
                    .is_some_and(|deadline| Instant::from_std(deadline) <= Instant::now());
                if due {
                    if !tracker.has_received() {
                        // Nothing was ever asked: nothing to say goodbye to.
                        tracing::debug!(%peer, "no request within the first-byte timeout");
                        return;
                    }
                    tracing::debug!(%peer, "idle connection closed");
                    conn.as_mut().graceful_shutdown();
                    closing_by = Some(Instant::now() + CLOSE_GRACE);
                }
            }
            _ = stopped.changed(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
                // An idle connection has nothing to finish: it does not hold up the shutdown.
                if tracker.deadline(limits.first_byte_timeout, limits.idle_timeout).is_some() {
                    closing_by = Some(Instant::now() + CLOSE_GRACE);
                }
            }
        }
    }
}

/// Answers the operator endpoints (`ops.rs`) first; every other request goes through [`answer`]
/// and is counted in the metrics.
async fn handle(
    app: &App,
    budget: &BodyBudget,
    req: Request<Incoming>,
    peer: SocketAddr,
    tls: Option<TlsParameters>,
) -> HttpResponse {
    let (method, path, query) = (req.method(), req.uri().path(), req.uri().query());
    if app.ops.answers_reset(method, path) {
        let conn = Connection {
            peer_ip: Some(peer.ip()),
            secure: tls.is_some(),
            tls,
        };
        return app.reset_state(method, req.headers(), &conn).await;
    }
    if let Some(response) = app.ops.answer(method, path, query.unwrap_or("")).await {
        return response;
    }
    let started = std::time::Instant::now();
    let response = answer(app, budget, req, peer, tls).await;
    crate::metrics::record_request(&app.ops.metrics, &response, started.elapsed());
    response
}

/// Reads the whole request under the app's limits, runs the pipeline, and turns a panic into
/// `InternalFailure` so no client ever sees a dropped connection for a bug.
async fn answer(
    app: &App,
    budget: &BodyBudget,
    req: Request<Incoming>,
    peer: SocketAddr,
    tls: Option<TlsParameters>,
) -> HttpResponse {
    let conn = Connection {
        peer_ip: Some(peer.ip()),
        secure: tls.is_some(),
        tls,
    };
    let protocol = classify::protocol_of(req.headers());

    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if header_bytes > app.config.max_header_bytes {
        let error = AwsError::new(
            431,
            "RequestHeaderFieldsTooLarge",
            format!(
                "The request headers exceed the maximum allowed size of {} bytes.",
                app.config.max_header_bytes
            ),
        );
        return app.refuse(req.headers(), &conn, error).await;
    }
    let (mut parts, body) = req.into_parts();
    // HTTP/2 carries the host as `:authority`; signatures name it `host`.
    if !parts.headers.contains_key(http::header::HOST) {
        if let Some(authority) = parts.uri.authority() {
            if let Ok(v) = http::HeaderValue::from_str(authority.as_str()) {
                parts.headers.insert(http::header::HOST, v);
            }
        }
    }
    let limit = app.config.max_body_bytes;
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > DRAIN_CAP) {
        // Too large even to drain politely: answer now; the client may see the connection close.
        return app.refuse(&parts.headers, &conn, too_large(limit)).await;
    }
    // Held until the request is answered: the body's bytes count against the budget meanwhile.
    // Which share of it the request may use is decided before any of its body is read.
    let verified = body.is_end_stream()
        || app
            .presents_known_key(
                &parts.method,
                parts.uri.path(),
                parts.uri.query().unwrap_or(""),
                &parts.headers,
            )
            .await;
    let mut reservation = budget.reservation(verified);
    let read = tokio::time::timeout(
        app.config.body_timeout,
        read_body(body, limit, declared, &mut reservation),
    )
    .await;
    let body = match read {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(refused)) => {
            let error = match refused {
                BodyError::TooLarge => too_large(limit),
                BodyError::BudgetExhausted => budget_exhausted(protocol),
                BodyError::Incomplete => AwsError::new(
                    400,
                    "IncompleteBody",
                    "The request body ended before the number of bytes the request declared.",
                ),
            };
            return app.refuse(&parts.headers, &conn, error).await;
        }
        Err(_) => {
            let error = AwsError::new(
                408,
                "RequestTimeout",
                "Your socket connection to the server was not read from or written to within the timeout period.",
            );
            return app.refuse(&parts.headers, &conn, error).await;
        }
    };
    let incoming = IncomingRequest {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts.headers,
        body,
    };
    let response = match AssertUnwindSafe(app.handle(&incoming, &conn))
        .catch_unwind()
        .await
    {
        Ok(resp) => resp,
        Err(_) => {
            tracing::error!(%peer, "request handler panicked");
            app.refuse(&incoming.headers, &conn, AwsError::internal())
                .await
        }
    };
    drop(reservation);
    response
}

/// Bytes of an oversize body read and discarded so the client, still sending, can read the 413
/// instead of a reset connection.
const DRAIN_CAP: u64 = 8 * 1024 * 1024;

enum BodyError {
    TooLarge,
    Incomplete,
    BudgetExhausted,
}

/// Request bodies are gathered in pieces of at most this size, each reserved from the budget
/// before it is allocated, so that nothing is reallocated (and held twice) while a body arrives.
const BODY_PIECE: usize = 16 * 1024;

/// Reads the body, every byte of memory it takes reserved from the body budget first.
async fn read_body(
    mut body: Incoming,
    limit: usize,
    declared: Option<u64>,
    reservation: &mut Reservation,
) -> Result<Bytes, BodyError> {
    let mut pieces: Vec<Vec<u8>> = Vec::new();
    let mut stored = 0usize;
    let mut seen: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Incomplete)?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen += data.len() as u64;
        if seen > limit as u64 {
            if seen > DRAIN_CAP {
                break;
            }
            continue;
        }
        let mut rest = &data[..];
        while !rest.is_empty() {
            if pieces.last().is_none_or(|p| p.len() == p.capacity()) {
                // Sized for what is still to come when the client said, so a small body is one
                // exact allocation.
                let announced = declared.map_or(0, |d| (d as usize).saturating_sub(stored));
                let size = rest.len().max(announced).min(BODY_PIECE);
                reservation
                    .grow(size)
                    .await
                    .map_err(|_| BodyError::BudgetExhausted)?;
                pieces.push(Vec::with_capacity(size));
            }
            let Some(piece) = pieces.last_mut() else {
                break;
            };
            let take = (piece.capacity() - piece.len()).min(rest.len());
            piece.extend_from_slice(&rest[..take]);
            stored += take;
            rest = &rest[take..];
        }
    }
    if seen > limit as u64 {
        return Err(BodyError::TooLarge);
    }
    if pieces.len() <= 1 {
        return Ok(pieces.pop().map(Bytes::from).unwrap_or_default());
    }
    // One contiguous copy for the pipeline: reserved before it exists, and the pieces' share
    // given back once they are freed.
    let pieces_size: usize = pieces.iter().map(Vec::capacity).sum();
    reservation
        .grow(stored)
        .await
        .map_err(|_| BodyError::BudgetExhausted)?;
    let mut joined = Vec::with_capacity(stored);
    for piece in pieces {
        joined.extend_from_slice(&piece);
    }
    reservation.release(pieces_size);
    Ok(Bytes::from(joined))
}

/// The body budget is spent: AWS's throttling error for the protocol, as a 503 so that SDKs retry
/// it (as throttling by its code, as a transient failure by its status).
fn budget_exhausted(protocol: Protocol) -> AwsError {
    let code = match protocol {
        Protocol::Json => "ThrottlingException",
        Protocol::Query => "Throttling",
    };
    AwsError::new(
        503,
        code,
        "Too many request bodies are being received at once; retry the request.",
    )
}

fn too_large(limit: usize) -> AwsError {
    AwsError::new(
        413,
        "RequestEntityTooLarge",
        format!("The request body exceeds the maximum allowed size of {limit} bytes."),
    )
}

/// Builds the acceptor for a rustls server configuration.
pub fn acceptor(config: Arc<rustls::ServerConfig>) -> TlsAcceptor {
    TlsAcceptor::from(config)
}

/// The SIGHUP stream, installed when this is called (a SIGHUP's default action ends the
/// process): each one asks for the TLS certificate to be reloaded.
pub fn reload_signal() -> std::io::Result<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is called, not when the
/// future is first polled: a signal arriving between the call and the server's first wait (say,
/// right after the "listening" line) still shuts the server down gracefully instead of killing
/// the process by the signal's default action.
pub fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = interrupt.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
