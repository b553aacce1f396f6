//! `microwaf run`: replay one HTTP exchange through a chain of proxy-wasm filters without
//! sockets, for running vendor filters locally.
//!
//! REQ.http / RESP.http are raw HTTP/1.1 messages, framed as RFC 9112 says (chunked bodies are
//! decoded and their trailers delivered to the trailers callbacks); the output is framed once, by
//! content-length, or chunked when trailers remain. Filters see the request in chain order and
//! the response in reverse order (Envoy's decoder/encoder order). Callouts go where `--callout`
//! says (a local server or a recorded answer, see `run_callout`); to any other cluster they fail
//! as a reset would (the filter sees BrokenConnection). Stdout gets the response the
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

use super::run_callout::Callouts;
use super::run_http::{parse_request, parse_response, render_request, render_response, Message};
use super::run_props::ReplayProps;
use microwaf_runtime::{
    CalloutReply, Decision, Embedder, FailPolicy, GrpcCalloutRequest, Headers, HttpCalloutRequest,
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
    /// Answer the callouts to cluster NAME: `NAME=http://HOST:PORT` sends them to a local server
    /// (HTTP/1.1, gRPC over HTTP/2), `NAME=@FILE` answers with a recorded HTTP/1.1 response
    /// (for gRPC: its grpc-status/grpc-message and first message). Repeat per cluster. Calls to
    /// other clusters fail as a reset would.
    #[arg(long = "callout", value_name = "NAME=URL|@FILE")]
    pub callouts: Vec<String>,
    /// Precompiled-module cache directory (default: the user's cache directory, as `serve`).
    #[arg(long)]
    pub module_cache: Option<PathBuf>,
}

/// Exit status when a filter's VM failed (trap, deadline): the printed response is the fail
/// policy's answer, not the filter's.
const EXIT_FILTER_FAILED: u8 = 3;

