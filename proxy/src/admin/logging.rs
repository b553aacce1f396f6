//! Runtime log-level changes (`POST /logging?level=…`) through a `tracing_subscriber` reload
//! handle, so operators can turn on debug logs without a restart.

use std::sync::{Arc, OnceLock};

use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{reload, EnvFilter, Registry};

/// Applies an `EnvFilter` directive string (`debug`, `info,microwaf_proxy=trace`); returns an
/// error message for an invalid directive.
pub type LogLevelFn = Arc<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

/// The hook of the subscriber [`init_reloadable_logging`] installed, for every [`App`] of
/// the process (the global subscriber is process-wide, so is its filter).
///
/// [`App`]: crate::app::App
static INSTALLED: OnceLock<LogLevelFn> = OnceLock::new();

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines; coloured only on a terminal without `NO_COLOR`.
    #[default]
    Text,
    /// One JSON object per line (timestamp, level, target, fields), for log shippers.
    Json,
}

/// Installs the global subscriber (text logs to stderr, initial filter from `MICROWAF_LOG` or
/// `default`) with a reloadable filter, and returns the hook for the admin server. A second
/// call returns the hook installed by the first; fails if another global subscriber is set.
pub fn init_reloadable_logging(default: &str) -> Result<LogLevelFn, String> {
    init_reloadable_logging_as(default, LogFormat::Text)
}

/// [`init_reloadable_logging`] in a chosen [`LogFormat`].
pub fn init_reloadable_logging_as(default: &str, format: LogFormat) -> Result<LogLevelFn, String> {
    static INIT: parking_lot::Mutex<()> = parking_lot::Mutex::new(());
    let _once = INIT.lock();
    if let Some(hook) = INSTALLED.get() {
        return Ok(hook.clone());
    }
    let initial =
        EnvFilter::try_from_env("MICROWAF_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let (filter, hook) = reloadable(initial);
    let registry = tracing_subscriber::registry().with(filter);
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    match format {
        LogFormat::Text => registry.with(fmt.with_ansi(colour_wanted())).try_init(),
        LogFormat::Json => registry.with(fmt.json().with_ansi(false)).try_init(),
    }
    .map_err(|e| e.to_string())?;
    Ok(INSTALLED.get_or_init(|| hook).clone())
}

/// Colour codes only where a person reads them: stderr is a terminal and `NO_COLOR` is unset
/// or empty (no-color.org). A log file or a pipe gets plain text.
fn colour_wanted() -> bool {
    use std::io::IsTerminal as _;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && std::io::stderr().is_terminal()
}

/// The installed hook, if [`init_reloadable_logging`] ran in this process.
pub fn installed_log_level() -> Option<LogLevelFn> {
    INSTALLED.get().cloned()
}

/// A filter layer and the hook that replaces it.
fn reloadable(initial: EnvFilter) -> (reload::Layer<EnvFilter, Registry>, LogLevelFn) {
    let (filter, handle) = reload::Layer::new(initial);
    let hook: LogLevelFn = Arc::new(move |directive: &str| {
        let filter = EnvFilter::try_new(directive)
            .map_err(|e| format!("invalid level {directive:?}: {e}"))?;
        handle.reload(filter).map_err(|e| e.to_string())
    });
    (filter, hook)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_changes_the_active_filter() {
        let (filter, hook) = reloadable(EnvFilter::new("info"));
        let subscriber = tracing_subscriber::registry().with(filter);
        tracing::subscriber::with_default(subscriber, || {
            assert!(!tracing::enabled!(tracing::Level::DEBUG));
            hook("debug").unwrap();
            assert!(tracing::enabled!(tracing::Level::DEBUG));
            let err = hook("info,=[").unwrap_err();
            assert!(err.starts_with("invalid level"), "{err}");
            assert!(
                tracing::enabled!(tracing::Level::DEBUG),
                "a bad directive keeps the old filter"
            );
        });
    }
}
