//! The `microwaf` binary: one subcommand per module under `cmd/`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;

/// mimalloc instead of glibc malloc: per request the proxy allocates and frees many small
/// buffers (headers, body chunks, futures) across threads, where glibc's arenas spent ~15 % of
/// the proxy's CPU (fastbin consolidation on every large read buffer) — see benches/PROFILE.md.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "microwaf",
    version,
    about = "L7 proxy with a native proxy-wasm host"
)]
struct Cli {
    /// Log line format on stderr: `text` (coloured only on a terminal without NO_COLOR) or
    /// `json` (one object per line, for log shippers).
    #[arg(long, global = true, value_enum, default_value_t = cmd::LogFormatArg::Text)]
    log_format: cmd::LogFormatArg,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the proxy with a configuration file.
    Serve(cmd::serve::ServeArgs),
    /// Run the demo: the proxy in front of a built-in upstream serving sample data.
    Demo(cmd::demo::DemoArgs),
    /// Precompile a wasm module into a cache artifact (what the module cache loads).
    Compile(cmd::compile::CompileArgs),
    /// Replay one HTTP exchange through a chain of proxy-wasm filters, without sockets.
    Run(cmd::run::RunArgs),
    /// Scan files, directories, stdin or HAR archives for sensitive data with the MicroWAF engine.
    Scan(cmd::scan::ScanArgs),
    /// Measure requests/s, latency, CPU and memory of the proxy with and without filters.
    Bench(cmd::bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `run` writes the filters' own logs to stderr, one `[level] plugin#context: …` line each;
    // the proxy's start-up lines (module loads) would interleave with them. A VM failure
    // reaches `run` as the filter's own error line, so the runtime's copy of it stays off.
    let default = match cli.command {
        Command::Run(_) => "warn,microwaf_runtime::pool=off",
        _ => "info",
    };
    cmd::init_logging(default, cli.log_format);
    match cli.command {
        Command::Serve(a) => cmd::serve::run(a),
        Command::Demo(a) => cmd::demo::run(a),
        Command::Compile(a) => cmd::compile::run(a),
        Command::Run(a) => cmd::run::run(a),
        Command::Scan(a) => cmd::scan::run(a),
        Command::Bench(args) => cmd::bench::run(args),
    }
}
