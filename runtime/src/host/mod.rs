//! The per-VM store data ([`VmState`]) and its implementation of the ABI's host traits.
//!
//! One `VmState` lives in each Wasmtime `Store`. It holds every context of the VM (root,
//! HTTP streams, L4 connections) with their header maps and buffers, and the requests the guest
//! made during a callback (local reply, continue/close) that take effect after it returns.
//!
//! Each ABI area's trait is implemented in the file of the same name as its adapters in
//! `microwaf_abi`'s `linker/`, under the hostcall's own name (`proxy_get_header_map_value` is
//! `get_header_map_value` in [`http`]): [`http`] (header maps, buffers), [`stream`] (stream
//! control), [`shared`] (shared data, queues), [`callouts`], [`metrics`], [`properties`]
//! (properties, foreign functions) and [`general`] (log, time, ticks, contexts). Beside them:
//! [`context`] (per-context state), [`map`] (a stream's header map over the proxy's own head)
//! and [`window`] (which map or buffer a callback may see).

mod callouts;
mod context;
mod general;
mod http;
mod map;
mod metrics;
mod properties;
mod shared;
mod stream;
mod window;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use microwaf_abi::{AbiVersion, Host};

pub(crate) use context::{Context, ContextKind, ContextMap, Pending};
pub(crate) use map::StreamMap;

use crate::embedder::{CalloutResponse, GrpcStreamHandle};
use crate::foreign::ForeignFunctions;
use crate::mailbox::Mailbox;
use crate::memory::VmLimiter;
use crate::metrics::VmMetrics;
use crate::plugin::PluginShared;
use crate::properties::{DeclaredProperties, PluginProperties};

/// The id of the (single) root context of every VM: ids start at 1 (docs/abi.md).
pub(crate) const ROOT_ID: u32 = 1;

/// The response being delivered to `on_http_call_response` / gRPC callbacks.
pub(crate) struct ActiveCallout {
    pub response: CalloutResponse,
}

/// An open gRPC stream. Envoy forgets it once both sides closed (or on cancel).
pub(crate) struct GrpcStreamState {
    pub handle: Box<dyn GrpcStreamHandle>,
    pub local_closed: bool,
    pub remote_closed: bool,
}

impl Drop for GrpcStreamState {
    /// A stream still open when its VM goes (shutdown, trap) is reset, as Envoy cancels a
    /// deleted context's streams.
    fn drop(&mut self) {
        if !self.remote_closed {
            self.handle.cancel();
        }
    }
}

/// Store data of one VM.
pub(crate) struct VmState {
    pub abi: AbiVersion,
    pub plugin: Arc<PluginShared>,
    /// The plugin's limits, and its linear-memory tally.
    pub limits: VmLimiter,
    pub contexts: ContextMap,
    pub next_id: u32,
    /// The context whose callback is running.
    pub current: u32,
    /// The context hostcalls address (`proxy_set_effective_context`).
    pub effective: u32,
    pub tick_period: Option<Duration>,
    /// Pending callouts (HTTP and unary gRPC): token → context that started it.
    pub callouts: HashMap<u32, u32>,
    /// Open gRPC streams by token (tokens share one sequence with callouts).
    pub grpc_streams: HashMap<u32, GrpcStreamState>,
    /// The call data of a running `proxy_on_foreign_function` (buffer 8).
    pub call_data: Option<Bytes>,
    pub next_token: u32,
    pub active_callout: Option<ActiveCallout>,
    /// `proxy_get_status` of the last callout delivered.
    pub status: (u32, Bytes),
    /// Log lines kept while starting, for load errors.
    pub captured: Option<Vec<String>>,
    pub mailbox: Arc<Mailbox>,
    pub generation: u64,
    /// This VM's metric ids (names resolve to the plugin's shared series).
    pub metrics: VmMetrics,
    /// Some context has pending continue/close/local-reply requests (keeps the after-callback
    /// check O(1) when nothing happened).
    pub dirty: bool,
    /// `declare_property` declarations of this VM's root context.
    pub declared: DeclaredProperties,
    pub plugin_props: PluginProperties,
    pub foreign: ForeignFunctions,
    /// The root context's `on_done` returned false at shutdown: it finishes asynchronous work
    /// and calls `proxy_done`, after which `on_delete` runs (Envoy's deferred deletion).
    pub done_pending: bool,
    /// `proxy_done` was called while `done_pending`: the slot runs `on_delete` and retires the
    /// VM once the current callback returns (never from inside it, as in Envoy).
    pub delete_requested: bool,
}

impl VmState {
    pub fn new(
        abi: AbiVersion,
        plugin: Arc<PluginShared>,
        mailbox: Arc<Mailbox>,
        generation: u64,
    ) -> Self {
        let limits = wasmtime::StoreLimitsBuilder::new()
            .memory_size(plugin.config.limits.memory_bytes)
            .instances(1)
            .build();
        let limits = VmLimiter::new(limits, plugin.memory.clone());
        let metrics = VmMetrics::new(plugin.metrics.clone());
        let plugin_props = PluginProperties {
            name: plugin.config.name.clone(),
            root_id: plugin.config.root_id.clone(),
            vm_id: plugin.config.vm_id.clone(),
        };
        let mut contexts = ContextMap::default();
        contexts.insert(ROOT_ID, Context::new(ContextKind::Root, None, None));
        VmState {
            abi,
            plugin,
            limits,
            contexts,
            next_id: ROOT_ID + 1,
            current: ROOT_ID,
            effective: ROOT_ID,
            tick_period: None,
            callouts: HashMap::new(),
            grpc_streams: HashMap::new(),
            call_data: None,
            next_token: 1,
            active_callout: None,
            status: (0, Bytes::new()),
            captured: Some(Vec::new()),
            mailbox,
            generation,
            metrics,
            dirty: false,
            declared: DeclaredProperties::default(),
            plugin_props,
            foreign: ForeignFunctions::default(),
            done_pending: false,
            delete_requested: false,
        }
    }

    /// Starts a callback for context `id`: hostcalls address it until it returns or the guest
    /// changes the effective context.
    pub fn enter(&mut self, id: u32) {
        self.current = id;
        self.effective = id;
    }

    pub fn effective_ctx(&mut self) -> Option<&mut Context> {
        self.contexts.get_mut(&self.effective)
    }

    /// Allocates the next context id of this VM.
    pub fn allocate_id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(ROOT_ID + 1);
        id
    }
}

/// The non-hostcall half of [`Host`]; each area's hostcalls are in its own file.
impl Host for VmState {
    fn abi_version(&self) -> AbiVersion {
        self.abi
    }
}
