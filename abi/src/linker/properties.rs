//! Properties and foreign functions, served by [`PropertyHost`](crate::PropertyHost).

use wasmtime::{Caller, Linker};

use super::guest::adapt;
use super::ENV;
use crate::host::Host;

pub(super) fn add<T: 'static, H: Host + 'static>(
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
