//! One VM's metric ids, mapped onto the shared series of a [`MetricRegistry`].

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use microwaf_abi::{HostResult, MetricType, Status};

use super::{MetricRegistry, Series, METRIC_ID_INCREMENT, METRIC_TYPE_MASK};

/// The metric ids one VM has defined. Owned by the VM's store: lookups take no lock, updates
/// are atomic operations on the shared series.
pub struct VmMetrics {
    registry: Arc<MetricRegistry>,
    ids: HashMap<u32, Arc<Series>>,
    /// Next id per type, indexed by `MetricType as usize`.
    next: [u32; 3],
}

impl VmMetrics {
    pub fn new(registry: Arc<MetricRegistry>) -> Self {
        VmMetrics {
            registry,
            ids: HashMap::new(),
            next: [
                MetricType::Counter as u32,
                MetricType::Gauge as u32,
                MetricType::Histogram as u32,
            ],
        }
    }

    /// `proxy_define_metric`: a fresh id of `kind` bound to the series named `name`.
    pub fn define(&mut self, kind: MetricType, name: &[u8]) -> HostResult<u32> {
        let name = std::str::from_utf8(name).map_err(|_| Status::BadArgument)?;
        let slot = &mut self.next[kind as usize];
        let id = *slot;
        *slot = slot
            .checked_add(METRIC_ID_INCREMENT)
            .ok_or(Status::InternalFailure)?;
        self.ids.insert(id, self.registry.series(kind, name));
        Ok(id)
    }

    fn kind(id: u32) -> Option<MetricType> {
        MetricType::try_from(id & METRIC_TYPE_MASK).ok()
    }

    fn series(&self, id: u32) -> HostResult<&Series> {
        self.ids.get(&id).map(|s| &**s).ok_or(Status::NotFound)
    }

    /// `proxy_increment_metric`.
    pub fn increment(&self, id: u32, offset: i64) -> HostResult<()> {
        match Self::kind(id) {
            Some(MetricType::Counter) => {
                let Series::Counter(v) = self.series(id)? else {
                    return Err(Status::NotFound);
                };
                let by = u64::try_from(offset)
                    .ok()
                    .filter(|o| *o > 0)
                    .ok_or(Status::BadArgument)?;
                v.fetch_add(by, Ordering::Relaxed);
                Ok(())
            }
            Some(MetricType::Gauge) => {
                let Series::Gauge(v) = self.series(id)? else {
                    return Err(Status::NotFound);
                };
                // Gauges are unsigned (as in Envoy); a decrement past 0 stops at 0 instead of
                // wrapping to 2^64.
                let _ = v.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |g| {
                    Some(if offset >= 0 {
                        g.saturating_add(offset as u64)
                    } else {
                        g.saturating_sub(offset.unsigned_abs())
                    })
                });
                Ok(())
            }
            _ => Err(Status::BadArgument),
        }
    }

    /// `proxy_record_metric`.
    pub fn record(&self, id: u32, value: u64) -> HostResult<()> {
        match self.series(id)? {
            Series::Counter(v) => {
                v.fetch_add(value, Ordering::Relaxed);
            }
            Series::Gauge(v) => v.store(value, Ordering::Relaxed),
            Series::Histogram(h) => h.observe(value),
        }
        Ok(())
    }

    /// `proxy_get_metric`.
    pub fn get(&self, id: u32) -> HostResult<u64> {
        match Self::kind(id) {
            Some(MetricType::Counter | MetricType::Gauge) => match self.series(id)? {
                Series::Counter(v) | Series::Gauge(v) => Ok(v.load(Ordering::Relaxed)),
                Series::Histogram(_) => Err(Status::BadArgument),
            },
            _ => Err(Status::BadArgument),
        }
    }

    /// The registry this VM's series live in.
    pub fn registry(&self) -> &Arc<MetricRegistry> {
        &self.registry
    }
}
