//! Caps on what a guest's logging can make the host do: bytes per message and bytes per
//! second per plugin, across its VMs.
//!
//! A guest that logs a megabyte per request turns the proxy's log into the bottleneck (issue
//! 21 measured 1600 → 60 requests/s and 3.4 GB of log). A message over the size cap is cut to
//! it with a marker; a message that finds the plugin's budget spent is dropped and counted
//! (`microwaf_wasm_log_lines_dropped_total`), so an operator sees that lines are missing.

use std::time::Instant;

use parking_lot::Mutex;

/// A token bucket of log bytes, refilled continuously at `per_second`, holding one second's
/// worth at most (the burst a plugin may log at once).
#[derive(Debug)]
pub(crate) struct LogBudget {
    per_second: usize,
    state: Mutex<(f64, Instant)>,
}

impl LogBudget {
    pub fn new(per_second: usize) -> Self {
        Self {
            per_second,
            state: Mutex::new((per_second as f64, Instant::now())),
        }
    }

    /// Takes `bytes` from the budget; `false` when it does not hold them (the line is dropped).
    /// A rate of zero means no limit.
    pub fn take(&self, bytes: usize) -> bool {
        if self.per_second == 0 {
            return true;
        }
        let mut s = self.state.lock();
        let now = Instant::now();
        let cap = self.per_second as f64;
        s.0 = (s.0 + now.duration_since(s.1).as_secs_f64() * cap).min(cap);
        s.1 = now;
        if s.0 < bytes as f64 {
            return false;
        }
        s.0 -= bytes as f64;
        true
    }
}

/// The message as text without its trailing newlines, cut to at most `max` bytes plus a marker
/// saying how much was cut (a character split by the cut shows as U+FFFD). Only the kept
/// bytes are converted, so a megabyte message costs no more than a short one. `max` zero: no
/// limit.
pub(crate) fn cap_message(message: &[u8], max: usize) -> String {
    if max == 0 || message.len() <= max {
        let text = String::from_utf8_lossy(message);
        return text.trim_end_matches('\n').to_owned();
    }
    let text = String::from_utf8_lossy(&message[..max]);
    format!("{text}… [{} bytes cut]", message.len() - max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_allows_one_second_of_bytes_then_refuses() {
        let b = LogBudget::new(1000);
        assert!(b.take(600));
        assert!(b.take(400));
        assert!(!b.take(100), "spent within the same instant");
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(b.take(100), "refilled at 1000 bytes/s");
        assert!(LogBudget::new(0).take(usize::MAX), "zero disables");
    }

    #[test]
    fn long_messages_are_cut_with_a_marker() {
        assert_eq!(cap_message(b"short\n", 10), "short");
        assert_eq!(cap_message(b"abcdef", 4), "abcd… [2 bytes cut]");
        assert_eq!(cap_message("ééé".as_bytes(), 3), "é\u{fffd}… [3 bytes cut]");
        assert_eq!(cap_message(b"anything", 0), "anything");
    }
}
