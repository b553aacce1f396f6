//! What an embedder configures: the runtime (engine-wide limits, cache dir) and each plugin.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;

/// Engine-wide settings. One [`crate::Runtime`] per process is the intended use.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Where precompiled modules are kept; `None` compiles in memory every load.
    pub cache_dir: Option<PathBuf>,
    /// Instances the pooling allocator can hold at once (all plugins, all VMs, plus the fresh
    /// instances being started). Each slot reserves address space, not memory.
    pub max_instances: u32,
    /// Largest linear memory any VM may grow to; per-plugin caps must not exceed it.
    pub max_memory_bytes: usize,
    /// How often the epoch advances: the granularity of callback deadlines.
    pub epoch_tick: Duration,
    /// Pooling allocator (default). `false` allocates every instance on demand; only useful to
    /// measure what pooling saves.
    pub pooling: bool,
    /// Write `/tmp/perf-PID.map` so `perf report` names guest functions (Wasmtime's perf-map
    /// profiler). Off by default: it costs a file write per loaded module.
    pub perf_map: bool,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            cache_dir: None,
            max_instances: 128,
            max_memory_bytes: 256 << 20,
            epoch_tick: Duration::from_millis(5),
            pooling: true,
            perf_map: false,
        }
    }
}

/// Where a plugin's wasm comes from.
#[derive(Debug, Clone)]
pub enum WasmSource {
    Path(PathBuf),
    Bytes(Bytes),
}

/// What happens to traffic when the plugin cannot run (trap, deadline, memory cap, no VM).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailPolicy {
    /// The stream continues as if the plugin were absent.
    FailOpen,
    /// The stream is answered with 503.
    #[default]
    FailClosed,
}

/// Per-VM resource limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Linear-memory cap of one VM; `memory.grow` beyond it fails (the guest sees -1).
    pub memory_bytes: usize,
    /// Wall-clock budget of one callback; a callback running longer traps (`Interrupt`).
    pub deadline: Duration,
    /// Most body bytes buffered for one direction while the filter pauses (Envoy's buffer
    /// limit): beyond it a request gets 413, a response 500.
    pub buffer_bytes: usize,
    /// Longest log message a guest may emit (`proxy_log`, WASI stdout/stderr); a longer one
    /// is cut with a marker. 0: no limit.
    pub log_message_bytes: usize,
    /// Log bytes per second for the whole plugin (all its VMs), with a one-second burst; lines
    /// beyond it are dropped and counted. 0: no limit.
    pub log_bytes_per_second: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 128 << 20,
            deadline: Duration::from_millis(100),
            buffer_bytes: 16 << 20,
            log_message_bytes: 4 << 10,
            log_bytes_per_second: 256 << 10,
        }
    }
}

/// One plugin: a wasm module plus its configuration, run in `vm_count` VMs.
#[derive(Debug, Clone)]
pub struct PluginConfig {
    /// Shown in logs, errors and the `plugin_name` property.
    pub name: String,
    /// The root context id the SDK dispatches on (`plugin_root_id`); may be empty.
    pub root_id: String,
    /// Shared data and queues are scoped per `vm_id` (process-wide).
    pub vm_id: String,
    pub vm_config: Bytes,
    pub plugin_config: Bytes,
    pub wasm: WasmSource,
    /// VMs to run; `None` = available parallelism. Ignored (1) for singletons.
    pub vm_count: Option<usize>,
    /// Background plugin: exactly one VM.
    pub singleton: bool,
    pub fail_policy: FailPolicy,
    pub limits: Limits,
    /// Environment variables visible to WASI `environ_get`.
    pub environment: Vec<(String, String)>,
}

impl PluginConfig {
    /// A config with defaults for everything but the name and the wasm.
    pub fn new(name: impl Into<String>, wasm: WasmSource) -> Self {
        PluginConfig {
            name: name.into(),
            root_id: String::new(),
            vm_id: String::new(),
            vm_config: Bytes::new(),
            plugin_config: Bytes::new(),
            wasm,
            vm_count: None,
            singleton: false,
            fail_policy: FailPolicy::default(),
            limits: Limits::default(),
            environment: Vec::new(),
        }
    }

    /// The number of VMs this plugin runs.
    pub fn effective_vm_count(&self) -> usize {
        if self.singleton {
            return 1;
        }
        self.vm_count
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1)
    }
}
