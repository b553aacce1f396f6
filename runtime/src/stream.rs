//! HTTP streams: the synchronous, sans-IO API embedders drive (see the crate docs for the
//! protocol). Each call runs one callback under the VM lock and returns what to do next.

use std::sync::Arc;

use bytes::BytesMut;
use http::HeaderMap;
use microwaf_abi::StreamType;

use crate::config::FailPolicy;
use crate::embedder::{DynProperties, Headers, LocalReply, StreamEvents};
use crate::exports::{Pick, F2R, F3R};
use crate::fault::Fault;
use crate::head::{RequestHead, ResponseHead};
use crate::host::{ContextKind, StreamMap};
use crate::pool::VmSlot;
use crate::vm::{fire, stream_index, Vm};

/// What the embedder does after a callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Forward (the possibly rewritten) headers/data.
    Continue,
    /// Hold this direction. Headers: forward nothing (body data passed in is kept by the
    /// runtime) until [`StreamEvents::resume`]. Body: the runtime keeps the data; the next body
    /// call sees the accumulated buffer.
    Pause,
    /// Answer the client with this reply and stop the filter chain. The stream's own response
    /// callbacks have already seen it: do not call them again.
    LocalReply(LocalReply),
}

/// State shared by HTTP and L4 streams: which VM and context, and whether the VM failed.
pub(crate) struct StreamCore {
    slot: Arc<VmSlot>,
    generation: u64,
    pub id: u32,
    failed: bool,
    policy: FailPolicy,
    pub logged: bool,
    finished: bool,
    /// Keeps the plugin's VMs from shutting down while this stream lives. Declared last so it
    /// drops after the stream's own `finish` ran.
    pub owner: Option<Arc<crate::plugin::SlotSet>>,
}

impl StreamCore {
    /// Creates the context in `slot`'s VM; `None` if the slot has no VM (backoff).
    pub fn open(
        slot: &Arc<VmSlot>,
        kind: ContextKind,
        props: DynProperties,
        events: Arc<dyn StreamEvents>,
    ) -> Option<StreamCore> {
        let mut st = slot.state.lock();
        if !slot.ensure_vm(&mut st) {
            return None;
        }
        let generation = st.generation;
        let vm = st.vm.as_mut()?;
        let mut core = StreamCore {
            slot: slot.clone(),
            generation,
            id: 0,
            failed: false,
            policy: slot.plugin.config.fail_policy,
            logged: false,
            finished: false,
            owner: None,
        };
        let result = vm.create_context(kind, props, events);
        let id = vm.state().next_id.wrapping_sub(1);
        core.id = id;
        let events = match result.and_then(|_| vm.take_events(None)) {
            Ok(e) => e,
            Err(fault) => {
                core.failed = true;
                slot.fail(&mut st, &fault, id)
            }
        };
        drop(st);
        fire(events);
        slot.pump();
        Some(core)
    }

    /// A stream that never got a VM: every phase applies the fail policy.
    pub fn failed(slot: Arc<VmSlot>, policy: FailPolicy) -> StreamCore {
        StreamCore {
            slot,
            generation: u64::MAX,
            id: 0,
            failed: true,
            policy,
            logged: true,
            finished: true,
            owner: None,
        }
    }

    pub fn policy(&self) -> FailPolicy {
        self.policy
    }

    /// Takes what the runtime rescued of a buffered direction when the VM failed.
    pub fn rescued(&self, dir: usize) -> BytesMut {
        let mut st = self.slot.state.lock();
        st.rescued
            .get_mut(&(self.generation, self.id))
            .map(|b| b[dir].split())
            .unwrap_or_default()
    }

    pub fn is_failed(&self) -> bool {
        self.failed
    }

    /// Runs `f` on this stream's VM; on a fault the VM is discarded and `None` returned (the
    /// caller applies the fail policy). `f` must leave the embedder's data intact on error.
    pub fn run<R>(&mut self, f: impl FnOnce(&mut Vm, u32) -> Result<R, Fault>) -> Option<R> {
        if self.failed {
            return None;
        }
        let mut st = self.slot.state.lock();
        if st.generation != self.generation || st.vm.is_none() {
            self.failed = true;
            return None;
        }
        let vm = st.vm.as_mut()?;
        let result = f(vm, self.id).and_then(|r| Ok((r, vm.take_events(None)?)));
        let (out, events) = match result {
            Ok((r, events)) => {
                VmSlot::healthy(&mut st);
                (Some(r), events)
            }
            Err(fault) => {
                self.failed = true;
                (None, self.slot.fail(&mut st, &fault, self.id))
            }
        };
        drop(st);
        fire(events);
        self.slot.pump();
        out
    }

