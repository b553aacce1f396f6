//! Callouts in `microwaf run`: `--callout NAME=URL` sends a filter's HTTP and gRPC calls to
//! cluster NAME to a local server (through the proxy's own clusters, HTTP/1.1 for HTTP calls,
//! HTTP/2 prior knowledge for gRPC), `--callout NAME=@FILE` answers them with a recorded
//! HTTP/1.1 response. A call to any other cluster is accepted and fails later, as a reset does
//! (the filter sees its callback with no response), for HTTP and gRPC alike.

use std::collections::HashMap;

use anyhow::{anyhow, bail, Context as _};
use bytes::{Buf, Bytes};
use microwaf_proxy::wasm::ProxyEmbedder;
use microwaf_runtime::{
    CalloutReply, CalloutResponse, CalloutResult, Embedder as _, GrpcCalloutRequest, Headers,
    HttpCalloutRequest, Status,
};

use super::run_http::{parse_response, Message};

/// Live servers: the proxy's own clusters, HTTP/1.1 ones for HTTP calls and HTTP/2 ones (same
/// endpoints) for gRPC calls.
struct Live {
    http: ProxyEmbedder,
    grpc: ProxyEmbedder,
    /// Keeps the clusters' I/O running for the whole replay.
    _rt: tokio::runtime::Runtime,
}

/// The callouts of one `run`: recorded answers by cluster, and live clusters.
pub struct Callouts {
    files: HashMap<String, Message>,
    live: Option<Live>,
}

impl Callouts {
    /// Parses `NAME=URL` / `NAME=@FILE` arguments; an empty list answers nothing.
    pub fn new(args: &[String]) -> anyhow::Result<Callouts> {
        let mut files = HashMap::new();
        let mut urls = HashMap::new();
        for arg in args {
            let (name, target) = arg
                .split_once('=')
                .ok_or_else(|| anyhow!("--callout {arg:?}: expected NAME=URL or NAME=@FILE"))?;
            if files.contains_key(name) || urls.contains_key(name) {
                bail!("--callout {name} given twice");
            }
            match target.strip_prefix('@') {
                Some(path) => {
                    let raw = std::fs::read(path)
                        .with_context(|| format!("--callout {name}: cannot read {path}"))?;
                    let m = parse_response(&raw)
                        .with_context(|| format!("--callout {name}: cannot parse {path}"))?;
                    files.insert(name.to_owned(), m);
                }
                None => {
                    urls.insert(name.to_owned(), endpoint(target)?);
                }
            }
        }
        let live = if urls.is_empty() {
            None
        } else {
            Some(Live::start(&urls)?)
        };
        Ok(Callouts { files, live })
    }

    /// The live clusters' embedder for `cluster`, if `--callout` named it with a URL.
    fn live(&self, cluster: &str, grpc: bool) -> Option<&ProxyEmbedder> {
        let live = self.live.as_ref()?;
        let e = if grpc { &live.grpc } else { &live.http };
        e.clusters.contains_key(cluster).then_some(e)
    }

    pub fn http_call(&self, req: HttpCalloutRequest, reply: CalloutReply) -> Result<(), Status> {
        let cluster = String::from_utf8_lossy(&req.cluster).into_owned();
        if let Some(m) = self.files.get(&cluster) {
            answer(reply, http_result(m));
        } else if let Some(e) = self.live(&cluster, false) {
            return e.http_call(req, reply);
        } else {
            answer(reply, None);
        }
        Ok(())
    }

    pub fn grpc_call(&self, req: GrpcCalloutRequest, reply: CalloutReply) -> Result<(), Status> {
        let cluster = String::from_utf8_lossy(&req.cluster).into_owned();
        if let Some(m) = self.files.get(&cluster) {
            answer(reply, Some(grpc_result(m)));
        } else if let Some(e) = self.live(&cluster, true) {
            return e.grpc_call(req, reply);
        } else {
            answer(reply, None);
        }
        Ok(())
    }
}

