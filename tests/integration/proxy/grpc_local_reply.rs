//! A filter's gRPC abort (`send_grpc_response`) reaches an HTTP/2 client as Envoy sends it: a
//! trailers-only response — one HEADERS frame with END_STREAM carrying `grpc-status` and the
//! percent-encoded `grpc-message` — and no `content-length` or body that would contradict it.

use microwaf_tests::fixtures::{self, Target};

use super::harness::*;

#[tokio::test]
async fn grpc_local_reply_is_trailers_only() {
    let wasm = fixtures::wasm("local_reply", Target::Wasip1)
        .display()
        .to_string();
    let up = upstream("a").await;
    let yaml = simple(up, "").replace(
        "    routes:",
        &format!("    filters:\n      - name: local_reply\n        code: {wasm}\n    routes:"),
    );
    let app = start(&yaml).await;

    let tcp = tokio::net::TcpStream::connect(addr(&app)).await.unwrap();
    let (mut client, conn) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(conn);
    let req = http::Request::post("http://svc/pkg.Service/Method")
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("x-local-grpc", "7")
        .body(())
        .unwrap();
    let (resp, mut stream) = client.send_request(req, false).unwrap();
    stream
        .send_data(bytes::Bytes::from_static(b"\0\0\0\0\0"), true)
        .unwrap();
    let resp = resp.await.expect("a well-formed response");
    let (head, mut body) = resp.into_parts();
    assert_eq!(head.status, 200);
    let h = &head.headers;
    assert_eq!(h["content-type"], "application/grpc");
    assert_eq!(h["grpc-status"], "7");
    assert_eq!(h["grpc-message"], "denied: 100%25 sure");
    assert_eq!(h["x-local-reply"], "1");
    assert!(h.get("content-length").is_none(), "{h:?}");
    assert!(body.is_end_stream(), "HEADERS must carry END_STREAM: {h:?}");
    assert!(body.data().await.is_none());
}
