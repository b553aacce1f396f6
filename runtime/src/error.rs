//! Errors at the runtime's boundary. Messages always name the plugin, and a plugin that refused
//! its configuration carries its own log lines, because that is usually where it says why.

use std::path::PathBuf;

/// Why loading or running a plugin failed.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The Wasmtime engine could not be configured (bad limits for this machine).
    #[error("engine setup failed: {0}")]
    Engine(String),
    /// The wasm file could not be read.
    #[error("plugin {plugin}: cannot read {path}: {source}")]
    ReadWasm {
        plugin: String,
        path: PathBuf,
        source: std::io::Error,
    },
    /// The module cache directory could not be used (it is an optimisation, but a broken
    /// cache dir is a configuration error the operator should see).
    #[error("module cache {path}: {source}")]
    Cache {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The bytes are not a valid wasm module, or Cranelift rejected them.
    #[error("plugin {plugin}: compile failed: {message}")]
    Compile { plugin: String, message: String },
    /// No `proxy_abi_version_*` export: not a proxy-wasm module.
    #[error("plugin {plugin}: no proxy_abi_version_* export; not a proxy-wasm module")]
    NotProxyWasm { plugin: String },
    /// Instantiation failed (imports, start function, pool exhausted).
    #[error("plugin {plugin}: instantiation failed: {message}")]
    Instantiate { plugin: String, message: String },
    /// A start callback returned false (`proxy_on_vm_start`, `proxy_on_configure`,
    /// `proxy_validate_configuration`).
    #[error("plugin {plugin}: {callback} returned false{}", logs_suffix(.logs))]
    Rejected {
        plugin: String,
        callback: &'static str,
        logs: Vec<String>,
    },
    /// The guest trapped (or hit its deadline / memory cap) while starting.
    #[error("plugin {plugin}: {callback} failed: {kind}: {message}{}", logs_suffix(.logs))]
    Trapped {
        plugin: String,
        callback: &'static str,
        kind: crate::TrapKind,
        message: String,
        logs: Vec<String>,
    },
    /// The module's initial linear memory alone exceeds the plugin's memory cap: it could never
    /// be instantiated, so it is refused at load instead of failing every VM start.
    #[error(
        "plugin {plugin}: initial memory of {needed} bytes exceeds the per-VM memory cap of {cap} bytes"
    )]
    MemoryCap {
        plugin: String,
        needed: u64,
        cap: u64,
    },
    /// Invalid plugin configuration on the host side (e.g. zero VMs).
    #[error("plugin {plugin}: invalid configuration: {message}")]
    Config { plugin: String, message: String },
}

fn logs_suffix(logs: &[String]) -> String {
    if logs.is_empty() {
        String::new()
    } else {
        format!("; plugin logs:\n  {}", logs.join("\n  "))
    }
}
