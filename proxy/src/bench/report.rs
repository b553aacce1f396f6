//! Measurements, medians over rounds, ratios, and their table and JSON forms.

use std::fmt::Write as _;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::procstat::Machine;
use super::startup::StartupMemory;
use super::Options;

/// What was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Variant {
    /// (a) load generator → upstream.
    Direct,
    /// (b) → proxy without filters → upstream.
    Proxy,
    /// (c) → proxy with the filter chain → upstream.
    Filters,
    /// (w) HBONE → waypoint without filters → upstream.
    Waypoint,
    /// (w+f) HBONE → waypoint with the filter chain → upstream.
    #[serde(rename = "waypoint+filters")]
    WaypointFilters,
}

impl Variant {
    pub fn label(self) -> &'static str {
        match self {
            Variant::Direct => "direct",
            Variant::Proxy => "proxy",
            Variant::Filters => "proxy+filters",
            Variant::Waypoint => "waypoint",
            Variant::WaypointFilters => "waypoint+filters",
        }
    }
}

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p99_9: f64,
    pub max: f64,
}

impl Latency {
    pub fn of(h: &Histogram<u64>) -> Self {
        let us = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        Self {
            p50: us(0.5),
            p90: us(0.9),
            p99: us(0.99),
            p99_9: us(0.999),
            max: h.max() as f64 / 1000.0,
        }
    }
}

/// One variant in one round.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    pub variant: Variant,
    pub round: usize,
    pub requests: u64,
    pub requests_per_sec: f64,
    pub non_2xx: u64,
    pub errors: u64,
    /// Corrected for coordinated omission in closed-loop mode.
    pub latency_us: Latency,
    pub latency_uncorrected_us: Latency,
    /// Proxy CPU seconds per 1000 requests (equivalently vCPU per 1000 requests/s).
    pub proxy_cpu_s_per_1k: Option<f64>,
    /// Proxy peak RSS during the window, KiB.
    pub proxy_peak_rss_kib: Option<u64>,
    /// This process's (load generator + upstream) CPU seconds per 1000 requests.
    pub harness_cpu_s_per_1k: f64,
}

/// Medians over rounds of one variant.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub variant: Variant,
    pub requests_per_sec: f64,
    pub latency_us: Latency,
    pub proxy_cpu_s_per_1k: Option<f64>,
    /// The highest peak over rounds (a limit is about the worst case).
    pub proxy_peak_rss_kib: Option<u64>,
    pub non_2xx: u64,
    pub errors: u64,
}

/// Medians of per-round ratios: pairs measured back to back share the machine's state.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Ratios {
    /// (b)/(a) requests/s.
    pub proxy_vs_direct_rps: Option<f64>,
    /// (c)/(b) requests/s.
    pub filters_vs_proxy_rps: Option<f64>,
    /// (b) − (a) p50, µs.
    pub proxy_added_p50_us: Option<f64>,
    /// (c) − (b) p50, µs.
    pub filters_added_p50_us: Option<f64>,
    /// (c)/(b) p99.
    pub filters_vs_proxy_p99: Option<f64>,
    /// (w)/(b) requests/s.
    pub waypoint_vs_proxy_rps: Option<f64>,
    /// (w) − (b) p50, µs.
    pub waypoint_added_p50_us: Option<f64>,
    /// (w)/(b) p99.
    pub waypoint_vs_proxy_p99: Option<f64>,
    /// (w+f)/(w) requests/s.
    pub waypoint_filters_vs_waypoint_rps: Option<f64>,
    /// (w+f) − (w) p50, µs.
    pub waypoint_filters_added_p50_us: Option<f64>,
    /// (w+f)/(w) p99.
    pub waypoint_filters_vs_waypoint_p99: Option<f64>,
}

/// The figures scripts read, one unique key each (medians; `None` when not measured), so a
/// shell script can pick them out of the JSON without a JSON parser.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Headline {
    pub direct_rps: Option<f64>,
    pub proxy_rps: Option<f64>,
    pub filters_rps: Option<f64>,
    pub proxy_p99_us: Option<f64>,
    pub filters_p99_us: Option<f64>,
    pub proxy_cpu_s_per_1k_req: Option<f64>,
    pub filters_cpu_s_per_1k_req: Option<f64>,
    pub proxy_peak_rss_kib: Option<u64>,
    pub filters_peak_rss_kib: Option<u64>,
    pub waypoint_rps: Option<f64>,
    pub waypoint_filters_rps: Option<f64>,
    pub waypoint_p99_us: Option<f64>,
    pub waypoint_filters_p99_us: Option<f64>,
    pub waypoint_cpu_s_per_1k_req: Option<f64>,
    pub waypoint_filters_cpu_s_per_1k_req: Option<f64>,
    pub waypoint_peak_rss_kib: Option<u64>,
    pub waypoint_filters_peak_rss_kib: Option<u64>,
}

