//! The `microwaf` binary: one subcommand per module under `cmd/`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;

#[derive(Parser)]
#[command(
    name = "microwaf",
    version,
    about = "L7 proxy with a native proxy-wasm host"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the proxy with a configuration file.
    Serve(cmd::serve::ServeArgs),
    /// Run the demo: the proxy in front of a built-in upstream serving sample data.
    Demo(cmd::demo::DemoArgs),
    /// Measure requests/s, latency, CPU and memory of the proxy with and without filters.
    Bench(cmd::bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cmd::init_logging();
    match cli.command {
        Command::Serve(a) => cmd::serve::run(a),
        Command::Demo(a) => cmd::demo::run(a),
        Command::Bench(args) => cmd::bench::run(args),
    }
}
