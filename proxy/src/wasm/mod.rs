//! Wasm filters: plugins loaded into the runtime, one [`WasmFilter`] per stream over the
//! runtime's sans-IO stream API, callouts wired to clusters ([`embedder`]), stream properties
//! ([`props`]).

mod embedder;
mod filter;
mod props;

use std::sync::Arc;

use microwaf_runtime::{FailPolicy, Plugin, PluginConfig, Runtime, WasmSource};

pub use embedder::ProxyEmbedder;
pub use filter::WasmFilter;
pub use props::StreamProps;

use crate::admin::{FilterMetric, FilterMetricValue, HistogramSnapshot};
use crate::build::{BuildError, LoadCtx};
use crate::config::{DataSource, NodeInfo, WasmPlugin};
use crate::http::filter::{HttpFilter, HttpFilterFactory, StreamInfo, StreamSignal};

/// A loaded plugin: makes one filter per stream.
pub struct WasmFactory {
    plugin: Plugin,
    name: Arc<str>,
    node: Arc<NodeInfo>,
}

impl HttpFilterFactory for WasmFactory {
    fn name(&self) -> &str {
        self.plugin.name()
    }

    fn create(&self, info: &Arc<StreamInfo>, signal: Arc<StreamSignal>) -> Box<dyn HttpFilter> {
        let props = StreamProps::new(info.clone(), self.node.clone());
        // On a worker thread, the worker's own VM: never contended by another worker.
        let stream = match crate::worker::index() {
            Some(vm) => self.plugin.http_stream_on(vm, props.clone(), signal),
            None => self.plugin.http_stream(props.clone(), signal),
        };
        Box::new(WasmFilter {
            stream,
            props,
            plugin: self.name.clone(),
            replied: false,
        })
    }

    fn network_stream(&self, info: &Arc<StreamInfo>) -> Option<microwaf_runtime::NetworkStream> {
        let props = StreamProps::new(info.clone(), self.node.clone());
        let events = Arc::new(microwaf_runtime::NoEvents);
        Some(match crate::worker::index() {
            Some(vm) => self.plugin.network_stream_on(vm, props, events),
            None => self.plugin.network_stream(props, events),
        })
    }

    fn wasm_health(&self) -> Option<crate::http::filter::WasmHealth> {
        Some(crate::http::filter::WasmHealth {
            failures: self.plugin.failures(),
            live_vms: self.plugin.live_vms(),
            memory: self.plugin.memory(),
        })
    }

    fn filter_metrics(&self) -> Vec<FilterMetric> {
        use microwaf_runtime::metrics::MetricValue;
        self.plugin
            .metrics()
            .into_iter()
            .map(|m| FilterMetric {
                name: m.name,
                value: match m.value {
                    MetricValue::Counter(c) => FilterMetricValue::Counter(c),
                    MetricValue::Gauge(g) => FilterMetricValue::Gauge(g as i64),
                    MetricValue::Histogram {
                        buckets,
                        sum,
                        count,
                    } => FilterMetricValue::Histogram(HistogramSnapshot {
                        buckets,
                        sum: sum as f64,
                        count,
                    }),
                },
            })
            .collect()
    }
}

/// Loads plugins into `runtime`; a plugin that fails to start is a [`BuildError`] carrying the
/// plugin's own error (its logs, the callback that returned false, the trap).
pub fn loader(
    runtime: Arc<Runtime>,
) -> impl FnMut(&WasmPlugin, &LoadCtx) -> Result<Arc<dyn HttpFilterFactory>, BuildError> {
    move |p: &WasmPlugin, ctx: &LoadCtx| {
        let wasm = match &p.code {
            DataSource::File(path) => WasmSource::Path(path.clone()),
            DataSource::Inline(b) => WasmSource::Bytes(b.clone().into()),
        };
        let mut cfg = PluginConfig::new(p.name.clone(), wasm);
        cfg.root_id = p.root_id.clone();
        cfg.vm_id = p.vm_id.clone();
        cfg.vm_config = p.vm_config.clone().into();
        cfg.plugin_config = p.plugin_config.clone().into();
        // Unset: one VM per data-plane worker.
        cfg.vm_count = p.vm_count.map(|n| n as usize).or(ctx.workers);
        cfg.singleton = p.singleton;
        cfg.fail_policy = if p.fail_open {
            FailPolicy::FailOpen
        } else {
            FailPolicy::FailClosed
        };
        cfg.environment = p.env.clone().into_iter().collect();
        let embedder = Arc::new(ProxyEmbedder {
            clusters: ctx.clusters.clone(),
            handle: ctx.handle.clone(),
        });
        let plugin = runtime.load_plugin(cfg, embedder).map_err(|e| {
            // The runtime's errors already name the plugin; say it once.
            let text = e.to_string();
            let prefix = format!("plugin {}: ", p.name);
            BuildError::Plugin {
                plugin: p.name.clone(),
                reason: text.strip_prefix(&prefix).unwrap_or(&text).to_owned(),
            }
        })?;
        Ok(Arc::new(WasmFactory {
            name: plugin.name().into(),
            plugin,
            node: ctx.node.clone(),
        }) as Arc<dyn HttpFilterFactory>)
    }
}
