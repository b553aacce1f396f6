//! WASI preview1 imports as proxy-wasm hosts provide them (DESIGN §3): fd_write to 1/2 logs,
//! clocks and random work, environ from the plugin config, args empty, proc_exit traps; every
//! other preview1 function is defined by the per-module "unknown imports trap" pass, so a
//! module importing them loads and only a call traps.
//!
//! Interim: replaced by the abi crate's WASI table once it lands.

use std::hash::{BuildHasher, Hasher};

use microwaf_abi::LogLevel;
use wasmtime::{Caller, Extern, Linker};

use crate::host::VmState;

/// The guest called `proc_exit`; the callback ends with this error (a trap).
#[derive(Debug)]
pub struct ProcExit(pub i32);

impl std::fmt::Display for ProcExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "proc_exit({})", self.0)
    }
}

impl std::error::Error for ProcExit {}

const ERRNO_SUCCESS: i32 = 0;
const ERRNO_BADF: i32 = 8;
const ERRNO_FAULT: i32 = 21;
const ERRNO_INVAL: i32 = 28;

fn mem<'a>(caller: &'a mut Caller<'_, VmState>) -> Option<(&'a mut [u8], &'a mut VmState)> {
    match caller.get_export("memory") {
        Some(Extern::Memory(m)) => Some(m.data_and_store_mut(caller)),
        _ => None,
    }
}

fn range(mem: &[u8], ptr: i32, len: usize) -> Option<std::ops::Range<usize>> {
    let start = ptr as u32 as usize;
    let end = start.checked_add(len)?;
    (end <= mem.len()).then_some(start..end)
}

fn put(mem: &mut [u8], ptr: i32, bytes: &[u8]) -> bool {
    match range(mem, ptr, bytes.len()) {
        Some(r) => {
            mem[r].copy_from_slice(bytes);
            true
        }
        None => false,
    }
}

fn get_u32(mem: &[u8], ptr: i32) -> Option<u32> {
    let r = range(mem, ptr, 4)?;
    Some(u32::from_le_bytes(mem[r].try_into().ok()?))
}

fn environ(state: &VmState) -> Vec<Vec<u8>> {
    state
        .plugin
        .config
        .environment
        .iter()
        .map(|(k, v)| format!("{k}={v}\0").into_bytes())
        .collect()
}

fn fd_write(mut caller: Caller<'_, VmState>, fd: i32, iovs: i32, n: i32, out: i32) -> i32 {
    let Some((mem, state)) = mem(&mut caller) else {
        return ERRNO_FAULT;
    };
    let mut data = Vec::new();
    for i in 0..n.max(0) {
        let at = iovs.wrapping_add(i.wrapping_mul(8));
        let (Some(ptr), Some(len)) = (get_u32(mem, at), get_u32(mem, at.wrapping_add(4))) else {
            return ERRNO_FAULT;
        };
        let Some(r) = range(mem, ptr as i32, len as usize) else {
            return ERRNO_FAULT;
        };
        data.extend_from_slice(&mem[r]);
    }
    let level = match fd {
        1 => LogLevel::Info,
        2 => LogLevel::Error,
        _ => return ERRNO_BADF,
    };
    if !put(mem, out, &(data.len() as u32).to_le_bytes()) {
        return ERRNO_FAULT;
    }
    if !data.is_empty() {
        state.write_log(level, &data);
    }
    ERRNO_SUCCESS
}

fn random_fill(buf: &mut [u8]) {
    let state = std::collections::hash_map::RandomState::new();
    for (i, chunk) in buf.chunks_mut(8).enumerate() {
        let mut h = state.build_hasher();
        h.write_usize(i);
        chunk.copy_from_slice(&h.finish().to_le_bytes()[..chunk.len()]);
    }
}

fn sizes(mut caller: Caller<'_, VmState>, count_ptr: i32, size_ptr: i32, env: bool) -> i32 {
    let Some((mem, state)) = mem(&mut caller) else {
        return ERRNO_FAULT;
    };
    let vars = if env { environ(state) } else { Vec::new() };
    let size: usize = vars.iter().map(Vec::len).sum();
    let ok = put(mem, count_ptr, &(vars.len() as u32).to_le_bytes())
        && put(mem, size_ptr, &(size as u32).to_le_bytes());
    if ok {
        ERRNO_SUCCESS
    } else {
        ERRNO_FAULT
    }
}

