//! The load generator: hyper client connections (HTTP/1.1 keep-alive, or HTTP/2 with several
//! multiplexed streams, or gRPC unary calls), latencies in HDR histograms.
//!
//! Two modes:
//! - **closed loop** (default): every worker sends its next request as soon as the previous
//!   response's last byte arrived, which measures maximum throughput. A closed loop hides
//!   stalls (coordinated omission: while a request hangs, the requests that would have queued
//!   behind it are never sent), so the reported histogram is corrected with
//!   `record_correct(latency, expected_interval)`, the expected interval being the worker's
//!   mean latency during warm-up; the uncorrected histogram is reported too.
//! - **constant rate** (`rate`): each worker has a schedule of intended start times and
//!   latency counts from the intended start whenever the worker is behind schedule, as wrk2
//!   does. When it is ahead it sleeps, and counts from the actual send, so the timer's
//!   granularity is not charged to the system under test.
//!
//! Connections are opened and handshaken before the warm-up starts; only responses that
//! complete inside the timed window are counted and recorded.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

use super::hbone::HboneTarget;
use super::upstream::{grpc_frame, protobuf_bytes_field};
use super::Protocol;

/// Highest latency the histograms hold: one minute, in nanoseconds.
const MAX_NS: u64 = 60_000_000_000;

/// One measurement's load.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub addr: SocketAddr,
    pub protocol: Protocol,
    pub connections: usize,
    /// Concurrent requests per HTTP/2 connection.
    pub streams: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// Total requests/s for constant-rate mode; `None` is closed loop.
    pub rate: Option<f64>,
    /// Each connection is an HBONE tunnel through this waypoint instead of a TCP connection
    /// to `addr` (which is then the tunnel's destination and the `Host`).
    pub hbone: Option<HboneTarget>,
}

/// What a measurement saw in its timed window.
#[derive(Debug, Clone)]
pub struct LoadResult {
    /// Responses completed in the window (any status).
    pub completed: u64,
    /// Of those, how many were not 2xx (or gRPC status ≠ 0).
    pub non_2xx: u64,
    /// Transport failures (connect, reset, protocol errors).
    pub errors: u64,
    /// Response body bytes received in the window.
    pub bytes: u64,
    pub window: Duration,
    /// Latencies in nanoseconds, corrected for coordinated omission in closed-loop mode.
    pub latency: Histogram<u64>,
    /// Latencies in nanoseconds as measured.
    pub latency_raw: Histogram<u64>,
}

impl LoadResult {
    pub fn requests_per_sec(&self) -> f64 {
        self.completed as f64 / self.window.as_secs_f64()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("connecting to {addr}: {source}")]
    Connect {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("HTTP handshake with {addr}: {source}")]
    Handshake {
        addr: SocketAddr,
        source: hyper::Error,
    },
    #[error("request to {addr}: {source}")]
    Request {
        addr: SocketAddr,
        source: hyper::Error,
    },
}

/// A client connection; HTTP/2 senders are cloned into one worker per stream.
enum Conn {
    H1(http1::SendRequest<Full<Bytes>>),
    H2(http2::SendRequest<Full<Bytes>>),
}

async fn connect(
    addr: SocketAddr,
    h2: bool,
    hbone: Option<&HboneTarget>,
) -> Result<Conn, LoadError> {
    if let Some(t) = hbone {
        let tunnel = t.open().await.map_err(|source| LoadError::Connect {
            addr: t.waypoint,
            source,
        })?;
        // HTTP/1.1 keep-alive inside the tunnel, as a pod's client speaks it to a service.
        let (tx, conn) = http1::handshake(tunnel)
            .await
            .map_err(|source| LoadError::Handshake { addr, source })?;
        tokio::spawn(conn);
        return Ok(Conn::H1(tx));
    }
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|source| LoadError::Connect { addr, source })?;
    stream
        .set_nodelay(true)
        .map_err(|source| LoadError::Connect { addr, source })?;
    let io = TokioIo::new(stream);
    let hs = |source| LoadError::Handshake { addr, source };
    if h2 {
        // Windows as large as h2load's defaults, so flow control never paces the client.
        let (tx, conn) = http2::Builder::new(TokioExecutor::new())
            .initial_stream_window_size(1 << 30)
            .initial_connection_window_size(1 << 30)
            .handshake(io)
            .await
            .map_err(hs)?;
        tokio::spawn(conn);
        Ok(Conn::H2(tx))
    } else {
        let (tx, conn) = http1::handshake(io).await.map_err(hs)?;
        tokio::spawn(conn);
        Ok(Conn::H1(tx))
    }
}

