//! A fake embedder and helpers to load fixtures and replay exchanges.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use microwaf_runtime::{
    CalloutReply, CalloutResponse, CalloutResult, Decision, Embedder, FailPolicy,
    GrpcCalloutRequest, GrpcStreamEvent, GrpcStreamHandle, GrpcStreamRequest, GrpcStreamSink,
    Headers, HttpCalloutRequest, HttpStream, LocalReply, LogLevel, Plugin, PluginConfig,
    PropertySource, Runtime, RuntimeConfig, Status, StreamEvents, StreamType, Value, WasmSource,
};
use microwaf_tests::fixtures::{self, Target};
use parking_lot::Mutex;

/// One runtime for the whole test binary (engines are heavy; plugins are isolated anyway).
pub fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        Runtime::new(RuntimeConfig {
            cache_dir: Some(std::env::temp_dir().join("microwaf-test-module-cache")),
            ..Default::default()
        })
        .expect("runtime")
    })
}

/// How the fake answers callouts to a cluster.
#[derive(Clone)]
pub enum Upstream {
    /// Answer from another thread after a short delay.
    Reply(CalloutResult),
    /// Answer synchronously, inside `proxy_http_call`.
    ReplyInline(CalloutResult),
    /// Reset (timeout, connection failure).
    Reset,
}

/// Records logs and answers callouts.
#[derive(Default)]
pub struct FakeEmbedder {
    pub logs: Mutex<Vec<String>>,
    pub clusters: Mutex<HashMap<Vec<u8>, Upstream>>,
    pub http_requests: Mutex<Vec<HttpCalloutRequest>>,
    pub grpc_requests: Mutex<Vec<GrpcCalloutRequest>>,
    pub grpc_streams: Mutex<Vec<GrpcStreamRequest>>,
    /// Every message filters sent on gRPC streams: (message, end_stream).
    pub grpc_stream_sent: Arc<Mutex<Vec<(Bytes, bool)>>>,
}

/// The fake upstream's end of a gRPC stream: an echo service. Once the filter ends its side it
/// answers from another thread with initial metadata, `echo:<m>` for every message, trailing
/// metadata and status 0 (`Upstream::Reset`: status 14 at once).
struct EchoStream {
    sink: GrpcStreamSink,
    sent: Arc<Mutex<Vec<(Bytes, bool)>>>,
    mine: Vec<Bytes>,
    /// The upstream reset the stream: nothing is echoed.
    reset: bool,
}

impl GrpcStreamHandle for EchoStream {
    fn send(&mut self, message: Bytes, end_stream: bool) {
        self.sent.lock().push((message.clone(), end_stream));
        self.mine.push(message);
        if end_stream {
            self.close();
        }
    }

    fn close(&mut self) {
        if self.reset {
            return;
        }
        let (sink, mine) = (self.sink.clone(), std::mem::take(&mut self.mine));
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(5));
            sink.send(GrpcStreamEvent::InitialMetadata(h(&[("x-stream-md", "1")])));
            for m in mine {
                let echo = [&b"echo:"[..], &m].concat();
                sink.send(GrpcStreamEvent::Message(Bytes::from(echo)));
            }
            sink.send(GrpcStreamEvent::TrailingMetadata(h(&[(
                "x-stream-trailer",
                "t",
            )])));
            sink.send(GrpcStreamEvent::Close {
                status: 0,
                message: Bytes::from_static(b"done"),
            });
        });
    }

    fn cancel(&mut self) {}
}

