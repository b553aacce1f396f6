//! The plumbing every adapter shares: find the guest's memory, split it from the host, return
//! buffers through the guest's allocator, and turn the outcome into what the guest sees.

use wasmtime::{Caller, Extern, Memory, TypedFunc};

use crate::host::{GuestExports, Host, HostBytes, HostResult};
use crate::memory::GuestMemory;
use crate::types::Status;

/// How an adapter can end besides `Ok`: a status the guest sees, or a trap (the guest's
/// allocator trapped, or the runtime interrupted it) that unwinds the guest.
pub(crate) enum Fail {
    Status(Status),
    Trap(wasmtime::Error),
}

impl From<Status> for Fail {
    fn from(s: Status) -> Fail {
        Fail::Status(s)
    }
}

/// One hostcall in progress: the caller plus the projection from store data to the host.
pub(crate) struct Cx<'a, 'c, T: 'static, H> {
    caller: &'a mut Caller<'c, T>,
    get: fn(&mut T) -> &mut H,
}

/// Runs an adapter body and encodes its outcome: `Ok` → 0, a status → its code, a trap → `Err`.
pub(crate) fn adapt<T: 'static, H: Host>(
    mut caller: Caller<'_, T>,
    get: fn(&mut T) -> &mut H,
    body: impl FnOnce(&mut Cx<'_, '_, T, H>) -> Result<(), Fail>,
) -> wasmtime::Result<u32> {
    let mut cx = Cx {
        caller: &mut caller,
        get,
    };
    match body(&mut cx) {
        Ok(()) => Ok(Status::Ok as u32),
        Err(Fail::Status(s)) => Ok(s as u32),
        Err(Fail::Trap(e)) => Err(e),
    }
}

/// The guest's exported linear memory; a module without one cannot receive anything.
fn memory<T>(caller: &mut Caller<'_, T>) -> HostResult<Memory> {
    match caller.get_export("memory") {
        Some(Extern::Memory(m)) => Ok(m),
        _ => Err(Status::InvalidMemoryAccess),
    }
}

impl<T: 'static, H: Host> Cx<'_, '_, T, H> {
    fn cached(&mut self) -> GuestExports {
        (self.get)(self.caller.data_mut()).guest_exports()
    }

    /// Calls `f` with guest memory and the host borrowed side by side.
    pub(crate) fn with<R>(
        &mut self,
        f: impl FnOnce(&mut GuestMemory<'_>, &mut H) -> HostResult<R>,
    ) -> HostResult<R> {
        let mem = match self.cached().memory {
            Some(m) => m,
            None => memory(self.caller)?,
        };
        let (data, store) = mem.data_and_store_mut(&mut *self.caller);
        f(&mut GuestMemory::new(data), (self.get)(store))
    }

    /// Calls `f` with the host only (no guest memory needed).
    pub(crate) fn host<R>(&mut self, f: impl FnOnce(&mut H) -> HostResult<R>) -> HostResult<R> {
        f((self.get)(self.caller.data_mut()))
    }

    /// Calls `f` with guest memory only.
    pub(crate) fn mem<R>(
        &mut self,
        f: impl FnOnce(&mut GuestMemory<'_>) -> HostResult<R>,
    ) -> HostResult<R> {
        self.with(|m, _| f(m))
    }

    /// Copies `data` into a fresh guest allocation and writes (ptr, len) to the out-pointers;
    /// empty data writes (0, 0) without allocating, as Envoy does.
    pub(crate) fn return_bytes(
        &mut self,
        data: &[u8],
        ptr_ptr: u32,
        len_ptr: u32,
    ) -> Result<(), Fail> {
        let len = u32::try_from(data.len()).map_err(|_| Status::InvalidMemoryAccess)?;
        let ptr = if len == 0 { 0 } else { self.allocate(len)? };
        self.mem(|m| {
            if len > 0 {
                // The allocator re-entered the guest; memory may have grown and moved, so it is
                // borrowed afresh here, and a bogus returned pointer fails the bounds check.
                m.write(ptr, data)?;
            }
            m.write_u32(ptr_ptr, ptr)?;
            m.write_u32(len_ptr, len)
        })?;
        Ok(())
    }

    /// [`Cx::return_bytes`] for what the host answers through `fetch`: owned bytes are returned
    /// as they are; borrowed ones are measured, the guest allocates, and `fetch` runs again to
    /// copy them straight from the host's buffer into the allocation. The allocator re-enters
    /// the guest, which could change the buffer in between: at most the measured length is
    /// copied, and the length written is what was copied.
    pub(crate) fn return_host_bytes<F>(
        &mut self,
        fetch: F,
        ptr_ptr: u32,
        len_ptr: u32,
    ) -> Result<(), Fail>
    where
        F: for<'h> Fn(&'h mut H) -> HostResult<HostBytes<'h>>,
    {
        let len = match self.host(|h| {
            Ok(match fetch(h)? {
                HostBytes::Owned(b) => Err(b),
                HostBytes::Borrowed(s) => Ok(s.len()),
            })
        })? {
            Ok(len) => len,
            Err(owned) => return self.return_bytes(&owned, ptr_ptr, len_ptr),
        };
        let len32 = u32::try_from(len).map_err(|_| Status::InvalidMemoryAccess)?;
        let ptr = if len == 0 { 0 } else { self.allocate(len32)? };
        self.with(|m, h| {
            let data = fetch(h)?;
            let n = data.len().min(len);
            if n > 0 {
                m.write(ptr, &data[..n])?;
            }
            m.write_u32(ptr_ptr, if n == 0 { 0 } else { ptr })?;
            m.write_u32(len_ptr, n as u32)
        })?;
        Ok(())
    }

    /// Allocates `len` bytes in the guest: `malloc` if exported (Envoy's preference), else
    /// `proxy_on_memory_allocate`. No allocator, a wrong signature, or a 0 result →
    /// `InvalidMemoryAccess`; a trapping allocator traps the call.
    fn allocate(&mut self, len: u32) -> Result<u32, Fail> {
        let alloc = self.allocator().ok_or(Status::InvalidMemoryAccess)?;
        let ptr = alloc.call(&mut *self.caller, len).map_err(Fail::Trap)?;
        if ptr == 0 {
            return Err(Status::InvalidMemoryAccess.into());
        }
        Ok(ptr)
    }

    fn allocator(&mut self) -> Option<TypedFunc<u32, u32>> {
        if let Some(f) = self.cached().allocator {
            return Some(f);
        }
        ["malloc", "proxy_on_memory_allocate"]
            .iter()
            .find_map(|name| {
                self.caller
                    .get_export(name)?
                    .into_func()?
                    .typed::<u32, u32>(&*self.caller)
                    .ok()
            })
    }
}