fn environ_get(mut caller: Caller<'_, VmState>, ptrs: i32, buf: i32) -> i32 {
    let Some((mem, state)) = mem(&mut caller) else {
        return ERRNO_FAULT;
    };
    let mut at = buf;
    for (i, var) in environ(state).iter().enumerate() {
        if !put(
            mem,
            ptrs.wrapping_add(4 * i as i32),
            &(at as u32).to_le_bytes(),
        ) || !put(mem, at, var)
        {
            return ERRNO_FAULT;
        }
        at = at.wrapping_add(var.len() as i32);
    }
    ERRNO_SUCCESS
}

/// Defines the implemented WASI functions under both module names.
pub(crate) fn add_to_linker(linker: &mut Linker<VmState>) -> wasmtime::Result<()> {
    for m in ["wasi_snapshot_preview1", "wasi_unstable"] {
        linker.func_wrap(m, "fd_write", fd_write)?;
        linker.func_wrap(
            m,
            "random_get",
            |mut c: Caller<'_, VmState>, p: i32, l: i32| {
                let Some((mem, _)) = mem(&mut c) else {
                    return ERRNO_FAULT;
                };
                match range(mem, p, l as u32 as usize) {
                    Some(r) => {
                        random_fill(&mut mem[r]);
                        ERRNO_SUCCESS
                    }
                    None => ERRNO_FAULT,
                }
            },
        )?;
        linker.func_wrap(
            m,
            "clock_time_get",
            |mut c: Caller<'_, VmState>, id: i32, _p: i64, out: i32| {
                let Some((mem, state)) = mem(&mut c) else {
                    return ERRNO_FAULT;
                };
                let now = match id {
                    0 => state.now_nanos(),
                    1..=3 => monotonic_nanos(),
                    _ => return ERRNO_INVAL,
                };
                if put(mem, out, &now.to_le_bytes()) {
                    ERRNO_SUCCESS
                } else {
                    ERRNO_FAULT
                }
            },
        )?;
        linker.func_wrap(
            m,
            "clock_res_get",
            |mut c: Caller<'_, VmState>, _id: i32, out: i32| {
                let Some((mem, _)) = mem(&mut c) else {
                    return ERRNO_FAULT;
                };
                if put(mem, out, &1u64.to_le_bytes()) {
                    ERRNO_SUCCESS
                } else {
                    ERRNO_FAULT
                }
            },
        )?;
        linker.func_wrap(
            m,
            "environ_sizes_get",
            |c: Caller<'_, VmState>, a: i32, b: i32| sizes(c, a, b, true),
        )?;
        linker.func_wrap(m, "environ_get", environ_get)?;
        linker.func_wrap(
            m,
            "args_sizes_get",
            |c: Caller<'_, VmState>, a: i32, b: i32| sizes(c, a, b, false),
        )?;
        linker.func_wrap(m, "args_get", |_: Caller<'_, VmState>, _: i32, _: i32| {
            ERRNO_SUCCESS
        })?;
        linker.func_wrap(m, "sched_yield", || ERRNO_SUCCESS)?;
        linker.func_wrap(m, "proc_exit", |code: i32| -> wasmtime::Result<()> {
            Err(wasmtime::Error::new(ProcExit(code)))
        })?;
        linker.func_wrap(
            m,
            "fd_fdstat_get",
            |mut c: Caller<'_, VmState>, fd: i32, out: i32| {
                let Some((mem, _)) = mem(&mut c) else {
                    return ERRNO_FAULT;
                };
                if !(0..=2).contains(&fd) {
                    return ERRNO_BADF;
                }
                // filetype 2 = character device, no flags, no rights needed by std.
                let mut stat = [0u8; 24];
                stat[0] = 2;
                if put(mem, out, &stat) {
                    ERRNO_SUCCESS
                } else {
                    ERRNO_FAULT
                }
            },
        )?;
        linker.func_wrap(m, "fd_prestat_get", |_: i32, _: i32| ERRNO_BADF)?;
        linker.func_wrap(m, "fd_close", |_: i32| ERRNO_BADF)?;
    }
    Ok(())
}

fn monotonic_nanos() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_nanos() as u64
}
