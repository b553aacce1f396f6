//! `microwaf run`: replay one HTTP exchange through a chain of proxy-wasm filters without
//! sockets, for running vendor filters locally.
//!
//! REQ.http / RESP.http are raw HTTP/1.1 messages. Filters see the request in chain order and
//! the response in reverse order (Envoy's decoder/encoder order). Callouts have no network here:
//! they fail as a reset would (the filter sees BrokenConnection). Stdout gets the response the
//! client would receive (after `--show-upstream`, first the request the upstream would get);
//! filter logs go to stderr as `[level] plugin#context: message`. Filters reading request
//! attributes (`request.path`, `request.headers.<name>`, `response.code`, …) get them from the
//! replayed exchange as it reaches them.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use bytes::{Bytes, BytesMut};
use clap::Args;

use super::run_props::ReplayProps;
use microwaf_runtime::{
    CalloutReply, CalloutResponse, Decision, Embedder, FailPolicy, Headers, HttpCalloutRequest,
    HttpStream, LocalReply, LogLevel, PluginConfig, Runtime, RuntimeConfig, Status, StreamEvents,
    StreamType, WasmSource,
};

#[derive(Args)]
pub struct RunArgs {
    /// A filter module; repeat for a chain (request order).
    #[arg(long = "wasm", required = true)]
    pub wasm: Vec<PathBuf>,
    /// Plugin configuration: text, or @FILE.
    #[arg(long)]
    pub plugin_config: Option<String>,
    /// VM configuration: text, or @FILE.
    #[arg(long)]
    pub vm_config: Option<String>,
    /// The plugin root id.
    #[arg(long, default_value = "")]
    pub root_id: String,
    /// Raw HTTP/1.1 request.
    #[arg(long)]
    pub request: PathBuf,
    /// Raw HTTP/1.1 upstream response (default: 200 with an empty body).
    #[arg(long)]
    pub response: Option<PathBuf>,
    /// Print the request the upstream would receive before the response.
    #[arg(long)]
    pub show_upstream: bool,
    /// Precompiled-module cache directory (default: the user's cache directory, as `serve`).
    #[arg(long)]
    pub module_cache: Option<PathBuf>,
}

