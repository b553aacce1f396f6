//! [`PropertyHost`]: properties and foreign functions (`linker/properties.rs` adapts the
//! imports).

use bytes::Bytes;

use super::HostResult;

/// Attributes of the stream, the connection and the plugin (`request.path`, `source.address`,
/// `plugin_root_id`, …), and the guest's own filter state. Foreign functions live here because
/// the ones Envoy's filters call (`declare_property`, `set_envoy_filter_state`) act on
/// properties.
pub trait PropertyHost {
    /// `proxy_get_property`: `path` is the raw attribute path, segments joined by `\0`.
    fn get_property(&mut self, path: &[u8]) -> HostResult<Bytes>;
    /// `proxy_set_property`.
    fn set_property(&mut self, path: &[u8], value: &[u8]) -> HostResult<()>;
    /// `proxy_call_foreign_function`: unknown function → `NotFound`.
    fn call_foreign_function(&mut self, name: &[u8], args: &[u8]) -> HostResult<Bytes>;
}
