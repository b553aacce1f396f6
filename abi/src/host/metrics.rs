//! [`MetricsHost`]: the guest's own metrics (`linker/metrics.rs` adapts the imports).

use super::HostResult;
use crate::types::MetricType;

/// Counters, gauges and histograms the guest defines. Ids encode the type in their low bits;
/// the same name defined in every VM of a plugin is one series.
pub trait MetricsHost {
    /// `proxy_define_metric`: the metric's id.
    fn define_metric(&mut self, kind: MetricType, name: &[u8]) -> HostResult<u32>;
    /// `proxy_increment_metric`: counters reject offsets ≤ 0 with `BadArgument`.
    fn increment_metric(&mut self, metric_id: u32, offset: i64) -> HostResult<()>;
    /// `proxy_record_metric`.
    fn record_metric(&mut self, metric_id: u32, value: u64) -> HostResult<()>;
    /// `proxy_get_metric`.
    fn get_metric(&mut self, metric_id: u32) -> HostResult<u64>;
}