impl FakeEmbedder {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn with_cluster(self: Arc<Self>, name: &str, up: Upstream) -> Arc<Self> {
        self.clusters.lock().insert(name.as_bytes().to_vec(), up);
        self
    }

    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().clone()
    }

    /// Whether some log line contains `needle`.
    pub fn logged(&self, needle: &str) -> bool {
        self.logs.lock().iter().any(|l| l.contains(needle))
    }

    /// Waits (bounded) until `needle` is logged.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.logged(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        self.logged(needle)
    }

    fn answer(&self, cluster: &[u8], reply: CalloutReply) -> Result<(), Status> {
        let up = self.clusters.lock().get(cluster).cloned();
        match up {
            None => Err(Status::BadArgument),
            Some(Upstream::ReplyInline(r)) => {
                reply(CalloutResponse { result: Some(r) });
                Ok(())
            }
            Some(Upstream::Reply(r)) => {
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(5));
                    reply(CalloutResponse { result: Some(r) });
                });
                Ok(())
            }
            Some(Upstream::Reset) => {
                std::thread::spawn(move || reply(CalloutResponse { result: None }));
                Ok(())
            }
        }
    }
}

impl Embedder for FakeEmbedder {
    fn http_call(&self, request: HttpCalloutRequest, reply: CalloutReply) -> Result<(), Status> {
        let cluster = request.cluster.to_vec();
        self.http_requests.lock().push(request);
        self.answer(&cluster, reply)
    }

    fn grpc_call(&self, request: GrpcCalloutRequest, reply: CalloutReply) -> Result<(), Status> {
        let cluster = request.cluster.to_vec();
        self.grpc_requests.lock().push(request);
        self.answer(&cluster, reply)
    }

    fn grpc_stream(
        &self,
        request: GrpcStreamRequest,
        sink: GrpcStreamSink,
    ) -> Result<Box<dyn GrpcStreamHandle>, Status> {
        let up = self.clusters.lock().get(&request.cluster[..]).cloned();
        self.grpc_streams.lock().push(request);
        let reset = match up {
            None => return Err(Status::ParseFailure),
            Some(Upstream::Reset) => true,
            Some(_) => false,
        };
        if reset {
            let sink = sink.clone();
            std::thread::spawn(move || {
                sink.send(GrpcStreamEvent::Close {
                    status: 14,
                    message: Bytes::from_static(b"reset"),
                })
            });
        }
        Ok(Box::new(EchoStream {
            sink,
            sent: self.grpc_stream_sent.clone(),
            mine: Vec::new(),
            reset,
        }))
    }

    fn log(&self, plugin: &str, context: u32, level: LogLevel, message: &str) {
        self.logs
            .lock()
            .push(format!("[{level:?}] {plugin}#{context}: {message}"));
    }
}

/// Static request attributes by canonical name (`request.path`, `xds.cluster_name`).
#[derive(Default)]
pub struct Props(pub HashMap<String, Value>);

impl PropertySource for Props {
    fn attribute(&self, name: &str) -> Option<Value> {
        self.0.get(name).cloned()
    }
}

/// What a stream was told asynchronously.
#[derive(Default)]
pub struct Recorder {
    pub resumed: Mutex<Vec<StreamType>>,
    pub closed: Mutex<Vec<StreamType>>,
    pub replies: Mutex<Vec<LocalReply>>,
}

impl StreamEvents for Recorder {
    fn resume(&self, stream: StreamType) {
        self.resumed.lock().push(stream);
    }
    fn close(&self, stream: StreamType) {
        self.closed.lock().push(stream);
    }
    fn local_reply(&self, reply: LocalReply) {
        self.replies.lock().push(reply);
    }
}

impl Recorder {
    /// Waits (bounded) for the first resume of `dir` or a local reply.
    pub fn wait(&self, dir: StreamType, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.resumed.lock().contains(&dir) || !self.replies.lock().is_empty() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        false
    }
}

pub fn rust(name: &str, target: Target) -> PathBuf {
    fixtures::wasm(name, target)
}

/// A plugin config for `path` with `config` as plugin configuration.
pub fn config(name: &str, path: PathBuf, plugin_config: &str) -> PluginConfig {
    let mut c = PluginConfig::new(name, WasmSource::Path(path));
    c.plugin_config = Bytes::copy_from_slice(plugin_config.as_bytes());
    c.vm_count = Some(1);
    c.fail_policy = FailPolicy::FailClosed;
    c
}

