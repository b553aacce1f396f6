//! `microwaf bench`: measure what the proxy and a proxy-wasm filter chain cost per request
//! (see `microwaf_proxy::bench`), or `--upstream-only` to serve the built-in upstream for
//! other load generators and peer proxies.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use microwaf_proxy::bench::{self, upstream, Content, FilterSpec, Mode, Options, Protocol};
use microwaf_proxy::config;

#[derive(Args)]
pub struct BenchArgs {
    /// `proxy`: direct vs proxy vs proxy+filters. `waypoint`: plain HTTP through the proxy vs
    /// HBONE tunnels through an ambient waypoint, without and with the filters.
    #[arg(long, value_enum, default_value = "proxy")]
    pub mode: Mode,
    /// `--mode waypoint`: put the upstream behind an in-process HBONE terminator (a mesh
    /// endpoint: the waypoint opens HBONE to it) instead of reaching it by plain TCP.
    #[arg(long)]
    pub mesh_endpoint: bool,
    /// Protocol from the load generator to the proxy (and from the proxy to the upstream).
    #[arg(long, value_enum, default_value = "http1")]
    pub protocol: Protocol,
    /// Response body size in bytes.
    #[arg(long, default_value_t = 1024)]
    pub body_size: usize,
    /// Response body content.
    #[arg(long, value_enum, default_value = "json")]
    pub content: Content,
    /// Load-generator connections.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Concurrent streams per connection (HTTP/2 and gRPC).
    #[arg(long, default_value_t = 1)]
    pub streams: usize,
    /// Timed window of each measurement.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Untimed requests before each window.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Alternating rounds (each measures direct, proxy and proxy+filters once).
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Constant total request rate (req/s) instead of closed-loop maximum throughput.
    #[arg(long)]
    pub rate: Option<f64>,
    /// A proxy-wasm filter for variant (c); repeat for a chain, in order.
    #[arg(long = "wasm", value_name = "FILE")]
    pub wasm: Vec<PathBuf>,
    /// Plugin configuration of the filter at the same position (`TEXT` or `@FILE`).
    #[arg(long = "plugin-config", value_name = "TEXT|@FILE")]
    pub plugin_config: Vec<String>,
    /// Worker threads of each proxy child (`serve --workers`).
    #[arg(long, default_value_t = 1)]
    pub proxy_workers: usize,
    /// Threads of the load generator.
    #[arg(long, default_value_t = 1)]
    pub client_threads: usize,
    /// Threads of the built-in upstream.
    #[arg(long, default_value_t = 1)]
    pub upstream_threads: usize,
    /// Print the full report as JSON on stdout instead of the table.
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print the table as markdown.
    #[arg(long)]
    pub markdown: bool,
    /// Also write the JSON report to this file.
    #[arg(long, value_name = "FILE")]
    pub json_file: Option<PathBuf>,
    /// Only serve the built-in upstream on `--listen` until stopped.
    #[arg(long)]
    pub upstream_only: bool,
    /// Address of `--upstream-only`.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    config::duration::parse(s)
}

pub fn run(args: BenchArgs) -> ExitCode {
    match run_inner(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_inner(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let response = upstream::ResponseSpec {
        content: args.content,
        body_size: args.body_size,
    };
    if args.upstream_only {
        let up = upstream::Upstream::start(args.listen, &response, args.upstream_threads)?;
        eprintln!(
            "upstream on {}: {} bytes of {:?} per response",
            up.addr(),
            args.body_size,
            args.content
        );
        up.wait();
        return Ok(ExitCode::SUCCESS);
    }
    let opts = options(&args)?;
    let exe = std::env::current_exe()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads.max(1))
        .thread_name("bench-load")
        .enable_all()
        .build()?;
    eprintln!(
        "microwaf bench: {:?} {:?}, {} B {:?} responses, {} connections, {} rounds of {} s (+{} s warm-up)",
        opts.mode,
        opts.protocol,
        opts.body_size,
        opts.content,
        opts.connections,
        opts.rounds,
        opts.duration.as_secs_f64(),
        opts.warmup.as_secs_f64()
    );
    let report = rt.block_on(bench::run(&opts, &exe, &mut |line| eprintln!("  {line}")))?;
    let json = serde_json::to_string_pretty(&report)?;
    if let Some(path) = &args.json_file {
        std::fs::write(path, &json)
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    }
    if args.json {
        println!("{json}");
    } else if args.markdown {
        print!("{}", bench::report::markdown(&report));
    } else {
        print!("{}", bench::report::table(&report));
    }
    Ok(ExitCode::SUCCESS)
}

fn options(args: &BenchArgs) -> anyhow::Result<Options> {
    anyhow::ensure!(args.connections > 0, "--connections must be at least 1");
    anyhow::ensure!(args.rounds > 0, "--rounds must be at least 1");
    anyhow::ensure!(!args.duration.is_zero(), "--duration must be positive");
    if let Some(r) = args.rate {
        anyhow::ensure!(r.is_finite() && r > 0.0, "--rate must be a positive number");
    }
    anyhow::ensure!(
        args.plugin_config.len() <= args.wasm.len(),
        "{} --plugin-config given for {} --wasm filters",
        args.plugin_config.len(),
        args.wasm.len()
    );
    if args.protocol == Protocol::Http1 && args.streams > 1 {
        anyhow::bail!("--streams applies to http2 and grpc; HTTP/1.1 sends one request at a time");
    }
    let mut filters = Vec::new();
    for (i, path) in args.wasm.iter().enumerate() {
        let config = match args.plugin_config.get(i).map(String::as_str) {
            Some(text) => match text.strip_prefix('@') {
                Some(file) => std::fs::read_to_string(file)
                    .map_err(|e| anyhow::anyhow!("--plugin-config @{file}: {e}"))?,
                None => text.to_string(),
            },
            None => String::new(),
        };
        filters.push(FilterSpec {
            path: path.clone(),
            config,
        });
    }
    if args.mode == Mode::Waypoint && args.protocol != Protocol::Http1 {
        anyhow::bail!(
            "--mode waypoint runs HTTP/1.1 inside the HBONE tunnels: use --protocol http1"
        );
    }
    if args.mesh_endpoint && args.mode != Mode::Waypoint {
        anyhow::bail!("--mesh-endpoint applies to --mode waypoint");
    }
    Ok(Options {
        mode: args.mode,
        mesh_endpoint: args.mesh_endpoint,
        protocol: args.protocol,
        body_size: args.body_size,
        content: args.content,
        connections: args.connections,
        streams: args.streams,
        warmup: args.warmup,
        duration: args.duration,
        rounds: args.rounds,
        rate: args.rate,
        filters,
        proxy_workers: args.proxy_workers,
        upstream_threads: args.upstream_threads,
    })
}
