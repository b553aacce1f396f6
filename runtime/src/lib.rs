//! Wasmtime embedding for proxy-wasm plugins: engine, AOT module cache, VMs, instance pool,
//! contexts, fault isolation. No HTTP or socket code: the embedder (the proxy, `microwaf run`,
//! tests, benches) supplies headers, bodies and properties and receives decisions.
//!
//! # Using it
//! ```text
//! let rt = Runtime::new(RuntimeConfig { cache_dir: Some(dir), ..Default::default() })?;
//! let plugin = rt.load_plugin(PluginConfig::new("waf", WasmSource::Path(p)), embedder)?;
//! let mut s = plugin.http_stream(props, events);       // proxy_on_context_create(id, root)
//! match s.on_request_headers(&mut headers, end_of_stream) { Decision::Continue => …, … }
//! s.on_request_body(&mut body, end_of_stream);         // Pause ⇒ runtime keeps the data
//! s.on_response_headers(&mut headers, eos); s.on_response_body(..); s.on_log();
//! drop(s);                                              // on_done + on_delete
//! ```
//!
//! # The stream protocol
//! - Every call is synchronous and runs at most one guest callback under the VM's lock; never
//!   call from inside [`StreamEvents`] handlers while holding your own locks the handler needs.
//! - [`Decision::Pause`] after headers: forward nothing; pass body chunks anyway (the runtime
//!   buffers them without calling the filter, Envoy's "stop all and buffer"). After
//!   [`StreamEvents::resume`], read the headers with [`HttpStream::current_headers`] and re-drive
//!   the body with an empty chunk (and the end-of-stream flag already seen).
//! - [`Decision::Pause`] after a body chunk: the chunk is kept; the next call sees the whole
//!   accumulated body, and `Continue` hands all of it back.
//! - [`Decision::LocalReply`]: send it; the stream's response callbacks already ran on it.
//! - Resume/close/local-reply events arrive from callout responses, ticks and queues, on the
//!   thread that delivered them, after the VM lock is released. A resume for a direction that
//!   is not paused is to be ignored.
//! - If the VM traps, exceeds its deadline or its memory cap, it is discarded: the stream gets
//!   the plugin's [`FailPolicy`] for every further phase (fail-open: `Continue` with the data
//!   intact; fail-closed: a 503 reply), paused streams are woken, and a fresh VM replaces it
//!   (first immediately, then with exponential backoff). See [`Plugin::failures`].
//!
//! Contexts ids are per VM: root = 1, the first stream of a VM = 2 (docs/abi.md).

mod cache;
mod callout;
mod compiler;
mod config;
mod embedder;
mod engine;
mod error;
mod exports;
mod fault;
pub mod foreign;
mod head;
mod host;
mod log_budget;
mod mailbox;
mod memory;
pub mod metrics;
mod network;
mod plugin;
mod pool;
pub mod properties;
mod runtime;
pub mod shared;
mod stream;
mod vm;
mod wasi;

pub use cache::{load_precompiled, precompile_to, CacheOutcome, ModuleCache};
pub use config::{FailPolicy, Limits, PluginConfig, RuntimeConfig, WasmSource};
pub use embedder::{
    CalloutReply, CalloutResponse, CalloutResult, DynProperties, Embedder, GrpcCalloutRequest,
    GrpcStreamEvent, GrpcStreamHandle, GrpcStreamRequest, GrpcStreamSink, Headers,
    HttpCalloutRequest, LocalReply, NoEvents, NoProperties, StreamEvents,
};
pub use error::RuntimeError;
pub use fault::{FailureSnapshot, TrapKind};
pub use head::{RequestHead, ResponseHead};
pub use memory::MemorySnapshot;
pub use microwaf_abi::{AbiVersion, LogLevel, PeerType, Status, StreamType};
pub use network::{NetworkDecision, NetworkStream};
pub use plugin::Plugin;
pub use properties::{PropertySource, Value};
pub use runtime::Runtime;
pub use stream::{Decision, HttpStream};