pub fn run(args: RunArgs) -> ExitCode {
    match replay(&args) {
        Ok(done) => {
            use std::io::Write as _;
            let mut stdout = std::io::stdout().lock();
            if let Err(e) = stdout.write_all(&done.output).and_then(|()| stdout.flush()) {
                eprintln!("microwaf run: cannot write the result: {e}");
                return ExitCode::FAILURE;
            }
            if done.failed.is_empty() {
                return ExitCode::SUCCESS;
            }
            eprintln!(
                "microwaf run: the VM of {} failed (see its error line above); the response is \
                 the fail-closed answer",
                done.failed.join(", ")
            );
            ExitCode::from(EXIT_FILTER_FAILED)
        }
        Err(e) => {
            eprintln!("microwaf run: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr; callouts as `--callout` says.
struct CliEmbedder {
    callouts: Callouts,
}

impl Embedder for CliEmbedder {
    fn http_call(&self, req: HttpCalloutRequest, reply: CalloutReply) -> Result<(), Status> {
        self.callouts.http_call(req, reply)
    }
    fn grpc_call(&self, req: GrpcCalloutRequest, reply: CalloutReply) -> Result<(), Status> {
        self.callouts.grpc_call(req, reply)
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
    name: String,
    stream: HttpStream,
    waiter: Arc<Waiter>,
    props: Arc<ReplayProps>,
}

/// What `run` prints, and the filters whose VM failed on the way.
struct Replayed {
    output: Vec<u8>,
    failed: Vec<String>,
}

/// A message on its way through the chain.
struct Leg {
    headers: Headers,
    body: BytesMut,
    trailers: Headers,
}

impl Leg {
    fn new(m: Message) -> Leg {
        Leg {
            headers: m.headers,
            body: BytesMut::from(&m.body[..]),
            trailers: m.trailers,
        }
    }

    /// A filter's local reply replaces the response.
    fn reply(r: LocalReply) -> Leg {
        let mut headers = vec![(
            Bytes::from_static(b":status"),
            Bytes::from(r.status.to_string()),
        )];
        headers.extend(r.headers);
        Leg {
            headers,
            body: BytesMut::from(&r.body[..]),
            trailers: Headers::new(),
        }
    }
}

fn replay(args: &RunArgs) -> anyhow::Result<Replayed> {
    let raw = std::fs::read(&args.request)
        .with_context(|| format!("cannot read {}", args.request.display()))?;
    let mut req = Leg::new(
        parse_request(&raw)
            .with_context(|| format!("cannot parse request {}", args.request.display()))?,
    );
    let mut resp = match &args.response {
        Some(p) => {
            let raw = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
            Leg::new(
                parse_response(&raw)
                    .with_context(|| format!("cannot parse response {}", p.display()))?,
            )
        }
        None => Leg::new(Message {
            headers: vec![(Bytes::from_static(b":status"), Bytes::from_static(b"200"))],
            ..Message::default()
        }),
    };
    let rt = Runtime::new(RuntimeConfig {
        max_instances: 16,
        cache_dir: microwaf_proxy::module_cache::resolve(args.module_cache.as_deref()),
        ..Default::default()
    })?;
    let (plugin_config, vm_config) = (text_arg(&args.plugin_config)?, text_arg(&args.vm_config)?);
    let embedder = Arc::new(CliEmbedder {
        callouts: Callouts::new(&args.callouts)?,
    });
    let mut chain = Vec::new();
    for path in &args.wasm {
        let name = path
            .file_stem()
            .map_or("plugin".into(), |s| s.to_string_lossy().into_owned());
        let cfg_name = name.clone();
        let mut cfg = PluginConfig::new(name, WasmSource::Path(path.clone()));
        cfg.plugin_config = plugin_config.clone();
        cfg.vm_config = vm_config.clone();
        cfg.root_id = args.root_id.clone();
        cfg.vm_count = Some(1);
        cfg.fail_policy = FailPolicy::FailClosed;
        let plugin = rt.load_plugin(cfg, embedder.clone())?;
        let waiter = Arc::new(Waiter::default());
        let props = Arc::new(ReplayProps::default());
        let stream = plugin.http_stream(props.clone(), waiter.clone());
        chain.push(Link {
            name: cfg_name,
            stream,
            waiter,
            props,
        });
    }
    let mut output = Vec::new();
    let mut reply = None;
    let mut reached = chain.len();
    for (i, link) in chain.iter_mut().enumerate() {
        if let Some(r) = request_phase(link, &mut req)? {
            reply = Some(r);
            reached = i;
            break;
        }
    }
    if let Some(r) = reply {
        resp = Leg::reply(r);
    } else if args.show_upstream {
        output.extend(render_request(&req.headers, &req.body, &req.trailers));
    }
    for link in chain[..reached].iter_mut().rev() {
        if let Some(r) = response_phase(link, &mut resp)? {
            resp = Leg::reply(r);
        }
    }
    for link in &mut chain {
        link.stream.on_log();
    }
    output.extend(render_response(&resp.headers, &resp.body, &resp.trailers));
    let failed = chain
        .iter()
        .filter(|l| l.stream.is_failed())
        .map(|l| l.name.clone())
        .collect();
    Ok(Replayed { output, failed })
}

/// Runs one filter's request phases; `Some` if it answered locally.
fn request_phase(link: &mut Link, req: &mut Leg) -> anyhow::Result<Option<LocalReply>> {
    let eos = req.body.is_empty() && req.trailers.is_empty();
    link.props.set_request(&req.headers, req.body.len());
    let mut d = link.stream.on_request_headers(&mut req.headers, eos);
    if d == Decision::Pause {
        if let Some(r) = link.waiter.wait()? {
            return Ok(Some(r));
        }
        req.headers = link
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
    body_and_trailers(link, StreamType::Request, req)
}

fn response_phase(link: &mut Link, resp: &mut Leg) -> anyhow::Result<Option<LocalReply>> {
    let eos = resp.body.is_empty() && resp.trailers.is_empty();
    link.props.set_response(&resp.headers);
    let d = link.stream.on_response_headers(&mut resp.headers, eos);
    if d == Decision::Pause {
        if let Some(r) = link.waiter.wait()? {
            return Ok(Some(r));
        }
        resp.headers = link
            .stream
            .current_headers(StreamType::Response)
            .ok_or_else(|| anyhow!("headers lost"))?;
    } else if let Decision::LocalReply(r) = d {
        return Ok(Some(r));
    }
    if eos {
        return Ok(None);
    }
    body_and_trailers(link, StreamType::Response, resp)
}

/// The body in one chunk (ending the stream unless trailers follow), then the trailers. As in
/// Envoy, a filter that paused resumes its direction (`proxy_continue_stream`) or continues the
/// trailers, and what it held is forwarded without calling its body callback again.
fn body_and_trailers(
    link: &mut Link,
    dir: StreamType,
    leg: &mut Leg,
) -> anyhow::Result<Option<LocalReply>> {
    let request = dir == StreamType::Request;
    let has_trailers = !leg.trailers.is_empty();
    if !leg.body.is_empty() || !has_trailers {
        let d = if request {
            link.stream.on_request_body(&mut leg.body, !has_trailers)
        } else {
            link.stream.on_response_body(&mut leg.body, !has_trailers)
        };
        match d {
            Decision::Continue => {}
            Decision::LocalReply(r) => return Ok(Some(r)),
            // Held until the trailers end the stream.
            Decision::Pause if has_trailers => {}
            Decision::Pause => return resumed(link, dir, &mut leg.body),
        }
    }
    if !has_trailers {
        return Ok(None);
    }
    let d = if request {
        link.stream.on_request_trailers(&mut leg.trailers)
    } else {
        link.stream.on_response_trailers(&mut leg.trailers)
    };
    match d {
        Decision::Continue => {}
        Decision::LocalReply(r) => return Ok(Some(r)),
        Decision::Pause => {
            if let Some(r) = link.waiter.wait()? {
                return Ok(Some(r));
            }
        }
    }
    let mut held = link.stream.take_held_body(dir);
    held.extend_from_slice(&leg.body);
    leg.body = held;
    Ok(None)
}

/// Waits for a paused body to be resumed or answered; on resume `body` is what was held.
fn resumed(
    link: &mut Link,
    dir: StreamType,
    body: &mut BytesMut,
) -> anyhow::Result<Option<LocalReply>> {
    if let Some(r) = link.waiter.wait()? {
        return Ok(Some(r));
    }
    *body = link.stream.take_held_body(dir);
    Ok(None)
}
