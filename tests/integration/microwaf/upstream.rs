//! An upstream with fixed bodies per path, recording every request path it receives (so tests
//! can prove a blocked request never reached it).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use super::{CARD, SSN};

pub struct Upstream {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
    /// Released by the test to let `/chunked.json` send its last chunk.
    pub gate: Arc<tokio::sync::Notify>,
}

impl Upstream {
    pub async fn start() -> Upstream {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let gate = Arc::new(tokio::sync::Notify::new());
        let log = Arc::clone(&seen);
        let g = Arc::clone(&gate);
        tokio::spawn(async move {
            loop {
                let Ok((s, _)) = l.accept().await else { return };
                let log = Arc::clone(&log);
                let g = Arc::clone(&g);
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let log = Arc::clone(&log);
                        let g = Arc::clone(&g);
                        async move { respond(req, log, g).await }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(s), svc)
                        .await;
                });
            }
        });
        Upstream { addr, seen, gate }
    }

    /// Paths (with query) the upstream received, in order.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

/// The JSON an upstream leaks: a card, an SSN and an e-mail address.
pub fn leak_json() -> String {
    format!(
        r#"{{"user":{{"id":7,"name":"Ann Lee","email":"ann.lee@example.org","ssn":"{SSN}"}},"payment":{{"card":"{CARD}","exp":"04/29"}}}}"#
    )
}

/// A response with nothing sensitive (order ids, UUIDs, timestamps — the usual traps).
pub const CLEAN_JSON: &str = r#"{"order":{"id":"ord_8c1d2e","uuid":"2f1c7b8e-9a4d-4c51-8f0e-3b9a6d2c1e07","created":"2026-11-25T10:00:00Z","items":[{"sku":"A-1001","qty":2,"price":19.99}],"total":39.98}}"#;

/// A clean HTML page (the trap values of [`CLEAN_JSON`] in text and attributes).
pub const CLEAN_HTML: &str = r#"<html><body><p id="ord_8c1d2e">Order 2f1c7b8e-9a4d-4c51-8f0e-3b9a6d2c1e07 placed 2026-11-25T10:00:00Z</p><a href="/orders/8c1d2e">details</a></body></html>"#;

/// The first chunk of `/chunked.json`; the rest follows once the test opens the gate.
pub const CHUNK_1: &str = r#"{"items":[{"id":1,"note":"first"},"#;

type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;

/// The path's body, also used by tests to compare what the client got with what was sent.
pub fn body_of(path: &str) -> Option<Vec<u8>> {
    Some(match path {
        "/clean.json.gz" => gzip(CLEAN_JSON.as_bytes()),
        "/clean.html" => CLEAN_HTML.as_bytes().to_vec(),
        "/big.json" => big_json().into_bytes(),
        "/mails.json" => mails_json().into_bytes(),
        p if p.starts_with("/shop.Clean/") => {
            grpc_frame(false, &grpc_msg("order ord_8c1d2e shipped"))
        }
        p if p.starts_with("/shop.Zipped/") => {
            grpc_frame(true, &gzip(&grpc_msg(&format!("card {CARD}"))))
        }
        _ => return None,
    })
}