impl Headline {
    pub fn of(summary: &[Summary]) -> Self {
        let get = |v: Variant| summary.iter().find(|s| s.variant == v);
        let (a, b, c) = (
            get(Variant::Direct),
            get(Variant::Proxy),
            get(Variant::Filters),
        );
        let (w, wf) = (get(Variant::Waypoint), get(Variant::WaypointFilters));
        Self {
            direct_rps: a.map(|s| s.requests_per_sec),
            proxy_rps: b.map(|s| s.requests_per_sec),
            filters_rps: c.map(|s| s.requests_per_sec),
            proxy_p99_us: b.map(|s| s.latency_us.p99),
            filters_p99_us: c.map(|s| s.latency_us.p99),
            proxy_cpu_s_per_1k_req: b.and_then(|s| s.proxy_cpu_s_per_1k),
            filters_cpu_s_per_1k_req: c.and_then(|s| s.proxy_cpu_s_per_1k),
            proxy_peak_rss_kib: b.and_then(|s| s.proxy_peak_rss_kib),
            filters_peak_rss_kib: c.and_then(|s| s.proxy_peak_rss_kib),
            waypoint_rps: w.map(|s| s.requests_per_sec),
            waypoint_filters_rps: wf.map(|s| s.requests_per_sec),
            waypoint_p99_us: w.map(|s| s.latency_us.p99),
            waypoint_filters_p99_us: wf.map(|s| s.latency_us.p99),
            waypoint_cpu_s_per_1k_req: w.and_then(|s| s.proxy_cpu_s_per_1k),
            waypoint_filters_cpu_s_per_1k_req: wf.and_then(|s| s.proxy_cpu_s_per_1k),
            waypoint_peak_rss_kib: w.and_then(|s| s.proxy_peak_rss_kib),
            waypoint_filters_peak_rss_kib: wf.and_then(|s| s.proxy_peak_rss_kib),
        }
    }
}

/// The whole run: what `--json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub tool: &'static str,
    pub date_unix: u64,
    pub machine: Machine,
    pub options: Options,
    pub mode: &'static str,
    pub measurements: Vec<Measurement>,
    pub summary: Vec<Summary>,
    pub ratios: Ratios,
    pub headline: Headline,
    /// The proxy+filters child's start-up peak against its steady RSS.
    pub startup: StartupMemory,
}

pub fn median(mut v: Vec<f64>) -> Option<f64> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

pub fn summarize(ms: &[Measurement], variant: Variant) -> Option<Summary> {
    let of: Vec<&Measurement> = ms.iter().filter(|m| m.variant == variant).collect();
    if of.is_empty() {
        return None;
    }
    let med =
        |f: &dyn Fn(&Measurement) -> f64| median(of.iter().map(|m| f(m)).collect()).unwrap_or(0.0);
    Some(Summary {
        variant,
        requests_per_sec: med(&|m| m.requests_per_sec),
        latency_us: Latency {
            p50: med(&|m| m.latency_us.p50),
            p90: med(&|m| m.latency_us.p90),
            p99: med(&|m| m.latency_us.p99),
            p99_9: med(&|m| m.latency_us.p99_9),
            max: med(&|m| m.latency_us.max),
        },
        proxy_cpu_s_per_1k: median(of.iter().filter_map(|m| m.proxy_cpu_s_per_1k).collect()),
        proxy_peak_rss_kib: of.iter().filter_map(|m| m.proxy_peak_rss_kib).max(),
        non_2xx: of.iter().map(|m| m.non_2xx).sum(),
        errors: of.iter().map(|m| m.errors).sum(),
    })
}

/// Per-round `f(x, y)` for rounds that measured both variants, then the median.
fn paired(
    ms: &[Measurement],
    x: Variant,
    y: Variant,
    f: impl Fn(&Measurement, &Measurement) -> f64,
) -> Option<f64> {
    let rounds = ms.iter().map(|m| m.round).max()?;
    let find = |r, v| ms.iter().find(|m| m.round == r && m.variant == v);
    median(
        (1..=rounds)
            .filter_map(|r| Some(f(find(r, x)?, find(r, y)?)))
            .collect(),
    )
}

