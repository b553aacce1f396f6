//! Delivering callout responses to the root context (docs/abi.md): the SDK then moves to the
//! stream with `proxy_set_effective_context`, and the response stays readable through map types
//! 6/7 (HTTP) or 4/5 (gRPC) and buffers 4/5 for the whole callback.

use microwaf_abi::Status;

use crate::embedder::{CalloutResponse, CalloutResult, GrpcStreamEvent};
use crate::exports::{Pick, F3};
use crate::fault::Fault;
use crate::host::{ActiveCallout, ROOT_ID};
use crate::vm::Vm;

pub(crate) fn deliver(
    vm: &mut Vm,
    token: u32,
    grpc: bool,
    response: CalloutResponse,
) -> Result<(), Fault> {
    let s = vm.state();
    if s.callouts.remove(&token).is_none() {
        return Ok(()); // cancelled, or a stale token
    }
    s.status = match &response.result {
        Some(r) if grpc => (r.grpc_status, r.grpc_message.clone()),
        Some(_) => (Status::Ok as u32, Default::default()),
        None => (Status::BrokenConnection as u32, Default::default()),
    };
    let (n_headers, body_len, n_trailers, grpc_status) = match &response.result {
        Some(r) => (
            r.headers.len() as u32,
            r.body.len() as u32,
            r.trailers.len() as u32,
            r.grpc_status,
        ),
        None => (0, 0, 0, 14), // gRPC UNAVAILABLE
    };
    s.active_callout = Some(ActiveCallout { response });
    s.enter(ROOT_ID);
    let result = if grpc {
        (|| {
            if n_headers > 0 {
                vm.call(
                    |e| e.grpc_initial_metadata.as_ref(),
                    (ROOT_ID, token, n_headers),
                )?;
            }
            if body_len > 0 {
                vm.state().enter(ROOT_ID);
                vm.call(|e| e.grpc_receive.as_ref(), (ROOT_ID, token, body_len))?;
            }
            if n_trailers > 0 {
                vm.state().enter(ROOT_ID);
                vm.call(
                    |e| e.grpc_trailing_metadata.as_ref(),
                    (ROOT_ID, token, n_trailers),
                )?;
            }
            vm.state().enter(ROOT_ID);
            vm.call(|e| e.grpc_close.as_ref(), (ROOT_ID, token, grpc_status))?;
            Ok(())
        })()
    } else {
        let args = (ROOT_ID, token, n_headers, body_len, n_trailers);
        vm.call(|e| e.http_call_response.as_ref(), args).map(|_| ())
    };
    vm.state().active_callout = None;
    result
}

/// Delivers one gRPC stream event to the root context (the SDK routes it to the stream that
/// opened it). Events of a cancelled or forgotten stream are dropped.
pub(crate) fn deliver_stream(vm: &mut Vm, token: u32, event: GrpcStreamEvent) -> Result<(), Fault> {
    let s = vm.state();
    let Some(stream) = s.grpc_streams.get_mut(&token) else {
        return Ok(());
    };
    let mut result = CalloutResult::default();
    let (f, n): (Pick<F3>, u32) = match event {
        GrpcStreamEvent::InitialMetadata(h) => {
            let n = h.len() as u32;
            result.headers = h;
            (|e| e.grpc_initial_metadata.as_ref(), n)
        }
        GrpcStreamEvent::Message(body) => {
            let n = body.len() as u32;
            result.body = body;
            (|e| e.grpc_receive.as_ref(), n)
        }
        GrpcStreamEvent::TrailingMetadata(h) => {
            let n = h.len() as u32;
            result.trailers = h;
            (|e| e.grpc_trailing_metadata.as_ref(), n)
        }
        GrpcStreamEvent::Close { status, message } => {
            // Envoy forgets the stream once both sides closed.
            stream.remote_closed = true;
            if stream.local_closed {
                s.grpc_streams.remove(&token);
            }
            s.status = (status, message);
            (|e| e.grpc_close.as_ref(), status)
        }
    };
    let s = vm.state();
    s.active_callout = Some(ActiveCallout {
        response: CalloutResponse {
            result: Some(result),
        },
    });
    s.enter(ROOT_ID);
    let r = vm.call(f, (ROOT_ID, token, n)).map(|_| ());
    vm.state().active_callout = None;
    r
}
