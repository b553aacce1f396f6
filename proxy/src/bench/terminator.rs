//! An HBONE terminator in front of the built-in upstream, standing in for a destination pod's
//! tunnel endpoint (ztunnel on the destination's node) in `--mesh-endpoint` runs: mTLS with a
//! destination SVID, the waypoint's trust domain checked, each HTTP/2 `CONNECT` answered 200
//! and spliced to the upstream. It only ever connects to that one upstream: a CONNECT naming
//! anything else gets 400, so the harness is never an open relay.
//!
//! It runs on a runtime of its own (one thread), like the upstream, so its work never queues
//! behind the load generator's.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// A running terminator. Dropping it stops it.
pub struct Terminator {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Terminator {
    /// Listens on an ephemeral loopback port and forwards tunnels to `upstream`.
    pub fn start(tls: Arc<rustls::ServerConfig>, upstream: SocketAddr) -> std::io::Result<Self> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("bench-hbone-dest")
            .enable_all()
            .build()?;
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("bench-hbone-dest".into())
            .spawn(move || {
                rt.block_on(async move {
                    let Ok(listener) = TcpListener::from_std(std_listener) else {
                        return;
                    };
                    tokio::select! {
                        _ = accept_loop(listener, tls, upstream) => {}
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
}

impl Drop for Terminator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn accept_loop(listener: TcpListener, tls: Arc<rustls::ServerConfig>, upstream: SocketAddr) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            // A failed handshake (wrong trust domain, no certificate) just ends the connection.
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let svc = hyper::service::service_fn(move |req| connect(req, upstream));
            let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                .initial_stream_window_size(crate::waypoint::STREAM_WINDOW)
                .initial_connection_window_size(crate::waypoint::CONN_WINDOW)
                .max_concurrent_streams(crate::waypoint::MAX_STREAMS)
                .serve_connection(TokioIo::new(tls), svc)
                .await;
        });
    }
}

fn status(code: StatusCode) -> Response<Empty<Bytes>> {
    let mut resp = Response::new(Empty::new());
    *resp.status_mut() = code;
    resp
}

/// One CONNECT stream: 200 and a splice to the upstream, or 400 / 503.
async fn connect(
    mut req: Request<Incoming>,
    upstream: SocketAddr,
) -> Result<Response<Empty<Bytes>>, std::convert::Infallible> {
    let authority = req.uri().authority().map(|a| a.as_str().to_string());
    if req.method() != Method::CONNECT || authority != Some(upstream.to_string()) {
        return Ok(status(StatusCode::BAD_REQUEST));
    }
    let Ok(mut target) = TcpStream::connect(upstream).await else {
        return Ok(status(StatusCode::SERVICE_UNAVAILABLE));
    };
    let _ = target.set_nodelay(true);
    let upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        if let Ok(up) = upgrade.await {
            let mut up = TokioIo::new(up);
            let _ = tokio::io::copy_bidirectional(&mut up, &mut target).await;
        }
    });
    Ok(status(StatusCode::OK))
}
