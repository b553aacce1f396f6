//! [`GeneralHost`] for the VM state: logs, time, ticks, the effective context and `proxy_done`.

use std::time::{Duration, UNIX_EPOCH};

use microwaf_abi::{GeneralHost, HostResult, LogLevel, Status};

use super::{VmState, ROOT_ID};
use crate::log_budget::cap_message;

/// Lines kept from a VM's start for its load error; the first ones explain it.
const CAPTURED_LINES: usize = 100;

impl GeneralHost for VmState {
    /// Also WASI's stdout and stderr (`crate::wasi`), as in Envoy. Lines are kept while the VM
    /// starts, so a load error can show what the guest said. Messages are capped in size and
    /// in bytes per second per plugin (`crate::log_budget`); the guest is never told, as a
    /// logging failure must not change what a filter does.
    fn log(&mut self, level: LogLevel, message: &[u8]) -> HostResult<()> {
        let msg = cap_message(message, self.plugin.config.limits.log_message_bytes);
        if let Some(lines) = self.captured.as_mut() {
            if lines.len() < CAPTURED_LINES {
                lines.push(format!("[{}] {}", level_name(level), msg));
            }
        }
        if level >= self.plugin.embedder.log_level() {
            if !self.plugin.log_budget.take(msg.len()) {
                self.plugin.counters.log_dropped();
                return Ok(());
            }
            let plugin = &self.plugin.config.name;
            self.plugin
                .embedder
                .log(plugin, self.effective, level, &msg);
        }
        Ok(())
    }

    fn get_log_level(&mut self) -> HostResult<LogLevel> {
        Ok(self.plugin.embedder.log_level())
    }

    fn get_current_time_nanoseconds(&mut self) -> HostResult<u64> {
        Ok(self.now_nanos())
    }

    fn set_tick_period_milliseconds(&mut self, millis: u32) -> HostResult<()> {
        self.tick_period = (millis > 0).then(|| Duration::from_millis(millis.into()));
        Ok(())
    }

    fn set_effective_context(&mut self, id: u32) -> HostResult<()> {
        if !self.contexts.contains_key(&id) {
            return Err(Status::BadArgument);
        }
        self.effective = id;
        Ok(())
    }

    /// Only a root context whose `on_done` deferred its deletion may call it; anything else is
    /// `NotFound` (Envoy's `WasmBase::done`). The slot runs `on_delete` once the current
    /// callback returns.
    fn done(&mut self) -> HostResult<()> {
        if self.effective != ROOT_ID || !self.done_pending {
            return Err(Status::NotFound);
        }
        self.done_pending = false;
        self.delete_requested = true;
        Ok(())
    }
}

impl VmState {
    /// The embedder's wall clock as nanoseconds since the Unix epoch: what
    /// `proxy_get_current_time_nanoseconds` and WASI's realtime clock both read.
    pub(crate) fn now_nanos(&self) -> u64 {
        let now = self.plugin.embedder.now();
        now.duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    }
}

/// Lower-case level names as in Envoy's log output.
fn level_name(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Trace => "trace",
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warn => "warn",
        LogLevel::Error => "error",
        LogLevel::Critical => "critical",
    }
}
