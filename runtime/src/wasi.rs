//! [`WasiHost`] for the VM state: WASI stdout/stderr become filter logs (info/error, as in
//! Envoy), environ comes from the plugin config, clocks and random work. The preview1 table
//! itself is the abi crate's [`microwaf_abi::add_wasi_to_linker`].

use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;
use std::time::Instant;

use microwaf_abi::{GeneralHost, LogLevel, WasiHost};

use crate::host::VmState;

impl WasiHost for VmState {
    fn wasi_log(&mut self, fd: u32, bytes: &[u8]) {
        let level = if fd == 2 {
            LogLevel::Error
        } else {
            LogLevel::Info
        };
        // Envoy logs WASI output as it logs `proxy_log`, which always answers `Ok`.
        let _ = self.log(level, bytes);
    }

    fn environ(&self) -> &[(String, String)] {
        &self.plugin.config.environment
    }

    /// SipHash keyed from the OS's randomness (std's `RandomState`) over a counter: unpredictable
    /// to the guest without adding a dependency.
    fn random(&mut self, buf: &mut [u8]) {
        let state = std::collections::hash_map::RandomState::new();
        for (i, chunk) in buf.chunks_mut(8).enumerate() {
            let mut h = state.build_hasher();
            h.write_usize(i);
            chunk.copy_from_slice(&h.finish().to_le_bytes()[..chunk.len()]);
        }
    }

    fn now_realtime(&self) -> u64 {
        self.now_nanos()
    }

    fn now_monotonic(&self) -> u64 {
        static START: OnceLock<Instant> = OnceLock::new();
        START.get_or_init(Instant::now).elapsed().as_nanos() as u64
    }
}
