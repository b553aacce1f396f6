//! Logging, time, ticks, contexts, configuration, properties, foreign functions and the
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
                let level = cx.host(|h| h.log_level())?;
                Ok(cx.mem(|m| m.write_u32(out, level as u32))?)
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_get_current_time_nanoseconds",
        move |c: Caller<'_, T>, out: u32| {
            adapt(c, get, |cx| {
                let now = cx.host(|h| h.current_time_nanos())?;
                Ok(cx.mem(|m| m.write_u64(out, now))?)
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_set_tick_period_milliseconds",
        move |c: Caller<'_, T>, millis: u32| {
            adapt(c, get, |cx| Ok(cx.host(|h| h.set_tick_period(millis))?))
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
    // ABI 0.1.0: the plugin configuration, always `Ok` (empty when there is none).
    linker.func_wrap(
        ENV,
        "proxy_get_configuration",
        move |c: Caller<'_, T>, ptr_ptr: u32, len_ptr: u32| {
            adapt(c, get, |cx| {
                let config = cx.host(|h| h.get_configuration())?;
                cx.return_bytes(&config, ptr_ptr, len_ptr)
            })
        },
    )?;
    add_properties(linker, get)?;
    add_shims(linker)
}

fn add_properties<T: 'static, H: Host + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut H,
) -> wasmtime::Result<()> {
    linker.func_wrap(
        ENV,
        "proxy_get_property",
        move |c: Caller<'_, T>, path: u32, path_len: u32, ptr_ptr: u32, len_ptr: u32| {
            adapt(c, get, |cx| {
                let value = cx.with(|m, h| h.get_property(m.read(path, path_len)?))?;
                cx.return_bytes(&value, ptr_ptr, len_ptr)
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_set_property",
        move |c: Caller<'_, T>, path: u32, path_len: u32, value: u32, value_len: u32| {
            adapt(c, get, |cx| {
                Ok(cx.with(|m, h| {
                    h.set_property(m.read(path, path_len)?, m.read(value, value_len)?)
                })?)
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_call_foreign_function",
        move |c: Caller<'_, T>,
              name: u32,
              name_len: u32,
              args: u32,
              args_len: u32,
              ptr_ptr: u32,
              len_ptr: u32| {
            adapt(c, get, |cx| {
                let result = cx.with(|m, h| {
                    h.call_foreign_function(m.read(name, name_len)?, m.read(args, args_len)?)
                })?;
                // Envoy lets a caller that ignores the result pass null out-pointers.
                if ptr_ptr == 0 && len_ptr == 0 {
                    return Ok(());
                }
                cx.return_bytes(&result, ptr_ptr, len_ptr)
            })
        },
    )?;
    Ok(())
}

/// Emscripten/C++ runtime shims Envoy provides; no host state involved.
fn add_shims<T: 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    linker.func_wrap(ENV, "pthread_equal", |a: u32, b: u32| u32::from(a == b))?;
    linker.func_wrap(ENV, "emscripten_notify_memory_growth", |_index: u32| {})?;
    Ok(())
}
