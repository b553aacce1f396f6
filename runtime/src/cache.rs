//! Precompiled-module cache: compile once with Cranelift, afterwards deserialize (docs/abi.md).
//!
//! File name: `<sha256(wasm)>-<engine compatibility hash>.cwasm`, so a different module, wasmtime
//! version or engine configuration never even looks at an old artifact (the content key stays
//! cryptographic: two modules must never share an artifact). File content: the artifact followed
//! by a trailer (magic, artifact length, CRC-32 of the artifact). A file that is truncated,
//! corrupt, or was written by someone else fails the trailer check and is recompiled and
//! replaced (temp file + rename, so readers never see a half-written file).
//!
//! Why CRC-32 and not SHA-256 for the trailer: it guards against torn writes and bit rot, not
//! against an attacker (anyone who can write the cache directory can write a matching trailer
//! whatever the hash). Measured 2026-12-02 on the 5.7 MB MicroWAF module: SHA-256 of the
//! artifact was the largest single cost of a cache load; CRC-32 (SIMD) is ~10× faster.

use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

/// CRC-32 (IEEE) of an artifact, the trailer's integrity check.
fn crc32(bytes: &[u8]) -> [u8; 4] {
    let mut h = crc32fast::Hasher::new();
    h.update(bytes);
    h.finalize().to_le_bytes()
}
use wasmtime::{Engine, Module};

use crate::engine::WasmEngine;
use crate::error::RuntimeError;

/// Version 2: CRC-32 trailer (version 1 files carried SHA-256 and are recompiled once).
const MAGIC: &[u8; 8] = b"MWAFAOT2";
const TRAILER_LEN: usize = 8 + 8 + 4;

/// How a module was obtained (exposed for tests and `microwaf compile`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// A valid artifact was found and deserialized.
    Hit,
    /// No artifact: compiled and stored.
    Miss,
    /// An artifact was present but failed verification: recompiled and replaced.
    Replaced,
    /// No cache dir configured: compiled in memory.
    Disabled,
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

    /// Loads `wasm` from the cache, compiling (and storing) it when needed.
    pub(crate) fn load(
        &self,
        wasm_engine: &WasmEngine,
        plugin: &str,
        wasm: &[u8],
    ) -> Result<(Module, CacheOutcome), RuntimeError> {
        let engine = &wasm_engine.engine;
        let compile = |wasm: &[u8]| {
            let artifact = wasm_engine
                .compiler
                .precompile(wasm)
                .map_err(|e| compile_err(plugin, e))?;
            let module =
                deserialize_verified(engine, &artifact).map_err(|e| compile_err(plugin, e))?;
            Ok::<_, RuntimeError>((artifact, module))
        };
        let Some(path) = self.path_for(engine, wasm) else {
            return Ok((compile(wasm)?.1, CacheOutcome::Disabled));
        };
        let mut outcome = CacheOutcome::Miss;
        if let Ok(file) = fs::read(&path) {
            match verified_artifact(&file).and_then(|a| deserialize_verified(engine, a).ok()) {
                Some(module) => return Ok((module, CacheOutcome::Hit)),
                None => {
                    tracing::warn!(plugin, path = %path.display(), "invalid module cache file; recompiling");
                    outcome = CacheOutcome::Replaced;
                }
            }
        }
        let (artifact, module) = compile(wasm)?;
        write_atomically(&path, &artifact)?;
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

/// Loads a file written by [`precompile_to`] (or a cache file), verifying it first.
pub fn load_precompiled(engine: &Engine, path: &Path) -> Option<Module> {
    let file = fs::read(path).ok()?;
    deserialize_verified(engine, verified_artifact(&file)?).ok()
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

/// The artifact inside `file` if the trailer matches it exactly.
fn verified_artifact(file: &[u8]) -> Option<&[u8]> {
    let split = file.len().checked_sub(TRAILER_LEN)?;
    let (artifact, trailer) = file.split_at(split);
    let (magic, rest) = trailer.split_at(8);
    let (len, digest) = rest.split_at(8);
    let ok = magic == MAGIC
        && u64::from_le_bytes(len.try_into().ok()?) == artifact.len() as u64
        && crc32(artifact) == digest;
    ok.then_some(artifact)
}

/// The only `unsafe` in the runtime.
fn deserialize_verified(engine: &Engine, artifact: &[u8]) -> wasmtime::Result<Module> {
    // SAFETY: `Module::deserialize` requires bytes produced by `Engine::precompile_module` of a
    // compatible engine and not modified since. Every caller passes either an artifact this
    // process just produced, or bytes whose CRC-32 matched the trailer we wrote beside that
    // artifact — checked on the very buffer deserialized here (read into memory, not mmapped,
    // so the file cannot change between check and use). The file name includes the engine's
    // compatibility hash, and wasmtime re-checks engine compatibility itself.
    unsafe { Module::deserialize(engine, artifact) }
}

fn write_atomically(path: &Path, artifact: &[u8]) -> Result<(), RuntimeError> {
    let io = |source| RuntimeError::Cache {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(io)?;
    }
    // Unique per writer: concurrent loads of one module must not share a temp file.
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp{}-{seq}", std::process::id()));
    let mut f = fs::File::create(&tmp).map_err(io)?;
    f.write_all(artifact).map_err(io)?;
    f.write_all(MAGIC).map_err(io)?;
    f.write_all(&(artifact.len() as u64).to_le_bytes())
        .map_err(io)?;
    f.write_all(&crc32(artifact)).map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailer_rejects_truncation_and_corruption() {
        let artifact = b"pretend artifact".to_vec();
        let mut file = artifact.clone();
        file.extend_from_slice(MAGIC);
        file.extend_from_slice(&(artifact.len() as u64).to_le_bytes());
        file.extend_from_slice(&crc32(&artifact));
        assert_eq!(verified_artifact(&file), Some(&artifact[..]));
        assert_eq!(verified_artifact(&file[1..]), None);
        assert_eq!(verified_artifact(&file[..file.len() - 1]), None);
        let mut flipped = file.clone();
        flipped[3] ^= 1;
        assert_eq!(verified_artifact(&flipped), None);
        assert_eq!(verified_artifact(b"short"), None);
    }
}