    /// on_log (unless already run), on_done, on_delete.
    pub fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        if self.failed {
            self.slot
                .state
                .lock()
                .rescued
                .remove(&(self.generation, self.id));
        }
        let log = !self.logged;
        self.run(|vm, id| vm.destroy_context(id, log));
    }
}

/// One HTTP stream's context in a plugin VM. Dropping it runs `on_log` (if not run),
/// `on_done` and `on_delete`.
pub struct HttpStream {
    core: StreamCore,
    /// Whether the last headers or trailers callback changed its map (see
    /// [`HttpStream::map_changed`]).
    map_changed: bool,
}

impl HttpStream {
    pub(crate) fn new(core: StreamCore) -> Self {
        HttpStream {
            core,
            map_changed: true,
        }
    }

    /// Whether the filter changed the headers or trailers of the last headers/trailers callback
    /// (any add, replace, remove or set of the map). `false` means the map handed back equals
    /// the one passed in, so an embedder holding its own copy can keep it instead of
    /// rebuilding it from the pairs. `true` when unknown (the callback failed).
    pub fn map_changed(&self) -> bool {
        self.map_changed
    }

    /// The context id in its VM (root is 1; the first stream of a VM is 2).
    pub fn context_id(&self) -> u32 {
        self.core.id
    }

    /// Whether the stream's VM failed (every further phase gets the fail policy).
    pub fn is_failed(&self) -> bool {
        self.core.is_failed()
    }

    fn fail_decision(&self) -> Decision {
        match self.core.policy() {
            FailPolicy::FailOpen => Decision::Continue,
            FailPolicy::FailClosed => {
                Decision::LocalReply(LocalReply::unavailable("wasm_fail_closed"))
            }
        }
    }

    /// Runs the callback of map `i` (request headers 0, request trailers 1, response headers
    /// 2, response trailers 3) with `map` moved into the context for its duration; on return
    /// `map` holds the filter's result. The context keeps what later phases may read: a copy
    /// for the access-log phase once the filter let the map through (request trailers are not
    /// readable then: nothing is kept), or the live map while the filter pauses (so changes
    /// made before the resume are seen, and the caller gets a copy).
    fn map_phase(&mut self, i: usize, map: &mut StreamMap, eos: bool) -> Decision {
        let dir = if i < 2 {
            StreamType::Request
        } else {
            StreamType::Response
        };
        let trailers = i % 2 == 1;
        let mut changed = true;
        let r = self.core.run(|vm, id| {
            let n = map.len() as u32;
            let ctx = vm.ctx(id).expect("own context exists");
            ctx.maps[i] = Some(std::mem::replace(map, StreamMap::Pairs(Vec::new())));
            ctx.open[i] = true;
            ctx.changed[i] = false;
            ctx.end_of_stream[stream_index(dir)] = eos;
            let result = match i {
                0 => vm.call_headers(|e| e.request_headers.as_ref(), id, n, eos),
                2 => vm.call_headers(|e| e.response_headers.as_ref(), id, n, eos),
                _ => {
                    let f: Pick<F2R> = if i == 1 {
                        |e| e.request_trailers.as_ref()
                    } else {
                        |e| e.response_trailers.as_ref()
                    };
                    vm.state().enter(id);
                    vm.call(f, (id, n)).map(|a| a.unwrap_or(0))
                }
            };
            let ctx = vm.ctx(id).expect("own context exists");
            let action = match result {
                Ok(a) => a,
                Err(e) => {
                    if let Some(m) = ctx.maps[i].take() {
                        *map = m;
                    }
                    return Err(e);
                }
            };
            changed = ctx.changed[i];
            // Envoy drops the map once the filter lets it through (trailers: any non-zero action
            // keeps it, as before).
            let paused = if trailers { action != 0 } else { action == 1 };
            if paused && !trailers {
                ctx.headers_paused[stream_index(dir)] = true;
            }
            if paused {
                if let Some(m) = &ctx.maps[i] {
                    *map = m.clone();
                }
            } else {
                ctx.open[i] = false;
                if let Some(m) = ctx.maps[i].take() {
                    *map = m;
                }
                if i != 1 {
                    ctx.maps[i] = Some(map.clone());
                }
            }
            decide(vm, id, action)
        });
        self.map_changed = changed;
        r.unwrap_or_else(|| self.fail_decision())
    }

