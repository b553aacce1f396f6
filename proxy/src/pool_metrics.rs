//! Gauges and counters read at scrape time from the serving state (no bookkeeping on the
//! request path): per cluster, upstream connections, requests in flight and requests waiting
//! for a connection; per wasm plugin, live VMs, traps by kind, VM replacements and failed VM
//! starts; per data-plane worker, the downstream connections it served.

use std::sync::{Arc, Weak};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
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
        let mut m = encoder.encode_descriptor(
            "microwaf_worker_downstream_cx",
            "Downstream connections served per data-plane worker",
            None,
            MetricType::Counter,
        )?;
        for (i, n) in shared.workers.accepted().into_iter().enumerate() {
            let labels = WorkerLabels {
                worker: i.to_string(),
            };
            ConstCounter::new(n).encode(m.encode_family(&labels)?)?;
        }
        encode_wasm(&state, &mut encoder)
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct WorkerLabels {
    worker: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct PluginLabels {
    plugin: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct TrapLabels {
    plugin: String,
    kind: String,
}

/// Reads one counter of a plugin's failure snapshot.
type FailureReader = fn(&microwaf_runtime::FailureSnapshot) -> u64;

/// Reads one gauge of a plugin's health.
type HealthReader = fn(&crate::http::filter::WasmHealth) -> u64;

fn encode_wasm(
    state: &crate::state::State,
    encoder: &mut DescriptorEncoder,
) -> Result<(), std::fmt::Error> {
    let health: Vec<_> = state
        .plugins
        .iter()
        .filter_map(|p| Some((p.name().to_owned(), p.wasm_health()?)))
        .collect();
    let mut vms = encoder.encode_descriptor(
        "microwaf_wasm_vms",
        "Live VMs per plugin",
        None,
        MetricType::Gauge,
    )?;
    for (name, h) in &health {
        let l = PluginLabels {
            plugin: name.clone(),
        };
        ConstGauge::new(h.live_vms as i64).encode(vms.encode_family(&l)?)?;
    }
    let gauges: [(&str, &str, HealthReader); 2] = [
        (
            "microwaf_wasm_memory_bytes",
            "Linear memory held by the plugin's live VMs together",
            |h| h.memory.linear_bytes,
        ),
        (
            "microwaf_wasm_vm_memory_peak_bytes",
            "The most linear memory one VM of the plugin has held",
            |h| h.memory.peak_vm_bytes,
        ),
    ];
    for (metric, help, value) in gauges {
        let mut m = encoder.encode_descriptor(metric, help, None, MetricType::Gauge)?;
        for (name, h) in &health {
            let l = PluginLabels {
                plugin: name.clone(),
            };
            ConstGauge::new(value(h) as i64).encode(m.encode_family(&l)?)?;
        }
    }
    let mut traps = encoder.encode_descriptor(
        "microwaf_wasm_traps",
        "VM traps per plugin and kind",
        None,
        MetricType::Counter,
    )?;
    for (name, h) in &health {
        for (kind, n) in &h.failures.traps {
            let l = TrapLabels {
                plugin: name.clone(),
                kind: kind.as_str().to_owned(),
            };
            ConstCounter::new(*n).encode(traps.encode_family(&l)?)?;
        }
    }
    let counters: [(&str, &str, FailureReader); 3] = [
        (
            "microwaf_wasm_vm_replacements",
            "Fresh VMs started after a failure",
            |f| f.vm_replacements,
        ),
        (
            "microwaf_wasm_vm_start_failures",
            "VM starts that failed",
            |f| f.start_failures,
        ),
        (
            "microwaf_wasm_log_lines_dropped",
            "Guest log lines dropped because the plugin's log budget per second was spent",
            |f| f.log_lines_dropped,
        ),
    ];
    for (metric, help, value) in counters {
        let mut m = encoder.encode_descriptor(metric, help, None, MetricType::Counter)?;
        for (name, h) in &health {
            let l = PluginLabels {
                plugin: name.clone(),
            };
            ConstCounter::new(value(&h.failures)).encode(m.encode_family(&l)?)?;
        }
    }
    Ok(())
}

/// Convenience for [`crate::app::App`].
pub fn collector(shared: &Arc<Shared>) -> Box<dyn Collector> {
    Box::new(PoolCollector(Arc::downgrade(shared)))
}