/// 64 KiB of clean records, then a card: larger than the body limit the tests configure.
pub fn big_json() -> String {
    let filler: Vec<String> = (0..1500)
        .map(|i| format!(r#"{{"n":{i},"t":"item"}}"#))
        .collect();
    format!(r#"{{"items":[{}],"card":"{CARD}"}}"#, filler.join(","))
}

/// More e-mail addresses than the engine keeps masks for (see `MAX_MATCHES`).
pub fn mails_json() -> String {
    let mails: Vec<String> = (0..4200)
        .map(|i| format!(r#""u{i}@example.org""#))
        .collect();
    format!("[{}]", mails.join(","))
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A protobuf message whose field 1 is `text`.
pub fn grpc_msg(text: &str) -> Vec<u8> {
    let mut msg = vec![0x0a, text.len() as u8];
    msg.extend_from_slice(text.as_bytes());
    msg
}

pub fn grpc_frame(compressed: bool, msg: &[u8]) -> Vec<u8> {
    let mut frame = vec![u8::from(compressed)];
    frame.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    frame.extend_from_slice(msg);
    frame
}

/// A body fed from a channel, so a response can be sent in timed pieces.
struct Chunks(tokio::sync::mpsc::Receiver<Bytes>);

impl hyper::body::Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|c| c.map(|b| Ok(hyper::body::Frame::data(b))))
    }
}

/// A body sent in 4 KiB pieces 10 ms apart, so a proxy sees it arrive in several chunks.
fn pieces(body: Vec<u8>) -> Response<Body> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        for piece in body.chunks(4096) {
            if tx.send(Bytes::copy_from_slice(piece)).await.is_err() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    });
    let mut r = Response::new(Chunks(rx).boxed());
    r.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    r
}

/// `/upload`: what the upstream received, as `{"len":…,"sha256":"…"}`, so a test can prove an
/// upload passed the proxy byte for byte without echoing megabytes back.
fn upload_receipt(body: &[u8]) -> Response<Body> {
    let receipt = serde_json::json!({"len": body.len(), "sha256": sha256_hex(body)});
    let mut r = Response::new(Full::new(Bytes::from(receipt.to_string())).boxed());
    r.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    r
}

pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The two chunks of `/split.json`: a card number cut in the middle.
pub fn split_chunks() -> (String, String) {
    let (head, tail) = CARD.split_at(7);
    (
        format!(r#"{{"note":"first","card":"{head}"#),
        format!(r#"{tail}","end":true}}"#),
    )
}

/// `/split.json`: [`split_chunks`] sent 100 ms apart, so the proxy sees the card in two
/// body callbacks.
fn split_json() -> Response<Body> {
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    tokio::spawn(async move {
        let (a, b) = split_chunks();
        let _ = tx.send(Bytes::from(a)).await;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let _ = tx.send(Bytes::from(b)).await;
    });
    let mut r = Response::new(Chunks(rx).boxed());
    r.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    r
}

/// `/chunked.json`: the first chunk at once, the last only after `gate` is notified.
fn chunked(gate: Arc<tokio::sync::Notify>) -> Response<Body> {
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    tokio::spawn(async move {
        let _ = tx.send(Bytes::from_static(CHUNK_1.as_bytes())).await;
        gate.notified().await;
        let last = format!(r#"{{"id":2,"card":"{CARD}"}}]}}"#);
        let _ = tx.send(Bytes::from(last)).await;
    });
    let mut r = Response::new(Chunks(rx).boxed());
    r.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    r
}

async fn respond(
    req: Request<Incoming>,
    seen: Arc<Mutex<Vec<String>>>,
    gate: Arc<tokio::sync::Notify>,
) -> Result<Response<Body>, Infallible> {
    let pq = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    seen.lock().unwrap().push(pq);
    let path = req.uri().path().to_owned();
    let received = req
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    if path == "/upload" {
        return Ok(upload_receipt(&received));
    }
    if path == "/split.json" {
        return Ok(split_json());
    }
    if path == "/bomb.json" {
        let mut r = Response::new(Full::new(Bytes::from(super::encoded::bomb().to_vec())).boxed());
        r.headers_mut()
            .insert("content-type", "application/json".parse().unwrap());
        r.headers_mut()
            .insert("content-encoding", "gzip".parse().unwrap());
        return Ok(r);
    }
    if let Some(body) = super::large::large_body(&path) {
        let mut r = Response::new(Full::new(Bytes::from(body)).boxed());
        r.headers_mut()
            .insert("content-type", "application/json".parse().unwrap());
        return Ok(r);
    }
    if path == "/chunked.json" {
        return Ok(chunked(gate));
    }
    if path == "/big.json" {
        return Ok(pieces(big_json().into_bytes()));
    }
    if path.starts_with("/shop.Clean/") || path.starts_with("/shop.Zipped/") {
        let zipped = path.starts_with("/shop.Zipped/");
        return Ok(grpc_response(body_of(&path).unwrap_or_default(), zipped));
    }
    if let Some(body) = body_of(&path) {
        let ct = if path.ends_with(".html") {
            "text/html"
        } else {
            "application/json"
        };
        let mut r = Response::new(Full::new(Bytes::from(body)).boxed());
        r.headers_mut().insert("content-type", ct.parse().unwrap());
        if path.ends_with(".gz") {
            r.headers_mut()
                .insert("content-encoding", "gzip".parse().unwrap());
        }
        return Ok(r);
    }
    let (ct, body) = match path.as_str() {
        "/leak.json" | "/search" => ("application/json", leak_json()),
        "/ssn.json" => ("application/json", format!(r#"{{"ssn":"{SSN}"}}"#)),
        "/clean.json" => ("application/json", CLEAN_JSON.to_owned()),
        "/page.html" => (
            "text/html; charset=utf-8",
            format!("<html><body><p>Card on file: {CARD}</p></body></html>"),
        ),
        p if p.starts_with("/shop.Orders/") => return Ok(grpc_reply()),
        _ => ("text/plain", "ok".to_owned()),
    };
    let mut r = Response::new(Full::new(Bytes::from(body)).boxed());
    r.headers_mut().insert("content-type", ct.parse().unwrap());
    Ok(r)
}

/// One gRPC message whose field 1 is a string carrying a card number, then `grpc-status: 0`.
fn grpc_reply() -> Response<Body> {
    grpc_response(grpc_frame(false, &grpc_msg(&format!("card {CARD}"))), false)
}

/// gRPC frames then `grpc-status: 0`; `zipped` adds `grpc-encoding: gzip`.
fn grpc_response(frames: Vec<u8>, zipped: bool) -> Response<Body> {
    let mut trailers = hyper::HeaderMap::new();
    trailers.insert("grpc-status", "0".parse().unwrap());
    let body = Full::new(Bytes::from(frames)).with_trailers(async move { Some(Ok(trailers)) });
    let mut r = Response::new(body.boxed());
    r.headers_mut()
        .insert("content-type", "application/grpc".parse().unwrap());
    if zipped {
        r.headers_mut()
            .insert("grpc-encoding", "gzip".parse().unwrap());
    }
    r
}
