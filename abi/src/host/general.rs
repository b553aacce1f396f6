//! [`GeneralHost`]: logging, time, ticks and contexts (`linker/general.rs` adapts the imports).

use super::HostResult;
use crate::types::LogLevel;

/// Hostcalls about the VM rather than one stream's data.
pub trait GeneralHost {
    /// `proxy_log`.
    fn log(&mut self, level: LogLevel, message: &[u8]) -> HostResult<()>;
    /// `proxy_get_log_level`: the level below which the host drops log lines, so the guest
    /// can skip formatting them.
    fn get_log_level(&mut self) -> HostResult<LogLevel>;
    /// `proxy_get_current_time_nanoseconds`: wall-clock time since the Unix epoch.
    fn get_current_time_nanoseconds(&mut self) -> HostResult<u64>;
    /// `proxy_set_tick_period_milliseconds`: the root context's `on_tick` period; 0 disables
    /// ticks.
    fn set_tick_period_milliseconds(&mut self, millis: u32) -> HostResult<()>;
    /// `proxy_set_effective_context`: unknown context id → `BadArgument`.
    fn set_effective_context(&mut self, context_id: u32) -> HostResult<()>;
    /// `proxy_done`: the root context finished the asynchronous work it postponed when its
    /// `on_done` returned false; `NotFound` when no deletion is pending (Envoy's
    /// `WasmBase::done`).
    fn done(&mut self) -> HostResult<()>;
}
