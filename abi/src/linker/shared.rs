//! Shared data and shared queues, served by [`SharedHost`](crate::SharedHost): state that
//! outlives one context.

use wasmtime::{Caller, Linker};

use super::guest::adapt;
use super::ENV;
use crate::host::Host;

pub(super) fn add<T: 'static, H: Host + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut H,
) -> wasmtime::Result<()> {
    add_shared_data(linker, get)?;
    add_queues(linker, get)
}

fn add_shared_data<T: 'static, H: Host + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut H,
) -> wasmtime::Result<()> {
    linker.func_wrap(
        ENV,
        "proxy_get_shared_data",
        move |c: Caller<'_, T>,
              key: u32,
              key_len: u32,
              ptr_ptr: u32,
              len_ptr: u32,
              cas_out: u32| {
            adapt(c, get, |cx| {
                let (value, cas) = cx.with(|m, h| h.get_shared_data(m.read(key, key_len)?))?;
                cx.return_bytes(&value, ptr_ptr, len_ptr)?;
                Ok(cx.mem(|m| m.write_u32(cas_out, cas))?)
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_set_shared_data",
        move |c: Caller<'_, T>, key: u32, key_len: u32, val: u32, val_len: u32, cas: u32| {
            adapt(c, get, |cx| {
                Ok(cx.with(|m, h| {
                    h.set_shared_data(m.read(key, key_len)?, m.read(val, val_len)?, cas)
                })?)
            })
        },
    )?;
    Ok(())
}

fn add_queues<T: 'static, H: Host + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut H,
) -> wasmtime::Result<()> {
    linker.func_wrap(
        ENV,
        "proxy_register_shared_queue",
        move |c: Caller<'_, T>, name: u32, name_len: u32, id_out: u32| {
            adapt(c, get, |cx| {
                Ok(cx.with(|m, h| {
                    let id = h.register_shared_queue(m.read(name, name_len)?)?;
                    m.write_u32(id_out, id)
                })?)
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_resolve_shared_queue",
        move |c: Caller<'_, T>, vm: u32, vm_len: u32, name: u32, name_len: u32, id_out: u32| {
            adapt(c, get, |cx| {
                Ok(cx.with(|m, h| {
                    let id =
                        h.resolve_shared_queue(m.read(vm, vm_len)?, m.read(name, name_len)?)?;
                    m.write_u32(id_out, id)
                })?)
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_enqueue_shared_queue",
        move |c: Caller<'_, T>, id: u32, val: u32, val_len: u32| {
            adapt(c, get, |cx| {
                Ok(cx.with(|m, h| h.enqueue_shared_queue(id, m.read(val, val_len)?))?)
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_dequeue_shared_queue",
        move |c: Caller<'_, T>, id: u32, ptr_ptr: u32, len_ptr: u32| {
            adapt(c, get, |cx| {
                let value = cx.host(|h| h.dequeue_shared_queue(id))?;
                cx.return_bytes(&value, ptr_ptr, len_ptr)
            })
        },
    )?;
    Ok(())
}