impl Live {
    /// Clusters for `urls` (name → `host:port`), built by the proxy's configuration path.
    fn start(urls: &HashMap<String, String>) -> anyhow::Result<Live> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .context("starting the callout runtime")?;
        let embedder = |http2: bool| -> anyhow::Result<ProxyEmbedder> {
            let mut yaml = String::from("clusters:\n");
            for (name, ep) in urls {
                yaml.push_str(&format!(
                    "  - name: {name:?}\n    endpoints: [{ep:?}]\n    http2: {http2}\n"
                ));
            }
            let cfg = microwaf_proxy::config::parse(&yaml, "--callout", std::path::Path::new("."))
                .map_err(|e| anyhow!("--callout: {e}"))?;
            let _guard = rt.enter();
            let clusters =
                microwaf_proxy::build::clusters(&cfg).map_err(|e| anyhow!("--callout: {e}"))?;
            Ok(ProxyEmbedder {
                clusters,
                handle: rt.handle().clone(),
            })
        };
        Ok(Live {
            http: embedder(false)?,
            grpc: embedder(true)?,
            _rt: rt,
        })
    }
}

/// `host:port` of `http://host:port[/…]` or `host:port`.
fn endpoint(url: &str) -> anyhow::Result<String> {
    let rest = url.strip_prefix("http://").unwrap_or(url);
    if url.contains("://") && !url.starts_with("http://") {
        bail!("--callout URL {url:?}: only http:// (plain HTTP/1.1 and HTTP/2) is supported");
    }
    let hostport = rest.split('/').next().unwrap_or_default();
    if !hostport.contains(':') {
        bail!("--callout URL {url:?}: needs host:port");
    }
    Ok(hostport.to_owned())
}

/// Replies after the call returned, as a network answer would (the filter's callback runs
/// once the host call is over).
fn answer(reply: CalloutReply, result: Option<CalloutResult>) {
    std::thread::spawn(move || reply(CalloutResponse { result }));
}

fn http_result(m: &Message) -> Option<CalloutResult> {
    Some(CalloutResult {
        headers: m.headers.clone(),
        body: m.body.clone(),
        trailers: m.trailers.clone(),
        ..Default::default()
    })
}

/// A recorded gRPC answer: status and message from the trailers (or the headers of a
/// trailers-only answer; none means 0), the body's first length-prefixed message (a body that is
/// not framed is taken as the message itself).
fn grpc_result(m: &Message) -> CalloutResult {
    let field = |name: &[u8]| {
        let find = |h: &Headers| {
            h.iter()
                .find(|(k, _)| &k[..] == name)
                .map(|(_, v)| v.clone())
        };
        find(&m.trailers).or_else(|| find(&m.headers))
    };
    let grpc_status = field(b"grpc-status")
        .and_then(|v| std::str::from_utf8(&v).ok()?.trim().parse().ok())
        .unwrap_or(0);
    CalloutResult {
        headers: m.headers.clone(),
        body: unframe(&m.body),
        trailers: m.trailers.clone(),
        grpc_status,
        grpc_message: field(b"grpc-message").unwrap_or_default(),
    }
}

fn unframe(body: &Bytes) -> Bytes {
    if body.len() >= 5 && body[0] <= 1 {
        let mut b = body.clone();
        b.advance(1);
        let len = b.get_u32() as usize;
        if len <= b.len() {
            return b.slice(..len);
        }
    }
    body.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_grpc_answers_are_unframed_with_their_status() {
        let m = parse_response(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\ntransfer-encoding: chunked\r\n\r\n\
              8\r\n\0\0\0\0\x03abc\r\n0\r\ngrpc-status: 7\r\ngrpc-message: no\r\n\r\n",
        )
        .unwrap();
        let r = grpc_result(&m);
        assert_eq!(r.body.as_ref(), b"abc");
        assert_eq!(r.grpc_status, 7);
        assert_eq!(r.grpc_message.as_ref(), b"no");
        let m = parse_response(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi").unwrap();
        let r = grpc_result(&m);
        assert_eq!((r.body.as_ref(), r.grpc_status), (&b"hi"[..], 0));
    }

    #[test]
    fn bad_arguments_are_refused() {
        let err = |a: &str| format!("{:#}", Callouts::new(&[a.to_owned()]).err().unwrap());
        assert!(err("nocluster").contains("NAME=URL"));
        assert!(err("a=https://x:1").contains("only http://"));
        assert!(err("a=http://nohost").contains("host:port"));
        assert!(err("a=@/no/such/file").contains("cannot read"));
    }
}
