//! Connection-pool gauges read at scrape time from the serving state (no bookkeeping on the
//! request path): upstream connections, requests in flight and requests waiting for a
//! connection, per cluster.

use std::sync::{Arc, Weak};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;

use crate::listener::Shared;
use crate::metrics::ClusterLabels;

/// Reads one gauge of a cluster.
type Reader = fn(&crate::upstream::Cluster) -> usize;

/// Registered once per registry; follows reloads because it reads the current state.
pub struct PoolCollector(pub Weak<Shared>);

impl std::fmt::Debug for PoolCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PoolCollector")
    }
}

impl Collector for PoolCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(shared) = self.0.upgrade() else {
            return Ok(());
        };
        let state = shared.current();
        let mut clusters: Vec<_> = state.clusters.values().cloned().collect();
        clusters.sort_by(|a, b| a.name().cmp(b.name()));
        let series: [(&str, &str, Reader); 3] = [
            (
                "microwaf_upstream_cx_active",
                "Open upstream connections",
                |c| c.connections.get(),
            ),
            (
                "microwaf_upstream_rq_active",
                "Upstream requests in flight",
                |c| c.requests.get(),
            ),
            (
                "microwaf_upstream_rq_pending",
                "Upstream requests waiting for a connection",
                |c| c.pending.get(),
            ),
        ];
        for (name, help, value) in series {
            let mut m = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for c in &clusters {
                let labels = ClusterLabels {
                    cluster: c.name().to_owned(),
                };
                ConstGauge::new(value(c) as i64).encode(m.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

/// Convenience for [`crate::app::App`].
pub fn collector(shared: &Arc<Shared>) -> Box<dyn Collector> {
    Box::new(PoolCollector(Arc::downgrade(shared)))
}
