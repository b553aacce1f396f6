//! Start-up memory of the proxy with the filters: what loading them costs on top of serving.
//!
//! Two starts of the same child configuration share one module cache. The first compiles the
//! filters; its `VmHWM` once ready is the compile's peak. The measured child starts second,
//! from the warm cache, as a restart or a deployment with a primed cache does; its `VmHWM`
//! once ready (before any load, so before the windows reset it) is the start-up peak, and its
//! `VmRSS` after the last round the steady state. The limit is on their difference: a start
//! from the cache must not need much more memory than serving does.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::child::{ChildError, ChildSpec, ProxyChild};
use super::procstat;
use super::Protocol;

/// The figures, in KiB (`None` when not measured: no filters, or `/proc` unreadable).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct StartupMemory {
    /// `VmHWM` of a first start, which compiled the filters into the empty module cache.
    pub compiled_start_peak_kib: Option<u64>,
    /// `VmHWM` of the measured child, started from the warm cache, once ready.
    pub cached_start_peak_kib: Option<u64>,
    /// `VmRSS` of the measured child after the last round.
    pub steady_rss_kib: Option<u64>,
}

impl StartupMemory {
    /// Cached start-up peak minus steady RSS, KiB (negative: the peak was below steady).
    pub fn cached_peak_over_steady_kib(&self) -> Option<i64> {
        Some(self.cached_start_peak_kib? as i64 - self.steady_rss_kib? as i64)
    }

    /// One line for the text and markdown reports (`None` when nothing was measured).
    pub fn line(&self) -> Option<String> {
        let mib = |k: Option<u64>| k.map_or("-".into(), |k| format!("{:.1}", k as f64 / 1024.0));
        self.steady_rss_kib?;
        let mut line = format!(
            "start-up memory (proxy+filters): peak {} MiB from the module cache vs {} MiB steady RSS after the rounds",
            mib(self.cached_start_peak_kib),
            mib(self.steady_rss_kib)
        );
        if let Some(d) = self.cached_peak_over_steady_kib() {
            let _ = write!(line, " ({:+.1} MiB)", d as f64 / 1024.0);
        }
        let _ = write!(
            line,
            "; first start, compiling: peak {} MiB",
            mib(self.compiled_start_peak_kib)
        );
        Some(line)
    }
}

/// Starts `spec` once so its filters are compiled into the module cache, and returns that
/// start's peak RSS (KiB) once ready; the child is stopped before returning.
pub async fn prime_cache(
    spec: &ChildSpec<'_>,
    protocol: Protocol,
    timeout: Duration,
) -> Result<Option<u64>, ChildError> {
    let mut child = ProxyChild::start(spec)?;
    child.wait_ready(protocol, timeout).await?;
    let peak = procstat::memory(child.pid()).ok().map(|m| m.peak_kib);
    child.stop(Duration::from_secs(5));
    Ok(peak)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_reports_the_difference_and_the_compiling_start() {
        let m = StartupMemory {
            compiled_start_peak_kib: Some(100 * 1024),
            cached_start_peak_kib: Some(26 * 1024),
            steady_rss_kib: Some(25 * 1024),
        };
        assert_eq!(m.cached_peak_over_steady_kib(), Some(1024));
        let line = m.line().unwrap();
        assert!(line.contains("peak 26.0 MiB from the module cache vs 25.0 MiB steady RSS after the rounds (+1.0 MiB)"), "{line}");
        assert!(line.ends_with("compiling: peak 100.0 MiB"), "{line}");
        assert_eq!(StartupMemory::default().line(), None);
    }
}
