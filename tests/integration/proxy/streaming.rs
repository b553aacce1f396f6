//! Streaming: gRPC bidirectional streaming through the proxy (each message answered before
//! the next is sent) and TCP proxy listeners.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::channel::Channel;
use http_body_util::BodyExt;
use hyper::body::Frame;
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::harness::*;

/// An h2c upstream echoing the request body frame by frame, then `grpc-status: 0`.
pub(super) async fn grpc_echo() -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = l.accept().await else { return };
            tokio::spawn(async move {
                let svc =
                    hyper::service::service_fn(|req: Request<hyper::body::Incoming>| async move {
                        let (mut tx, body) = Channel::<Bytes, hyper::Error>::new(4);
                        let mut incoming = req.into_body();
                        tokio::spawn(async move {
                            while let Some(Ok(f)) = incoming.frame().await {
                                if let Ok(d) = f.into_data() {
                                    if tx.send_data(d).await.is_err() {
                                        return;
                                    }
                                }
                            }
                            let mut t = hyper::HeaderMap::new();
                            t.insert("grpc-status", "0".parse().unwrap());
                            let _ = tx.send_trailers(t).await;
                        });
                        let mut r = hyper::Response::new(body);
                        r.headers_mut()
                            .insert("content-type", "application/grpc".parse().unwrap());
                        Ok::<_, hyper::Error>(r)
                    });
                let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(s), svc)
                    .await;
            });
        }
    });
    addr
}

fn grpc_message(payload: &[u8]) -> Bytes {
    let mut m = vec![0u8];
    m.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    m.extend_from_slice(payload);
    m.into()
}

/// The next frame, failing if it does not come within 5 s (i.e. the proxy buffered).
async fn next(rx: &mut hyper::body::Incoming) -> Frame<Bytes> {
    tokio::time::timeout(Duration::from_secs(5), rx.frame())
        .await
        .expect("message streamed back before the request ended")
        .expect("a frame")
        .expect("no error")
}

#[tokio::test]
async fn grpc_bidirectional_streaming_end_to_end() {
    let up = grpc_echo().await;
    let app = start(&with_cluster_opts(up, "http2: true")).await;
    chat(addr(&app)).await;
}

/// Sends two gRPC messages, each only after the previous echo came back.
pub(super) async fn chat(proxy: std::net::SocketAddr) {
    let tcp = tokio::net::TcpStream::connect(proxy).await.unwrap();
    let (mut s, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .unwrap();
    tokio::spawn(conn);
    let (mut tx, body) = Channel::<Bytes, hyper::Error>::new(4);
    let req = Request::post("http://svc/echo.Echo/Chat")
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(body)
        .unwrap();
    tx.send_data(grpc_message(b"one")).await.unwrap();
    let resp = s.send_request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let mut rx = resp.into_body();
    let f = next(&mut rx).await;
    assert_eq!(f.into_data().unwrap(), grpc_message(b"one"));
    tx.send_data(grpc_message(b"two")).await.unwrap();
    let f = next(&mut rx).await;
    assert_eq!(f.into_data().unwrap(), grpc_message(b"two"));
    drop(tx);
    let f = next(&mut rx).await;
    assert_eq!(f.into_trailers().unwrap()["grpc-status"], "0");
}

#[tokio::test]
async fn tcp_proxy_listener_copies_bytes_both_ways() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up = l.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).await.unwrap();
        buf.reverse();
        s.write_all(&buf).await.unwrap();
    });
    let yaml = format!(
        r#"
listeners:
  - name: main
    address: 127.0.0.1:0
    protocol: tcp
    cluster: up
clusters:
  - name: up
    endpoints: ["{up}"]
"#
    );
    let app = start(&yaml).await;
    let mut c = tokio::net::TcpStream::connect(addr(&app)).await.unwrap();
    c.write_all(b"hello").await.unwrap();
    let mut out = [0u8; 5];
    c.read_exact(&mut out).await.unwrap();
    assert_eq!(&out, b"olleh");
}
