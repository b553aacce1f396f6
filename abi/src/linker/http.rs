//! Header maps and buffers, served by [`HttpHost`](crate::HttpHost), including the ABI 0.1.0
//! variants ("missing header is Ok", `proxy_get_configuration`).

use wasmtime::{Caller, Linker};

use super::guest::adapt;
use super::ENV;
use crate::host::{Host, HostBytes, HostResult};
use crate::pairs;
use crate::types::{AbiVersion, BufferType, MapType, Status};

pub(super) fn add<T: 'static, H: Host + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut H,
) -> wasmtime::Result<()> {
    add_maps(linker, get)?;
    add_map_values(linker, get)?;
    add_buffers(linker, get)
}

fn add_maps<T: 'static, H: Host + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut H,
) -> wasmtime::Result<()> {
    linker.func_wrap(
        ENV,
        "proxy_get_header_map_pairs",
        move |c: Caller<'_, T>, map: u32, ptr_ptr: u32, len_ptr: u32| {
            adapt(c, get, |cx| {
                let map = MapType::try_from(map)?;
                let encoded = cx.host(|h| h.get_header_map_pairs(map))?;
                // Envoy hands an empty map back as (0, 0), not as an encoded zero count.
                let empty = encoded.len() <= 4 && encoded.iter().all(|b| *b == 0);
                cx.return_bytes(if empty { &[] } else { &encoded }, ptr_ptr, len_ptr)
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_set_header_map_pairs",
        move |c: Caller<'_, T>, map: u32, ptr: u32, len: u32| {
            adapt(c, get, |cx| {
                let map = MapType::try_from(map)?;
                Ok(cx
                    .with(|m, h| h.set_header_map_pairs(map, &pairs::decode(m.read(ptr, len)?)?))?)
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_get_header_map_size",
        move |c: Caller<'_, T>, map: u32, out: u32| {
            adapt(c, get, |cx| {
                let map = MapType::try_from(map)?;
                let size = cx.host(|h| h.get_header_map_size(map))?;
                Ok(cx.mem(|m| m.write_u32(out, size))?)
            })
        },
    )?;
    Ok(())
}

/// 0.1.0 answers a missing header with `Ok` and an empty value; later ABIs with `NotFound`.
fn header_value<'h, H: Host>(
    host: &'h mut H,
    map: MapType,
    key: &[u8],
) -> HostResult<HostBytes<'h>> {
    let v010 = host.abi_version() == AbiVersion::V0_1_0;
    match host.get_header_map_value_ref(map, key) {
        Err(Status::NotFound) if v010 => Ok(HostBytes::Borrowed(&[])),
        r => r,
    }
}

fn add_map_values<T: 'static, H: Host + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut H,
) -> wasmtime::Result<()> {
    linker.func_wrap(
        ENV,
        "proxy_get_header_map_value",
        move |c: Caller<'_, T>, map: u32, key: u32, key_len: u32, ptr_ptr: u32, len_ptr: u32| {
            adapt(c, get, |cx| {
                let map = MapType::try_from(map)?;
                // The key is copied out first (guest memory may move when the guest allocates),
                // onto the stack: header names are short.
                let mut stack = [0u8; 256];
                let mut heap = Vec::new();
                let n = cx.mem(|m| {
                    let k = m.read(key, key_len)?;
                    match stack.get_mut(..k.len()) {
                        Some(s) => s.copy_from_slice(k),
                        None => heap = k.to_vec(),
                    }
                    Ok(k.len())
                })?;
                let key = if n <= stack.len() {
                    &stack[..n]
                } else {
                    &heap[..]
                };
                cx.return_host_bytes(|h| header_value(h, map, key), ptr_ptr, len_ptr)
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_add_header_map_value",
        move |c: Caller<'_, T>, map: u32, key: u32, key_len: u32, val: u32, val_len: u32| {
            adapt(c, get, |cx| {
                let map = MapType::try_from(map)?;
                Ok(cx.with(|m, h| {
                    h.add_header_map_value(map, m.read(key, key_len)?, m.read(val, val_len)?)
                })?)
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_replace_header_map_value",
        move |c: Caller<'_, T>, map: u32, key: u32, key_len: u32, val: u32, val_len: u32| {
            adapt(c, get, |cx| {
                let map = MapType::try_from(map)?;
                Ok(cx.with(|m, h| {
                    h.replace_header_map_value(map, m.read(key, key_len)?, m.read(val, val_len)?)
                })?)
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_remove_header_map_value",
        move |c: Caller<'_, T>, map: u32, key: u32, key_len: u32| {
            adapt(c, get, |cx| {
                let map = MapType::try_from(map)?;
                Ok(cx.with(|m, h| h.remove_header_map_value(map, m.read(key, key_len)?))?)
            })
        },
    )?;
    Ok(())
}

fn add_buffers<T: 'static, H: Host + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut H,
) -> wasmtime::Result<()> {
    linker.func_wrap(
        ENV,
        "proxy_get_buffer_bytes",
        move |c: Caller<'_, T>, buf: u32, start: u32, max: u32, ptr_ptr: u32, len_ptr: u32| {
            adapt(c, get, |cx| {
                let buf = BufferType::try_from(buf)?;
                cx.return_host_bytes(
                    |h| h.get_buffer_bytes_ref(buf, start, max),
                    ptr_ptr,
                    len_ptr,
                )
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_get_buffer_status",
        move |c: Caller<'_, T>, buf: u32, len_out: u32, flags_out: u32| {
            adapt(c, get, |cx| {
                let buf = BufferType::try_from(buf)?;
                let (len, flags) = cx.host(|h| h.get_buffer_status(buf))?;
                Ok(cx.mem(|m| {
                    m.write_u32(len_out, len)?;
                    m.write_u32(flags_out, flags)
                })?)
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_set_buffer_bytes",
        move |c: Caller<'_, T>, buf: u32, start: u32, size: u32, ptr: u32, len: u32| {
            adapt(c, get, |cx| {
                let buf = BufferType::try_from(buf)?;
                Ok(cx.with(|m, h| h.set_buffer_bytes(buf, start, size, m.read(ptr, len)?))?)
            })
        },
    )?;
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
    Ok(())
}
