//! Bounds-checked access to a guest's linear memory.
//!
//! Guest pointers and lengths are untrusted `u32`s. Every access here computes `ptr + len` in
//! `usize` with overflow checks and answers [`Status::InvalidMemoryAccess`] when the range is
//! outside memory, which is what Envoy returns: a guest bug is reported to the guest, never a
//! host panic or a trap.

use crate::host::HostResult;
use crate::types::Status;

/// A view of guest memory for the duration of one hostcall.
///
/// Reads borrow from the view (`&self`) so several arguments can be held at once while the host
/// is called; writes need `&mut self`.
pub struct GuestMemory<'a> {
    data: &'a mut [u8],
}

/// The range `ptr..ptr + len` if it lies inside a memory of `size` bytes.
pub fn checked_range(size: usize, ptr: u32, len: u32) -> HostResult<std::ops::Range<usize>> {
    let start = ptr as usize;
    let end = start
        .checked_add(len as usize)
        .ok_or(Status::InvalidMemoryAccess)?;
    if end > size {
        return Err(Status::InvalidMemoryAccess);
    }
    Ok(start..end)
}

impl<'a> GuestMemory<'a> {
    pub fn new(data: &'a mut [u8]) -> Self {
        GuestMemory { data }
    }

    /// Memory size in bytes.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The `len` bytes at `ptr`. A zero-length read is valid at any in-bounds pointer (and at
    /// the end of memory), as Envoy's `getMemory` allows.
    pub fn read(&self, ptr: u32, len: u32) -> HostResult<&[u8]> {
        Ok(&self.data[checked_range(self.data.len(), ptr, len)?])
    }

    /// The `len` bytes at `ptr`, writable (WASI `random_get` fills them in place).
    pub fn slice_mut(&mut self, ptr: u32, len: u32) -> HostResult<&mut [u8]> {
        let range = checked_range(self.data.len(), ptr, len)?;
        Ok(&mut self.data[range])
    }

    /// Reads a little-endian `u32` (an ABI word on wasm32).
    pub fn read_u32(&self, ptr: u32) -> HostResult<u32> {
        let b = self.read(ptr, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Reads a little-endian `u64`.
    pub fn read_u64(&self, ptr: u32) -> HostResult<u64> {
        let mut word = [0u8; 8];
        word.copy_from_slice(self.read(ptr, 8)?);
        Ok(u64::from_le_bytes(word))
    }

    /// Copies `bytes` to `ptr`.
    pub fn write(&mut self, ptr: u32, bytes: &[u8]) -> HostResult<()> {
        let len = u32::try_from(bytes.len()).map_err(|_| Status::InvalidMemoryAccess)?;
        self.slice_mut(ptr, len)?.copy_from_slice(bytes);
        Ok(())
    }

    /// Writes a little-endian `u32` through an out-pointer.
    pub fn write_u32(&mut self, ptr: u32, value: u32) -> HostResult<()> {
        self.write(ptr, &value.to_le_bytes())
    }

    /// Writes a little-endian `u64` through an out-pointer.
    pub fn write_u64(&mut self, ptr: u32, value: u64) -> HostResult<()> {
        self.write(ptr, &value.to_le_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_inside_bounds() {
        let mut buf = vec![0u8; 16];
        let mut mem = GuestMemory::new(&mut buf);
        mem.write_u32(12, 0xdead_beef).unwrap();
        mem.write_u64(0, 7).unwrap();
        assert_eq!(mem.read_u32(12), Ok(0xdead_beef));
        assert_eq!(mem.read_u64(0), Ok(7));
        assert_eq!(mem.read(16, 0), Ok(&[][..]));
        assert_eq!(mem.len(), 16);
    }

    #[test]
    fn out_of_bounds_and_overflowing_ranges_are_invalid_memory_access() {
        let mut buf = vec![0u8; 16];
        let mut mem = GuestMemory::new(&mut buf);
        let bad = Err(Status::InvalidMemoryAccess);
        assert_eq!(mem.read(13, 4), bad);
        assert_eq!(mem.read(17, 0), bad);
        assert_eq!(mem.read(u32::MAX, u32::MAX), bad);
        assert_eq!(mem.read(1, u32::MAX), bad);
        assert_eq!(mem.write_u32(13, 1), bad.map(|_: &[u8]| ()));
        assert_eq!(mem.write_u64(9, 1), bad.map(|_: &[u8]| ()));
        assert_eq!(mem.read_u32(u32::MAX - 1), bad.map(|_: &[u8]| 0));
        // Nothing was written by the failed writes.
        assert!(buf.iter().all(|b| *b == 0));
    }
}
