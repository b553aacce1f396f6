//! `microwaf demo`: the proxy on 127.0.0.1:8080 in front of a built-in demo upstream, with
//! MicroWAF (or any given filter, or none) in the chain.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use microwaf_proxy::app::{self, App};
use microwaf_proxy::{config, demo};

#[derive(Args)]
pub struct DemoArgs {
    /// A proxy-wasm filter to put in front of the demo upstream (none: plain proxying).
    #[arg(long)]
    pub wasm: Option<PathBuf>,
    /// Where the proxy listens.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Where the admin server (metrics) listens.
    #[arg(long, default_value = "127.0.0.1:9901")]
    pub admin: SocketAddr,
}

pub fn run(args: DemoArgs) -> ExitCode {
    let rt = match app::runtime(None) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        let wasm = match &args.wasm {
            Some(p) if !p.exists() => {
                eprintln!(
                    "error: {}: no such file (build it first, see README)",
                    p.display()
                );
                return ExitCode::FAILURE;
            }
            Some(p) => Some(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())),
            None => None,
        };
        let upstream = match demo::start_upstream().await {
            Ok(a) => a,
            Err(e) => {
                eprintln!("error: demo upstream: {e}");
                return ExitCode::FAILURE;
            }
        };
        let wasm_text = wasm.as_ref().map(|p| p.display().to_string());
        let yaml = demo::config_yaml(args.listen, args.admin, upstream, wasm_text.as_deref());
        let cfg = match config::parse(&yaml, "<demo>", std::path::Path::new(".")) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        let app = match App::start(cfg).await {
            Ok(a) => a,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        print_banner(&args, wasm_text.as_deref());
        app::shutdown_signal().await;
        app.drain(Duration::from_secs(5)).await;
        ExitCode::SUCCESS
    })
}

fn print_banner(args: &DemoArgs, wasm: Option<&str>) {
    let l = args.listen;
    let admin = args.admin;
    let Some(wasm) = wasm else {
        eprintln!(
            "\nmicrowaf demo is running without a filter (plain proxying; pass --wasm FILE).\n\
             \n  proxy:   http://{l}\n  metrics: http://{admin}/metrics\n\
             \nTry: curl -s http://{l}/api/users\nCtrl-C to stop.\n"
        );
        return;
    };
    eprintln!(
        "\nmicrowaf demo is running: MicroWAF ({wasm}) in front of a demo API.\n\
         \n  proxy:   http://{l}\
         \n  metrics: http://{admin}/metrics\n\
         \nTry (the policy: personal data alerted, cards redacted, credentials and attacks blocked):\
         \n  curl -s http://{l}/api/users        # alert: e-mails, a phone number, an SSN pass, reported\
         \n  curl -s http://{l}/api/orders       # redact: card numbers masked, the JSON stays valid\
         \n  curl -si http://{l}/api/config      # block: API keys in the response -> 403\
         \n  curl -si 'http://{l}/api/users?id=1%27%20OR%201=1--'   # block: SQL injection -> 403\n\
         \nWhere the findings go:\
         \n  curl -s http://{admin}/metrics | grep -E '^microwaf_(matches|attacks|actions)'\
         \n  the access log (JSON lines on stdout): blocked requests carry response flag LR.\n\
         \nCtrl-C to stop.\n"
    );
}
