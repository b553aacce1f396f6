//! Wasmtime pooling-allocator gauges, read from the engine at scrape time: how many instance
//! slots the pool was sized for, and how many instances and linear memories are in use. A
//! pool close to full means the next VM replacement or reload can fail to instantiate.
//! Beside them, module loads by cache outcome (`microwaf_wasm_module_loads_total{cache}`): a
//! restart or reload from a warm cache counts only hits, a miss is a Cranelift compile.

use std::sync::{Arc, Weak};

use microwaf_runtime::{CacheOutcome, Runtime};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;

/// Registered once per registry; holds the runtime weakly so a dropped app frees it.
pub struct WasmPoolCollector {
    runtime: Weak<Runtime>,
    /// `RuntimeConfig::max_instances`: the pool's instance (and memory) slots.
    slots: u32,
}

impl std::fmt::Debug for WasmPoolCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WasmPoolCollector")
    }
}

impl Collector for WasmPoolCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(rt) = self.runtime.upgrade() else {
            return Ok(());
        };
        let mut loads = encoder.encode_descriptor(
            "microwaf_wasm_module_loads",
            "Wasm module loads by module cache outcome (hit: mapped from the cache; miss, replaced: compiled; disabled: no cache)",
            None,
            MetricType::Counter,
        )?;
        for outcome in CacheOutcome::ALL {
            let labels = [("cache", outcome.as_str())];
            ConstCounter::new(rt.module_loads(outcome)).encode(loads.encode_family(&labels)?)?;
        }
        // `None` when the runtime allocates on demand (pooling disabled).
        let Some(m) = rt.wasmtime_engine().pooling_allocator_metrics() else {
            return Ok(());
        };
        let series: [(&str, &str, i64); 4] = [
            (
                "microwaf_wasm_pool_instance_slots",
                "Instance slots the Wasmtime pooling allocator was configured with",
                i64::from(self.slots),
            ),
            (
                "microwaf_wasm_pool_instances",
                "Core instances allocated from the pool",
                m.core_instances() as i64,
            ),
            (
                "microwaf_wasm_pool_memories",
                "Linear memories allocated from the pool",
                m.memories() as i64,
            ),
            (
                "microwaf_wasm_pool_warm_memories",
                "Unused pool memory slots kept warm (resident, ready for reuse)",
                i64::from(m.unused_warm_memories()),
            ),
        ];
        for (name, help, value) in series {
            let m = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            ConstGauge::new(value).encode(m)?;
        }
        Ok(())
    }
}

pub fn collector(runtime: &Arc<Runtime>, slots: u32) -> Box<dyn Collector> {
    Box::new(WasmPoolCollector {
        runtime: Arc::downgrade(runtime),
        slots,
    })
}
