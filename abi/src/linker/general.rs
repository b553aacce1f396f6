//! Logging, time, ticks and contexts, served by [`GeneralHost`](crate::GeneralHost), and the
//! emscripten shims some toolchains import.

use wasmtime::{Caller, Linker};

use super::guest::adapt;
use super::ENV;
use crate::host::Host;
use crate::types::LogLevel;

pub(super) fn add<T: 'static, H: Host + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut H,
) -> wasmtime::Result<()> {
    linker.func_wrap(
        ENV,
        "proxy_log",
        move |c: Caller<'_, T>, level: u32, ptr: u32, len: u32| {
            adapt(c, get, |cx| {
                let level = LogLevel::try_from(level)?;
                Ok(cx.with(|m, h| h.log(level, m.read(ptr, len)?))?)
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_get_log_level",
        move |c: Caller<'_, T>, out: u32| {
            adapt(c, get, |cx| {
                let level = cx.host(|h| h.get_log_level())?;
                Ok(cx.mem(|m| m.write_u32(out, level as u32))?)
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_get_current_time_nanoseconds",
        move |c: Caller<'_, T>, out: u32| {
            adapt(c, get, |cx| {
                let now = cx.host(|h| h.get_current_time_nanoseconds())?;
                Ok(cx.mem(|m| m.write_u64(out, now))?)
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_set_tick_period_milliseconds",
        move |c: Caller<'_, T>, millis: u32| {
            adapt(c, get, |cx| {
                Ok(cx.host(|h| h.set_tick_period_milliseconds(millis))?)
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_set_effective_context",
        move |c: Caller<'_, T>, id: u32| {
            adapt(c, get, |cx| Ok(cx.host(|h| h.set_effective_context(id))?))
        },
    )?;
    linker.func_wrap(ENV, "proxy_done", move |c: Caller<'_, T>| {
        adapt(c, get, |cx| Ok(cx.host(|h| h.done())?))
    })?;
    add_shims(linker)
}

/// Emscripten/C++ runtime shims Envoy provides; no host state involved.
fn add_shims<T: 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    linker.func_wrap(ENV, "pthread_equal", |a: u32, b: u32| u32::from(a == b))?;
    linker.func_wrap(ENV, "emscripten_notify_memory_growth", |_index: u32| {})?;
    Ok(())
}
