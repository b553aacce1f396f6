//! Discovery health on `/metrics`: snapshots published (any source), responses the waypoint
//! rejected (xDS NACKs), and whether the control-plane stream is up. Created with the
//! [`Discovery`](super::Discovery) channel so every source reports into the same counters;
//! [`DiscoveryMetrics::register`] exposes them.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Default)]
pub struct DiscoveryMetrics {
    /// Snapshots published (file loads, applied xDS responses).
    pub syncs: Counter,
    /// xDS responses rejected (NACKed) for not decoding or validating.
    pub nacks: Counter,
    /// 1 while the workload-discovery stream is open.
    pub connected: Gauge,
}

impl DiscoveryMetrics {
    pub fn register(&self, registry: &mut Registry) {
        let r = registry.sub_registry_with_prefix("microwaf_waypoint_discovery");
        r.register("syncs", "Discovery snapshots published", self.syncs.clone());
        r.register(
            "nacks",
            "Control-plane responses rejected (NACKed)",
            self.nacks.clone(),
        );
        r.register(
            "connected",
            "1 while the control-plane stream is open",
            self.connected.clone(),
        );
    }
}
