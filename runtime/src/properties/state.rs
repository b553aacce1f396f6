//! Filter state: values filters write with `set_property` (and the `set_envoy_filter_state`
//! foreign function) and read back with `get_property`.
//!
//! Envoy stores `set_property(path, v)` under the filter-state key `wasm.<path>`, typed by a
//! prototype declared with the `declare_property` foreign function (default: mutable bytes).
//! A read-only property can be written once; a second write → `BadArgument`.

use std::collections::HashMap;

use bytes::Bytes;
use microwaf_abi::{HostResult, Status};

/// Envoy's filter-state key prefix for properties written by wasm.
const WASM_PREFIX: &[u8] = b"wasm.";

/// How a declared property's bytes are interpreted (Envoy `WasmType`); reads return the bytes
/// as stored whatever the type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WasmType {
    #[default]
    Bytes = 0,
    String = 1,
    FlatBuffers = 2,
    Protobuf = 3,
}

/// How long a value lives (Envoy `FilterState::LifeSpan`); the runtime decides where to keep
/// the [`FilterState`] (per stream or per connection) from this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LifeSpan {
    #[default]
    FilterChain = 0,
    DownstreamRequest = 1,
    DownstreamConnection = 2,
}

/// A property declared through `declare_property`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PropertyPrototype {
    pub readonly: bool,
    pub kind: WasmType,
    pub schema: Bytes,
    pub span: LifeSpan,
}

/// Declared properties of one root context (plugin instance in a VM).
#[derive(Debug, Default)]
pub struct DeclaredProperties {
    map: HashMap<Vec<u8>, PropertyPrototype>,
}

impl DeclaredProperties {
    /// Declares `name`; declaring it again → `BadArgument` (Envoy keeps the first schema, which
    /// live values may still reference).
    pub fn declare(&mut self, name: &[u8], prototype: PropertyPrototype) -> HostResult<()> {
        if self.map.contains_key(name) {
            return Err(Status::BadArgument);
        }
        self.map.insert(name.to_vec(), prototype);
        Ok(())
    }

    pub fn get(&self, name: &[u8]) -> Option<&PropertyPrototype> {
        self.map.get(name)
    }
}

/// One filter-state value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateEntry {
    pub value: Bytes,
    pub prototype: PropertyPrototype,
}

/// The filter state of one stream (or connection).
#[derive(Debug, Default)]
pub struct FilterState {
    entries: HashMap<Vec<u8>, StateEntry>,
}

fn wasm_key(path: &[u8]) -> Vec<u8> {
    let path = path.strip_suffix(b"\0").unwrap_or(path);
    [WASM_PREFIX, path].concat()
}

impl FilterState {
    /// Stores `value` under `key` with `prototype`; a read-only entry → `BadArgument`.
    pub fn set(
        &mut self,
        key: &[u8],
        value: &[u8],
        prototype: PropertyPrototype,
    ) -> HostResult<()> {
        match self.entries.get_mut(key) {
            Some(entry) if entry.prototype.readonly => Err(Status::BadArgument),
            Some(entry) => {
                entry.value = Bytes::copy_from_slice(value);
                Ok(())
            }
            None => {
                let value = Bytes::copy_from_slice(value);
                self.entries
                    .insert(key.to_vec(), StateEntry { value, prototype });
                Ok(())
            }
        }
    }

    /// `set_property`: stores under `wasm.<path>`, typed by its declaration if any.
    pub fn set_property(
        &mut self,
        path: &[u8],
        value: &[u8],
        declared: &DeclaredProperties,
    ) -> HostResult<()> {
        let name = path.strip_suffix(b"\0").unwrap_or(path);
        let prototype = declared.get(name).cloned().unwrap_or_default();
        self.set(&wasm_key(name), value, prototype)
    }

    /// The entry stored under exactly `key` (`filter_state.<key>`).
    pub fn get(&self, key: &[u8]) -> Option<&StateEntry> {
        self.entries.get(key)
    }

    /// The entry `set_property(path, ..)` wrote.
    pub fn get_wasm(&self, path: &[u8]) -> Option<&StateEntry> {
        self.entries.get(&wasm_key(path))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
