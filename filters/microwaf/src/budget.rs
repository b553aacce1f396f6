//! Scanning within a per-callback time budget.
//!
//! A host kills a callback that runs past its deadline (microwaf's default is 100 ms; Envoy's
//! watchdog is coarser), and a trap mid-body cuts the stream the client already gets (a 200 with
//! a truncated body) or fails it closed. So a callback feeds the scan in bounded slices and
//! stops when its budget is spent: the rest waits for the next callback (held bodies stay in
//! the host; streamed ones are carried, up to [`MAX_CARRY`]), and what cannot be scanned in
//! time is a `scan_time` fallback, never a trap.

use microwaf_engine::inspect::BodyScan;

/// Time one callback may spend scanning: a quarter of microwaf's default 100 ms deadline,
/// leaving room for redaction, metrics and a slow slice.
pub const SCAN_BUDGET_NANOS: u64 = 25_000_000;

/// Raw bytes fed to the scan between two clock reads. Plain bodies parse at tens of MiB/s in
/// wasm, so a slice costs well under a millisecond.
const PLAIN_SLICE: usize = 16 * 1024;

/// Compressed input expands (deflate up to ~1000×): 32 bytes can still be 32 KiB to decode
/// and scan. Attack scanning of long runs is the slow case (measured natively at ~6.6 MiB/s,
/// up to 64 ms for one 256-byte slice of a gzip bomb), so slices stay this small.
const ENCODED_SLICE: usize = 32;

/// Most bytes a streamed body may have forwarded but not yet scanned. Past it the scan stops
/// with a `scan_time` fallback, so memory per stream stays bounded whatever the upstream's pace.
pub const MAX_CARRY: usize = 1024 * 1024;

/// A deadline on a clock (nanoseconds).
pub struct Budget<C: Fn() -> u64> {
    clock: C,
    until: u64,
}

impl<C: Fn() -> u64> Budget<C> {
    pub fn new(clock: C, nanos: u64) -> Self {
        let until = clock().saturating_add(nanos);
        Budget { clock, until }
    }

    pub fn spent(&self) -> bool {
        (self.clock)() >= self.until
    }
}

/// The host's wall clock, as proxy-wasm exposes it.
pub fn host_clock() -> u64 {
    proxy_wasm::hostcalls::get_current_time()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Feeds `data` to `scan` slice by slice until all of it is in or the budget is spent (at
/// least one slice goes in, so every callback makes progress). Returns the bytes consumed.
pub fn push_within<C: Fn() -> u64>(
    scan: &mut BodyScan,
    data: &[u8],
    encoded: bool,
    budget: &Budget<C>,
) -> usize {
    let slice = if encoded { ENCODED_SLICE } else { PLAIN_SLICE };
    let mut done = 0;
    for piece in data.chunks(slice) {
        if done > 0 && budget.spent() {
            break;
        }
        scan.push(piece);
        done += piece.len();
    }
    done
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use microwaf_engine::formats::ContentInfo;
    use microwaf_engine::inspect::{Inspector, ScanMode};

    use super::*;

    fn scan() -> BodyScan {
        let inspector = Inspector::from_config(b"").unwrap();
        let info = ContentInfo {
            content_type: Some("text/plain"),
            ..ContentInfo::default()
        };
        inspector.body(&info, ScanMode::Sensitive).unwrap()
    }

    #[test]
    fn stops_when_the_budget_is_spent_and_always_progresses() {
        // A clock that advances 10 units per read: the budget of 25 lasts two more reads.
        let t = Cell::new(0u64);
        let clock = || {
            t.set(t.get() + 10);
            t.get()
        };
        let budget = Budget::new(clock, 25);
        let data = vec![b'a'; 10 * PLAIN_SLICE];
        let mut s = scan();
        let n = push_within(&mut s, &data, false, &budget);
        assert_eq!(n, 3 * PLAIN_SLICE);
        assert_eq!(s.scanned_bytes(), n as u64);
        // An already spent budget still lets one slice in.
        let n = push_within(&mut s, &data, true, &budget);
        assert_eq!(n, ENCODED_SLICE);
    }

    #[test]
    fn a_generous_budget_takes_everything() {
        let budget = Budget::new(|| 0, 1);
        let mut s = scan();
        let data = vec![b'x'; 5 * PLAIN_SLICE + 7];
        assert_eq!(push_within(&mut s, &data, false, &budget), data.len());
    }
}
