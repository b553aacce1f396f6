//! The host side of every `env` import, as plain Rust: one trait per ABI area, each method named
//! after its hostcall without the `proxy_` prefix (`proxy_get_header_map_value` is
//! [`HttpHost::get_header_map_value`]), so a search for the import's name finds its contract,
//! its adapter and every implementation.
//!
//! One file per area, named like its adapters in `linker/` and its implementation in the
//! runtime's `host/` (docs/abi.md lists every hostcall's area):
//! [`HttpHost`] (header maps, buffers), [`StreamHost`] (stream control), [`SharedHost`]
//! (shared data, queues), [`CalloutHost`] (HTTP and gRPC calls), [`MetricsHost`],
//! [`PropertyHost`] (properties, foreign functions) and [`GeneralHost`] (log, time, ticks,
//! contexts). [`Host`] bundles them.
//!
//! Linker adapters (see `linker`) do the guest-facing work — bounds-checked reads of arguments,
//! decoding header pairs, calling the guest allocator for returned buffers, writing results
//! through out-pointers — and call one method here. Implementations see only decoded values, so
//! the runtime, unit tests and fakes implement the same contract, and the status codes a guest
//! sees are decided in exactly one place per hostcall.
//!
//! Every method answers with the [`Status`] Envoy would return on that path (docs/abi.md). A guest
//! bug the ABI reports (bad pointer, unknown enum value) is a status too, never a trap; traps are
//! kept for what Envoy also aborts on (e.g. `proc_exit`, an allocator that traps).

mod callouts;
mod general;
mod http;
mod metrics;
mod properties;
mod shared;
mod stream;

use bytes::Bytes;

pub use callouts::{CalloutHost, GrpcCall, HttpCall};
pub use general::GeneralHost;
pub use http::HttpHost;
pub use metrics::MetricsHost;
pub use properties::PropertyHost;
pub use shared::SharedHost;
pub use stream::{LocalResponse, StreamHost};

use crate::types::{AbiVersion, Status};

/// Cached guest exports (see [`Host::guest_exports`]); `None` fields are looked up by name.
#[derive(Clone, Default)]
pub struct GuestExports {
    pub memory: Option<wasmtime::Memory>,
    /// `malloc`, or `proxy_on_memory_allocate` when there is no `malloc`.
    pub allocator: Option<wasmtime::TypedFunc<u32, u32>>,
}

/// A hostcall's result as the guest will see it.
pub type HostResult<T> = Result<T, Status>;

/// Bytes a hostcall hands the guest: borrowed from the host's own buffer where it keeps one
/// (the adapter copies them straight into guest memory: one copy, no allocation on the host),
/// or owned.
#[derive(Debug, Clone)]
pub enum HostBytes<'a> {
    Borrowed(&'a [u8]),
    Owned(Bytes),
}

impl std::ops::Deref for HostBytes<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            HostBytes::Borrowed(b) => b,
            HostBytes::Owned(b) => b,
        }
    }
}

/// One header pair borrowed from guest memory (names as sent; HTTP/2 peers send lower case).
pub type PairRef<'a> = (&'a [u8], &'a [u8]);

/// A whole proxy-wasm host: every area, plus what the adapters need to know about the guest
/// that is not a hostcall. [`crate::add_to_linker`] takes one, so the linker stays a single
/// generic entry point; adapters are monomorphised over it (no dynamic dispatch per call).
///
/// Calls address the *effective* context: the one the current callback runs for, or the one set
/// by `proxy_set_effective_context`. The ABI 0.1.0/0.2.0 variants are mapped onto these methods
/// by the adapters, switching on [`Host::abi_version`].
pub trait Host:
    HttpHost + StreamHost + SharedHost + CalloutHost + MetricsHost + PropertyHost + GeneralHost
{
    /// The ABI the module declared; adapters apply 0.1.0 semantics where they differ.
    fn abi_version(&self) -> AbiVersion;

    /// The guest's exported memory and allocator, if the host cached them after instantiation.
    /// Adapters otherwise look both up by name on every call; caching saves a string lookup per
    /// hostcall. The handles must belong to the store the calls run in.
    fn guest_exports(&self) -> GuestExports {
        GuestExports::default()
    }
}
