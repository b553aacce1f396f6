//! Stream control, served by [`StreamHost`](crate::StreamHost), including the ABI 0.1.0
//! variants (`proxy_continue_request`/`_response`, `proxy_clear_route_cache`).

use wasmtime::{Caller, Linker};

use super::guest::adapt;
use super::ENV;
use crate::host::{Host, LocalResponse};
use crate::pairs;
use crate::types::StreamType;

pub(super) fn add<T: 'static, H: Host + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut H,
) -> wasmtime::Result<()> {
    linker.func_wrap(
        ENV,
        "proxy_continue_stream",
        move |c: Caller<'_, T>, stream: u32| {
            adapt(c, get, |cx| {
                let stream = StreamType::try_from(stream)?;
                Ok(cx.host(|h| h.continue_stream(stream))?)
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_close_stream",
        move |c: Caller<'_, T>, stream: u32| {
            adapt(c, get, |cx| {
                let stream = StreamType::try_from(stream)?;
                Ok(cx.host(|h| h.close_stream(stream))?)
            })
        },
    )?;
    linker.func_wrap(ENV, "proxy_continue_request", move |c: Caller<'_, T>| {
        adapt(c, get, |cx| {
            Ok(cx.host(|h| h.continue_stream(StreamType::Request))?)
        })
    })?;
    linker.func_wrap(ENV, "proxy_continue_response", move |c: Caller<'_, T>| {
        adapt(c, get, |cx| {
            Ok(cx.host(|h| h.continue_stream(StreamType::Response))?)
        })
    })?;
    linker.func_wrap(ENV, "proxy_clear_route_cache", move |c: Caller<'_, T>| {
        adapt(c, get, |cx| Ok(cx.host(|h| h.clear_route_cache())?))
    })?;
    linker.func_wrap(
        ENV,
        "proxy_send_local_response",
        move |c: Caller<'_, T>,
              status_code: u32,
              details: u32,
              details_len: u32,
              body: u32,
              body_len: u32,
              headers: u32,
              headers_len: u32,
              grpc_status: i32| {
            adapt(c, get, |cx| {
                Ok(cx.with(|m, h| {
                    let response = LocalResponse {
                        status_code,
                        details: m.read(details, details_len)?,
                        body: m.read(body, body_len)?,
                        headers: pairs::decode(m.read(headers, headers_len)?)?,
                        grpc_status,
                    };
                    h.send_local_response(response)
                })?)
            })
        },
    )?;
    Ok(())
}
