//! The one Wasmtime [`Engine`] and [`Linker`] of a runtime, and the epoch ticker that gives every
//! callback a deadline.
//!
//! Why these settings (docs/abi.md, "Wasmtime"): the pooling allocator plus copy-on-write memory init makes a
//! fresh instance cost 4–8 µs instead of 22–33 µs, which is what makes crash recovery and reload
//! cheap; epoch interruption costs ~10 % of guest speed but is the only way to stop a guest loop
//! without a thread per VM.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, Linker, PoolingAllocationConfig};

use crate::compiler::Compiler;
use crate::config::RuntimeConfig;
use crate::error::RuntimeError;
use crate::host::VmState;

/// Engine, linker and the epoch ticker. Dropping it stops the ticker.
pub(crate) struct WasmEngine {
    pub engine: Engine,
    /// Compiles modules for `engine` (in an engine of its own, see `compiler`).
    pub compiler: Compiler,
    pub linker: Linker<VmState>,
    pub epoch_tick: Duration,
    stop: Arc<AtomicBool>,
}

impl WasmEngine {
    pub fn new(cfg: &RuntimeConfig) -> Result<Self, RuntimeError> {
        let config = wasmtime_config(cfg);
        let engine = Engine::new(&config).map_err(engine_err)?;
        let compiler = Compiler::new(config);
        let mut linker = Linker::new(&engine);
        microwaf_abi::add_to_linker(&mut linker, |s: &mut VmState| s).map_err(engine_err)?;
        microwaf_abi::add_wasi_to_linker(&mut linker, |s: &mut VmState| s).map_err(engine_err)?;
        let stop = Arc::new(AtomicBool::new(false));
        spawn_epoch_ticker(engine.clone(), cfg.epoch_tick, stop.clone())?;
        Ok(WasmEngine {
            engine,
            compiler,
            linker,
            epoch_tick: cfg.epoch_tick,
            stop,
        })
    }

    /// Epoch ticks that make up `deadline` (at least one).
    pub fn deadline_ticks(&self, deadline: Duration) -> u64 {
        let tick = self.epoch_tick.as_nanos().max(1);
        (deadline.as_nanos().div_ceil(tick) as u64).max(1)
    }
}

impl Drop for WasmEngine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn engine_err(e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Engine(e.to_string())
}

fn wasmtime_config(cfg: &RuntimeConfig) -> Config {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_core_instances(cfg.max_instances)
        .total_memories(cfg.max_instances)
        .total_tables(cfg.max_instances)
        .max_memory_size(cfg.max_memory_bytes)
        .max_memories_per_module(1)
        .table_elements(100_000);
    let mut config = Config::new();
    if cfg.pooling {
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
        .memory_init_cow(true)
        .epoch_interruption(true)
        .max_wasm_stack(1 << 20)
        .cranelift_opt_level(wasmtime::OptLevel::Speed);
    if cfg.perf_map {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    config
}

/// Advances the epoch every `tick` until `stop`. Holds only an `Engine` clone, so a dropped
/// runtime lets the thread exit at its next tick.
fn spawn_epoch_ticker(
    engine: Engine,
    tick: Duration,
    stop: Arc<AtomicBool>,
) -> Result<(), RuntimeError> {
    thread::Builder::new()
        .name("wasm-epoch".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                thread::sleep(tick);
                engine.increment_epoch();
            }
        })
        .map(|_| ())
        .map_err(engine_err)
}
