//! Subcommands of the `microwaf` binary. Each module owns its clap `Args` and a `run` function.

pub mod bench;
pub mod compile;
pub mod demo;
pub mod run;
mod run_http;
mod run_props;
pub mod scan;
pub mod serve;

/// Logs go to stderr so stdout stays machine-readable (`run`, `scan` print results there).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MICROWAF_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