    /// The pairs API over [`HttpStream::map_phase`].
    fn pairs_phase(&mut self, i: usize, pairs: &mut Headers, eos: bool) -> Decision {
        let mut map = StreamMap::Pairs(std::mem::take(pairs));
        let d = self.map_phase(i, &mut map, eos);
        if let StreamMap::Pairs(p) = map {
            *pairs = p;
        }
        d
    }

    fn body(&mut self, dir: StreamType, body: &mut BytesMut, eos: bool) -> Decision {
        let d = stream_index(dir);
        let r = self.core.run(|vm, id| {
            let limit = vm.state().plugin.config.limits.buffer_bytes;
            let ctx = vm.ctx(id).expect("own context exists");
            if ctx.bodies[d].len() + body.len() > limit {
                ctx.bodies[d].clear();
                let status = if d == 0 { 413 } else { 500 };
                return Ok(Decision::LocalReply(LocalReply::status_only(
                    status,
                    "buffer_limit_exceeded",
                )));
            }
            if ctx.bodies[d].is_empty() {
                // Nothing held back: the chunk itself becomes the buffer (moved, not copied).
                ctx.bodies[d] = body.split();
            } else {
                ctx.bodies[d].extend_from_slice(&body.split());
            }
            ctx.end_of_stream[d] = eos;
            if ctx.headers_paused[d] {
                return Ok(Decision::Pause);
            }
            let size = ctx.bodies[d].len() as u32;
            let f: Pick<F3R> = if d == 0 {
                |e| e.request_body.as_ref()
            } else {
                |e| e.response_body.as_ref()
            };
            vm.state().enter(id);
            let result = vm.call(f, (id, size, eos as u32));
            let ctx = vm.ctx(id).expect("own context exists");
            let action = match result {
                Ok(a) => a.unwrap_or(0),
                Err(e) => {
                    *body = ctx.bodies[d].split();
                    return Err(e);
                }
            };
            let decision = decide(vm, id, action)?;
            if decision == Decision::Continue {
                if let Some(ctx) = vm.ctx(id) {
                    *body = ctx.bodies[d].split();
                }
            }
            Ok(decision)
        });
        match r {
            Some(d) => d,
            None => {
                let mut rescued = self.core.rescued(d);
                rescued.extend_from_slice(body);
                *body = rescued;
                self.fail_decision()
            }
        }
    }

    /// `proxy_on_request_headers`. `headers` is rewritten in place with the filter's changes.
    pub fn on_request_headers(&mut self, headers: &mut Headers, end_of_stream: bool) -> Decision {
        self.pairs_phase(0, headers, end_of_stream)
    }

    /// `proxy_on_request_body`. On `Continue`, `body` holds everything to forward (the whole
    /// accumulated body if earlier chunks were paused); on `Pause` it is empty (kept here).
    pub fn on_request_body(&mut self, body: &mut BytesMut, end_of_stream: bool) -> Decision {
        self.body(StreamType::Request, body, end_of_stream)
    }

    pub fn on_request_trailers(&mut self, trailers: &mut Headers) -> Decision {
        self.pairs_phase(1, trailers, true)
    }

    pub fn on_response_headers(&mut self, headers: &mut Headers, end_of_stream: bool) -> Decision {
        self.pairs_phase(2, headers, end_of_stream)
    }

    pub fn on_response_body(&mut self, body: &mut BytesMut, end_of_stream: bool) -> Decision {
        self.body(StreamType::Response, body, end_of_stream)
    }

    pub fn on_response_trailers(&mut self, trailers: &mut Headers) -> Decision {
        self.pairs_phase(3, trailers, true)
    }

    /// `proxy_on_request_metadata`: an HTTP/2 METADATA frame of `elements` entries arrived.
    /// Envoy only tells the count (the ABI has no metadata map) and always continues. The
    /// proxy's HTTP/2 server does not surface METADATA frames; other embedders may.
    pub fn on_request_metadata(&mut self, elements: u32) {
        self.metadata(true, elements)
    }

    /// `proxy_on_response_metadata`, as [`HttpStream::on_request_metadata`].
    pub fn on_response_metadata(&mut self, elements: u32) {
        self.metadata(false, elements)
    }

    fn metadata(&mut self, request: bool, elements: u32) {
        self.core.run(|vm, id| {
            vm.state().enter(id);
            let f: Pick<F2R> = if request {
                |e| e.request_metadata.as_ref()
            } else {
                |e| e.response_metadata.as_ref()
            };
            vm.call(f, (id, elements)).map(|_| ())
        });
    }

