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
    /// Scan files, directories, stdin or HAR archives for sensitive data with the MicroWAF engine.
    Scan(cmd::scan::ScanArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cmd::init_logging();
    match cli.command {
        Command::Scan(a) => cmd::scan::run(a),
    }
}
