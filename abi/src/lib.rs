//! The proxy-wasm ABI contract, host side.
//!
//! What this crate is for: everything a host needs to speak the proxy-wasm ABI that does not
//! depend on *what* the host is — the wire enums ([`types`]), the header-pair codec ([`pairs`]),
//! bounds-checked guest memory ([`memory`]), the host traits with one method per import, named
//! after it ([`host`]: [`HttpHost`], [`StreamHost`], [`SharedHost`], [`CalloutHost`],
//! [`MetricsHost`], [`PropertyHost`], [`GeneralHost`], bundled as [`Host`]), and the Wasmtime
//! linker adapters ([`linker`], [`wasi`]) that bind guest imports to a `Host`.
//! `microwaf-runtime` implements the traits on its per-VM store; tests implement them with fakes.

pub mod host;
pub mod linker;
pub mod memory;
pub mod pairs;
pub mod types;
pub mod wasi;

#[cfg(test)]
mod testing;

pub use host::{
    CalloutHost, GeneralHost, GrpcCall, GuestExports, Host, HostBytes, HostResult, HttpCall,
    HttpHost, LocalResponse, MetricsHost, PairRef, PropertyHost, SharedHost, StreamHost,
};
pub use linker::add_to_linker;
pub use memory::GuestMemory;
pub use pairs::PairsError;
pub use types::{
    AbiVersion, Action, BufferType, ContextType, LogLevel, MapType, MetricType, PeerType, Status,
    StreamType,
};
pub use wasi::{add_wasi_to_linker, ProcExit, WasiHost};
