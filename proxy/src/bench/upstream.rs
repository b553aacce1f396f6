//! The built-in upstream: answers every request with the same prepared response, over
//! HTTP/1.1 and h2c (detected per connection), on a runtime of its own so its threads never
//! queue behind the load generator's.
//!
//! gRPC requests (`content-type: application/grpc…`) get one length-prefixed message whose
//! protobuf field 1 holds the body, then a `grpc-status: 0` trailer.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread::JoinHandle;

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::sync::oneshot;

use super::Content;

/// What the upstream sends back.
#[derive(Debug, Clone)]
pub struct ResponseSpec {
    pub content: Content,
    pub body_size: usize,
}

/// Bodies prepared once; every response shares them.
struct Prepared {
    content_type: HeaderValue,
    body: Bytes,
    grpc_message: Bytes,
}

impl Prepared {
    fn new(spec: &ResponseSpec) -> Self {
        let body = Bytes::from(spec.content.body(spec.body_size));
        Self {
            content_type: HeaderValue::from_static(spec.content.content_type()),
            grpc_message: grpc_frame(&protobuf_bytes_field(1, &body)),
            body,
        }
    }
}

/// A running upstream. Dropping it stops the server.
pub struct Upstream {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Upstream {
    /// Binds `listen` (port 0: ephemeral) and serves on `threads` worker threads. Callable
    /// from inside another runtime: the server's runtime lives on a thread of its own.
    pub fn start(listen: SocketAddr, spec: &ResponseSpec, threads: usize) -> std::io::Result<Self> {
        let std_listener = std::net::TcpListener::bind(listen)?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("bench-upstream")
            .enable_all()
            .build()?;
        let prepared = Arc::new(Prepared::new(spec));
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("bench-upstream".into())
            .spawn(move || {
                rt.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(std_listener) else {
                        return;
                    };
                    tokio::select! {
                        _ = accept_loop(listener, prepared) => {}
                        _ = stopped => {}
                    }
                });
                rt.shutdown_background();
            })?;
        Ok(Self {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Blocks until the process is asked to stop (`--upstream-only`).
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn accept_loop(listener: tokio::net::TcpListener, prepared: Arc<Prepared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors and the like: back off instead of spinning.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let prepared = prepared.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| respond(req, prepared.clone()));
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
        });
    }
}

async fn respond(
    req: Request<Incoming>,
    prepared: Arc<Prepared>,
) -> Result<Response<FixedBody>, Infallible> {
    let grpc = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
    // Read the request to its end so HTTP/1.1 connections stay reusable.
    let _ = req.into_body().collect().await;
    let mut resp = Response::builder().status(200);
    let body = if grpc {
        resp = resp.header(http::header::CONTENT_TYPE, "application/grpc");
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("0"));
        FixedBody::new(prepared.grpc_message.clone(), Some(trailers))
    } else {
        resp = resp.header(http::header::CONTENT_TYPE, prepared.content_type.clone());
        FixedBody::new(prepared.body.clone(), None)
    };
    Ok(resp.body(body).expect("static response parts are valid"))
}

/// One data frame, then optional trailers.
pub struct FixedBody {
    data: Option<Bytes>,
    len: u64,
    trailers: Option<HeaderMap>,
}

impl FixedBody {
    pub fn new(data: Bytes, trailers: Option<HeaderMap>) -> Self {
        let len = data.len() as u64;
        Self {
            data: (!data.is_empty()).then_some(data),
            len,
            trailers,
        }
    }
}

impl Body for FixedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if let Some(d) = this.data.take() {
            return Poll::Ready(Some(Ok(Frame::data(d))));
        }
        Poll::Ready(this.trailers.take().map(|t| Ok(Frame::trailers(t))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none() && self.trailers.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.len)
    }
}

/// A gRPC message frame: uncompressed flag, big-endian length, payload.
pub fn grpc_frame(payload: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(payload.len() + 5);
    b.put_u8(0);
    b.put_u32(payload.len() as u32);
    b.put_slice(payload);
    b.freeze()
}

/// A protobuf message with one length-delimited field: a `bytes`/`string` field a schemaless
/// walker finds.
pub fn protobuf_bytes_field(field: u32, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 10);
    put_varint(&mut out, u64::from(field << 3 | 2));
    put_varint(&mut out, value.len() as u64);
    out.extend_from_slice(value);
    out
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_frames_wrap_a_protobuf_field() {
        let msg = protobuf_bytes_field(1, &[b'a'; 300]);
        assert_eq!(&msg[..3], &[0x0a, 0xac, 0x02]);
        let frame = grpc_frame(&msg);
        assert_eq!(frame[0], 0);
        assert_eq!(u32::from_be_bytes(frame[1..5].try_into().unwrap()), 303);
        assert_eq!(frame.len(), 308);
    }
}
