//! Foreign functions (`proxy_call_foreign_function`): the ones Envoy registers that filters use.
//!
//! - `compress` / `uncompress`: zlib ([`zlib`]); bad input → `SerializationFailure`.
//! - `declare_property`: `DeclarePropertyArguments` (name = 1, readonly = 2, type = 3,
//!   schema = 4, span = 5) declares a typed filter-state property for `set_property`;
//!   unparsable arguments or a second declaration of a name → `BadArgument`.
//! - `set_envoy_filter_state`: `SetEnvoyFilterStateArguments` (path = 1, value = 2, span = 3)
//!   stores `value` in filter state under `path`, readable as `filter_state.<path>`. Only the
//!   keys of [`ENVOY_FILTER_STATE_KEYS`] (Envoy factories microwaf acts on) are accepted; any
//!   other key → `NotFound`, as Envoy answers a key without a factory. No filter state (root
//!   context) → `NotFound`.
//! - Any other name → `NotFound`.

mod proto;
mod zlib;

use bytes::Bytes;
use microwaf_abi::{HostResult, Status};

use crate::properties::{DeclaredProperties, FilterState, LifeSpan, PropertyPrototype, WasmType};
use proto::{fields, text, Field, Malformed};

pub use zlib::{compress, uncompress};

/// The filter-state keys a filter may set through `set_envoy_filter_state`: those of Envoy's
/// registered object factories (`StreamInfo::FilterState::ObjectFactory`) that microwaf acts
/// on. The proxy's `tcp_proxy` connects to `envoy.tcp_proxy.cluster` and applies
/// `envoy.tcp_proxy.per_connection_idle_timeout_ms`; `envoy.string` and
/// `envoy.hashable_string` are plain values other filters read back as `filter_state.<key>`.
/// Envoy answers a key without a factory with `NotFound`; so does microwaf for the keys Envoy
/// knows but microwaf would not act on ([`ENVOY_FILTER_STATE_REFUSED`]): an Ok that changes
/// nothing would let a filter believe it routed or re-targeted a connection.
pub const ENVOY_FILTER_STATE_KEYS: &[&str] = &[
    "envoy.tcp_proxy.cluster",
    "envoy.tcp_proxy.per_connection_idle_timeout_ms",
    "envoy.string",
    "envoy.hashable_string",
];

/// Keys Envoy acts on that microwaf refuses (`NotFound`), listed in docs/abi.md.
pub const ENVOY_FILTER_STATE_REFUSED: &[&str] = &[
    "envoy.tcp_proxy.disable_tunneling",
    "envoy.network.upstream_server_name",
    "envoy.network.application_protocols",
    "envoy.network.upstream_subject_alt_names",
    "envoy.network.transport_socket.original_dst_address",
    "envoy.filters.listener.original_dst.local_ip",
    "envoy.filters.listener.original_dst.remote_ip",
    "envoy.upstream.dynamic_host",
    "envoy.upstream.dynamic_port",
    "envoy.ratelimit.hits_addend",
];

/// Default cap on `uncompress` output.
pub const MAX_UNCOMPRESSED: usize = 16 << 20;

/// The state a foreign function may touch, borrowed from the calling context.
pub struct ForeignCall<'a> {
    /// Declared properties of the calling plugin's root context.
    pub declared: &'a mut DeclaredProperties,
    /// The calling stream's filter state; `None` in the root context.
    pub filter_state: Option<&'a mut FilterState>,
}

/// The foreign-function table and its limits.
#[derive(Debug, Clone)]
pub struct ForeignFunctions {
    pub max_uncompressed: usize,
}

impl Default for ForeignFunctions {
    fn default() -> Self {
        ForeignFunctions {
            max_uncompressed: MAX_UNCOMPRESSED,
        }
    }
}

impl From<Malformed> for Status {
    fn from(_: Malformed) -> Status {
        Status::BadArgument
    }
}

impl ForeignFunctions {
    /// Calls foreign function `name` with `args`; the result bytes go back to the guest.
    pub fn call(&self, name: &[u8], args: &[u8], cx: ForeignCall<'_>) -> HostResult<Bytes> {
        match name {
            b"compress" => compress(args),
            b"uncompress" => uncompress(args, self.max_uncompressed),
            b"declare_property" => declare_property(args, cx.declared).map(|()| Bytes::new()),
            b"set_envoy_filter_state" => {
                set_envoy_filter_state(args, cx.filter_state).map(|()| Bytes::new())
            }
            _ => Err(Status::NotFound),
        }
    }
}

fn wasm_type(v: u64) -> WasmType {
    match v {
        1 => WasmType::String,
        2 => WasmType::FlatBuffers,
        3 => WasmType::Protobuf,
        _ => WasmType::Bytes,
    }
}

fn life_span(v: u64) -> LifeSpan {
    match v {
        1 => LifeSpan::DownstreamRequest,
        2 => LifeSpan::DownstreamConnection,
        _ => LifeSpan::FilterChain,
    }
}

fn varint(field: &Field<'_>) -> Result<u64, Malformed> {
    match field {
        Field::Varint(v) => Ok(*v),
        _ => Err(Malformed),
    }
}

fn declare_property(args: &[u8], declared: &mut DeclaredProperties) -> HostResult<()> {
    let mut name = "";
    let mut proto = PropertyPrototype::default();
    for (number, field) in fields(args)? {
        match (number, field) {
            (1, f) => name = text(&f)?,
            (2, f) => proto.readonly = varint(&f)? != 0,
            (3, f) => proto.kind = wasm_type(varint(&f)?),
            (4, Field::Bytes(schema)) => proto.schema = Bytes::copy_from_slice(schema),
            (4, _) => return Err(Status::BadArgument),
            (5, f) => proto.span = life_span(varint(&f)?),
            _ => {}
        }
    }
    declared.declare(name.as_bytes(), proto)
}

fn set_envoy_filter_state(args: &[u8], state: Option<&mut FilterState>) -> HostResult<()> {
    let (mut path, mut value, mut span) = ("", &[][..], LifeSpan::FilterChain);
    for (number, field) in fields(args)? {
        match (number, field) {
            (1, f) => path = text(&f)?,
            (2, Field::Bytes(v)) => value = v,
            (3, f) => span = life_span(varint(&f)?),
            (2, _) => return Err(Status::BadArgument),
            _ => {}
        }
    }
    if path.is_empty() {
        return Err(Status::BadArgument);
    }
    if !ENVOY_FILTER_STATE_KEYS.contains(&path) {
        return Err(Status::NotFound);
    }
    let proto = PropertyPrototype {
        span,
        ..PropertyPrototype::default()
    };
    state
        .ok_or(Status::NotFound)?
        .set(path.as_bytes(), value, proto)
}

#[cfg(test)]
mod tests;
