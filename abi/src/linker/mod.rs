//! Wasmtime linker adapters for the proxy-wasm `env` imports.
//!
//! [`add_to_linker`] defines every import of ABI 0.2.1 plus the 0.2.0/0.1.0 variants and the
//! two emscripten helpers. Each adapter is a few lines: split guest memory from the host, decode
//! the arguments (bounds-checked, enums validated), call the [`Host`] method named after the
//! import, write the results back. Guest bugs become statuses (`InvalidMemoryAccess`,
//! `BadArgument`), never traps.
//!
//! Adapters are grouped by ABI area, one file each, named like the trait file in `host/` that
//! states the contract: [`http`] (header maps, buffers), [`stream`] (stream control),
//! [`shared`] (shared data, queues), [`callouts`] (HTTP/gRPC calls, `proxy_get_status`),
//! [`metrics`], [`properties`] (properties, foreign functions) and [`general`] (log, time,
//! ticks, contexts, emscripten shims).
//!
//! Imports a module declares that no one defines (a newer ABI function, another toolchain's
//! shim) must not fail the load: the runtime calls
//! [`wasmtime::Linker::define_unknown_imports_as_traps`] per module on a clone of its linker,
//! so the module loads and only a call to the unknown function traps.

mod callouts;
mod general;
mod guest;
mod http;
mod metrics;
mod properties;
mod shared;
mod stream;

use wasmtime::Linker;

use crate::host::Host;

/// The import module name of every proxy-wasm hostcall.
pub const ENV: &str = "env";

/// Defines every `env` import on `linker`, routing each call to the [`Host`] that `get`
/// projects out of the store data.
pub fn add_to_linker<T: 'static, H: Host + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut H,
) -> wasmtime::Result<()> {
    http::add(linker, get)?;
    stream::add(linker, get)?;
    shared::add(linker, get)?;
    callouts::add(linker, get)?;
    metrics::add(linker, get)?;
    properties::add(linker, get)?;
    general::add(linker, get)
}

#[cfg(test)]
mod tests;
