//! Process-level WASI calls: args, environment, clocks, randomness, scheduling, exit.

use wasmtime::{Caller, Linker};

use super::{errno, fault, wasi, ProcExit, WasiHost};
use crate::memory::GuestMemory;

/// preview1 clock ids Envoy serves; process/thread CPU clocks are `EINVAL`, as in Envoy.
const CLOCK_REALTIME: u32 = 0;
const CLOCK_MONOTONIC: u32 = 1;

pub(super) fn add<T: 'static, W: WasiHost + 'static>(
    linker: &mut Linker<T>,
    module: &str,
    get: fn(&mut T) -> &mut W,
) -> wasmtime::Result<()> {
    // args and environ share one layout: a pointer array into a buffer of NUL-terminated strings.
    let lists: [(&str, &str, Strings<W>); 2] = [
        ("args_sizes_get", "args_get", args::<W>),
        ("environ_sizes_get", "environ_get", environ::<W>),
    ];
    for (sizes_name, list_name, strings) in lists {
        linker.func_wrap(
            module,
            sizes_name,
            move |c: Caller<'_, T>, n: u32, size: u32| {
                wasi(c, get, |m, w| write_sizes(m, &strings(w), n, size))
            },
        )?;
        linker.func_wrap(
            module,
            list_name,
            move |c: Caller<'_, T>, ptrs: u32, buf: u32| {
                wasi(c, get, |m, w| write_strings(m, &strings(w), ptrs, buf))
            },
        )?;
    }
    linker.func_wrap(
        module,
        "clock_res_get",
        move |c: Caller<'_, T>, id: u32, out: u32| {
            wasi(c, get, |m, _| match id {
                CLOCK_REALTIME | CLOCK_MONOTONIC => m.write_u64(out, 1).map_err(fault),
                _ => Err(errno::INVAL),
            })
        },
    )?;
    linker.func_wrap(
        module,
        "clock_time_get",
        move |c: Caller<'_, T>, id: u32, _precision: u64, out: u32| {
            wasi(c, get, |m, w| {
                let now = match id {
                    CLOCK_REALTIME => w.now_realtime(),
                    CLOCK_MONOTONIC => w.now_monotonic(),
                    _ => return Err(errno::INVAL),
                };
                m.write_u64(out, now).map_err(fault)
            })
        },
    )?;
    linker.func_wrap(
        module,
        "random_get",
        move |c: Caller<'_, T>, buf: u32, len: u32| {
            wasi(c, get, |m, w| {
                w.random(m.slice_mut(buf, len).map_err(fault)?);
                Ok(())
            })
        },
    )?;
    linker.func_wrap(
        module,
        "poll_oneoff",
        move |c: Caller<'_, T>, subs: u32, events: u32, n: u32, n_out: u32| {
            wasi(c, get, |m, _| poll_oneoff(m, subs, events, n, n_out))
        },
    )?;
    linker.func_wrap(module, "sched_yield", || errno::SUCCESS)?;
    linker.func_wrap(module, "proc_exit", |code: i32| -> wasmtime::Result<()> {
        Err(wasmtime::Error::new(ProcExit(code)))
    })?;
    Ok(())
}

/// Reads one of the host's string lists, as bytes.
type Strings<W> = fn(&W) -> Vec<Vec<u8>>;

fn args<W: WasiHost>(w: &W) -> Vec<Vec<u8>> {
    w.args().iter().map(|a| a.as_bytes().to_vec()).collect()
}

fn environ<W: WasiHost>(w: &W) -> Vec<Vec<u8>> {
    w.environ()
        .iter()
        .map(|(k, v)| format!("{k}={v}").into_bytes())
        .collect()
}

/// `*_sizes_get`: the count and the buffer size including each string's NUL.
fn write_sizes(
    m: &mut GuestMemory<'_>,
    strings: &[Vec<u8>],
    n_out: u32,
    size_out: u32,
) -> Result<(), u32> {
    let size: usize = strings.iter().map(|s| s.len() + 1).sum();
    let size = u32::try_from(size).map_err(|_| errno::INVAL)?;
    let count = u32::try_from(strings.len()).map_err(|_| errno::INVAL)?;
    m.write_u32(n_out, count).map_err(fault)?;
    m.write_u32(size_out, size).map_err(fault)
}

/// `args_get` / `environ_get`: an array of pointers into a buffer of NUL-terminated strings.
fn write_strings(
    m: &mut GuestMemory<'_>,
    strings: &[Vec<u8>],
    ptrs: u32,
    buf: u32,
) -> Result<(), u32> {
    let mut at = buf;
    for (i, s) in strings.iter().enumerate() {
        let slot = u32::try_from(i * 4)
            .ok()
            .and_then(|o| ptrs.checked_add(o))
            .ok_or(errno::FAULT)?;
        m.write_u32(slot, at).map_err(fault)?;
        m.write(at, s).map_err(fault)?;
        let nul = u32::try_from(s.len())
            .ok()
            .and_then(|l| at.checked_add(l))
            .ok_or(errno::FAULT)?;
        m.write(nul, &[0]).map_err(fault)?;
        at = nul.checked_add(1).ok_or(errno::FAULT)?;
    }
    Ok(())
}

/// Minimal `poll_oneoff`: every subscription completes at once. Clock subscriptions report
/// success without sleeping (a filter must never block its worker thread); fd subscriptions
/// report `EBADF`, as no fd is pollable here.
fn poll_oneoff(
    m: &mut GuestMemory<'_>,
    subs: u32,
    events: u32,
    n: u32,
    n_out: u32,
) -> Result<(), u32> {
    const SUB_SIZE: u32 = 48;
    const EVENT_SIZE: u32 = 32;
    const TAG_CLOCK: u8 = 0;
    if n == 0 {
        return Err(errno::INVAL);
    }
    // Both arrays must lie in memory before anything is written.
    m.read(subs, n.checked_mul(SUB_SIZE).ok_or(errno::FAULT)?)
        .map_err(fault)?;
    m.read(events, n.checked_mul(EVENT_SIZE).ok_or(errno::FAULT)?)
        .map_err(fault)?;
    for i in 0..n {
        let sub = subs + i * SUB_SIZE;
        let userdata = m.read_u64(sub).map_err(fault)?;
        let tag = m.read(sub + 8, 1).map_err(fault)?[0];
        let error = if tag == TAG_CLOCK {
            0u16
        } else {
            errno::BADF as u16
        };
        let mut event = [0u8; EVENT_SIZE as usize];
        event[0..8].copy_from_slice(&userdata.to_le_bytes());
        event[8..10].copy_from_slice(&error.to_le_bytes());
        event[10] = tag;
        m.write(events + i * EVENT_SIZE, &event).map_err(fault)?;
    }
    m.write_u32(n_out, n).map_err(fault)
}
