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
}

impl Upstream {
    pub async fn start() -> Upstream {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        tokio::spawn(async move {
            loop {
                let Ok((s, _)) = l.accept().await else { return };
                let log = Arc::clone(&log);
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let log = Arc::clone(&log);
                        async move { respond(req, log).await }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(s), svc)
                        .await;
                });
            }
        });
        Upstream { addr, seen }
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

type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;

async fn respond(
    req: Request<Incoming>,
    seen: Arc<Mutex<Vec<String>>>,
) -> Result<Response<Body>, Infallible> {
    let pq = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    seen.lock().unwrap().push(pq);
    let path = req.uri().path().to_owned();
    let _ = req.into_body().collect().await;
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
    let text = format!("card {CARD}");
    let mut msg = vec![0x0a, text.len() as u8];
    msg.extend_from_slice(text.as_bytes());
    let mut frame = vec![0u8];
    frame.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    frame.extend_from_slice(&msg);
    let mut trailers = hyper::HeaderMap::new();
    trailers.insert("grpc-status", "0".parse().unwrap());
    let body = Full::new(Bytes::from(frame)).with_trailers(async move { Some(Ok(trailers)) });
    let mut r = Response::new(body.boxed());
    r.headers_mut()
        .insert("content-type", "application/grpc".parse().unwrap());
    r
}
