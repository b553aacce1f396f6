//! Metrics, served by [`MetricsHost`](crate::MetricsHost).

use wasmtime::{Caller, Linker};

use super::guest::adapt;
use super::ENV;
use crate::host::Host;
use crate::types::MetricType;

pub(super) fn add<T: 'static, H: Host + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut H,
) -> wasmtime::Result<()> {
    linker.func_wrap(
        ENV,
        "proxy_define_metric",
        move |c: Caller<'_, T>, kind: u32, name: u32, name_len: u32, id_out: u32| {
            adapt(c, get, |cx| {
                let kind = MetricType::try_from(kind)?;
                Ok(cx.with(|m, h| {
                    let id = h.define_metric(kind, m.read(name, name_len)?)?;
                    m.write_u32(id_out, id)
                })?)
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_increment_metric",
        move |c: Caller<'_, T>, id: u32, offset: i64| {
            adapt(
                c,
                get,
                |cx| Ok(cx.host(|h| h.increment_metric(id, offset))?),
            )
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_record_metric",
        move |c: Caller<'_, T>, id: u32, value: u64| {
            adapt(c, get, |cx| Ok(cx.host(|h| h.record_metric(id, value))?))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_get_metric",
        move |c: Caller<'_, T>, id: u32, out: u32| {
            adapt(c, get, |cx| {
                let value = cx.host(|h| h.get_metric(id))?;
                Ok(cx.mem(|m| m.write_u64(out, value))?)
            })
        },
    )?;
    Ok(())
}
