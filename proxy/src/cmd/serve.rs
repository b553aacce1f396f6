//! `microwaf serve --config FILE`: run the proxy until SIGTERM/SIGINT, then drain.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use microwaf_proxy::app::{self, App};
use microwaf_proxy::config;
use microwaf_proxy::worker::Workers;

#[derive(Args)]
pub struct ServeArgs {
    /// Configuration file (native YAML or an Envoy v3 static bootstrap; detected).
    #[arg(long, short)]
    pub config: PathBuf,
    /// Data-plane worker threads, each with its own runtime, listener sockets (SO_REUSEPORT),
    /// upstream pools and VM per plugin (default: one per CPU).
    #[arg(long)]
    pub workers: Option<usize>,
    /// How long in-flight requests may take to finish after SIGTERM.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub drain_timeout: Duration,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    config::duration::parse(s).map_err(|e| e.to_string())
}

pub fn run(args: ServeArgs) -> ExitCode {
    let cfg = match config::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match app::control_runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let workers = match Workers::spawn(args.workers.unwrap_or_else(Workers::default_count)) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        workers = workers.spawner().len(),
        "data-plane workers started"
    );
    rt.block_on(async move {
        let app = match App::start_on(cfg, workers).await {
            Ok(a) => Arc::new(a),
            Err(e) => {
                eprintln!("error: {}: {e}", args.config.display());
                return ExitCode::FAILURE;
            }
        };
        for (name, addr) in app.listener_addrs() {
            tracing::info!(listener = %name, %addr, "listening");
        }
        let _watcher = match app::apply_reloads(app.clone(), args.config.clone()) {
            Ok(w) => w,
            Err(e) => {
                eprintln!("error: watching {}: {e}", args.config.display());
                return ExitCode::FAILURE;
            }
        };
        app::shutdown_signal().await;
        tracing::info!("draining");
        if !app.drain(args.drain_timeout).await {
            tracing::warn!("drain deadline passed with requests in flight");
        }
        ExitCode::SUCCESS
    })
}
