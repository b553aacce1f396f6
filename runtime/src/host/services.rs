//! Hostcalls that are not about the stream's own data: logs, time, callouts, shared data,
//! queues, metrics, properties.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use microwaf_abi::{GrpcCall, HostResult, HttpCall, LogLevel, Status};

use super::map::owned_pairs;
use super::{ContextKind, GrpcStreamState, StreamMap, VmState};
use crate::embedder::{
    GrpcCalloutRequest, GrpcStreamRequest, GrpcStreamSink, HttpCalloutRequest, NoProperties,
};
use crate::foreign::ForeignCall;
use crate::mailbox::Mail;
use crate::properties::{self, HeadProperties, PropertySource};

impl VmState {
    pub(crate) fn write_log(&mut self, level: LogLevel, message: &[u8]) {
        let msg = String::from_utf8_lossy(message);
        let msg = msg.trim_end_matches('\n');
        if let Some(lines) = self.captured.as_mut() {
            lines.push(format!("[{}] {}", level_name(level), msg));
        }
        if level >= self.plugin.embedder.log_level() {
            let plugin = &self.plugin.config.name;
            self.plugin.embedder.log(plugin, self.effective, level, msg);
        }
    }

    pub(crate) fn now_nanos(&self) -> u64 {
        let now = self.plugin.embedder.now();
        now.duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    }

    pub(crate) fn tick(&mut self, millis: u32) {
        self.tick_period = (millis > 0).then(|| Duration::from_millis(millis.into()));
    }

    pub(crate) fn set_effective(&mut self, id: u32) -> HostResult<()> {
        if !self.contexts.contains_key(&id) {
            return Err(Status::BadArgument);
        }
        self.effective = id;
        Ok(())
    }

    /// The next free token (0 is never one; tokens of live callouts and streams are skipped).
    fn next_free_token(&mut self) -> u32 {
        loop {
            let t = self.next_token;
            self.next_token = self.next_token.wrapping_add(1).max(1);
            if !self.callouts.contains_key(&t) && !self.grpc_streams.contains_key(&t) {
                return t;
            }
        }
    }

    fn token(&mut self) -> u32 {
        let t = self.next_free_token();
        self.callouts.insert(t, self.effective);
        t
    }

    fn reply_to(&self, token: u32, grpc: bool) -> crate::embedder::CalloutReply {
        let mailbox = self.mailbox.clone();
        let generation = self.generation;
        Box::new(move |response| {
            mailbox.post(Mail::Callout {
                generation,
                token,
                grpc,
                response,
            })
        })
    }

    pub(crate) fn start_http_call(&mut self, call: HttpCall<'_>) -> HostResult<u32> {
        let has = |name: &[u8]| call.headers.iter().any(|(k, _)| *k == name);
        if !(has(b":method") && has(b":path") && has(b":authority")) {
            return Err(Status::BadArgument);
        }
        let request = HttpCalloutRequest {
            cluster: Bytes::copy_from_slice(call.upstream),
            headers: owned_pairs(&call.headers),
            body: Bytes::copy_from_slice(call.body),
            trailers: owned_pairs(&call.trailers),
            timeout: Duration::from_millis(call.timeout_ms.into()),
        };
        let token = self.token();
        let reply = self.reply_to(token, false);
        let embedder = self.plugin.embedder.clone();
        embedder.http_call(request, reply).inspect_err(|_| {
            self.callouts.remove(&token);
        })?;
        Ok(token)
    }

    pub(crate) fn start_grpc_call(&mut self, call: GrpcCall<'_>) -> HostResult<u32> {
        let request = GrpcCalloutRequest {
            cluster: Bytes::copy_from_slice(call.upstream),
            service: Bytes::copy_from_slice(call.service),
            method: Bytes::copy_from_slice(call.method),
            initial_metadata: owned_pairs(&call.initial_metadata),
            message: Bytes::copy_from_slice(call.message),
            timeout: Duration::from_millis(call.timeout_ms.into()),
        };
        let token = self.token();
        let reply = self.reply_to(token, true);
        let embedder = self.plugin.embedder.clone();
        embedder.grpc_call(request, reply).inspect_err(|_| {
            self.callouts.remove(&token);
        })?;
        Ok(token)
    }

    /// `proxy_grpc_stream`: the embedder opens the stream; its events come back as mail.
    pub(crate) fn start_grpc_stream(&mut self, call: GrpcCall<'_>) -> HostResult<u32> {
        let request = GrpcStreamRequest {
            cluster: Bytes::copy_from_slice(call.upstream),
            service: Bytes::copy_from_slice(call.service),
            method: Bytes::copy_from_slice(call.method),
            initial_metadata: owned_pairs(&call.initial_metadata),
        };
        let token = self.next_free_token();
        let mailbox = self.mailbox.clone();
        let generation = self.generation;
        let sink = GrpcStreamSink(Arc::new(move |event| {
            mailbox.post(Mail::GrpcStream {
                generation,
                token,
                event,
            })
        }));
        let embedder = self.plugin.embedder.clone();
        let handle = embedder.grpc_stream(request, sink)?;
        let state = GrpcStreamState {
            handle,
            local_closed: false,
            remote_closed: false,
        };
        self.grpc_streams.insert(token, state);
        Ok(token)
    }

