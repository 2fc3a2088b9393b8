//! The load generator: N workers, one keep-alive connection each, every request freshly signed.
//! Connections are opened before the clock starts so TLS handshakes are not measured; the server's
//! CPU counter is read when the clock starts and when the last worker is done.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::Full;
use serde::Serialize;
use tokio::sync::Barrier;

use crate::client::{error_code, Conn, Endpoint};
use crate::latency::Latencies;
use crate::proc_stats::{self, Memory};
use crate::sigv4::{self, Signer};
use crate::workload::Generator;

#[derive(Clone, Copy, Debug)]
pub enum Stop {
    After(Duration),
    Requests(u64),
}

#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub region: String,
}

pub struct LoadConfig {
    pub concurrency: usize,
    pub stop: Stop,
    /// The server processes (one per node) whose CPU and memory to read.
    pub server_pids: Vec<u32>,
    /// The database server's postmaster, whose process tree's CPU is reported apart.
    pub database_pid: Option<u32>,
    pub credentials: Credentials,
    /// Open loop: send at this many requests/s in total, evenly spread over the workers, and
    /// measure each latency from when its request was due, so a stalled server is not flattered
    /// by the requests it delayed (coordinated omission). `None`: each worker sends as fast as
    /// its responses come back.
    pub rate: Option<f64>,
}

#[derive(Clone, Debug, Default, Serialize, serde::Deserialize)]
pub struct LoadReport {
    pub concurrency: usize,
    /// The open-loop rate asked for, if any.
    pub target_rps: Option<f64>,
    pub elapsed_s: f64,
    /// 2xx responses.
    pub ok: u64,
    /// Non-2xx responses and transport failures.
    pub errors: u64,
    pub error_kinds: BTreeMap<String, u64>,
    /// Successful requests per second.
    pub rps: f64,
    pub p50_us: Option<f64>,
    pub p99_us: Option<f64>,
    pub p999_us: Option<f64>,
    pub mean_us: Option<f64>,
    pub max_us: Option<f64>,
    /// Server CPU (user + system, every node) per response, successful or not.
    pub server_cpu_us_per_req: Option<f64>,
    /// The database server's CPU (PostgreSQL's postmaster and its backends) per response: the
    /// work a PostgreSQL target moves out of Coffer.
    pub database_cpu_us_per_req: Option<f64>,
    /// One clock tick over the responses: the precision of the figure above.
    pub cpu_resolution_us: Option<f64>,
    /// CPU the rest of the machine used meanwhile, in cores: a figure measured beside other work
    /// is not a figure (see `suite::QUIET_CORES`).
    pub foreign_load_cores: Option<f64>,
    pub server_memory: Option<Memory>,
}

#[derive(Default)]
struct WorkerResult {
    latencies: Latencies,
    ok: u64,
    /// Responses that came back with an error status: the server did the work.
    http_errors: u64,
    transport_errors: u64,
    kinds: BTreeMap<String, u64>,
}

impl WorkerResult {
    fn tally(&mut self, kind: String) {
        *self.kinds.entry(kind).or_insert(0) += 1;
    }
}

