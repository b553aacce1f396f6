//! `microwaf compile FILE.wasm [-o OUT]`: precompile a module with the runtime's engine settings
//! so a later load only deserializes it (≈0.5 ms instead of a Cranelift compile).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use microwaf_runtime::{precompile_to, Runtime, RuntimeConfig};

#[derive(Args)]
pub struct CompileArgs {
    /// The wasm module to compile.
    pub file: PathBuf,
    /// Where to write the artifact (default: FILE with the extension `.cwasm`).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

pub fn run(args: CompileArgs) -> ExitCode {
    match compile(&args) {
        Ok(out) => {
            println!("{}", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("microwaf compile: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn compile(args: &CompileArgs) -> anyhow::Result<PathBuf> {
    let wasm = std::fs::read(&args.file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", args.file.display()))?;
    let out = args
        .output
        .clone()
        .unwrap_or_else(|| args.file.with_extension("cwasm"));
    let rt = Runtime::new(RuntimeConfig {
        max_instances: 1,
        ..Default::default()
    })?;
    precompile_to(rt.wasmtime_engine(), &wasm, &out)?;
    Ok(out)
}