pub fn ratios(ms: &[Measurement]) -> Ratios {
    use Variant::*;
    Ratios {
        proxy_vs_direct_rps: paired(ms, Proxy, Direct, |b, a| {
            b.requests_per_sec / a.requests_per_sec
        }),
        filters_vs_proxy_rps: paired(ms, Filters, Proxy, |c, b| {
            c.requests_per_sec / b.requests_per_sec
        }),
        proxy_added_p50_us: paired(ms, Proxy, Direct, |b, a| {
            b.latency_us.p50 - a.latency_us.p50
        }),
        filters_added_p50_us: paired(ms, Filters, Proxy, |c, b| {
            c.latency_us.p50 - b.latency_us.p50
        }),
        filters_vs_proxy_p99: paired(ms, Filters, Proxy, |c, b| {
            c.latency_us.p99 / b.latency_us.p99
        }),
        waypoint_vs_proxy_rps: paired(ms, Waypoint, Proxy, |w, b| {
            w.requests_per_sec / b.requests_per_sec
        }),
        waypoint_added_p50_us: paired(ms, Waypoint, Proxy, |w, b| {
            w.latency_us.p50 - b.latency_us.p50
        }),
        waypoint_vs_proxy_p99: paired(ms, Waypoint, Proxy, |w, b| {
            w.latency_us.p99 / b.latency_us.p99
        }),
        waypoint_filters_vs_waypoint_rps: paired(ms, WaypointFilters, Waypoint, |f, w| {
            f.requests_per_sec / w.requests_per_sec
        }),
        waypoint_filters_added_p50_us: paired(ms, WaypointFilters, Waypoint, |f, w| {
            f.latency_us.p50 - w.latency_us.p50
        }),
        waypoint_filters_vs_waypoint_p99: paired(ms, WaypointFilters, Waypoint, |f, w| {
            f.latency_us.p99 / w.latency_us.p99
        }),
    }
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.digits$}"))
}

/// The human-readable result: one row per variant (medians) and the ratios.
pub fn table(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<16} {:>11} {:>9} {:>9} {:>9} {:>9} {:>10} {:>9} {:>8}",
        "variant",
        "req/s",
        "p50 µs",
        "p90 µs",
        "p99 µs",
        "p99.9 µs",
        "cpu-s/1k",
        "peak MiB",
        "errors"
    );
    for s in &r.summary {
        let _ = writeln!(
            out,
            "{:<16} {:>11.0} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>10} {:>9} {:>8}",
            s.variant.label(),
            s.requests_per_sec,
            s.latency_us.p50,
            s.latency_us.p90,
            s.latency_us.p99,
            s.latency_us.p99_9,
            opt(s.proxy_cpu_s_per_1k, 4),
            opt(s.proxy_peak_rss_kib.map(|k| k as f64 / 1024.0), 1),
            s.errors + s.non_2xx,
        );
    }
    let x = &r.ratios;
    let _ = writeln!(out);
    if x.proxy_vs_direct_rps.is_some() {
        let _ = writeln!(
            out,
            "proxy/direct req/s {}  (p50 +{} µs)",
            opt(x.proxy_vs_direct_rps, 3),
            opt(x.proxy_added_p50_us, 1)
        );
    }
    for line in waypoint_ratio_lines(x) {
        let _ = writeln!(out, "{line}");
    }
    if x.filters_vs_proxy_rps.is_some() {
        let _ = writeln!(
            out,
            "filters/proxy req/s {}  (p50 +{} µs, p99 ×{})",
            opt(x.filters_vs_proxy_rps, 3),
            opt(x.filters_added_p50_us, 1),
            opt(x.filters_vs_proxy_p99, 2)
        );
    }
    if let Some(line) = r.startup.line() {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(
        out,
        "medians of {} rounds; {}; cpu-s/1k = proxy CPU seconds per 1000 requests (= vCPU per 1000 req/s)",
        r.options.rounds, r.mode
    );
    out
}

/// The waypoint mode's ratios, (w)/(b) and (w+f)/(w), when measured.
fn waypoint_ratio_lines(x: &Ratios) -> Vec<String> {
    let mut lines = Vec::new();
    if x.waypoint_vs_proxy_rps.is_some() {
        lines.push(format!(
            "waypoint/proxy req/s {}  (p50 +{} µs, p99 ×{})",
            opt(x.waypoint_vs_proxy_rps, 3),
            opt(x.waypoint_added_p50_us, 1),
            opt(x.waypoint_vs_proxy_p99, 2)
        ));
    }
    if x.waypoint_filters_vs_waypoint_rps.is_some() {
        lines.push(format!(
            "waypoint+filters/waypoint req/s {}  (p50 +{} µs, p99 ×{})",
            opt(x.waypoint_filters_vs_waypoint_rps, 3),
            opt(x.waypoint_filters_added_p50_us, 1),
            opt(x.waypoint_filters_vs_waypoint_p99, 2)
        ));
    }
    lines
}