/// Runs the load with worker `i` on `endpoints[i % endpoints.len()]`: several nodes share the
/// connections evenly.
pub async fn run(
    endpoints: &[Arc<Endpoint>],
    config: &LoadConfig,
    mut generator: impl FnMut(usize) -> Generator,
) -> LoadReport {
    let concurrency = config.concurrency.max(1);
    let barrier = Arc::new(Barrier::new(concurrency + 1));
    let counter = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::with_capacity(concurrency);
    if endpoints.is_empty() {
        let mut report = LoadReport {
            concurrency,
            errors: 1,
            ..LoadReport::default()
        };
        report.error_kinds.insert("no endpoint".into(), 1);
        return report;
    }
    for i in 0..concurrency {
        let ep = endpoints[i % endpoints.len()].clone();
        let signer = Signer::new(
            &config.credentials.access_key_id,
            &config.credentials.secret_access_key,
            &config.credentials.region,
        );
        let pacing = pacing(config.rate, concurrency, i);
        workers.push(tokio::spawn(worker(
            ep,
            generator(i),
            signer,
            config.stop,
            pacing,
            counter.clone(),
            barrier.clone(),
        )));
    }
    barrier.wait().await;
    let ticks_before = server_ticks(&config.server_pids);
    let database_before = config
        .database_pid
        .and_then(|p| proc_stats::tree_cpu_ticks(p).ok());
    let load_before = proc_stats::LoadSample::now(&config.server_pids, config.database_pid);
    let start = Instant::now();

    let mut total = WorkerResult::default();
    for w in workers {
        match w.await {
            Ok(r) => {
                total.latencies.merge(&r.latencies);
                total.ok += r.ok;
                total.http_errors += r.http_errors;
                total.transport_errors += r.transport_errors;
                for (k, v) in r.kinds {
                    *total.kinds.entry(k).or_insert(0) += v;
                }
            }
            Err(e) => {
                total.transport_errors += 1;
                total.tally(format!("worker failed: {e}"));
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let load_after = proc_stats::LoadSample::now(&config.server_pids, config.database_pid);
    let ticks_after = server_ticks(&config.server_pids);
    let database_after = config
        .database_pid
        .and_then(|p| proc_stats::tree_cpu_ticks(p).ok());
    let responses = total.ok + total.http_errors;
    let hz = proc_stats::ticks_per_second();
    let cpu = match (ticks_before, ticks_after) {
        (Some(b), Some(a)) => proc_stats::cpu_us_per_request(b, a, hz, responses),
        _ => None,
    };
    let database_cpu = match (database_before, database_after) {
        (Some(b), Some(a)) => proc_stats::cpu_us_per_request(b, a, hz, responses),
        _ => None,
    };
    let l = &total.latencies;
    LoadReport {
        concurrency,
        target_rps: config.rate,
        elapsed_s: elapsed,
        ok: total.ok,
        errors: total.http_errors + total.transport_errors,
        error_kinds: total.kinds,
        rps: if elapsed > 0.0 {
            total.ok as f64 / elapsed
        } else {
            0.0
        },
        p50_us: l.quantile_us(0.50),
        p99_us: l.quantile_us(0.99),
        p999_us: l.quantile_us(0.999),
        mean_us: l.mean_us(),
        max_us: l.max_us(),
        server_cpu_us_per_req: cpu,
        database_cpu_us_per_req: database_cpu,
        cpu_resolution_us: cpu.and(proc_stats::cpu_resolution_us(hz, responses)),
        foreign_load_cores: match (load_before, load_after) {
            (Some(b), Some(a)) => b.foreign_cores(&a, elapsed, hz),
            _ => None,
        },
        server_memory: if config.server_pids.is_empty() {
            None
        } else {
            proc_stats::memory_sum(&config.server_pids).ok()
        },
    }
}

/// The servers' CPU ticks, or `None` when there is no server to read (or one has gone).
fn server_ticks(pids: &[u32]) -> Option<u64> {
    if pids.is_empty() {
        return None;
    }
    proc_stats::cpu_ticks_sum(pids).ok()
}

/// (first offset, interval) of worker `i` sending its share of `rate` requests/s: the workers'
/// schedules interleave so the server sees an even stream.
fn pacing(rate: Option<f64>, concurrency: usize, i: usize) -> Option<(Duration, Duration)> {
    let rate = rate.filter(|r| *r > 0.0)?;
    let interval = concurrency as f64 / rate;
    let offset = interval * i as f64 / concurrency as f64;
    Some((
        Duration::from_secs_f64(offset),
        Duration::from_secs_f64(interval),
    ))
}

async fn worker(
    ep: Arc<Endpoint>,
    mut generator: Generator,
    mut signer: Signer,
    stop: Stop,
    pacing: Option<(Duration, Duration)>,
    counter: Arc<AtomicU64>,
    barrier: Arc<Barrier>,
) -> WorkerResult {
    let mut out = WorkerResult::default();
    let mut conn = match Conn::connect(&ep).await {
        Ok(c) => Some(c),
        Err(e) => {
            out.transport_errors += 1;
            out.tally(short(&format!("connect: {e:#}")));
            None
        }
    };
    barrier.wait().await;
    let started = Instant::now();
    let deadline = match stop {
        Stop::After(d) => Some(started + d),
        Stop::Requests(_) => None,
    };
    let mut due = pacing.map(|(offset, _)| started + offset);
    loop {
        // Open loop: a request the server held back (the previous answer came after this one was
        // due) is timed from when it was due, so slow answers are not hidden (coordinated
        // omission). One that waited on the client's own timer, which wakes up to a millisecond
        // late, is timed from when it is sent: that delay is the load generator's, not the server's.
        let mut waited = false;
        if let Some(at) = due {
            if Instant::now() < at {
                tokio::time::sleep_until(at.into()).await;
                waited = true;
            }
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let seq = counter.fetch_add(1, Ordering::Relaxed);
        if let Stop::Requests(n) = stop {
            if seq >= n {
                break;
            }
        }
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match Conn::connect(&ep).await {
                Ok(c) => conn.insert(c),
                Err(e) => {
                    out.transport_errors += 1;
                    out.tally(short(&format!("connect: {e:#}")));
                    // Do not spin against a server that is gone.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let op = generator.next(seq);
        let req = match build_request(&ep, &mut signer, &op) {
            Ok(r) => r,
            Err(e) => {
                out.transport_errors += 1;
                out.tally(short(&format!("request: {e}")));
                continue;
            }
        };
        let sent = match due {
            Some(at) if !waited => at,
            _ => Instant::now(),
        };
        if let (Some(at), Some((_, interval))) = (due.as_mut(), pacing) {
            *at += interval;
        }
        // A request still unanswered this long after the point's end is given up on: a slow
        // operation must not stretch a point (and the whole run) without bound.
        let sent_result = match deadline {
            Some(d) => {
                let give_up = d.max(Instant::now()) + LATE_GRACE;
                match tokio::time::timeout_at(give_up.into(), c.send(req)).await {
                    Ok(r) => r,
                    Err(_) => {
                        out.transport_errors += 1;
                        out.tally(format!(
                            "timeout: unanswered {} s after the point ended",
                            LATE_GRACE.as_secs()
                        ));
                        break;
                    }
                }
            }
            None => c.send(req).await,
        };
        match sent_result {
            Ok(resp) => {
                let latency = sent.elapsed();
                let ok = resp.status.is_success();
                if ok {
                    out.ok += 1;
                    out.latencies.record(latency);
                } else {
                    out.http_errors += 1;
                    out.tally(format!(
                        "HTTP {} {}",
                        resp.status.as_u16(),
                        error_code(&resp)
                    ));
                }
                generator.observe(&op, ok, &resp.body);
                if resp.closes {
                    conn = None;
                }
            }
            Err(e) => {
                out.transport_errors += 1;
                out.tally(short(&format!("transport: {e:#}")));
                conn = None;
            }
        }
    }
    out
}

const LATE_GRACE: Duration = Duration::from_secs(10);

pub(crate) fn build_request(
    ep: &Endpoint,
    signer: &mut Signer,
    op: &crate::workload::Op,
) -> anyhow::Result<Request<Full<Bytes>>> {
    let mut headers: Vec<(&str, &str)> = vec![
        ("host", ep.authority.as_str()),
        ("content-type", op.content_type),
    ];
    if let Some(t) = op.target {
        headers.push(("x-amz-target", t));
    }
    let sig = signer.sign_now(
        op.service,
        &sigv4::Request {
            method: "POST",
            path: "/",
            canonical_query: "",
            headers: &headers,
            body: &op.body,
        },
    );
    let mut builder = Request::builder().method(Method::POST).uri("/");
    for (name, value) in &headers {
        builder = builder.header(*name, *value);
    }
    Ok(builder
        .header("x-amz-date", sig.amz_date)
        .header("authorization", sig.authorization)
        .body(Full::new(Bytes::from(op.body.clone())))?)
}

/// Error tallies are keyed by message; keep them short and free of per-request detail.
fn short(msg: &str) -> String {
    let mut s: String = msg.chars().take(80).collect();
    if s.len() < msg.len() {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paced_workers_share_the_rate_and_interleave() {
        assert_eq!(pacing(None, 4, 0), None);
        assert_eq!(pacing(Some(0.0), 4, 0), None);
        // 1,000/s over 4 workers: each sends every 4 ms, starting 1 ms apart.
        let (o0, i0) = pacing(Some(1000.0), 4, 0).unwrap();
        let (o3, i3) = pacing(Some(1000.0), 4, 3).unwrap();
        assert_eq!(o0, Duration::ZERO);
        assert_eq!(i0, Duration::from_millis(4));
        assert_eq!(i3, Duration::from_millis(4));
        assert_eq!(o3, Duration::from_millis(3));
    }

    #[test]
    fn error_kinds_are_kept_short() {
        assert_eq!(short("abc"), "abc");
        let long = "x".repeat(200);
        assert_eq!(short(&long).chars().count(), 81);
    }
}
