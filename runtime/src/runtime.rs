//! [`Runtime`]: the engine, the module cache, process-wide shared data, and the timer thread.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use microwaf_abi::AbiVersion;
use parking_lot::Mutex;

use crate::cache::{CacheOutcome, LoadCounts, ModuleCache};
use crate::config::{PluginConfig, RuntimeConfig, WasmSource};
use crate::embedder::Embedder;
use crate::engine::WasmEngine;
use crate::error::RuntimeError;
use crate::fault::FailureCounters;
use crate::log_budget::LogBudget;
use crate::metrics::MetricRegistry;
use crate::plugin::{new_mailbox, Plugin, PluginShared};
use crate::pool::VmSlot;
use crate::shared::SharedRegistry;

/// One per process: load plugins with [`Runtime::load_plugin`].
pub struct Runtime {
    engine: Arc<WasmEngine>,
    cache: ModuleCache,
    loads: LoadCounts,
    shared: Arc<SharedRegistry>,
    ticker: Arc<Ticker>,
}

/// The VM slots that may need `on_tick` or a replacement, and the draining ones it keeps
/// alive until they finish (see [`crate::plugin::SlotSet`]).
#[derive(Default)]
struct Ticker {
    slots: Mutex<Vec<Weak<VmSlot>>>,
    draining: crate::plugin::Draining,
}

impl Runtime {
    pub fn new(config: RuntimeConfig) -> Result<Runtime, RuntimeError> {
        let engine = Arc::new(WasmEngine::new(&config)?);
        let ticker = Arc::new(Ticker::default());
        spawn_ticker(Arc::downgrade(&ticker))?;
        Ok(Runtime {
            engine,
            cache: ModuleCache::new(config.cache_dir),
            loads: LoadCounts::default(),
            shared: Arc::new(SharedRegistry::new()),
            ticker,
        })
    }

    /// The Wasmtime engine (for `microwaf compile` and benches).
    pub fn wasmtime_engine(&self) -> &wasmtime::Engine {
        &self.engine.engine
    }

    pub fn cache(&self) -> &ModuleCache {
        &self.cache
    }

    /// Modules loaded with `outcome` since the runtime started (start-up, reloads and
    /// [`Runtime::precompile`] alike): a restart or reload from a warm cache counts only hits.
    pub fn module_loads(&self, outcome: CacheOutcome) -> u64 {
        self.loads.get(outcome)
    }

    /// Compiles (or loads from cache) without starting anything.
    pub fn precompile(
        &self,
        name: &str,
        wasm: &[u8],
    ) -> Result<(wasmtime::Module, CacheOutcome), RuntimeError> {
        self.cache.load(&self.engine, &self.loads, name, wasm)
    }

    /// Loads a plugin and starts all its VMs. Fails with the plugin's logs if a start callback
    /// returns false or traps.
    pub fn load_plugin(
        &self,
        config: PluginConfig,
        embedder: Arc<dyn Embedder>,
    ) -> Result<Plugin, RuntimeError> {
        let wasm = read_wasm(&config)?;
        let name = config.name.clone();
        if config.limits.memory_bytes == 0 {
            return Err(RuntimeError::Config {
                plugin: name,
                message: "memory limit must be positive".into(),
            });
        }
        check_memory_cap(&wasm, &name, config.limits.memory_bytes)?;
        let (module, _) = self.cache.load(&self.engine, &self.loads, &name, &wasm)?;
        let abi = AbiVersion::detect(module.exports().map(|e| e.name())).ok_or_else(|| {
            RuntimeError::NotProxyWasm {
                plugin: name.clone(),
            }
        })?;
        let mut linker = self.engine.linker.clone();
        let inst = |e: wasmtime::Error| RuntimeError::Instantiate {
            plugin: name.clone(),
            message: format!("{e:#}"),
        };
        linker
            .define_unknown_imports_as_traps(&module)
            .map_err(inst)?;
        let pre = linker.instantiate_pre(&module).map_err(inst)?;
        let deadline = self.engine.deadline_ticks(config.limits.deadline);
        let count = config.effective_vm_count();
        let log_budget = LogBudget::new(config.limits.log_bytes_per_second);
        let shared = Arc::new(PluginShared {
            config: Arc::new(config),
            abi,
            embedder,
            shared: self.shared.clone(),
            metrics: Arc::new(MetricRegistry::new()),
            counters: FailureCounters::default(),
            memory: Default::default(),
            log_budget,
        });
        let mut slots = Vec::with_capacity(count);
        for index in 0..count {
            let mailbox = new_mailbox();
            let vm = VmSlot::start_vm(&pre, &shared, &mailbox, 0, deadline)?;
            slots.push(VmSlot::new(
                index,
                shared.clone(),
                pre.clone(),
                deadline,
                vm,
                mailbox,
            ));
        }
        {
            let mut t = self.ticker.slots.lock();
            t.retain(|w| w.strong_count() > 0);
            t.extend(slots.iter().map(Arc::downgrade));
        }
        // Deliver anything queued while starting (e.g. callouts answered synchronously).
        slots.iter().for_each(|s| s.pump());
        Ok(Plugin::new(shared, slots, self.ticker.draining.clone()))
    }
}

/// Refuses a module whose declared initial memory alone is larger than the per-VM cap, before
/// spending a compile on it (the pooling allocator would refuse it with a less useful message).
/// Malformed modules pass through: compiling reports them.
fn check_memory_cap(wasm: &[u8], plugin: &str, cap: usize) -> Result<(), RuntimeError> {
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let Ok(wasmparser::Payload::MemorySection(memories)) = payload else {
            continue;
        };
        for memory in memories.into_iter().flatten() {
            let page = memory
                .page_size_log2
                .map_or(65536u64, |l| 1u64 << l.min(16));
            let needed = memory.initial.saturating_mul(page);
            if needed > cap as u64 {
                return Err(RuntimeError::MemoryCap {
                    plugin: plugin.to_string(),
                    needed,
                    cap: cap as u64,
                });
            }
        }
    }
    Ok(())
}

fn read_wasm(config: &PluginConfig) -> Result<Bytes, RuntimeError> {
    match &config.wasm {
        WasmSource::Bytes(b) => Ok(b.clone()),
        WasmSource::Path(p) => {
            std::fs::read(p)
                .map(Bytes::from)
                .map_err(|source| RuntimeError::ReadWasm {
                    plugin: config.name.clone(),
                    path: p.clone(),
                    source,
                })
        }
    }
}

/// Fires `on_tick` in every VM root context at its period and restarts failed VMs once their
/// backoff expires (so background plugins keep ticking). Exits when the runtime is dropped.
fn spawn_ticker(ticker: Weak<Ticker>) -> Result<(), RuntimeError> {
    const MAX_SLEEP: Duration = Duration::from_millis(20);
    std::thread::Builder::new()
        .name("wasm-ticks".into())
        .spawn(move || loop {
            let Some(t) = ticker.upgrade() else { return };
            let slots: Vec<_> = t.slots.lock().iter().filter_map(Weak::upgrade).collect();
            t.draining.lock().retain(|s| s.is_draining());
            drop(t);
            let now = Instant::now();
            let mut next = now + MAX_SLEEP;
            for slot in slots {
                if let Some(due) = slot.tick(now) {
                    next = next.min(due);
                }
            }
            std::thread::sleep(
                next.saturating_duration_since(Instant::now())
                    .max(Duration::from_millis(1)),
            );
        })
        .map(|_| ())
        .map_err(|e| RuntimeError::Engine(e.to_string()))
}
