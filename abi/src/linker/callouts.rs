//! HTTP and gRPC callouts and `proxy_get_status`, served by [`CalloutHost`](crate::CalloutHost).

use wasmtime::{Caller, Linker};

use super::guest::adapt;
use super::ENV;
use crate::host::{GrpcCall, Host, HttpCall};
use crate::pairs;

pub(super) fn add<T: 'static, H: Host + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut H,
) -> wasmtime::Result<()> {
    linker.func_wrap(
        ENV,
        "proxy_http_call",
        move |c: Caller<'_, T>,
              upstream: u32,
              upstream_len: u32,
              headers: u32,
              headers_len: u32,
              body: u32,
              body_len: u32,
              trailers: u32,
              trailers_len: u32,
              timeout_ms: u32,
              token_out: u32| {
            adapt(c, get, |cx| {
                Ok(cx.with(|m, h| {
                    // Like Envoy, prove the token can be written before starting async work.
                    m.write_u32(token_out, 0)?;
                    let call = HttpCall {
                        upstream: m.read(upstream, upstream_len)?,
                        headers: pairs::decode(m.read(headers, headers_len)?)?,
                        body: m.read(body, body_len)?,
                        trailers: pairs::decode(m.read(trailers, trailers_len)?)?,
                        timeout_ms,
                    };
                    let token = h.http_call(call)?;
                    m.write_u32(token_out, token)
                })?)
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_grpc_call",
        move |c: Caller<'_, T>,
              upstream: u32,
              upstream_len: u32,
              service: u32,
              service_len: u32,
              method: u32,
              method_len: u32,
              metadata: u32,
              metadata_len: u32,
              message: u32,
              message_len: u32,
              timeout_ms: u32,
              token_out: u32| {
            adapt(c, get, |cx| {
                Ok(cx.with(|m, h| {
                    m.write_u32(token_out, 0)?;
                    let call = GrpcCall {
                        upstream: m.read(upstream, upstream_len)?,
                        service: m.read(service, service_len)?,
                        method: m.read(method, method_len)?,
                        initial_metadata: pairs::decode(m.read(metadata, metadata_len)?)?,
                        message: m.read(message, message_len)?,
                        timeout_ms,
                    };
                    let token = h.grpc_call(call)?;
                    m.write_u32(token_out, token)
                })?)
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_grpc_stream",
        move |c: Caller<'_, T>,
              upstream: u32,
              upstream_len: u32,
              service: u32,
              service_len: u32,
              method: u32,
              method_len: u32,
              metadata: u32,
              metadata_len: u32,
              token_out: u32| {
            adapt(c, get, |cx| {
                Ok(cx.with(|m, h| {
                    m.write_u32(token_out, 0)?;
                    let call = GrpcCall {
                        upstream: m.read(upstream, upstream_len)?,
                        service: m.read(service, service_len)?,
                        method: m.read(method, method_len)?,
                        initial_metadata: pairs::decode(m.read(metadata, metadata_len)?)?,
                        message: &[],
                        timeout_ms: 0,
                    };
                    let token = h.grpc_stream(call)?;
                    m.write_u32(token_out, token)
                })?)
            })
        },
    )?;
    add_grpc_control(linker, get)
}

fn add_grpc_control<T: 'static, H: Host + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut H,
) -> wasmtime::Result<()> {
    linker.func_wrap(
        ENV,
        "proxy_grpc_send",
        move |c: Caller<'_, T>, token: u32, msg: u32, msg_len: u32, end_stream: u32| {
            adapt(c, get, |cx| {
                Ok(cx.with(|m, h| h.grpc_send(token, m.read(msg, msg_len)?, end_stream != 0))?)
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_grpc_cancel",
        move |c: Caller<'_, T>, token: u32| {
            adapt(c, get, |cx| Ok(cx.host(|h| h.grpc_cancel(token))?))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_grpc_close",
        move |c: Caller<'_, T>, token: u32| {
            adapt(c, get, |cx| Ok(cx.host(|h| h.grpc_close(token))?))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_get_status",
        move |c: Caller<'_, T>, code_out: u32, ptr_ptr: u32, len_ptr: u32| {
            adapt(c, get, |cx| {
                let (code, message) = cx.host(|h| h.get_status())?;
                cx.mem(|m| m.write_u32(code_out, code))?;
                cx.return_bytes(&message, ptr_ptr, len_ptr)
            })
        },
    )?;
    Ok(())
}