/// The same figures as [`table`] as a markdown table (for BENCHMARKS.md).
pub fn markdown(r: &Report) -> String {
    let mut out = String::new();
    out.push_str("| variant | req/s | p50 µs | p90 µs | p99 µs | p99.9 µs | proxy CPU s/1k req | proxy peak RSS MiB | non-2xx + errors |\n");
    out.push_str("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for s in &r.summary {
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} | {} |",
            s.variant.label(),
            s.requests_per_sec,
            s.latency_us.p50,
            s.latency_us.p90,
            s.latency_us.p99,
            s.latency_us.p99_9,
            opt(s.proxy_cpu_s_per_1k, 4),
            opt(s.proxy_peak_rss_kib.map(|k| k as f64 / 1024.0), 1),
            s.errors + s.non_2xx,
        );
    }
    let x = &r.ratios;
    let mut parts = Vec::new();
    if x.proxy_vs_direct_rps.is_some() {
        parts.push(format!(
            "proxy/direct req/s **{}** (p50 +{} µs)",
            opt(x.proxy_vs_direct_rps, 3),
            opt(x.proxy_added_p50_us, 1)
        ));
    }
    parts.extend(waypoint_ratio_lines(x));
    let _ = write!(out, "\n{}", parts.join("; "));
    if x.filters_vs_proxy_rps.is_some() {
        let _ = write!(
            out,
            "; proxy+filters/proxy req/s **{}** (p50 +{} µs, p99 ×{})",
            opt(x.filters_vs_proxy_rps, 3),
            opt(x.filters_added_p50_us, 1),
            opt(x.filters_vs_proxy_p99, 2)
        );
    }
    let _ = writeln!(out, ". Medians of {} rounds; {}.", r.options.rounds, r.mode);
    if let Some(line) = r.startup.line() {
        let _ = writeln!(out, "\n{}{}.", line[..1].to_uppercase(), &line[1..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(variant: Variant, round: usize, rps: f64, p50: f64) -> Measurement {
        Measurement {
            variant,
            round,
            requests: 0,
            requests_per_sec: rps,
            non_2xx: 0,
            errors: 0,
            latency_us: Latency {
                p50,
                ..Latency::default()
            },
            latency_uncorrected_us: Latency::default(),
            proxy_cpu_s_per_1k: None,
            proxy_peak_rss_kib: Some(round as u64),
            harness_cpu_s_per_1k: 0.0,
        }
    }

    #[test]
    fn medians_and_paired_ratios() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(vec![f64::NAN]), None);
        let ms = vec![
            m(Variant::Direct, 1, 100.0, 10.0),
            m(Variant::Proxy, 1, 50.0, 20.0),
            m(Variant::Direct, 2, 200.0, 10.0),
            m(Variant::Proxy, 2, 150.0, 30.0),
            m(Variant::Direct, 3, 100.0, 10.0),
            m(Variant::Proxy, 3, 90.0, 15.0),
        ];
        let r = ratios(&ms);
        assert_eq!(r.proxy_vs_direct_rps, Some(0.75));
        assert_eq!(r.proxy_added_p50_us, Some(10.0));
        assert_eq!(r.filters_vs_proxy_rps, None);
        let s = summarize(&ms, Variant::Proxy).unwrap();
        assert_eq!(s.requests_per_sec, 90.0);
        assert_eq!(s.proxy_peak_rss_kib, Some(3));
    }

    #[test]
    fn waypoint_ratios_pair_w_with_b_and_wf_with_w() {
        let ms = vec![
            m(Variant::Proxy, 1, 100.0, 10.0),
            m(Variant::Waypoint, 1, 50.0, 30.0),
            m(Variant::WaypointFilters, 1, 40.0, 35.0),
        ];
        let r = ratios(&ms);
        assert_eq!(r.waypoint_vs_proxy_rps, Some(0.5));
        assert_eq!(r.waypoint_added_p50_us, Some(20.0));
        assert_eq!(r.waypoint_filters_vs_waypoint_rps, Some(0.8));
        assert_eq!(r.waypoint_filters_added_p50_us, Some(5.0));
        assert_eq!(r.proxy_vs_direct_rps, None);
        let summary: Vec<_> = [Variant::Proxy, Variant::Waypoint, Variant::WaypointFilters]
            .iter()
            .filter_map(|v| summarize(&ms, *v))
            .collect();
        let h = Headline::of(&summary);
        assert_eq!(h.waypoint_rps, Some(50.0));
        assert_eq!(h.waypoint_filters_rps, Some(40.0));
        assert_eq!(
            serde_json::to_value(Variant::WaypointFilters).unwrap(),
            "waypoint+filters"
        );
    }
}
