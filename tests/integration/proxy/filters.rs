//! The filter chain with native test filters: header mutation, whole-body buffering with
//! exact content-length, buffer-limit 413/500, local replies through response filters,
//! pause/resume from outside a callback.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::Full;
use hyper::{Request, StatusCode};
use microwaf_proxy::app::App;
use microwaf_proxy::build::{BuildError, LoadCtx};
use microwaf_proxy::config::{self, WasmPlugin};
use microwaf_proxy::http::filter::{
    FilterStatus, HttpFilter, HttpFilterFactory, LocalReply, RequestHead, ResponseHead, Signal,
    StreamInfo, StreamSignal,
};

use super::harness::*;

struct Factory(String);

impl HttpFilterFactory for Factory {
    fn name(&self) -> &str {
        &self.0
    }

    fn create(&self, _info: &Arc<StreamInfo>, signal: Arc<StreamSignal>) -> Box<dyn HttpFilter> {
        match self.0.as_str() {
            "add-header" => Box::new(AddHeader),
            "buffer-body" => Box::new(Upcase),
            "block" => Box::new(Block),
            _ => Box::new(PauseResume(signal)),
        }
    }
}

struct AddHeader;
impl HttpFilter for AddHeader {
    fn on_request_headers(&mut self, h: &mut RequestHead, _eos: bool) -> FilterStatus {
        h.headers.insert("x-added", "yes".parse().unwrap());
        FilterStatus::Continue
    }
    fn on_response_headers(&mut self, h: &mut ResponseHead, _eos: bool) -> FilterStatus {
        h.headers.insert("x-resp", "yes".parse().unwrap());
        FilterStatus::Continue
    }
}

/// Buffers each body and upper-cases it at end of stream, doubling the response.
struct Upcase;
impl HttpFilter for Upcase {
    fn on_request_body(&mut self, b: &mut BytesMut, eos: bool) -> FilterStatus {
        if !eos {
            return FilterStatus::Pause;
        }
        b.make_ascii_uppercase();
        FilterStatus::Continue
    }
    fn on_response_body(&mut self, b: &mut BytesMut, eos: bool) -> FilterStatus {
        if !eos {
            return FilterStatus::Pause;
        }
        let copy = b.clone();
        b.extend_from_slice(&copy);
        FilterStatus::Continue
    }
}

struct Block;
impl HttpFilter for Block {
    fn on_request_headers(&mut self, h: &mut RequestHead, _eos: bool) -> FilterStatus {
        if h.path.starts_with("/blocked") {
            return FilterStatus::LocalReply(LocalReply::new(StatusCode::FORBIDDEN, "blocked"));
        }
        FilterStatus::Continue
    }
}

/// Pauses request headers; a task resumes the stream 50 ms later (like a callout).
struct PauseResume(Arc<StreamSignal>);
impl HttpFilter for PauseResume {
    fn on_request_headers(&mut self, h: &mut RequestHead, _eos: bool) -> FilterStatus {
        h.headers.insert("x-resumed", "yes".parse().unwrap());
        let sig = self.0.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            sig.push(Signal::Resume { response: false });
        });
        FilterStatus::Pause
    }
}

async fn start_filtered(up: std::net::SocketAddr, filters: &[&str], limits: &str) -> App {
    start_filtered_opts(up, filters, limits, "").await
}

async fn start_filtered_opts(
    up: std::net::SocketAddr,
    filters: &[&str],
    limits: &str,
    cluster_opts: &str,
) -> App {
    let list: String = filters
        .iter()
        .map(|f| format!("      - {{ name: {f}, code: filter.wasm }}\n"))
        .collect();
    let yaml = with_cluster_opts(up, cluster_opts).replace(
        "    routes:",
        &format!("    limits: {{ {limits} }}\n    filters:\n{list}    routes:"),
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    let cfg = config::parse(&yaml, "test.yaml", &dir).unwrap_or_else(|e| panic!("{e}"));
    let mut load =
        |p: &WasmPlugin, _: &LoadCtx| -> Result<Arc<dyn HttpFilterFactory>, BuildError> {
            Ok(Arc::new(Factory(p.name.clone())))
        };
    App::start_with(cfg, &mut load).await.unwrap()
}

fn post(path: &str, body: &'static [u8]) -> Request<Full<Bytes>> {
    Request::post(path)
        .header("host", "svc")
        .body(Full::new(Bytes::from_static(body)))
        .unwrap()
}

#[tokio::test]
async fn headers_are_mutated_both_ways() {
    let app = start_filtered(upstream("a").await, &["add-header"], "").await;
    let r = send(addr(&app), false, get("svc", "/", false)).await;
    assert_eq!(r.json()["headers"]["x-added"], "yes");
    assert_eq!(r.headers["x-resp"], "yes");
}

#[tokio::test]
async fn buffered_bodies_are_rewritten_with_exact_content_length() {
    let app = start_filtered(upstream("a").await, &["buffer-body"], "").await;
    let r = send(addr(&app), false, post("/", b"hello")).await;
    assert_eq!(r.status, 200);
    let len: usize = r.headers["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(len, r.body.len());
    let text = r.text();
    let half = &text[..text.len() / 2];
    assert_eq!(format!("{half}{half}"), text, "response doubled");
    let j: serde_json::Value = serde_json::from_str(half).unwrap();
    assert_eq!(j["body"], "HELLO");
    assert_eq!(j["headers"]["content-length"], "5");
}

#[tokio::test]
async fn buffer_limit_gives_413_on_requests_and_500_on_responses() {
    let app = start_filtered(
        upstream("a").await,
        &["buffer-body"],
        "buffer_limit_bytes: 1024",
    )
    .await;
    let r = send(addr(&app), false, post("/", &[b'a'; 4096])).await;
    assert_eq!(r.status, 413);
    let r = send(addr(&app), false, get("svc", "/big/4096", false)).await;
    assert_eq!(r.status, 500);
    let r = send(addr(&app), false, get("svc", "/big/100", false)).await;
    assert_eq!((r.status, r.body.len()), (200, 200));
}

#[tokio::test]
async fn local_reply_stops_the_chain_and_passes_response_filters() {
    let app = start_filtered(upstream("a").await, &["add-header", "block"], "").await;
    let r = send(addr(&app), false, get("svc", "/blocked/x", false)).await;
    assert_eq!((r.status, r.text().as_str()), (403, "blocked"));
    assert_eq!(r.headers["x-resp"], "yes");
    assert_eq!(r.headers["content-type"], "text/plain");
}

#[tokio::test]
async fn paused_stream_resumes_from_outside_the_callback() {
    let app = start_filtered(upstream("a").await, &["pause-resume", "add-header"], "").await;
    let r = send(addr(&app), true, get("svc", "/", true)).await;
    assert_eq!(r.status, 200);
    let j = r.json();
    assert_eq!(j["headers"]["x-resumed"], "yes");
    assert_eq!(
        j["headers"]["x-added"], "yes",
        "later filters ran after resume"
    );
}

#[tokio::test]
async fn grpc_streams_through_a_filter_chain() {
    let up = super::streaming::grpc_echo().await;
    let app = start_filtered_opts(up, &["add-header"], "", "http2: true").await;
    super::streaming::chat(addr(&app)).await;
}
