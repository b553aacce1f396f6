//! The WASI preview1 table, as much of it as a proxy-wasm filter needs.
//!
//! Toolchains targeting `wasm32-wasip1` (Rust, TinyGo, the C++ SDK's emscripten/wasi-libc
//! builds) import WASI functions even when the filter never touches a file: printing, clocks,
//! randomness for hash maps, environment for config, preopen scanning at start-up. Envoy
//! implements the handful that matter and stubs the rest; we do the same, registering every
//! preview1 function under both `wasi_snapshot_preview1` and `wasi_unstable` so no module fails
//! to load for a missing WASI import:
//!
//! - [`io`]: `fd_write` to stdout/stderr → [`WasiHost::wasi_log`]; `fd_fdstat_get`;
//!   `fd_prestat_get` → `EBADF` (no preopens, ends wasi-libc's scan).
//! - [`env`]: args, environ, clocks, `random_get`, `sched_yield`, `poll_oneoff` (clock
//!   subscriptions fire at once: a filter must never block its worker), `proc_exit` → a
//!   [`ProcExit`] trap the runtime recognises.
//! - [`stubs`]: every other preview1 function with its exact signature, answering an errno.

mod env;
mod io;
mod stubs;

use wasmtime::{Caller, Linker};

use crate::memory::GuestMemory;
use crate::types::Status;

/// The two module names WASI preview1 imports use.
pub const WASI_MODULES: [&str; 2] = ["wasi_snapshot_preview1", "wasi_unstable"];

/// WASI errno values used here (preview1 numbering).
pub mod errno {
    pub const SUCCESS: u32 = 0;
    pub const BADF: u32 = 8;
    pub const FAULT: u32 = 21;
    pub const INVAL: u32 = 28;
    pub const NOENT: u32 = 44;
    pub const NOSYS: u32 = 52;
}

/// What WASI calls need from the embedder, per VM.
pub trait WasiHost {
    /// Bytes written to fd 1 (stdout) or 2 (stderr), one `fd_write` at a time, with one trailing
    /// newline removed. Envoy logs stdout at info and stderr at error.
    fn wasi_log(&mut self, fd: u32, bytes: &[u8]);
    /// Environment visible to the guest (Envoy: the VM config's `environment_variables`).
    fn environ(&self) -> &[(String, String)];
    /// Command-line arguments visible to the guest; Envoy passes none.
    fn args(&self) -> &[String] {
        &[]
    }
    /// Fills `buf` with cryptographically secure random bytes.
    fn random(&mut self, buf: &mut [u8]);
    /// Wall-clock time, nanoseconds since the Unix epoch.
    fn now_realtime(&self) -> u64;
    /// Monotonic time in nanoseconds from an arbitrary fixed origin.
    fn now_monotonic(&self) -> u64;
}

/// The trap `proc_exit` raises. The runtime downcasts a trap to this: code 0 after `_start`
/// is a normal exit (TinyGo's command modules do it), anything else a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("guest called proc_exit({0})")]
pub struct ProcExit(pub i32);

/// Defines the whole preview1 table under both WASI module names.
pub fn add_wasi_to_linker<T: 'static, W: WasiHost + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut W,
) -> wasmtime::Result<()> {
    for module in WASI_MODULES {
        io::add(linker, module, get)?;
        env::add(linker, module, get)?;
        stubs::add(linker, module)?;
    }
    Ok(())
}

/// Runs a WASI body with guest memory and the host split apart; a bad pointer is `EFAULT`.
fn wasi<T: 'static, W>(
    mut caller: Caller<'_, T>,
    get: fn(&mut T) -> &mut W,
    body: impl FnOnce(&mut GuestMemory<'_>, &mut W) -> Result<(), u32>,
) -> u32 {
    let Some(mem) = caller.get_export("memory").and_then(|e| e.into_memory()) else {
        return errno::FAULT;
    };
    let (data, store) = mem.data_and_store_mut(&mut caller);
    match body(&mut GuestMemory::new(data), get(store)) {
        Ok(()) => errno::SUCCESS,
        Err(e) => e,
    }
}

/// Out-of-bounds guest memory in a WASI call is `EFAULT`.
fn fault(_: Status) -> u32 {
    errno::FAULT
}

#[cfg(test)]
mod tests;
