//! Precompiled-module cache: compile once with Cranelift, afterwards map the artifact
//! (docs/abi.md).
//!
//! File name: `<sha256(wasm)>-<engine compatibility hash>.cwasm`, so a different module, wasmtime
//! version or engine configuration never even looks at an old artifact (the content key stays
//! cryptographic: two modules must never share an artifact). A file that fails verification
//! ([`artifact`]) is recompiled and replaced.
//!
//! A hit and a miss end in the same state: the module is mapped from its cache file, so the
//! process holds the same (file-backed) pages whether it compiled the module or not.

mod artifact;

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use sha2::{Digest, Sha256};
use wasmtime::{Engine, Module};

use crate::engine::WasmEngine;
use crate::error::RuntimeError;
use artifact::{deserialize, open_verified, write_atomically, Artifact};

/// How a module was obtained (exposed for tests, metrics and `microwaf compile`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// A valid artifact was found and mapped.
    Hit,
    /// No artifact: compiled and stored.
    Miss,
    /// An artifact was present but failed verification: recompiled and replaced.
    Replaced,
    /// No cache dir configured: compiled in memory.
    Disabled,
}

impl CacheOutcome {
    pub const ALL: [CacheOutcome; 4] = [
        CacheOutcome::Hit,
        CacheOutcome::Miss,
        CacheOutcome::Replaced,
        CacheOutcome::Disabled,
    ];

    /// The label value in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheOutcome::Hit => "hit",
            CacheOutcome::Miss => "miss",
            CacheOutcome::Replaced => "replaced",
            CacheOutcome::Disabled => "disabled",
        }
    }
}

/// Module loads counted by outcome since the runtime started, so an operator (and a test) can
/// tell that a restart or reload compiled nothing.
#[derive(Debug, Default)]
pub(crate) struct LoadCounts([AtomicU64; 4]);

impl LoadCounts {
    fn record(&self, outcome: CacheOutcome) {
        self.0[outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self, outcome: CacheOutcome) -> u64 {
        self.0[outcome as usize].load(Ordering::Relaxed)
    }
}

/// The on-disk cache. Stateless apart from its directory; safe to share.
#[derive(Debug, Clone)]
pub struct ModuleCache {
    dir: Option<PathBuf>,
}

impl ModuleCache {
    pub fn new(dir: Option<PathBuf>) -> Self {
        ModuleCache { dir }
    }

    /// The cache file a module would use (`None` without a cache dir).
    pub fn path_for(&self, engine: &Engine, wasm: &[u8]) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        Some(dir.join(file_name(engine, wasm)))
    }

    /// Loads `wasm` from the cache, compiling (and storing) it when needed; logs and counts
    /// the outcome.
    pub(crate) fn load(
        &self,
        wasm_engine: &WasmEngine,
        counts: &LoadCounts,
        plugin: &str,
        wasm: &[u8],
    ) -> Result<(Module, CacheOutcome), RuntimeError> {
        let started = Instant::now();
        let (module, outcome) = self.load_uncounted(wasm_engine, plugin, wasm)?;
        counts.record(outcome);
        tracing::info!(
            plugin,
            cache = outcome.as_str(),
            ms = started.elapsed().as_secs_f64() * 1e3,
            "wasm module loaded"
        );
        Ok((module, outcome))
    }

    fn load_uncounted(
        &self,
        wasm_engine: &WasmEngine,
        plugin: &str,
        wasm: &[u8],
    ) -> Result<(Module, CacheOutcome), RuntimeError> {
        let engine = &wasm_engine.engine;
        let compile_failed = |e| compile_err(plugin, e);
        let Some(path) = self.path_for(engine, wasm) else {
            let artifact = wasm_engine
                .compiler
                .precompile(wasm)
                .map_err(compile_failed)?;
            let module = deserialize(engine, Artifact::Bytes(&artifact)).map_err(compile_failed)?;
            return Ok((module, CacheOutcome::Disabled));
        };
        let mut outcome = CacheOutcome::Miss;
        if path.exists() {
            match open_verified(&path).and_then(|f| deserialize(engine, Artifact::File(f)).ok()) {
                Some(module) => return Ok((module, CacheOutcome::Hit)),
                None => {
                    tracing::warn!(plugin, path = %path.display(), "invalid module cache file; recompiling");
                    outcome = CacheOutcome::Replaced;
                }
            }
        }
        let artifact = wasm_engine
            .compiler
            .precompile(wasm)
            .map_err(compile_failed)?;
        write_atomically(&path, &artifact)?;
        // Mapped from the file just written, like a hit; from the bytes only if that fails
        // (a filesystem that cannot map files).
        let mapped = open_verified(&path).and_then(|f| deserialize(engine, Artifact::File(f)).ok());
        let module = match mapped {
            Some(m) => m,
            None => deserialize(engine, Artifact::Bytes(&artifact)).map_err(compile_failed)?,
        };
        Ok((module, outcome))
    }
}

/// Precompiles `wasm` into a standalone cache file (what `microwaf compile` writes).
pub fn precompile_to(engine: &Engine, wasm: &[u8], out: &Path) -> Result<(), RuntimeError> {
    let artifact = engine
        .precompile_module(wasm)
        .map_err(|e| compile_err(&out.display().to_string(), e))?;
    write_atomically(out, &artifact)
}

/// Maps a file written by [`precompile_to`] (or a cache file), verifying it first.
pub fn load_precompiled(engine: &Engine, path: &Path) -> Option<Module> {
    deserialize(engine, Artifact::File(open_verified(path)?)).ok()
}

fn compile_err(plugin: &str, e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Compile {
        plugin: plugin.to_string(),
        message: format!("{e:#}"),
    }
}

fn file_name(engine: &Engine, wasm: &[u8]) -> String {
    let mut h = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    format!("{}-{:016x}.cwasm", hex(&Sha256::digest(wasm)), h.finish())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
