//! Wasm plugin IR and the data sources (files or inline bytes) it and TLS use.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Serialize, Serializer};

/// One proxy-wasm plugin instance: an HTTP filter, a network filter or a singleton service.
/// Maps onto the runtime's plugin description one to one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WasmPlugin {
    /// Plugin name (Envoy `config.name`, the `plugin_name` property). Required and unique
    /// within its list in the native format; Envoy files may leave it empty or repeat it.
    pub name: String,
    /// Root context id the plugin selects (`config.root_id`); often empty.
    pub root_id: String,
    /// VMs with the same `vm_id` and code may be shared (`vm_config.vm_id`); often empty.
    pub vm_id: String,
    /// Bytes returned for `VmConfiguration` in `proxy_on_vm_start`.
    #[serde(serialize_with = "bytes_as_text")]
    pub vm_config: Vec<u8>,
    /// Bytes returned for `PluginConfiguration` in `proxy_on_configure`.
    #[serde(serialize_with = "bytes_as_text")]
    pub plugin_config: Vec<u8>,
    /// The module.
    pub code: DataSource,
    /// Env vars the guest sees through WASI `environ_get`
    /// (`vm_config.environment_variables.key_values`).
    pub env: BTreeMap<String, String>,
    /// On a VM failure: `true` lets traffic through unfiltered, `false` answers 503.
    /// Envoy default false.
    pub fail_open: bool,
    /// VMs to run for this plugin; `None` lets the runtime choose (one per worker).
    pub vm_count: Option<u32>,
    /// One VM only, not tied to streams (bootstrap services).
    pub singleton: bool,
}

/// Bytes from a file or given inline. Files are read when the plugin/TLS config is built, so a
/// reload picks up changed files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataSource {
    /// Absolute (resolved) path, checked to exist at load time.
    File(PathBuf),
    #[serde(serialize_with = "inline_summary")]
    Inline(Vec<u8>),
}

impl DataSource {
    /// The bytes (reads the file for [`DataSource::File`]).
    pub fn read(&self) -> std::io::Result<Vec<u8>> {
        match self {
            DataSource::File(path) => std::fs::read(path),
            DataSource::Inline(bytes) => Ok(bytes.clone()),
        }
    }
}

/// A [`DataSource`] holding secret material (private keys). Serializes as the file path, or
/// `"[redacted]"` for inline data, so the IR can be dumped safely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret(pub DataSource);

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            DataSource::File(path) => s.serialize_newtype_variant("DataSource", 0, "file", path),
            DataSource::Inline(_) => {
                s.serialize_newtype_variant("DataSource", 1, "inline", "[redacted]")
            }
        }
    }
}

/// Configuration is usually JSON/YAML text; show it as such, else its size.
fn bytes_as_text<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    match std::str::from_utf8(bytes) {
        Ok(text) => s.serialize_str(text),
        Err(_) => s.serialize_str(&format!("<{} bytes>", bytes.len())),
    }
}

/// Inline modules and certificates would flood a dump; show their size only.
fn inline_summary<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("<{} bytes>", bytes.len()))
}