pub fn run(args: RunArgs) -> ExitCode {
    match replay(&args) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("microwaf run: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr; callouts fail like a reset.
struct CliEmbedder;

impl Embedder for CliEmbedder {
    fn http_call(&self, _: HttpCalloutRequest, reply: CalloutReply) -> Result<(), Status> {
        std::thread::spawn(move || reply(CalloutResponse { result: None }));
        Ok(())
    }
    fn log(&self, plugin: &str, context: u32, level: LogLevel, message: &str) {
        eprintln!(
            "[{}] {plugin}#{context}: {message}",
            format!("{level:?}").to_lowercase()
        );
    }
}

/// Waits for a paused stream's wake-up.
#[derive(Default)]
struct Waiter {
    state: Mutex<Option<Option<LocalReply>>>,
    cv: Condvar,
}

impl StreamEvents for Waiter {
    fn resume(&self, _: StreamType) {
        *self.state.lock().unwrap() = Some(None);
        self.cv.notify_all();
    }
    fn close(&self, _: StreamType) {
        self.local_reply(LocalReply::unavailable("closed_by_filter"));
    }
    fn local_reply(&self, reply: LocalReply) {
        *self.state.lock().unwrap() = Some(Some(reply));
        self.cv.notify_all();
    }
}

impl Waiter {
    /// `Ok(None)` resumed, `Ok(Some)` replied.
    fn wait(&self) -> anyhow::Result<Option<LocalReply>> {
        let guard = self.state.lock().unwrap();
        let (mut g, timeout) = self
            .cv
            .wait_timeout_while(guard, Duration::from_secs(10), |s| s.is_none())
            .unwrap();
        if timeout.timed_out() {
            bail!("a filter paused the stream and never resumed it");
        }
        Ok(g.take().flatten())
    }
}

fn text_arg(arg: &Option<String>) -> anyhow::Result<Bytes> {
    match arg.as_deref() {
        None => Ok(Bytes::new()),
        Some(s) => match s.strip_prefix('@') {
            Some(path) => Ok(std::fs::read(path)
                .with_context(|| format!("cannot read {path}"))?
                .into()),
            None => Ok(Bytes::copy_from_slice(s.as_bytes())),
        },
    }
}

struct Link {
    stream: HttpStream,
    waiter: Arc<Waiter>,
    props: Arc<ReplayProps>,
}

fn replay(args: &RunArgs) -> anyhow::Result<String> {
    let raw = std::fs::read(&args.request)
        .with_context(|| format!("cannot read {}", args.request.display()))?;
    let (mut req, req_body) = super::run_http::parse_request(&raw)
        .with_context(|| format!("cannot parse request {}", args.request.display()))?;
    let (mut resp, resp_body) = match &args.response {
        Some(p) => {
            let raw = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
            super::run_http::parse_response(&raw)
                .with_context(|| format!("cannot parse response {}", p.display()))?
        }
        None => (
            vec![(Bytes::from_static(b":status"), Bytes::from_static(b"200"))],
            Bytes::new(),
        ),
    };
    let rt = Runtime::new(RuntimeConfig {
        max_instances: 16,
        cache_dir: microwaf_proxy::module_cache::resolve(args.module_cache.as_deref()),
        ..Default::default()
    })?;
    let (plugin_config, vm_config) = (text_arg(&args.plugin_config)?, text_arg(&args.vm_config)?);
    let mut chain = Vec::new();
    for path in &args.wasm {
        let name = path
            .file_stem()
            .map_or("plugin".into(), |s| s.to_string_lossy().into_owned());
        let mut cfg = PluginConfig::new(name, WasmSource::Path(path.clone()));
        cfg.plugin_config = plugin_config.clone();
        cfg.vm_config = vm_config.clone();
        cfg.root_id = args.root_id.clone();
        cfg.vm_count = Some(1);
        cfg.fail_policy = FailPolicy::FailClosed;
        let plugin = rt.load_plugin(cfg, Arc::new(CliEmbedder))?;
        let waiter = Arc::new(Waiter::default());
        let props = Arc::new(ReplayProps::default());
        let stream = plugin.http_stream(props.clone(), waiter.clone());
        chain.push(Link {
            stream,
            waiter,
            props,
        });
    }
    let mut out = String::new();
    let mut reply = None;
    let mut body = BytesMut::from(&req_body[..]);
    let mut reached = chain.len();
    for (i, link) in chain.iter_mut().enumerate() {
        match request_phase(link, &mut req, &mut body)? {
            Some(r) => {
                reply = Some(r);
                reached = i;
                break;
            }
            None => continue,
        }
    }
    let mut resp_body = BytesMut::from(&resp_body[..]);
    if let Some(r) = reply {
        resp = vec![(
            Bytes::from_static(b":status"),
            Bytes::from(r.status.to_string()),
        )];
        resp.extend(r.headers);
        resp_body = BytesMut::from(&r.body[..]);
    } else if args.show_upstream {
        out.push_str(&super::run_http::render_request(&req, &body));
    }
    for link in chain[..reached].iter_mut().rev() {
        if let Some(r) = response_phase(link, &mut resp, &mut resp_body)? {
            resp = vec![(
                Bytes::from_static(b":status"),
                Bytes::from(r.status.to_string()),
            )];
            resp.extend(r.headers);
            resp_body = BytesMut::from(&r.body[..]);
        }
    }
    for link in &mut chain {
        link.stream.on_log();
    }
    out.push_str(&super::run_http::render_response(&resp, &resp_body));
    Ok(out)
}

/// Runs one filter's request phases; `Some` if it answered locally.
fn request_phase(
    link: &mut Link,
    req: &mut Headers,
    body: &mut BytesMut,
) -> anyhow::Result<Option<LocalReply>> {
    let eos = body.is_empty();
    link.props.set_request(req, body.len());
    let mut d = link.stream.on_request_headers(req, eos);
    if d == Decision::Pause {
        if let Some(r) = link.waiter.wait()? {
            return Ok(Some(r));
        }
        *req = link
            .stream
            .current_headers(StreamType::Request)
            .ok_or_else(|| anyhow!("headers lost"))?;
        d = Decision::Continue;
    }
    if let Decision::LocalReply(r) = d {
        return Ok(Some(r));
    }
    if eos {
        return Ok(None);
    }
    body_phase(link, body, |s, b| s.on_request_body(b, true))
}

fn response_phase(
    link: &mut Link,
    resp: &mut Headers,
    body: &mut BytesMut,
) -> anyhow::Result<Option<LocalReply>> {
    let eos = body.is_empty();
    link.props.set_response(resp);
    let d = link.stream.on_response_headers(resp, eos);
    if d == Decision::Pause {
        if let Some(r) = link.waiter.wait()? {
            return Ok(Some(r));
        }
        *resp = link
            .stream
            .current_headers(StreamType::Response)
            .ok_or_else(|| anyhow!("headers lost"))?;
    } else if let Decision::LocalReply(r) = d {
        return Ok(Some(r));
    }
    if eos {
        return Ok(None);
    }
    body_phase(link, body, |s, b| s.on_response_body(b, true))
}

fn body_phase(
    link: &mut Link,
    body: &mut BytesMut,
    call: impl Fn(&mut HttpStream, &mut BytesMut) -> Decision,
) -> anyhow::Result<Option<LocalReply>> {
    loop {
        match call(&mut link.stream, body) {
            Decision::Continue => return Ok(None),
            Decision::LocalReply(r) => return Ok(Some(r)),
            Decision::Pause => {
                if let Some(r) = link.waiter.wait()? {
                    return Ok(Some(r));
                }
            }
        }
    }
}
