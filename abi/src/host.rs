//! The [`Host`] trait: the host side of every `env` import, as plain Rust.
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

use bytes::Bytes;

use crate::types::{AbiVersion, BufferType, LogLevel, MapType, MetricType, Status, StreamType};

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

/// Arguments of `proxy_send_local_response`, borrowed from guest memory.
#[derive(Debug, Clone)]
pub struct LocalResponse<'a> {
    pub status_code: u32,
    /// Envoy's "response code details" (shown in access logs).
    pub details: &'a [u8],
    pub body: &'a [u8],
    pub headers: Vec<PairRef<'a>>,
    /// gRPC status to send in trailers; −1 means none.
    pub grpc_status: i32,
}

/// Arguments of `proxy_http_call`, borrowed from guest memory.
#[derive(Debug, Clone)]
pub struct HttpCall<'a> {
    /// Cluster name the call is routed to.
    pub upstream: &'a [u8],
    /// Must contain `:method`, `:path` and `:authority`, else the host answers `BadArgument`.
    pub headers: Vec<PairRef<'a>>,
    pub body: &'a [u8],
    pub trailers: Vec<PairRef<'a>>,
    pub timeout_ms: u32,
}

/// Arguments of `proxy_grpc_call` / `proxy_grpc_stream`, borrowed from guest memory.
#[derive(Debug, Clone)]
pub struct GrpcCall<'a> {
    /// Cluster name (Envoy also accepts a serialized `GrpcService`; we accept the name).
    pub upstream: &'a [u8],
    pub service: &'a [u8],
    pub method: &'a [u8],
    pub initial_metadata: Vec<PairRef<'a>>,
    /// The request message for unary calls; empty for streams.
    pub message: &'a [u8],
    pub timeout_ms: u32,
}

/// The host side of the proxy-wasm `env` imports (ABI 0.2.1 superset; 0.1.0/0.2.0 variants are
/// mapped onto these by the adapters, switching on [`Host::abi_version`]).
///
/// Calls address the *effective* context: the one the current callback runs for, or the one set
/// by `proxy_set_effective_context`.
pub trait Host {
    /// The ABI the module declared; adapters apply 0.1.0 semantics where they differ.
    fn abi_version(&self) -> AbiVersion;

    /// The guest's exported memory and allocator, if the host cached them after instantiation.
    /// Adapters otherwise look both up by name on every call; caching saves a string lookup per
    /// hostcall. The handles must belong to the store the calls run in.
    fn guest_exports(&self) -> GuestExports {
        GuestExports::default()
    }

    // --- logging, time, contexts -------------------------------------------------------------
    fn log(&mut self, level: LogLevel, message: &[u8]) -> HostResult<()>;
    fn log_level(&mut self) -> HostResult<LogLevel>;
    fn current_time_nanos(&mut self) -> HostResult<u64>;
    /// Sets the root context's `on_tick` period; 0 disables ticks.
    fn set_tick_period(&mut self, millis: u32) -> HostResult<()>;
    /// Unknown context id → `BadArgument`.
    fn set_effective_context(&mut self, context_id: u32) -> HostResult<()>;
    /// The root context finished the asynchronous work it postponed when its `on_done`
    /// returned false; `NotFound` when no deletion is pending (Envoy's `WasmBase::done`).
    fn done(&mut self) -> HostResult<()>;

