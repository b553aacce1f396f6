//! File-descriptor calls with real behaviour: stdout/stderr writes become log lines.

use wasmtime::{Caller, Linker};

use super::{errno, fault, wasi, WasiHost};
use crate::memory::GuestMemory;

/// `fs_rights_base` Envoy reports for stdout/stderr: `FD_WRITE` only.
const RIGHTS_FD_WRITE: u64 = 1 << 6;

pub(super) fn add<T: 'static, W: WasiHost + 'static>(
    linker: &mut Linker<T>,
    module: &str,
    get: fn(&mut T) -> &mut W,
) -> wasmtime::Result<()> {
    linker.func_wrap(
        module,
        "fd_write",
        move |c: Caller<'_, T>, fd: u32, iovs: u32, iovs_len: u32, written_out: u32| {
            wasi(c, get, |m, w| {
                if fd != 1 && fd != 2 {
                    return Err(errno::BADF);
                }
                let mut bytes = gather(m, iovs, iovs_len)?;
                let written = u32::try_from(bytes.len()).map_err(|_| errno::INVAL)?;
                if bytes.last() == Some(&b'\n') {
                    bytes.pop();
                }
                if !bytes.is_empty() {
                    w.wasi_log(fd, &bytes);
                }
                m.write_u32(written_out, written).map_err(fault)
            })
        },
    )?;
    linker.func_wrap(
        module,
        "fd_fdstat_get",
        move |c: Caller<'_, T>, fd: u32, stat_out: u32| {
            wasi(c, get, |m, _| {
                if fd != 1 && fd != 2 {
                    return Err(errno::BADF);
                }
                // fdstat: filetype u8, flags u16, rights_base u64 @8, rights_inheriting u64 @16.
                let mut stat = [0u8; 24];
                stat[8..16].copy_from_slice(&RIGHTS_FD_WRITE.to_le_bytes());
                m.write(stat_out, &stat).map_err(fault)
            })
        },
    )?;
    // No preopened directories: EBADF ends wasi-libc's preopen scan at start-up.
    linker.func_wrap(module, "fd_prestat_get", |_fd: u32, _out: u32| errno::BADF)?;
    Ok(())
}

/// Most bytes one `fd_write` logs. A longer write is a short write (POSIX allows it; libc
/// retries the rest), so a guest cannot make the host copy unbounded data in one call.
pub(super) const MAX_WRITE: usize = 64 * 1024;

/// Concatenates the guest's iovec array (`{ptr u32, len u32}` × `count`), bounds-checked, up to
/// [`MAX_WRITE`] bytes.
fn gather(m: &GuestMemory<'_>, iovs: u32, count: u32) -> Result<Vec<u8>, u32> {
    let mut out = Vec::new();
    for i in 0..count {
        if out.len() >= MAX_WRITE {
            break;
        }
        let at = i
            .checked_mul(8)
            .and_then(|o| iovs.checked_add(o))
            .ok_or(errno::FAULT)?;
        let ptr = m.read_u32(at).map_err(fault)?;
        let len = m
            .read_u32(at.checked_add(4).ok_or(errno::FAULT)?)
            .map_err(fault)?;
        let bytes = m.read(ptr, len).map_err(fault)?;
        out.extend_from_slice(&bytes[..bytes.len().min(MAX_WRITE - out.len())]);
    }
    Ok(out)
}
