//! One VM: a Store, its instance, and the contexts living in it. Starting a VM runs the module's
//! initialiser and the root context's start callbacks (docs/abi.md).

use std::sync::Arc;

use bytes::Bytes;
use wasmtime::{InstancePre, Store, TypedFunc, WasmParams, WasmResults};

use crate::embedder::{LocalReply, StreamEvents};
use crate::error::RuntimeError;
use crate::exports::{Exports, HeadersFn, Pick, F2R};
use crate::fault::Fault;
use crate::host::{Context, ContextKind, Pending, StreamMap, VmState, ROOT_ID};
use crate::mailbox::Mailbox;
use crate::plugin::PluginShared;

/// Something to tell a stream's embedder once the VM lock is released.
pub(crate) enum Event {
    Resume(microwaf_abi::StreamType),
    Close(microwaf_abi::StreamType),
    LocalReply(LocalReply),
}

pub(crate) type Events = Vec<(Arc<dyn StreamEvents>, Event)>;

pub(crate) struct Vm {
    pub store: Store<VmState>,
    pub ex: Exports,
    deadline_ticks: u64,
}

impl Vm {
    /// Instantiates and starts a VM; a start callback returning false or trapping is an error
    /// carrying the plugin's log lines.
    pub fn start(
        pre: &InstancePre<VmState>,
        plugin: Arc<PluginShared>,
        mailbox: Arc<Mailbox>,
        generation: u64,
        deadline_ticks: u64,
    ) -> Result<Vm, RuntimeError> {
        let name = plugin.config.name.clone();
        let abi = plugin.abi;
        let state = VmState::new(abi, plugin, mailbox, generation);
        let mut store = Store::new(pre.module().engine(), state);
        store.limiter(|s| &mut s.limits);
        store.epoch_deadline_trap();
        store.set_epoch_deadline(deadline_ticks);
        let instance = pre
            .instantiate(&mut store)
            .map_err(|e| RuntimeError::Instantiate {
                plugin: name.clone(),
                message: format!("{e:#}"),
            })?;
        let ex = Exports::lookup(&instance, &mut store, abi);
        let mut vm = Vm {
            store,
            ex,
            deadline_ticks,
        };
        vm.run_start(&name)?;
        vm.store.data_mut().captured = None;
        Ok(vm)
    }

