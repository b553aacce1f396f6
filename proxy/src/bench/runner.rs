//! The rounds: start the upstream and the proxy children once, then measure each variant in
//! every round, rotating the order so no variant always runs first (or last) in a round.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use super::child::{ChildError, ChildSpec, ProxyChild};
use super::hbone::HboneTarget;
use super::load::{self, LoadError, LoadSpec};
use super::pki::PkiError;
use super::procstat::{self, Machine};
use super::report::{self, Latency, Measurement, Report, Variant};
use super::startup::{self, StartupMemory};
use super::upstream::{ResponseSpec, Upstream};
use super::waypoint::WaypointSetup;
use super::{Mode, Options, Protocol};

/// How long a child may take to become ready: compiling a large filter unoptimised (debug
/// builds) takes tens of seconds on a busy machine.
const READY_TIMEOUT: Duration = Duration::from_secs(180);

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("filter {path}: {source}")]
    Filter {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("starting the upstream: {0}")]
    Upstream(std::io::Error),
    #[error("creating the work directory {path}: {source}")]
    WorkDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Child(#[from] ChildError),
    #[error(transparent)]
    Pki(#[from] PkiError),
    #[error("--mode waypoint runs HTTP/1.1 inside HBONE tunnels; {0:?} is not supported there")]
    WaypointProtocol(Protocol),
    #[error("{variant} (round {round}): {source}")]
    Load {
        variant: &'static str,
        round: usize,
        source: LoadError,
    },
}

/// Removes the run's work directory (configurations, child logs) when the run ends.
struct WorkDir(PathBuf);

impl WorkDir {
    fn create() -> Result<Self, BenchError> {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos();
        let path =
            std::env::temp_dir().join(format!("microwaf-bench-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).map_err(|source| BenchError::WorkDir {
            path: path.clone(),
            source,
        })?;
        Ok(Self(path))
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the benchmark. `exe` is the `microwaf` binary started as `exe serve`; `progress`
/// receives one line per step.
pub async fn run(
    opts: &Options,
    exe: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<Report, BenchError> {
    let mut opts = opts.clone();
    for f in &mut opts.filters {
        f.path = std::fs::canonicalize(&f.path).map_err(|source| BenchError::Filter {
            path: f.path.clone(),
            source,
        })?;
    }
    if opts.mode == Mode::Waypoint && opts.protocol != Protocol::Http1 {
        return Err(BenchError::WaypointProtocol(opts.protocol));
    }
    let dir = WorkDir::create()?;
    let upstream = Upstream::start(
        "127.0.0.1:0".parse().expect("valid address"),
        &ResponseSpec {
            content: opts.content,
            body_size: opts.body_size,
        },
        opts.upstream_threads,
    )
    .map_err(BenchError::Upstream)?;
    progress(&format!("upstream on {}", upstream.addr()));

    let setup = match opts.mode {
        Mode::Waypoint => Some(WaypointSetup::create(
            &dir.0,
            upstream.addr(),
            opts.mesh_endpoint,
        )?),
        Mode::Proxy => None,
    };
    let spec = |name, filters, waypoint| ChildSpec {
        exe,
        protocol: opts.protocol,
        upstream: upstream.addr(),
        filters,
        workers: opts.proxy_workers,
        dir: &dir.0,
        name,
        waypoint,
    };
    // Every variant and its child (none for direct), started together, then waited for.
    let mut targets: Vec<(Variant, Option<ProxyChild>)> = Vec::new();
    if setup.is_none() {
        targets.push((Variant::Direct, None));
    }
    targets.push((
        Variant::Proxy,
        Some(ProxyChild::start(&spec("proxy", &[], None))?),
    ));
    if let Some(w) = &setup {
        let child = ProxyChild::start(&spec("waypoint", &[], Some(w)))?;
        targets.push((Variant::Waypoint, Some(child)));
    }
    let mut startup = StartupMemory::default();
    if !opts.filters.is_empty() {
        let (variant, name) = match &setup {
            None => (Variant::Filters, "filters"),
            Some(_) => (Variant::WaypointFilters, "waypoint-filters"),
        };
        let prime = spec("filters-compile", &opts.filters, setup.as_ref());
        progress("first start of the filters child (compiles them into the module cache)");
        startup.compiled_start_peak_kib =
            startup::prime_cache(&prime, opts.protocol, READY_TIMEOUT).await?;
        let child = ProxyChild::start(&spec(name, &opts.filters, setup.as_ref()))?;
        targets.push((variant, Some(child)));
    }
    for (variant, child) in &mut targets {
        let Some(c) = child else { continue };
        c.wait_ready(opts.protocol, READY_TIMEOUT).await?;
        if matches!(variant, Variant::Filters | Variant::WaypointFilters) {
            // Before the first window resets the high-water mark: start-up's own peak.
            startup.cached_start_peak_kib = procstat::memory(c.pid()).ok().map(|m| m.peak_kib);
        }
        let filters = match variant {
            Variant::Filters | Variant::WaypointFilters => opts.filters.len(),
            _ => 0,
        };
        progress(&format!(
            "{} ({filters} filter(s)) on {}, pid {}",
            variant.label(),
            c.addr(),
            c.pid()
        ));
    }

    let variants: Vec<Variant> = targets.iter().map(|(v, _)| *v).collect();
    let mut measurements = Vec::new();
    for round in 1..=opts.rounds.max(1) {
        let mut order: Vec<usize> = (0..targets.len()).collect();
        order.rotate_left((round - 1) % targets.len());
        for i in order {
            let (variant, child) = &targets[i];
            let (addr, hbone, pid) = match child {
                None => (upstream.addr(), None, None),
                Some(c) => {
                    let (addr, hbone) = c.load_target();
                    (addr, hbone.cloned(), Some(c.pid()))
                }
            };
            let target = LoadTarget { addr, hbone, pid };
            let m = measure(&opts, *variant, round, target).await?;
            progress(&progress_line(&opts, &m));
            measurements.push(m);
        }
    }
    for (variant, child) in targets {
        if let Some(c) = child {
            if matches!(variant, Variant::Filters | Variant::WaypointFilters) {
                startup.steady_rss_kib = procstat::memory(c.pid()).ok().map(|m| m.rss_kib);
            }
            c.stop(Duration::from_secs(5));
        }
    }
    drop(upstream);

    let summary: Vec<_> = variants
        .iter()
        .filter_map(|v| report::summarize(&measurements, *v))
        .collect();
    Ok(Report {
        tool: "microwaf bench",
        date_unix: SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        machine: Machine::read(),
        mode: match opts.rate {
            Some(_) => "constant rate; latency from intended start when behind schedule",
            None => {
                "closed loop; latency corrected for coordinated omission (interval = warm-up mean)"
            }
        },
        ratios: report::ratios(&measurements),
        headline: report::Headline::of(&summary),
        summary,
        measurements,
        options: opts,
        startup,
    })
}

/// Where one measurement's load goes, and whose CPU and memory it reads.
struct LoadTarget {
    addr: std::net::SocketAddr,
    hbone: Option<HboneTarget>,
    pid: Option<u32>,
}

/// One variant, one round: warm up, then sample the proxy's CPU and peak RSS around the timed
/// window.
async fn measure(
    opts: &Options,
    variant: Variant,
    round: usize,
    target: LoadTarget,
) -> Result<Measurement, BenchError> {
    let LoadTarget { addr, hbone, pid } = target;
    let load_err = |source| BenchError::Load {
        variant: variant.label(),
        round,
        source,
    };
    let spec = LoadSpec {
        addr,
        protocol: opts.protocol,
        connections: opts.connections,
        streams: opts.streams,
        warmup: opts.warmup,
        duration: opts.duration,
        rate: opts.rate,
        hbone,
    };
    let running = load::prepare(spec).await.map_err(load_err)?.start();
    sleep_until(running.measure).await;
    if let Some(pid) = pid {
        // Without permission the peak includes start-up; the reading is still an upper bound.
        let _ = procstat::reset_peak(pid);
    }
    let me = std::process::id();
    let cpu0 = pid.and_then(|p| procstat::cpu_time(p).ok());
    let self0 = procstat::cpu_time(me).ok();
    sleep_until(running.end).await;
    let cpu1 = pid.and_then(|p| procstat::cpu_time(p).ok());
    let self1 = procstat::cpu_time(me).ok();
    let mem = pid.and_then(|p| procstat::memory(p).ok());
    let result = running.finish().await;
    let per_1k = |a: Option<Duration>, b: Option<Duration>| {
        let (a, b) = (a?, b?);
        (result.completed > 0).then(|| (b - a).as_secs_f64() * 1000.0 / result.completed as f64)
    };
    Ok(Measurement {
        variant,
        round,
        requests: result.completed,
        requests_per_sec: result.requests_per_sec(),
        non_2xx: result.non_2xx,
        errors: result.errors,
        latency_us: Latency::of(&result.latency),
        latency_uncorrected_us: Latency::of(&result.latency_raw),
        proxy_cpu_s_per_1k: per_1k(cpu0, cpu1),
        proxy_peak_rss_kib: mem.map(|m| m.peak_kib),
        harness_cpu_s_per_1k: per_1k(self0, self1).unwrap_or(0.0),
    })
}

async fn sleep_until(t: Instant) {
    tokio::time::sleep_until(t.into()).await;
}

fn progress_line(opts: &Options, m: &Measurement) -> String {
    let mut line = format!(
        "round {}/{} {:<16} {:>9.0} req/s  p50 {:.1} µs  p99 {:.1} µs",
        m.round,
        opts.rounds,
        m.variant.label(),
        m.requests_per_sec,
        m.latency_us.p50,
        m.latency_us.p99
    );
    if let Some(c) = m.proxy_cpu_s_per_1k {
        line.push_str(&format!("  cpu {c:.4} s/1k"));
    }
    if let Some(k) = m.proxy_peak_rss_kib {
        line.push_str(&format!("  peak {:.1} MiB", k as f64 / 1024.0));
    }
    if m.errors + m.non_2xx > 0 {
        line.push_str(&format!("  errors {} non-2xx {}", m.errors, m.non_2xx));
    }
    line
}