pub fn load(cfg: PluginConfig, embedder: &Arc<FakeEmbedder>) -> Plugin {
    let name = cfg.name.clone();
    runtime()
        .load_plugin(cfg, embedder.clone())
        .unwrap_or_else(|e| panic!("load {name}: {e}"))
}

pub fn h(pairs: &[(&str, &str)]) -> Headers {
    pairs
        .iter()
        .map(|(k, v)| {
            (
                Bytes::copy_from_slice(k.as_bytes()),
                Bytes::copy_from_slice(v.as_bytes()),
            )
        })
        .collect()
}

pub fn get(headers: &Headers, name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(k, _)| k.as_ref() == name.as_bytes())
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
}

pub fn request(path: &str, extra: &[(&str, &str)]) -> Headers {
    let mut hs = h(&[
        (":method", "GET"),
        (":path", path),
        (":authority", "example.test"),
        (":scheme", "http"),
    ]);
    hs.extend(h(extra));
    hs
}

pub fn response(status: &str, extra: &[(&str, &str)]) -> Headers {
    let mut hs = h(&[(":status", status)]);
    hs.extend(h(extra));
    hs
}

/// The result of one replayed exchange.
#[derive(Debug, Default)]
pub struct Exchange {
    pub upstream_headers: Option<Headers>,
    pub upstream_body: Bytes,
    pub status: String,
    pub response_headers: Headers,
    pub response_body: Bytes,
    pub local: bool,
    pub context_id: u32,
}

/// Replays a request (with optional body) and a response through a new stream, synchronously
/// (no callouts).
pub fn exchange(
    plugin: &Plugin,
    req: Headers,
    req_body: &[u8],
    resp: Headers,
    resp_body: &[u8],
) -> Exchange {
    let mut s = plugin.http_stream(Arc::new(Props::default()), Arc::new(Recorder::default()));
    run_exchange(&mut s, req, req_body, resp, resp_body)
}

pub fn run_exchange(
    s: &mut HttpStream,
    mut req: Headers,
    req_body: &[u8],
    mut resp: Headers,
    resp_body: &[u8],
) -> Exchange {
    let mut out = Exchange {
        context_id: s.context_id(),
        ..Default::default()
    };
    let local = |out: &mut Exchange, r: LocalReply| {
        out.local = true;
        out.status = r.status.to_string();
        out.response_headers = r.headers;
        out.response_body = r.body;
    };
    match s.on_request_headers(&mut req, req_body.is_empty()) {
        Decision::LocalReply(r) => {
            local(&mut out, r);
            s.on_log();
            return out;
        }
        d => assert_eq!(d, Decision::Continue, "request headers"),
    }
    if !req_body.is_empty() {
        let mut forwarded = BytesMut::new();
        for (i, chunk) in req_body.chunks(3).enumerate() {
            let eos = (i + 1) * 3 >= req_body.len();
            let mut b = BytesMut::from(chunk);
            match s.on_request_body(&mut b, eos) {
                Decision::LocalReply(r) => {
                    local(&mut out, r);
                    return out;
                }
                Decision::Pause => assert!(b.is_empty()),
                Decision::Continue => forwarded.extend_from_slice(&b),
            }
        }
        out.upstream_body = forwarded.freeze();
    }
    out.upstream_headers = Some(req.clone());
    match s.on_response_headers(&mut resp, resp_body.is_empty()) {
        Decision::LocalReply(r) => {
            local(&mut out, r);
            return out;
        }
        d => assert_eq!(d, Decision::Continue, "response headers"),
    }
    let mut body = BytesMut::new();
    if !resp_body.is_empty() {
        for (i, chunk) in resp_body.chunks(3).enumerate() {
            let eos = (i + 1) * 3 >= resp_body.len();
            let mut b = BytesMut::from(chunk);
            if let Decision::Continue = s.on_response_body(&mut b, eos) {
                body.extend_from_slice(&b);
            }
        }
    }
    out.status = get(&resp, ":status").unwrap_or_default();
    out.response_headers = resp;
    out.response_body = body.freeze();
    s.on_log();
    out
}
