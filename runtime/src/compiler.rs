//! Cranelift compilation in a short-lived engine.
//!
//! Why not compile with the runtime's own engine: Wasmtime keeps its compiler's per-thread
//! contexts (register-allocator and code buffers) for the engine's lifetime, and the allocator
//! keeps the pages of the compile's scratch heap. Measured 2026-12-02 on the 5.7 MB MicroWAF
//! module: 65 MB peak heap while compiling, and 28 MB of anonymous RSS still held afterwards,
//! in the compile threads' malloc arenas — more than the proxy needs to serve. A module
//! compiled here is serialized, stored in the module cache and mapped into the runtime's engine
//! (the same path as a cache hit), the compiling engine and its thread end, and freed pages are
//! given back to the OS.

use wasmtime::{Config, Engine, InstanceAllocationStrategy};

/// Compiles modules with the runtime engine's settings, then lets the compiler go.
pub(crate) struct Compiler {
    config: Config,
}

impl Compiler {
    /// `config`: the runtime engine's configuration. The compiling engine allocates instances on
    /// demand (it never instantiates, and a pool would reserve address space for nothing); the
    /// allocation strategy is not part of an artifact's compatibility.
    pub fn new(mut config: Config) -> Self {
        config.allocation_strategy(InstanceAllocationStrategy::OnDemand);
        // Serial, on a thread of its own that exits afterwards: a thread-caching allocator
        // (the binary uses mimalloc) keeps freed pages in the heap of the thread that
        // allocated them until that thread allocates again, and Wasmtime's parallel compile
        // runs on rayon's pool, whose threads then idle forever. Measured with the MicroWAF
        // module on 2 cores: RSS after start 68.6 MB (parallel) vs 38.6 MB (serial, exited
        // thread); the first start takes 2.5–2.7 s instead of 1.7 s, cache hits are unchanged.
        config.parallel_compilation(false);
        Compiler { config }
    }

    /// A serialized artifact of `wasm`, for `Module::deserialize` on a compatible engine.
    pub fn precompile(&self, wasm: &[u8]) -> wasmtime::Result<Vec<u8>> {
        let artifact = std::thread::scope(|s| {
            std::thread::Builder::new()
                .name("wasm-compile".into())
                .spawn_scoped(s, || {
                    let engine = Engine::new(&self.config)?;
                    engine.precompile_module(wasm)
                })
                .map_err(wasmtime::Error::from)?
                .join()
                .unwrap_or_else(|_| Err(wasmtime::Error::msg("the compile thread panicked")))
        });
        release_free_memory();
        artifact
    }
}

/// Returns the allocator's free pages to the OS (glibc keeps them in per-thread arenas, which
/// the compile thread filled; embedders on glibc malloc get this, mimalloc releases an exited
/// thread's pages itself).
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only releases memory the allocator holds as free; no pointer
    // handed out is affected.
    unsafe {
        libc::malloc_trim(0);
    }
}
