//! Subcommands of the `microwaf` binary. Each module owns its clap `Args` and a `run` function.

pub mod bench;
pub mod compile;
pub mod demo;
pub mod run;
mod run_callout;
mod run_http;
mod run_props;
pub mod scan;
pub mod serve;

use microwaf_proxy::admin::LogFormat;

/// `--log-format`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum LogFormatArg {
    Text,
    Json,
}

/// Logs go to stderr so stdout stays machine-readable (`run`, `scan` print results there).
/// The filter is reloadable, so the admin server's `POST /logging` can change it. `default`
/// applies unless `MICROWAF_LOG` is set.
pub fn init_logging(default: &str, format: LogFormatArg) {
    let format = match format {
        LogFormatArg::Text => LogFormat::Text,
        LogFormatArg::Json => LogFormat::Json,
    };
    if let Err(e) = microwaf_proxy::admin::init_reloadable_logging_as(default, format) {
        eprintln!("warning: logging not initialised: {e}");
    }
}