    /// The filter's current view of a header map (after asynchronous changes made while the
    /// stream was paused, e.g. in a callout response). `None` if not received yet.
    pub fn current_headers(&mut self, dir: StreamType) -> Option<Headers> {
        let i = if dir == StreamType::Request { 0 } else { 2 };
        self.core
            .run(|vm, id| {
                Ok(vm
                    .ctx(id)
                    .and_then(|c| c.maps[i].as_ref().map(StreamMap::to_pairs)))
            })
            .flatten()
    }

    /// `proxy_on_request_headers` on the embedder's own head, without converting it: the head
    /// is moved into the stream for the callback, hostcalls read and change it in place, and
    /// it is moved back (a copy stays for the access-log phase and properties). On `Pause` the
    /// stream keeps the live head and `head` gets a copy; [`HttpStream::resumed_request_head`]
    /// hands back what the filter made of it.
    pub fn on_request_head(&mut self, head: &mut RequestHead, end_of_stream: bool) -> Decision {
        let mut map = StreamMap::Request {
            head: std::mem::take(head),
            hidden: 0,
        };
        let d = self.map_phase(0, &mut map, end_of_stream);
        if let StreamMap::Request { head: h, .. } = map {
            *head = h;
        }
        d
    }

    /// `proxy_on_response_headers` in place, as [`HttpStream::on_request_head`].
    pub fn on_response_head(&mut self, head: &mut ResponseHead, end_of_stream: bool) -> Decision {
        let mut map = StreamMap::Response {
            head: std::mem::take(head),
            hidden: false,
        };
        let d = self.map_phase(2, &mut map, end_of_stream);
        if let StreamMap::Response { head: h, .. } = map {
            *head = h;
        }
        d
    }

    /// `proxy_on_request_trailers` in place, as [`HttpStream::on_request_head`].
    pub fn on_request_trailer_map(&mut self, trailers: &mut HeaderMap) -> Decision {
        self.fields_phase(1, trailers)
    }

    /// `proxy_on_response_trailers` in place, as [`HttpStream::on_request_head`].
    pub fn on_response_trailer_map(&mut self, trailers: &mut HeaderMap) -> Decision {
        self.fields_phase(3, trailers)
    }

    fn fields_phase(&mut self, i: usize, trailers: &mut HeaderMap) -> Decision {
        let mut map = StreamMap::Fields(std::mem::take(trailers));
        let d = self.map_phase(i, &mut map, true);
        if let StreamMap::Fields(m) = map {
            *trailers = m;
        }
        d
    }

    /// After a paused [`HttpStream::on_request_head`] resumed: the head as the filter left it
    /// (it may have changed it while paused, e.g. in a callout response).
    pub fn resumed_request_head(&mut self, head: &mut RequestHead) {
        self.core.run(|vm, id| {
            if let Some(StreamMap::Request { head: h, .. }) =
                vm.ctx(id).and_then(|c| c.maps[0].as_ref())
            {
                *head = h.clone();
            }
            Ok(())
        });
    }

    /// [`HttpStream::resumed_request_head`] for the response.
    pub fn resumed_response_head(&mut self, head: &mut ResponseHead) {
        self.core.run(|vm, id| {
            if let Some(StreamMap::Response { head: h, .. }) =
                vm.ctx(id).and_then(|c| c.maps[2].as_ref())
            {
                *head = h.clone();
            }
            Ok(())
        });
    }

    /// Takes the body the filter held back in `dir` (paused chunks), without a callback. Trailers
    /// end a stream: an embedder whose trailers callback continued forwards what was held, as
    /// Envoy flushes buffered data ahead of continued trailers.
    pub fn take_held_body(&mut self, dir: StreamType) -> BytesMut {
        let d = stream_index(dir);
        self.core
            .run(|vm, id| Ok(vm.ctx(id).map(|c| c.bodies[d].split())))
            .flatten()
            .unwrap_or_default()
    }

    /// `proxy_on_log` (access-log time). Runs at most once; `finish` runs it if not called.
    pub fn on_log(&mut self) {
        if !self.core.logged {
            self.core.logged = true;
            self.core.run(|vm, id| vm.call_log(id));
        }
    }

    /// Ends the stream now (`on_done`, `on_delete`); the same as dropping it.
    pub fn finish(mut self) {
        self.core.finish();
    }
}

impl Drop for HttpStream {
    fn drop(&mut self) {
        self.core.finish();
    }
}

/// After a stream's own callback: a local reply wins, else the returned action.
pub(crate) fn decide(vm: &mut Vm, id: u32, action: u32) -> Result<Decision, Fault> {
    if let Some(reply) = vm.finish_local_reply(id)? {
        return Ok(Decision::LocalReply(reply));
    }
    Ok(if action == 1 {
        Decision::Pause
    } else {
        Decision::Continue
    })
}
