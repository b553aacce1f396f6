//! Hostcalls that are not about the stream's own data: logs, time, callouts, shared data,
//! queues, metrics, properties.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use microwaf_abi::{GrpcCall, HostResult, HttpCall, LogLevel, Status};

use super::http::owned_pairs;
use super::VmState;
use crate::embedder::{GrpcCalloutRequest, HttpCalloutRequest};
use crate::mailbox::Mail;

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

    fn token(&mut self) -> u32 {
        let t = self.next_token;
        self.next_token = self.next_token.wrapping_add(1).max(1);
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

    pub(crate) fn vm_id(&self) -> &[u8] {
        self.plugin.config.vm_id.as_bytes()
    }

    pub(crate) fn register_queue(&mut self, name: &[u8]) -> HostResult<u32> {
        let mailbox = self.mailbox.clone();
        let notify = Arc::new(move |qid| mailbox.post(Mail::QueueReady { qid }));
        let vm_id = self.vm_id().to_vec();
        Ok(self.plugin.shared.queues.register(&vm_id, name, notify))
    }

    /// Properties: values set by the filter, the plugin's own, then the embedder's.
    pub(crate) fn property(&mut self, path: &[u8]) -> HostResult<Bytes> {
        let cfg = self.plugin.config.clone();
        let ctx = self.contexts.get(&self.effective).ok_or(Status::NotFound)?;
        if let Some((_, v)) = ctx.set_props.iter().find(|(k, _)| k == path) {
            return Ok(v.clone());
        }
        let segments: Vec<&[u8]> = path.split(|b| *b == 0).collect();
        let builtin = match segments.as_slice() {
            [b"plugin_name"] => Some(cfg.name.as_bytes()),
            [b"plugin_root_id"] => Some(cfg.root_id.as_bytes()),
            [b"plugin_vm_id"] => Some(cfg.vm_id.as_bytes()),
            _ => None,
        };
        if let Some(v) = builtin {
            return Ok(Bytes::copy_from_slice(v));
        }
        ctx.props
            .as_ref()
            .and_then(|p| p.property(&segments))
            .ok_or(Status::NotFound)
    }

    pub(crate) fn store_property(&mut self, path: &[u8], value: &[u8]) -> HostResult<()> {
        let ctx = self.effective_ctx().ok_or(Status::NotFound)?;
        let value = Bytes::copy_from_slice(value);
        match ctx.set_props.iter_mut().find(|(k, _)| k == path) {
            Some(slot) => slot.1 = value,
            None => ctx.set_props.push((path.to_vec(), value)),
        }
        Ok(())
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
