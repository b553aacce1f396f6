//! [`StreamHost`] for the VM state: continue, close and local replies. The guest's requests are
//! recorded on its context and acted on by the embedder after the callback returns, as Envoy
//! does.

use bytes::Bytes;
use microwaf_abi::{HostResult, LocalResponse, Status, StreamHost, StreamType};

use super::map::owned_pairs;
use super::{ContextKind, Pending, VmState};
use crate::embedder::LocalReply;

impl StreamHost for VmState {
    /// `continue_stream(Upstream)` is `Unimplemented`, as in Envoy. Continuing an HTTP
    /// direction ends the request maps' window (Envoy clears them in `continueStream`, for
    /// either direction).
    fn continue_stream(&mut self, stream: StreamType) -> HostResult<()> {
        if stream == StreamType::Upstream {
            return Err(Status::Unimplemented);
        }
        self.push_pending(Pending::Resume(stream))
    }

    fn close_stream(&mut self, stream: StreamType) -> HostResult<()> {
        self.push_pending(Pending::Close(stream))
    }

    /// Only an HTTP stream can answer locally: `BadArgument` elsewhere.
    fn send_local_response(&mut self, r: LocalResponse<'_>) -> HostResult<()> {
        let ctx = self.effective_ctx().ok_or(Status::BadArgument)?;
        if ctx.kind != ContextKind::Http {
            return Err(Status::BadArgument);
        }
        ctx.local_reply = Some(LocalReply {
            status: r.status_code,
            headers: owned_pairs(&r.headers),
            body: Bytes::copy_from_slice(r.body),
            grpc_status: (r.grpc_status >= 0).then_some(r.grpc_status),
            details: Bytes::copy_from_slice(r.details),
        });
        self.dirty = true;
        Ok(())
    }
}

impl VmState {
    /// Records a continue or close: `Ok` in every context, acted on (after the callback) only
    /// where the context has that direction — a root context, or an HTTP direction of an L4
    /// connection, has nothing to resume and Envoy quietly does nothing.
    fn push_pending(&mut self, p: Pending) -> HostResult<()> {
        let stream = match p {
            Pending::Resume(s) | Pending::Close(s) => s,
        };
        let ctx = self.effective_ctx().ok_or(Status::BadArgument)?;
        let http = matches!(stream, StreamType::Request | StreamType::Response);
        let applies = match ctx.kind {
            ContextKind::Root => false,
            ContextKind::Http => http,
            ContextKind::Network => !http,
        };
        if ctx.kind == ContextKind::Http && matches!(p, Pending::Resume(_)) {
            ctx.open[0] = false;
            ctx.open[1] = false;
        }
        if applies {
            ctx.pending.push(p);
            self.dirty = true;
        }
        Ok(())
    }
}
