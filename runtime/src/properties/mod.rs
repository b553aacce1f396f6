//! Properties (`proxy_get_property` / `proxy_set_property`): Envoy's attribute table.
//!
//! A property path is a list of segments joined by `\0` (`request\0path`, or
//! `request\0headers\0x-user`). This module owns what is the same for every embedder:
//! normalising the path, mapping the pre-1.33 top-level names onto `xds.*`, walking into maps,
//! the wire encoding of typed values, and filter state written with `set_property`. The embedder
//! (the proxy, per stream or connection) only answers "what is `request.path` now?" through
//! [`PropertySource`], with typed [`Value`]s.
//!
//! Lookup order for `get_property` (Envoy `Context::getProperty`/`FindValue`):
//! 1. `request`, `response`, `connection`, `upstream`, `source`, `destination`, `xds`: the first
//!    two segments name the attribute (`request.path`); `request.headers`, `response.headers` and
//!    `response.trailers` take a third segment, the header name (case-insensitive, repeated
//!    headers joined by `,`).
//! 2. The pre-1.33 names (`node`, `cluster_name`, `cluster_metadata`, `listener_direction`,
//!    `listener_metadata`, `route_name`, `route_metadata`, `upstream_host_metadata`) are served
//!    as their `xds.*` equivalent; `plugin_name`, `plugin_root_id`, `plugin_vm_id` and
//!    `metadata` are top-level attributes; `filter_state.<key>` reads filter state by key.
//! 3. Anything else is filter state written by `set_property` (Envoy's `wasm.` prefix).
//!
//! Remaining segments walk into map values (metadata structs) by key and lists by index.
//! Unknown names, absent values and failed walks are `NotFound`.

mod encode;
mod heads;
mod path;
mod state;

use bytes::Bytes;
use microwaf_abi::{HostResult, Status};

pub(crate) use heads::HeadProperties;
use path::Target;

pub use encode::encode;
pub use path::{segments, ATTRIBUTES, LEGACY_NAMES};
pub use state::{
    DeclaredProperties, FilterState, LifeSpan, PropertyPrototype, StateEntry, WasmType,
};

/// A typed attribute value, encoded on the wire as Envoy encodes CEL values.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Raw UTF-8 bytes.
    Str(String),
    /// Raw bytes.
    Bytes(Bytes),
    /// 8 bytes little endian.
    Int(i64),
    /// 8 bytes little endian.
    Uint(u64),
    /// 8 bytes little endian IEEE 754.
    Double(f64),
    /// 1 byte, 0 or 1.
    Bool(bool),
    /// i64 nanoseconds, 8 bytes little endian (saturating).
    Duration(std::time::Duration),
    /// i64 nanoseconds since the Unix epoch, 8 bytes little endian (saturating).
    Timestamp(std::time::SystemTime),
    /// Header-pairs encoding of (key, encoded value).
    Map(Vec<(String, Value)>),
    /// Header-pairs encoding of (encoded element, "").
    List(Vec<Value>),
}

/// What the embedder knows about the current stream or connection.
pub trait PropertySource {
    /// The value of a canonical attribute — one of [`ATTRIBUTES`] such as `request.path`,
    /// `source.address` or `xds.route_name` — or `None` when unknown or not available now.
    fn attribute(&self, name: &str) -> Option<Value>;

    /// One header of `request.headers`, `response.headers` or `response.trailers` (`name` is
    /// lower case). The default searches the whole map from [`PropertySource::attribute`];
    /// embedders with an indexed header map should override it.
    fn header(&self, map: &str, name: &str) -> Option<Value> {
        let Value::Map(entries) = self.attribute(map)? else {
            return None;
        };
        let mut found = entries
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| match v {
                Value::Str(s) => s.clone(),
                Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
                _ => String::new(),
            });
        let first = found.next()?;
        Some(Value::Str(found.fold(first, |acc, v| acc + "," + &v)))
    }
}

/// `plugin_name`, `plugin_root_id` and `plugin_vm_id`: known to the runtime, not the embedder.
#[derive(Debug, Clone, Default)]
pub struct PluginProperties {
    pub name: String,
    pub root_id: String,
    pub vm_id: String,
}

impl PropertySource for PluginProperties {
    fn attribute(&self, name: &str) -> Option<Value> {
        let v = match name {
            "plugin_name" => &self.name,
            "plugin_root_id" => &self.root_id,
            "plugin_vm_id" => &self.vm_id,
            _ => return None,
        };
        Some(Value::Str(v.clone()))
    }
}

/// `proxy_get_property`: resolves `path` against `sources` (first answer wins) and filter state.
pub fn get_property(
    path: &[u8],
    sources: &[&dyn PropertySource],
    filter_state: Option<&FilterState>,
) -> HostResult<Bytes> {
    let segs = segments(path)?;
    let (value, from) = match path::resolve(&segs)? {
        Target::Attribute(name, from) => (sources.iter().find_map(|s| s.attribute(&name)), from),
        Target::Header(map, name, from) => {
            (sources.iter().find_map(|s| s.header(map, &name)), from)
        }
        Target::FilterState(from) => {
            let value = filter_state.and_then(|s| s.get(segs[1]));
            (value.map(|e| Value::Bytes(e.value.clone())), from)
        }
        Target::WasmState => {
            let state = filter_state.ok_or(Status::NotFound)?;
            let entry = state.get_wasm(path).or_else(|| state.get_wasm(segs[0]));
            return entry.map(|e| e.value.clone()).ok_or(Status::NotFound);
        }
    };
    let value = path::walk(
        value.ok_or(Status::NotFound)?,
        segs.get(from..).unwrap_or(&[]),
    )?;
    Ok(encode(&value)?)
}

/// `proxy_set_property`: writes filter state readable back with `get_property`. Contexts without
/// a stream (the root context) have no filter state: `NotFound`, as in Envoy.
pub fn set_property(
    path: &[u8],
    value: &[u8],
    filter_state: Option<&mut FilterState>,
    declared: &DeclaredProperties,
) -> HostResult<()> {
    filter_state
        .ok_or(Status::NotFound)?
        .set_property(path, value, declared)
}

#[cfg(test)]
mod tests;