    // --- buffers -----------------------------------------------------------------------------
    /// Up to `max_size` bytes from `start`. A buffer not available in this callback →
    /// `NotFound`; then `start + max_size` overflowing `u32` → `BadArgument` (Envoy's order);
    /// a `start` past the end is an empty result, written to the guest as (0, 0).
    fn get_buffer_bytes(
        &mut self,
        buffer: BufferType,
        start: u32,
        max_size: u32,
    ) -> HostResult<Bytes>;
    /// [`Host::get_buffer_bytes`] as the adapters call it. A host that keeps the buffer answers
    /// [`HostBytes::Borrowed`]; the adapter then calls it a second time, after the guest's
    /// allocator ran, to copy the bytes into the allocation, so it must not change state.
    fn get_buffer_bytes_ref(
        &mut self,
        buffer: BufferType,
        start: u32,
        max_size: u32,
    ) -> HostResult<HostBytes<'_>> {
        self.get_buffer_bytes(buffer, start, max_size)
            .map(HostBytes::Owned)
    }
    /// (length in bytes, flags; bit 0 = end of stream).
    fn get_buffer_status(&mut self, buffer: BufferType) -> HostResult<(u32, u32)>;
    /// Envoy's rules: prepend (start 0, size 0), replace all (start 0, size ≥ len), append
    /// (start ≥ len); anything else `BadArgument`.
    fn set_buffer_bytes(
        &mut self,
        buffer: BufferType,
        start: u32,
        size: u32,
        data: &[u8],
    ) -> HostResult<()>;

    /// ABI 0.1.0 `proxy_get_configuration`: the plugin configuration. Envoy always answers
    /// `Ok` here (empty when there is none); the default reads the plugin-configuration buffer.
    fn get_configuration(&mut self) -> HostResult<Bytes> {
        match self.get_buffer_bytes(BufferType::PluginConfiguration, 0, u32::MAX) {
            Err(Status::NotFound) => Ok(Bytes::new()),
            r => r,
        }
    }

    // --- header maps -------------------------------------------------------------------------
    /// The whole map, already encoded with [`crate::pairs::encode`].
    fn get_header_map_pairs(&mut self, map: MapType) -> HostResult<Vec<u8>>;
    fn set_header_map_pairs(&mut self, map: MapType, pairs: &[PairRef<'_>]) -> HostResult<()>;
    /// The map's size in bytes (Envoy's `byteSize`).
    fn get_header_map_size(&mut self, map: MapType) -> HostResult<u32>;
    /// Missing key → `NotFound` (the 0.1.0 adapter turns that into `Ok` with "").
    /// A map not available in this callback → `BadArgument`.
    fn get_header_map_value(&mut self, map: MapType, key: &[u8]) -> HostResult<Bytes>;
    /// [`Host::get_header_map_value`] as the adapters call it; borrowed as for
    /// [`Host::get_buffer_bytes_ref`] (and called twice likewise).
    fn get_header_map_value_ref(&mut self, map: MapType, key: &[u8]) -> HostResult<HostBytes<'_>> {
        self.get_header_map_value(map, key).map(HostBytes::Owned)
    }
    fn add_header_map_value(&mut self, map: MapType, key: &[u8], value: &[u8]) -> HostResult<()>;
    fn replace_header_map_value(
        &mut self,
        map: MapType,
        key: &[u8],
        value: &[u8],
    ) -> HostResult<()>;
    /// Removing an absent key is `Ok`.
    fn remove_header_map_value(&mut self, map: MapType, key: &[u8]) -> HostResult<()>;

    // --- stream control ----------------------------------------------------------------------
    fn continue_stream(&mut self, stream: StreamType) -> HostResult<()>;
    fn close_stream(&mut self, stream: StreamType) -> HostResult<()>;
    /// Takes effect when the current callback returns and stops the filter chain.
    fn send_local_response(&mut self, response: LocalResponse<'_>) -> HostResult<()>;
    /// ABI 0.1.0 `proxy_clear_route_cache`: always `Ok`, nothing to do by default. Envoy
    /// caches the route before the filters run and needs this to re-match; microwaf's proxy
    /// matches the route only after the filter chain, on the headers the filters left, so no
    /// route is ever cached while a filter runs.
    fn clear_route_cache(&mut self) -> HostResult<()> {
        Ok(())
    }

    // --- callouts ----------------------------------------------------------------------------
    /// Returns the call token; the response is delivered later to the root context.
    fn http_call(&mut self, call: HttpCall<'_>) -> HostResult<u32>;
    fn grpc_call(&mut self, call: GrpcCall<'_>) -> HostResult<u32>;
    fn grpc_stream(&mut self, call: GrpcCall<'_>) -> HostResult<u32>;
    fn grpc_send(&mut self, token: u32, message: &[u8], end_stream: bool) -> HostResult<()>;
    fn grpc_cancel(&mut self, token: u32) -> HostResult<()>;
    fn grpc_close(&mut self, token: u32) -> HostResult<()>;
    /// (status code, message) of the last callout response (`proxy_get_status`).
    fn get_status(&mut self) -> HostResult<(u32, Bytes)>;

    // --- shared data and queues (process-wide, per vm_id) -------------------------------------
    /// (value, cas). Missing key → `NotFound`.
    fn get_shared_data(&mut self, key: &[u8]) -> HostResult<(Bytes, u32)>;
    /// `cas` 0 = unconditional; a stale cas → `CasMismatch`.
    fn set_shared_data(&mut self, key: &[u8], value: &[u8], cas: u32) -> HostResult<()>;
    fn register_shared_queue(&mut self, name: &[u8]) -> HostResult<u32>;
    fn resolve_shared_queue(&mut self, vm_id: &[u8], name: &[u8]) -> HostResult<u32>;
    fn enqueue_shared_queue(&mut self, queue_id: u32, value: &[u8]) -> HostResult<()>;
    /// Empty queue → `Empty`; unknown id → `NotFound`.
    fn dequeue_shared_queue(&mut self, queue_id: u32) -> HostResult<Bytes>;

    // --- metrics -----------------------------------------------------------------------------
    /// Ids encode the type in their low bits; the same name in every VM of a plugin is one series.
    fn define_metric(&mut self, kind: MetricType, name: &[u8]) -> HostResult<u32>;
    /// Counters reject offsets ≤ 0 with `BadArgument`.
    fn increment_metric(&mut self, metric_id: u32, offset: i64) -> HostResult<()>;
    fn record_metric(&mut self, metric_id: u32, value: u64) -> HostResult<()>;
    fn get_metric(&mut self, metric_id: u32) -> HostResult<u64>;

    // --- properties and foreign functions ------------------------------------------------------
    /// `path` is the raw attribute path: segments joined by `\0`.
    fn get_property(&mut self, path: &[u8]) -> HostResult<Bytes>;
    fn set_property(&mut self, path: &[u8], value: &[u8]) -> HostResult<()>;
    /// Unknown function → `NotFound`.
    fn call_foreign_function(&mut self, name: &[u8], args: &[u8]) -> HostResult<Bytes>;
}
