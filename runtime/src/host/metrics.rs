//! [`MetricsHost`] for the VM state: this VM's metric ids, resolved to the plugin's shared
//! series (`crate::metrics`), so every VM of a plugin adds to one series per name.

use microwaf_abi::{HostResult, MetricType, MetricsHost};

use super::VmState;

impl MetricsHost for VmState {
    fn define_metric(&mut self, kind: MetricType, name: &[u8]) -> HostResult<u32> {
        self.metrics.define(kind, name)
    }

    fn increment_metric(&mut self, metric_id: u32, offset: i64) -> HostResult<()> {
        self.metrics.increment(metric_id, offset)
    }

    fn record_metric(&mut self, metric_id: u32, value: u64) -> HostResult<()> {
        self.metrics.record(metric_id, value)
    }

    fn get_metric(&mut self, metric_id: u32) -> HostResult<u64> {
        self.metrics.get(metric_id)
    }
}