    fn run_start(&mut self, name: &str) -> Result<(), RuntimeError> {
        let trapped = |vm: &mut Vm, callback, f: Fault| RuntimeError::Trapped {
            plugin: name.to_string(),
            callback,
            kind: f.kind,
            message: f.message,
            logs: vm.store.data_mut().captured.take().unwrap_or_default(),
        };
        let rejected = |vm: &mut Vm, callback| RuntimeError::Rejected {
            plugin: name.to_string(),
            callback,
            logs: vm.store.data_mut().captured.take().unwrap_or_default(),
        };
        let init = if self.ex.initialize.is_some() {
            self.call(|e| e.initialize.as_ref(), ()).map(|_| ())
        } else if self.ex.start.is_some() {
            self.call(|e| e.start.as_ref(), ()).map(|_| ())
        } else {
            self.call(|e| e.main.as_ref(), (0, 0)).map(|_| ())
        };
        init.map_err(|f| trapped(self, "_initialize", f))?;
        self.call(|e| e.context_create.as_ref(), (ROOT_ID, 0))
            .map_err(|f| trapped(self, "proxy_on_context_create", f))?;
        let cfg = self.store.data().plugin.config.clone();
        let steps: [(&'static str, Pick<F2R>, usize); 3] = [
            (
                "proxy_on_vm_start",
                |e| e.vm_start.as_ref(),
                cfg.vm_config.len(),
            ),
            (
                "proxy_validate_configuration",
                |e| e.validate.as_ref(),
                cfg.plugin_config.len(),
            ),
            (
                "proxy_on_configure",
                |e| e.configure.as_ref(),
                cfg.plugin_config.len(),
            ),
        ];
        for (callback, f, len) in steps {
            self.store.data_mut().enter(ROOT_ID);
            match self.call(f, (ROOT_ID, len as u32)) {
                Ok(Some(0)) => return Err(rejected(self, callback)),
                Ok(_) => {}
                Err(fault) => return Err(trapped(self, callback, fault)),
            }
        }
        Ok(())
    }

    /// Calls the export `pick` selects (if the guest has it) with the per-callback deadline
    /// armed. The export is borrowed from [`Exports`], not cloned: a `TypedFunc` clone walks
    /// Wasmtime's type registry (reference counts, a type copy), which cost more per stream
    /// than the guest's own callbacks.
    pub fn call<P: WasmParams, R: WasmResults>(
        &mut self,
        pick: impl FnOnce(&Exports) -> Option<&TypedFunc<P, R>>,
        args: P,
    ) -> Result<Option<R>, Fault> {
        let Some(f) = pick(&self.ex) else {
            return Ok(None);
        };
        self.store.set_epoch_deadline(self.deadline_ticks);
        f.call(&mut self.store, args)
            .map(Some)
            .map_err(Fault::from_error)
    }

    /// Runs a headers callback for context `id` (0.1.0 has no end_of_stream argument).
    pub fn call_headers(
        &mut self,
        pick: fn(&Exports) -> Option<&HeadersFn>,
        id: u32,
        n: u32,
        eos: bool,
    ) -> Result<u32, Fault> {
        self.store.data_mut().enter(id);
        self.store.set_epoch_deadline(self.deadline_ticks);
        let r = match pick(&self.ex) {
            Some(HeadersFn::V010(f)) => f.call(&mut self.store, (id, n)),
            Some(HeadersFn::V02(f)) => f.call(&mut self.store, (id, n, eos as u32)),
            None => return Ok(0),
        };
        r.map_err(Fault::from_error)
    }

    pub fn state(&mut self) -> &mut VmState {
        self.store.data_mut()
    }

    pub fn ctx(&mut self, id: u32) -> Option<&mut Context> {
        self.store.data_mut().contexts.get_mut(&id)
    }

    /// Creates a stream context (`proxy_on_context_create(id, root)`).
    pub fn create_context(
        &mut self,
        kind: ContextKind,
        props: crate::DynProperties,
        events: Arc<dyn StreamEvents>,
    ) -> Result<u32, Fault> {
        let s = self.state();
        let id = s.allocate_id();
        s.contexts
            .insert(id, Context::new(kind, Some(props), Some(events)));
        s.enter(id);
        self.call(|e| e.context_create.as_ref(), (id, ROOT_ID))?;
        Ok(id)
    }

    /// `proxy_on_log` in Envoy's access-log phase: the request headers and the response
    /// headers and trailers are readable whatever the phase windows say (see `host::window`).
    pub fn call_log(&mut self, id: u32) -> Result<(), Fault> {
        self.state().enter(id);
        if let Some(c) = self.ctx(id) {
            c.log_phase = true;
        }
        let result = self.call(|e| e.log.as_ref(), id).map(|_| ());
        if let Some(c) = self.ctx(id) {
            c.log_phase = false;
        }
        result
    }

    /// `on_log` (optional), `on_done`, `on_delete`, then forgets the context. A stream
    /// context's `on_done` result is ignored, as in Envoy (`Context::onDestroy`): deferring
    /// deletion with `proxy_done` is for root contexts at shutdown (`shutdown_root`).
    pub fn destroy_context(&mut self, id: u32, log: bool) -> Result<(), Fault> {
        let result = (|| {
            if log {
                self.call_log(id)?;
            }
            self.state().enter(id);
            self.call(|e| e.done.as_ref(), id)?;
            self.call(|e| e.delete.as_ref(), id)?;
            Ok(())
        })();
        self.state().contexts.remove(&id);
        result
    }

    /// Turns a pending local reply of `id` into the reply the client gets: Envoy's headers are
    /// added and the same context's response callbacks see it (docs/abi.md).
    pub fn finish_local_reply(&mut self, id: u32) -> Result<Option<LocalReply>, Fault> {
        let Some(mut reply) = self.ctx(id).and_then(|c| c.local_reply.take()) else {
            return Ok(None);
        };
        if let Some(code) = reply.grpc_status {
            // Envoy answers a gRPC local reply trailers-only: HTTP 200 and one header block
            // carrying the status, the body as the (percent-encoded) message, no content-length.
            let mut headers = vec![
                (
                    Bytes::from_static(b"content-type"),
                    Bytes::from_static(b"application/grpc"),
                ),
                (
                    Bytes::from_static(b"grpc-status"),
                    Bytes::from(code.to_string()),
                ),
            ];
            if !reply.body.is_empty() {
                headers.push((
                    Bytes::from_static(b"grpc-message"),
                    Bytes::from(LocalReply::grpc_message(&reply.body)),
                ));
            }
            headers.append(&mut reply.headers);
            reply.headers = headers;
            reply.status = 200;
            reply.body = Bytes::new();
        }
        let mut headers = vec![(
            Bytes::from_static(b":status"),
            Bytes::from(reply.status.to_string()),
        )];
        headers.append(&mut reply.headers);
        let has = |h: &[(Bytes, Bytes)], n: &[u8]| h.iter().any(|(k, _)| k.as_ref() == n);
        let grpc = reply.grpc_status.is_some();
        if !reply.body.is_empty() && !has(&headers, b"content-type") {
            headers.push((
                Bytes::from_static(b"content-type"),
                Bytes::from_static(b"text/plain"),
            ));
        }
        if !grpc && !has(&headers, b"content-length") {
            headers.push((
                Bytes::from_static(b"content-length"),
                Bytes::from(reply.body.len().to_string()),
            ));
        }
        let n = headers.len() as u32;
        let eos = reply.body.is_empty();
        if let Some(c) = self.ctx(id) {
            c.maps[2] = Some(StreamMap::Pairs(headers));
            c.open[2] = true;
            c.end_of_stream[1] = true;
            c.bodies[1].clear();
            c.bodies[1].extend_from_slice(&reply.body);
        }
        let action = self.call_headers(|e| e.response_headers.as_ref(), id, n, eos)?;
        if action == 0 {
            if let Some(c) = self.ctx(id) {
                c.open[2] = false;
            }
        }
        if !eos {
            let len = reply.body.len() as u32;
            self.state().enter(id);
            self.call(|e| e.response_body.as_ref(), (id, len, 1))?;
        }
        let Some(c) = self.ctx(id) else {
            return Ok(Some(reply));
        };
        // A second local reply from the reply's own callbacks is ignored, as in Envoy.
        c.local_reply = None;
        let mut headers = c.maps[2]
            .as_ref()
            .map(StreamMap::to_pairs)
            .unwrap_or_default();
        if let Some(i) = headers.iter().position(|(k, _)| k.as_ref() == b":status") {
            let (_, v) = headers.remove(i);
            if let Some(s) = std::str::from_utf8(&v).ok().and_then(|s| s.parse().ok()) {
                reply.status = s;
            }
        }
        reply.headers = headers;
        reply.body = c.bodies[1].split().freeze();
        Ok(Some(reply))
    }

    /// Collects what the guest asked of streams other than `own` (continue/close/local reply
    /// issued from a root callback or another context), to tell their embedders after unlock.
    pub fn take_events(&mut self, own: Option<u32>) -> Result<Events, Fault> {
        let mut events = Events::new();
        if !std::mem::take(&mut self.state().dirty) {
            return Ok(events);
        }
        let ids: Vec<u32> = self
            .state()
            .contexts
            .iter()
            .filter(|(id, c)| {
                Some(**id) != own && (!c.pending.is_empty() || c.local_reply.is_some())
            })
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            let Some(c) = self.ctx(id) else { continue };
            let Some(target) = c.events.clone() else {
                continue;
            };
            let pending = std::mem::take(&mut c.pending);
            let has_reply = c.local_reply.is_some();
            if has_reply {
                if let Some(reply) = self.finish_local_reply(id)? {
                    events.push((target, Event::LocalReply(reply)));
                }
                continue;
            }
            for p in pending {
                let e = match p {
                    Pending::Resume(s) => {
                        if let Some(c) = self.ctx(id) {
                            c.headers_paused[stream_index(s)] = false;
                        }
                        Event::Resume(s)
                    }
                    Pending::Close(s) => Event::Close(s),
                };
                events.push((target.clone(), e));
            }
        }
        Ok(events)
    }
}

/// 0 for request/downstream, 1 for response/upstream.
pub(crate) fn stream_index(s: microwaf_abi::StreamType) -> usize {
    use microwaf_abi::StreamType::*;
    match s {
        Request | Downstream => 0,
        Response | Upstream => 1,
    }
}

/// Fires events collected under the lock.
pub(crate) fn fire(events: Events) {
    for (target, e) in events {
        match e {
            Event::Resume(s) => target.resume(s),
            Event::Close(s) => target.close(s),
            Event::LocalReply(r) => target.local_reply(r),
        }
    }
}
