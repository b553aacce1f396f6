//! Fixed-bucket histograms, lock-free to record.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::MetricValue;

/// Envoy's default histogram bucket bounds (`Stats::HistogramSettingsImpl::defaultBuckets`), so
/// dashboards built for Envoy's wasm metrics read the same.
pub const DEFAULT_BUCKETS: &[f64] = &[
    0.5, 1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 30000.0,
    60000.0, 300000.0, 600000.0, 1800000.0, 3600000.0,
];

pub struct Histogram {
    bounds: Arc<[f64]>,
    /// Per-bucket (not cumulative) counts; the last slot is the `+Inf` overflow bucket.
    counts: Box<[AtomicU64]>,
    sum: AtomicU64,
}

impl Histogram {
    pub fn new(bounds: Arc<[f64]>) -> Self {
        let counts = (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect();
        Histogram {
            bounds,
            counts,
            sum: AtomicU64::new(0),
        }
    }

    /// Records one observation (bucket upper bounds are inclusive, as in Prometheus).
    pub fn observe(&self, value: u64) {
        let v = value as f64;
        let slot = self.bounds.partition_point(|b| *b < v);
        self.counts[slot].fetch_add(1, Ordering::Relaxed);
        // Saturate rather than wrap: a wrapped sum would silently corrupt averages.
        let _ = self
            .sum
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| {
                Some(s.saturating_add(value))
            });
    }

    pub fn value(&self) -> MetricValue {
        let mut cumulative = 0;
        let buckets = self
            .bounds
            .iter()
            .zip(self.counts.iter())
            .map(|(bound, c)| {
                cumulative += c.load(Ordering::Relaxed);
                (*bound, cumulative)
            })
            .collect();
        // The total is derived from the same loads as the buckets, so `+Inf` (= count) is never
        // below the last finite bucket even while other threads record.
        let overflow = self.counts[self.bounds.len()].load(Ordering::Relaxed);
        MetricValue::Histogram {
            buckets,
            sum: self.sum.load(Ordering::Relaxed),
            count: cumulative + overflow,
        }
    }
}