/// The request every worker sends.
struct Template {
    protocol: Protocol,
    authority: String,
    grpc_body: Bytes,
}

impl Template {
    fn new(addr: SocketAddr, protocol: Protocol) -> Self {
        Self {
            protocol,
            authority: addr.to_string(),
            grpc_body: grpc_frame(&protobuf_bytes_field(1, b"bench")),
        }
    }

    fn request(&self) -> Request<Full<Bytes>> {
        let b = Request::builder();
        let req = match self.protocol {
            Protocol::Http1 => b
                .uri("/bench")
                .header(http::header::HOST, &self.authority)
                .body(Full::new(Bytes::new())),
            Protocol::Http2 => b
                .uri(format!("http://{}/bench", self.authority))
                .body(Full::new(Bytes::new())),
            Protocol::Grpc => b
                .method("POST")
                .uri(format!("http://{}/bench.Bench/Unary", self.authority))
                .header(http::header::CONTENT_TYPE, "application/grpc")
                .header(http::header::TE, "trailers")
                .body(Full::new(self.grpc_body.clone())),
        };
        req.expect("the request template is valid")
    }
}

/// A response's outcome: whether it succeeded, and its body size.
struct Outcome {
    ok: bool,
    bytes: u64,
}

async fn send(conn: &mut Conn, t: &Template) -> Result<Outcome, hyper::Error> {
    let req = t.request();
    let resp = match conn {
        Conn::H1(tx) => {
            tx.ready().await?;
            tx.send_request(req).await?
        }
        Conn::H2(tx) => {
            tx.ready().await?;
            tx.send_request(req).await?
        }
    };
    let status_ok = resp.status().is_success();
    let mut body = resp.into_body();
    let mut bytes = 0u64;
    let mut grpc_ok = false;
    while let Some(frame) = body.frame().await {
        let frame = frame?;
        if let Some(d) = frame.data_ref() {
            bytes += d.len() as u64;
        } else if let Some(t) = frame.trailers_ref() {
            grpc_ok = t.get("grpc-status").is_some_and(|v| v == "0");
        }
    }
    let ok = status_ok && (t.protocol != Protocol::Grpc || grpc_ok);
    Ok(Outcome { ok, bytes })
}

/// Sends one request on a fresh connection: readiness checks and smoke tests.
pub async fn probe(
    addr: SocketAddr,
    protocol: Protocol,
    hbone: Option<&HboneTarget>,
) -> Result<StatusCode, LoadError> {
    let mut conn = connect(addr, protocol.is_h2(), hbone).await?;
    let t = Template::new(addr, protocol);
    let req = t.request();
    let res = match &mut conn {
        Conn::H1(tx) => tx.send_request(req).await,
        Conn::H2(tx) => tx.send_request(req).await,
    };
    let resp = res.map_err(|source| LoadError::Request { addr, source })?;
    let status = resp.status();
    let _ = resp.into_body().collect().await;
    Ok(status)
}

/// Timing shared by all workers of a measurement.
struct Plan {
    spec: LoadSpec,
    template: Template,
    /// Warm-up starts.
    start: Instant,
    /// Timed window starts.
    measure: Instant,
    end: Instant,
}

struct WorkerStats {
    completed: u64,
    non_2xx: u64,
    errors: u64,
    bytes: u64,
    latency: Histogram<u64>,
    latency_raw: Histogram<u64>,
}

impl WorkerStats {
    fn new() -> Self {
        Self {
            completed: 0,
            non_2xx: 0,
            errors: 0,
            bytes: 0,
            latency: histogram(),
            latency_raw: histogram(),
        }
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_NS, 3).expect("static histogram bounds are valid")
}

/// Connections opened and handshaken, ready to [`Prepared::start`].
pub struct Prepared {
    spec: LoadSpec,
    conns: Vec<Conn>,
}

/// Connects every connection of `spec`; nothing is timed yet.
pub async fn prepare(spec: LoadSpec) -> Result<Prepared, LoadError> {
    let h2 = spec.protocol.is_h2();
    let mut conns = Vec::with_capacity(spec.connections);
    for _ in 0..spec.connections.max(1) {
        conns.push(connect(spec.addr, h2, spec.hbone.as_ref()).await?);
    }
    Ok(Prepared { spec, conns })
}

/// A measurement in progress.
pub struct Running {
    /// When the timed window starts (after the warm-up) and ends.
    pub measure: Instant,
    pub end: Instant,
    tasks: Vec<tokio::task::JoinHandle<WorkerStats>>,
}

