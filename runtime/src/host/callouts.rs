//! [`CalloutHost`] for the VM state: HTTP calls, gRPC calls and streams. The embedder does the
//! I/O; its answers come back as mail to this VM and are delivered to the root context.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use microwaf_abi::{CalloutHost, GrpcCall, HostResult, HttpCall, Status};

use super::map::owned_pairs;
use super::{GrpcStreamState, VmState};
use crate::embedder::{
    CalloutReply, Embedder, GrpcCalloutRequest, GrpcStreamRequest, GrpcStreamSink,
    HttpCalloutRequest,
};
use crate::mailbox::Mail;

impl CalloutHost for VmState {
    /// The headers must hold `:method`, `:path` and `:authority`, else `BadArgument` (Envoy).
    fn http_call(&mut self, call: HttpCall<'_>) -> HostResult<u32> {
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
        self.start_call(false, |embedder, reply| embedder.http_call(request, reply))
    }

    fn grpc_call(&mut self, call: GrpcCall<'_>) -> HostResult<u32> {
        let request = GrpcCalloutRequest {
            cluster: Bytes::copy_from_slice(call.upstream),
            service: Bytes::copy_from_slice(call.service),
            method: Bytes::copy_from_slice(call.method),
            initial_metadata: owned_pairs(&call.initial_metadata),
            message: Bytes::copy_from_slice(call.message),
            timeout: Duration::from_millis(call.timeout_ms.into()),
        };
        self.start_call(true, |embedder, reply| embedder.grpc_call(request, reply))
    }

    /// The embedder opens the stream; its events come back as mail.
    fn grpc_stream(&mut self, call: GrpcCall<'_>) -> HostResult<u32> {
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

    /// A unary call's token is `BadArgument`, an unknown one `NotFound`.
    fn grpc_send(&mut self, token: u32, msg: &[u8], end: bool) -> HostResult<()> {
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

    /// Resets a stream or abandons a call; the token is forgotten.
    fn grpc_cancel(&mut self, token: u32) -> HostResult<()> {
        if let Some(mut stream) = self.grpc_streams.remove(&token) {
            stream.handle.cancel();
            stream.remote_closed = true; // nothing more will arrive; no second reset on drop
            return Ok(());
        }
        self.forget_callout(token)
    }

    /// Half-closes a stream (forgotten once the remote side closed too) or abandons a call.
    fn grpc_close(&mut self, token: u32) -> HostResult<()> {
        if let Some(stream) = self.grpc_streams.get_mut(&token) {
            stream.handle.close();
            if stream.remote_closed {
                self.grpc_streams.remove(&token);
            } else {
                stream.local_closed = true;
            }
            return Ok(());
        }
        self.forget_callout(token)
    }

    /// The status of the last callout delivered (BrokenConnection after a reset or timeout).
    fn get_status(&mut self) -> HostResult<(u32, Bytes)> {
        Ok(self.status.clone())
    }
}

impl VmState {
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

    /// Starts a call (HTTP or unary gRPC) under a fresh token, remembering which context
    /// started it; the embedder's answer comes back as mail. A call the embedder refuses frees
    /// its token and answers the embedder's status.
    fn start_call(
        &mut self,
        grpc: bool,
        start: impl FnOnce(&dyn Embedder, CalloutReply) -> HostResult<()>,
    ) -> HostResult<u32> {
        let token = self.next_free_token();
        self.callouts.insert(token, self.effective);
        let reply = self.reply_to(token, grpc);
        let embedder = self.plugin.embedder.clone();
        start(&*embedder, reply).inspect_err(|_| {
            self.callouts.remove(&token);
        })?;
        Ok(token)
    }

    /// Abandons a pending call: its response, if it comes, is dropped. Unknown → `NotFound`.
    fn forget_callout(&mut self, token: u32) -> HostResult<()> {
        self.callouts
            .remove(&token)
            .map(|_| ())
            .ok_or(Status::NotFound)
    }

    fn reply_to(&self, token: u32, grpc: bool) -> CalloutReply {
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
}
