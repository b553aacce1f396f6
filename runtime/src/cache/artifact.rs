//! The cache file format and the one `unsafe` of the runtime: turning verified bytes or a
//! verified file into a [`Module`].
//!
//! File content: the artifact (an ELF object from `Engine::precompile_module`) followed by a
//! trailer (magic, artifact length, CRC-32 of the artifact). A file that is truncated, corrupt,
//! or was written by someone else fails the trailer check. Files are written to a temp file and
//! renamed, so a reader never sees a half-written file and a file, once named, never changes.
//!
//! Why CRC-32 and not SHA-256 for the trailer: it guards against torn writes and bit rot, not
//! against an attacker (anyone who can write the cache directory can write a matching trailer
//! whatever the hash). Measured 2026-12-02 on the 5.7 MB MicroWAF module: SHA-256 of the
//! artifact was the largest single cost of a cache load; CRC-32 (SIMD) is ~10× faster.
//!
//! Why a verified file is mapped rather than read (measured 2026-12-07, MicroWAF module, its
//! artifact 7.1 MB, `microwaf serve --workers 2` from a warm cache): reading the file into a
//! `Vec` and deserializing copied the artifact twice into anonymous memory, the `Vec` (freed
//! but kept resident by the allocator until its next purge) and Wasmtime's code copy; the peak
//! RSS was 35.5 MB against 28.8 MB steady. Mapped, the code pages are file-backed and shared
//! with the page cache, only the pages touched are resident, and Wasmtime maps the linear
//! memory's initial image straight from the file instead of copying it into a memfd.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::{Engine, Module};

use crate::error::RuntimeError;

/// Version 2: CRC-32 trailer (version 1 files carried SHA-256 and are recompiled once).
const MAGIC: &[u8; 8] = b"MWAFAOT2";
const TRAILER_LEN: usize = 8 + 8 + 4;

/// CRC-32 (IEEE) of an artifact, the trailer's integrity check.
fn crc32(bytes: &[u8]) -> [u8; 4] {
    let mut h = crc32fast::Hasher::new();
    h.update(bytes);
    h.finalize().to_le_bytes()
}

/// What [`deserialize`] turns into a module.
pub(super) enum Artifact<'a> {
    /// An artifact this process just produced (no cache file to map).
    Bytes(&'a [u8]),
    /// A cache file whose trailer [`open_verified`] checked.
    File(VerifiedFile),
}

/// An open cache file whose artifact matched its trailer when read through this very handle.
pub(super) struct VerifiedFile(File);

/// Opens `path` and checks its trailer against the artifact, streaming it through a small
/// buffer (reading never makes the file's pages part of this process's RSS; mapping it later
/// only makes the pages Wasmtime touches resident).
pub(super) fn open_verified(path: &Path) -> Option<VerifiedFile> {
    let mut file = File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let artifact_len = len.checked_sub(TRAILER_LEN as u64)?;
    let mut trailer = [0u8; TRAILER_LEN];
    file.seek(SeekFrom::Start(artifact_len)).ok()?;
    file.read_exact(&mut trailer).ok()?;
    let (magic, rest) = trailer.split_at(8);
    let (stored_len, digest) = rest.split_at(8);
    if magic != MAGIC || u64::from_le_bytes(stored_len.try_into().ok()?) != artifact_len {
        return None;
    }
    file.seek(SeekFrom::Start(0)).ok()?;
    let mut h = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 64 << 10];
    let mut left = artifact_len;
    while left > 0 {
        let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        file.read_exact(&mut buf[..n]).ok()?;
        h.update(&buf[..n]);
        left -= n as u64;
    }
    (h.finalize().to_le_bytes() == digest).then_some(VerifiedFile(file))
}

/// The only `unsafe` in the runtime besides the allocator trim in `compiler`.
pub(super) fn deserialize(engine: &Engine, artifact: Artifact<'_>) -> wasmtime::Result<Module> {
    match artifact {
        // SAFETY: `Module::deserialize` requires bytes produced by `Engine::precompile_module`
        // of a compatible engine and not modified since: callers pass an artifact this process
        // just produced. Wasmtime re-checks engine compatibility itself.
        Artifact::Bytes(bytes) => unsafe { Module::deserialize(engine, bytes) },
        // SAFETY: `deserialize_open_file` requires the same of the file, and that it stays
        // unchanged while the module lives (it is mapped copy-on-write). The CRC-32 of the
        // artifact matched the trailer written beside it, read through this very handle, and
        // the file name carries the engine's compatibility hash. Nothing in the runtime writes
        // a cache file in place: a replacement is a new file renamed over the name, which
        // leaves the mapped inode as it was. Whoever can write the cache directory can make the
        // proxy run any code, so it must be as trusted as the binary (docs/config.md); the
        // trailer guards against torn writes and bit rot, not against them.
        Artifact::File(VerifiedFile(file)) => unsafe {
            Module::deserialize_open_file(engine, file)
        },
    }
}

/// Writes `artifact` and its trailer to `path` (temp file + rename).
pub(super) fn write_atomically(path: &Path, artifact: &[u8]) -> Result<(), RuntimeError> {
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
    let mut f = File::create(&tmp).map_err(io)?;
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

    fn with_trailer(artifact: &[u8]) -> Vec<u8> {
        let mut file = artifact.to_vec();
        file.extend_from_slice(MAGIC);
        file.extend_from_slice(&(artifact.len() as u64).to_le_bytes());
        file.extend_from_slice(&crc32(artifact));
        file
    }

    #[test]
    fn trailer_rejects_truncation_corruption_and_foreign_files() {
        let dir = std::env::temp_dir().join(format!("microwaf-artifact-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.cwasm");
        // Longer than the read buffer, and not a multiple of it.
        let artifact: Vec<u8> = (0..200_003u32).map(|i| (i * 7) as u8).collect();
        write_atomically(&path, &artifact).unwrap();
        let file = fs::read(&path).unwrap();
        assert_eq!(file, with_trailer(&artifact));
        assert!(open_verified(&path).is_some());
        for bad in [
            file[..file.len() - 1].to_vec(),
            file[1..].to_vec(),
            [&file[..100_000], &[file[100_000] ^ 1], &file[100_001..]].concat(),
            b"short".to_vec(),
            Vec::new(),
        ] {
            fs::write(&path, &bad).unwrap();
            assert!(open_verified(&path).is_none());
        }
        fs::remove_dir_all(&dir).unwrap();
    }
}