impl Prepared {
    /// Starts the workers: warm-up now, then the timed window.
    pub fn start(self) -> Running {
        let per_conn = if self.spec.protocol.is_h2() {
            self.spec.streams.max(1)
        } else {
            1
        };
        let workers = self.conns.len() * per_conn;
        let start = Instant::now();
        let plan = Arc::new(Plan {
            template: Template::new(self.spec.addr, self.spec.protocol),
            start,
            measure: start + self.spec.warmup,
            end: start + self.spec.warmup + self.spec.duration,
            spec: self.spec,
        });
        let interval = plan
            .spec
            .rate
            .filter(|r| *r > 0.0)
            .map(|r| Duration::from_secs_f64(workers as f64 / r));
        let each = self.conns.into_iter().flat_map(|c| match c {
            Conn::H1(tx) => vec![Conn::H1(tx)],
            Conn::H2(tx) => (0..per_conn).map(|_| Conn::H2(tx.clone())).collect(),
        });
        let tasks = each
            .enumerate()
            .map(|(i, conn)| {
                let offset = interval.map(|iv| iv.mul_f64(i as f64 / workers as f64));
                tokio::spawn(worker(conn, plan.clone(), interval, offset))
            })
            .collect();
        Running {
            measure: plan.measure,
            end: plan.end,
            tasks,
        }
    }
}

impl Running {
    /// Waits for every worker and merges their counts and histograms.
    pub async fn finish(self) -> LoadResult {
        let mut total = WorkerStats::new();
        for t in self.tasks {
            let Ok(w) = t.await else { continue };
            total.completed += w.completed;
            total.non_2xx += w.non_2xx;
            total.errors += w.errors;
            total.bytes += w.bytes;
            let _ = total.latency.add(&w.latency);
            let _ = total.latency_raw.add(&w.latency_raw);
        }
        LoadResult {
            completed: total.completed,
            non_2xx: total.non_2xx,
            errors: total.errors,
            bytes: total.bytes,
            window: self.end - self.measure,
            latency: total.latency,
            latency_raw: total.latency_raw,
        }
    }
}

/// Connects, warms up and measures in one call.
pub async fn run(spec: LoadSpec) -> Result<LoadResult, LoadError> {
    Ok(prepare(spec).await?.start().finish().await)
}

async fn worker(
    mut conn: Conn,
    plan: Arc<Plan>,
    interval: Option<Duration>,
    offset: Option<Duration>,
) -> WorkerStats {
    let mut s = WorkerStats::new();
    let mut next = plan.start + offset.unwrap_or_default();
    let (mut warm_ns, mut warm_n) = (0u128, 0u64);
    loop {
        let now = Instant::now();
        if now >= plan.end {
            break;
        }
        let t0 = match interval {
            None => now,
            Some(iv) => {
                let intended = next;
                next += iv;
                if intended > now {
                    tokio::time::sleep_until(intended.into()).await;
                    Instant::now()
                } else {
                    intended
                }
            }
        };
        if t0 >= plan.end {
            break;
        }
        let outcome = send(&mut conn, &plan.template).await;
        let t1 = Instant::now();
        let Ok(outcome) = outcome else {
            if t1 >= plan.measure {
                s.errors += 1;
            }
            match reconnect(&plan).await {
                Some(c) => conn = c,
                None => break,
            }
            continue;
        };
        let ns = (t1 - t0).as_nanos().min(u128::from(MAX_NS)) as u64;
        if t1 < plan.measure {
            warm_ns += u128::from(ns);
            warm_n += 1;
            continue;
        }
        if t1 > plan.end {
            break;
        }
        s.completed += 1;
        s.bytes += outcome.bytes;
        s.non_2xx += u64::from(!outcome.ok);
        s.latency_raw.saturating_record(ns.max(1));
        let expected =
            (interval.is_none() && warm_n > 0).then(|| (warm_ns / u128::from(warm_n)) as u64);
        match expected {
            Some(e) if e > 0 => {
                let _ = s.latency.record_correct(ns.max(1), e);
            }
            _ => s.latency.saturating_record(ns.max(1)),
        }
    }
    s
}

/// A new connection for a worker whose connection failed, retried until the plan ends.
async fn reconnect(plan: &Plan) -> Option<Conn> {
    while Instant::now() < plan.end {
        let (addr, h2) = (plan.spec.addr, plan.spec.protocol.is_h2());
        if let Ok(c) = connect(addr, h2, plan.spec.hbone.as_ref()).await {
            return Some(c);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}
