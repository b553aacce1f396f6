//! Plugin-defined metrics (`proxy_define_metric` & co.) with Envoy's id scheme and statuses.
//!
//! Two levels, as in Envoy: a [`MetricRegistry`] holds the series by name — shared by every VM
//! of a plugin (or of the whole process: the runtime decides by how many registries it makes) —
//! and each VM has a [`VmMetrics`] mapping its own ids to those series. Defining the same name
//! in N VMs yields N ids but one series, so the proxy exports one value.
//!
//! Ids encode the type in the two low bits (counter 0, gauge 1, histogram 2) and count up in
//! steps of 4 per type and VM, exactly like Envoy's `kMetricTypeMask`/`kMetricIdIncrement`, so
//! filters that inspect ids behave the same. Statuses (Envoy `Context::*Metric`):
//! - increment: counter offset ≤ 0 → `BadArgument`; gauges add or subtract; histograms →
//!   `BadArgument`; unknown id → `NotFound`.
//! - record: counter adds, gauge sets, histogram observes; unknown id → `NotFound`.
//! - get: counter or gauge value; histogram → `BadArgument`; unknown id → `NotFound`.
//!
//! Names are kept exactly as given (no prefix, no `_total` suffix). A name must be UTF-8 to be
//! exportable; other bytes → `BadArgument` (Envoy would accept them; Prometheus could not).
//! The same name defined as two kinds gives two series, as Envoy's stat store does; the
//! exporter sees both in the snapshot.

mod histogram;
mod vm;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use microwaf_abi::MetricType;
use parking_lot::Mutex;

pub use histogram::{Histogram, DEFAULT_BUCKETS};
pub use vm::VmMetrics;

/// The two low bits of a metric id hold its [`MetricType`].
pub const METRIC_TYPE_MASK: u32 = 0x3;
/// Ids of one type and VM advance by this much.
pub const METRIC_ID_INCREMENT: u32 = 0x4;

/// One time series.
pub enum Series {
    Counter(AtomicU64),
    Gauge(AtomicU64),
    Histogram(Histogram),
}

/// A value as exported on `/metrics`.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricValue {
    Counter(u64),
    Gauge(u64),
    /// `buckets` are (upper bound, cumulative count) pairs in increasing order; the implicit
    /// `+Inf` bucket equals `count`.
    Histogram {
        buckets: Vec<(f64, u64)>,
        sum: u64,
        count: u64,
    },
}

/// One series in a [`MetricRegistry::snapshot`].
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSnapshot {
    pub name: String,
    pub value: MetricValue,
}

/// Series by (name, kind), shared by the VMs that define them.
pub struct MetricRegistry {
    series: Mutex<BTreeMap<(String, u32), Arc<Series>>>,
    buckets: Arc<[f64]>,
}

impl Default for MetricRegistry {
    fn default() -> Self {
        Self::with_buckets(DEFAULT_BUCKETS.to_vec())
    }
}

impl MetricRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry whose histograms use these bucket upper bounds (sorted, deduplicated).
    pub fn with_buckets(mut buckets: Vec<f64>) -> Self {
        buckets.retain(|b| b.is_finite());
        buckets.sort_by(f64::total_cmp);
        buckets.dedup();
        MetricRegistry {
            series: Mutex::new(BTreeMap::new()),
            buckets: buckets.into(),
        }
    }

    /// The series for `name` of `kind`, created on first use.
    pub fn series(&self, kind: MetricType, name: &str) -> Arc<Series> {
        let mut series = self.series.lock();
        let entry = series.entry((name.to_string(), kind as u32));
        Arc::clone(entry.or_insert_with(|| {
            Arc::new(match kind {
                MetricType::Counter => Series::Counter(AtomicU64::new(0)),
                MetricType::Gauge => Series::Gauge(AtomicU64::new(0)),
                MetricType::Histogram => {
                    Series::Histogram(Histogram::new(Arc::clone(&self.buckets)))
                }
            })
        }))
    }

    /// Every series, sorted by name then kind (counter, gauge, histogram).
    pub fn snapshot(&self) -> Vec<MetricSnapshot> {
        let series = self.series.lock();
        series
            .iter()
            .map(|((name, _), s)| MetricSnapshot {
                name: name.clone(),
                value: s.value(),
            })
            .collect()
    }
}

impl Series {
    /// The current value, as exported.
    pub fn value(&self) -> MetricValue {
        match self {
            Series::Counter(v) => MetricValue::Counter(v.load(Ordering::Relaxed)),
            Series::Gauge(v) => MetricValue::Gauge(v.load(Ordering::Relaxed)),
            Series::Histogram(h) => h.value(),
        }
    }
}

#[cfg(test)]
mod tests;
