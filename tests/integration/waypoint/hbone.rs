//! Test peers speaking HBONE: a client (the source's node tunnel, presenting a source SVID)
//! and a tunnel endpoint standing in for the destination pod's (it records who connected and
//! what they asked for, and forwards each CONNECT stream to the local address named in its
//! `:authority`).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::client::conn::http2;
use hyper::upgrade::Upgraded;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use microwaf_proxy::waypoint::certs::CertStore;
use microwaf_proxy::waypoint::tls;
use rustls::pki_types::ServerName;
use tokio::net::{TcpListener, TcpStream};

/// An HBONE connection to the waypoint.
pub struct HboneClient {
    pub send: http2::SendRequest<Empty<Bytes>>,
}

/// What a CONNECT got: the status, the error body or the tunnel.
pub enum Connect {
    Tunnel(Upgraded),
    Refused(StatusCode, String),
}

impl Connect {
    pub fn tunnel(self) -> Upgraded {
        match self {
            Connect::Tunnel(t) => t,
            Connect::Refused(s, b) => panic!("CONNECT refused: {s} {b}"),
        }
    }
}

impl HboneClient {
    /// mTLS + HTTP/2 with our own client configuration (no SNI, ALPN h2, mesh verifier).
    pub async fn connect(addr: SocketAddr, store: Arc<CertStore>) -> std::io::Result<Self> {
        let cfg = tls::client_config(store, super::pki::TD).unwrap();
        let tcp = TcpStream::connect(addr).await?;
        let tls = tokio_rustls::TlsConnector::from(cfg)
            .connect(ServerName::IpAddress(addr.ip().into()), tcp)
            .await?;
        let (send, conn) = http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .map_err(std::io::Error::other)?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Self { send })
    }

    /// A request of any method to `authority` on the tunnel connection.
    pub async fn request(
        &self,
        method: Method,
        authority: &str,
        forwarded: Option<&str>,
    ) -> Connect {
        let mut b = Request::builder().method(method.clone());
        b = if method == Method::CONNECT {
            b.uri(authority)
        } else {
            b.uri(format!("http://{authority}/"))
        };
        if let Some(f) = forwarded {
            b = b.header("forwarded", format!("for=\"{f}\""));
        }
        let mut send = self.send.clone();
        let resp = send
            .send_request(b.body(Empty::new()).unwrap())
            .await
            .unwrap();
        if resp.status() == StatusCode::OK && method == Method::CONNECT {
            return Connect::Tunnel(hyper::upgrade::on(resp).await.unwrap());
        }
        let status = resp.status();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        Connect::Refused(status, String::from_utf8_lossy(&body).into_owned())
    }

    pub async fn connect_stream(&self, authority: &str) -> Connect {
        self.request(Method::CONNECT, authority, None).await
    }
}

/// Sends one HTTP request through a tunnel (HTTP/1.1 or HTTP/2 inside).
pub async fn http_in_tunnel(
    tunnel: Upgraded,
    h2: bool,
    req: Request<Full<Bytes>>,
) -> crate::proxy::harness::Reply {
    let resp = if h2 {
        let (mut s, conn) = http2::handshake(TokioExecutor::new(), tunnel)
            .await
            .unwrap();
        tokio::spawn(conn);
        s.send_request(req).await.unwrap()
    } else {
        let (mut s, conn) = hyper::client::conn::http1::handshake(tunnel).await.unwrap();
        tokio::spawn(conn);
        s.send_request(req).await.unwrap()
    };
    crate::proxy::harness::collect(resp).await
}

/// The destination pod's tunnel endpoint.
pub struct DestTunnel {
    pub addr: SocketAddr,
    /// TLS connections accepted (pooling is measured here).
    pub tls_conns: Arc<AtomicUsize>,
    /// Verified SPIFFE IDs of the peers, one per connection.
    pub peers: Arc<Mutex<Vec<String>>>,
    /// `:authority` of every CONNECT.
    pub authorities: Arc<Mutex<Vec<String>>>,
    /// The `forwarded` header of every CONNECT (empty when absent), in the same order.
    pub forwarded: Arc<Mutex<Vec<String>>>,
    /// How each finished CONNECT stream ended: `true` when both sides ended it with
    /// END_STREAM, `false` when it was reset (or failed).
    pub ends: Arc<Mutex<Vec<bool>>>,
}

impl DestTunnel {
    pub async fn start(store: Arc<CertStore>) -> Self {
        let cfg = tls::server_config(store, super::pki::TD).unwrap();
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let me = Self {
            addr,
            tls_conns: Arc::default(),
            peers: Arc::default(),
            authorities: Arc::default(),
            forwarded: Arc::default(),
            ends: Arc::default(),
        };
        let (conns, peers, auths, fwd, ends) = (
            me.tls_conns.clone(),
            me.peers.clone(),
            me.authorities.clone(),
            me.forwarded.clone(),
            me.ends.clone(),
        );
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = l.accept().await else {
                    return;
                };
                let acceptor = tokio_rustls::TlsAcceptor::from(cfg.clone());
                let (conns, peers, auths, fwd, ends) = (
                    conns.clone(),
                    peers.clone(),
                    auths.clone(),
                    fwd.clone(),
                    ends.clone(),
                );
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    conns.fetch_add(1, Ordering::SeqCst);
                    let id = tls::peer_identity(tls.get_ref().1).map(|i| i.to_string());
                    peers.lock().unwrap().push(id.unwrap_or_default());
                    let svc = hyper::service::service_fn(
                        move |mut req: Request<hyper::body::Incoming>| {
                            let (auths, fwd, ends) = (auths.clone(), fwd.clone(), ends.clone());
                            async move {
                                let authority = req
                                    .uri()
                                    .authority()
                                    .map(|a| a.to_string())
                                    .unwrap_or_default();
                                let forwarded = req
                                    .headers()
                                    .get("forwarded")
                                    .and_then(|v| v.to_str().ok())
                                    .unwrap_or_default()
                                    .to_owned();
                                auths.lock().unwrap().push(authority.clone());
                                fwd.lock().unwrap().push(forwarded);
                                let up = hyper::upgrade::on(&mut req);
                                tokio::spawn(async move {
                                    let (Ok(up), Ok(mut target)) =
                                        (up.await, TcpStream::connect(authority.as_str()).await)
                                    else {
                                        return;
                                    };
                                    let mut up = TokioIo::new(up);
                                    let r =
                                        tokio::io::copy_bidirectional(&mut up, &mut target).await;
                                    ends.lock().unwrap().push(r.is_ok());
                                });
                                Ok::<_, std::convert::Infallible>(Response::new(
                                    Empty::<Bytes>::new(),
                                ))
                            }
                        },
                    );
                    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), svc)
                        .await;
                });
            }
        });
        me
    }

    pub fn tls_connections(&self) -> usize {
        self.tls_conns.load(Ordering::SeqCst)
    }
}