    /// `proxy_grpc_send`: a unary call's token is `BadArgument`, an unknown one `NotFound`.
    pub(crate) fn grpc_stream_send(&mut self, token: u32, msg: &[u8], end: bool) -> HostResult<()> {
        let Some(stream) = self.grpc_streams.get_mut(&token) else {
            return Err(if self.callouts.contains_key(&token) {
                Status::BadArgument
            } else {
                Status::NotFound
            });
        };
        stream.handle.send(Bytes::copy_from_slice(msg), end);
        if end {
            stream.local_closed = true;
        }
        Ok(())
    }

    /// `proxy_grpc_cancel`: resets a stream or abandons a call; the token is forgotten.
    pub(crate) fn grpc_cancel_token(&mut self, token: u32) -> HostResult<()> {
        if let Some(mut stream) = self.grpc_streams.remove(&token) {
            stream.handle.cancel();
            stream.remote_closed = true; // nothing more will arrive; no second reset on drop
            return Ok(());
        }
        self.callouts
            .remove(&token)
            .map(|_| ())
            .ok_or(Status::NotFound)
    }

    /// `proxy_grpc_close`: half-closes a stream (forgotten once the remote side closed too) or
    /// abandons a call.
    pub(crate) fn grpc_close_token(&mut self, token: u32) -> HostResult<()> {
        if let Some(stream) = self.grpc_streams.get_mut(&token) {
            stream.handle.close();
            if stream.remote_closed {
                self.grpc_streams.remove(&token);
            } else {
                stream.local_closed = true;
            }
            return Ok(());
        }
        self.callouts
            .remove(&token)
            .map(|_| ())
            .ok_or(Status::NotFound)
    }

    pub(crate) fn vm_id(&self) -> &[u8] {
        self.plugin.config.vm_id.as_bytes()
    }

    pub(crate) fn register_queue(&mut self, name: &[u8]) -> HostResult<u32> {
        let mailbox = self.mailbox.clone();
        let notify = Arc::new(move |qid| mailbox.post(Mail::QueueReady { qid }));
        let vm_id = self.vm_id().to_vec();
        Ok(self.plugin.shared.queues.register(&vm_id, name, notify))
    }

    /// Properties: the plugin's own attributes, then the embedder's, then filter state.
    pub(crate) fn property(&mut self, path: &[u8]) -> HostResult<Bytes> {
        let ctx = self.contexts.get(&self.effective).ok_or(Status::NotFound)?;
        let heads = HeadProperties {
            request: match &ctx.maps[0] {
                Some(StreamMap::Request { head, .. }) => Some(head),
                _ => None,
            },
            response: match &ctx.maps[2] {
                Some(StreamMap::Response { head, .. }) => Some(head),
                _ => None,
            },
        };
        // The embedder's source last: what the stream's heads say wins over its copy.
        let embedder: &dyn PropertySource = match &ctx.props {
            Some(p) => p.as_ref(),
            None => &NoProperties,
        };
        let sources: [&dyn PropertySource; 3] = [&self.plugin_props, &heads, embedder];
        let state = (ctx.kind != ContextKind::Root).then_some(&ctx.filter_state);
        properties::get_property(path, &sources, state)
    }

    pub(crate) fn store_property(&mut self, path: &[u8], value: &[u8]) -> HostResult<()> {
        let ctx = self
            .contexts
            .get_mut(&self.effective)
            .ok_or(Status::NotFound)?;
        let state = (ctx.kind != ContextKind::Root).then_some(&mut ctx.filter_state);
        properties::set_property(path, value, state, &self.declared)
    }

    pub(crate) fn foreign_call(&mut self, name: &[u8], args: &[u8]) -> HostResult<Bytes> {
        let ctx = self
            .contexts
            .get_mut(&self.effective)
            .ok_or(Status::NotFound)?;
        let filter_state = (ctx.kind != ContextKind::Root).then_some(&mut ctx.filter_state);
        let cx = ForeignCall {
            declared: &mut self.declared,
            filter_state,
        };
        self.foreign.call(name, args, cx)
    }
}

/// Lower-case level names as in Envoy's log output.
pub(crate) fn level_name(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Trace => "trace",
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warn => "warn",
        LogLevel::Error => "error",
        LogLevel::Critical => "critical",
    }
}
