//! An in-process fake of the mesh control plane's workload discovery, for tests: a real
//! HTTP/2 server on `127.0.0.1` (h2c, or TLS with a given rustls config) serving the
//! delta-ADS method with the same gRPC framing as the client.
//!
//! It behaves as a delta server should: the first request's `initial_resource_versions` are
//! compared with what it holds (newer or unknown resources are sent, resources the client
//! holds but the server does not are removed); afterwards every change is pushed as a delta
//! with a fresh nonce. Every request it receives (subscriptions, ACKs, NACKs) is recorded for
//! the test to inspect, with the stream's `authorization` header.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::channel::{Channel, Sender};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use parking_lot::Mutex;
use prost::Message;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::grpc::{encode, Messages};
use super::proto::*;

/// A request the fake received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub request: DeltaDiscoveryRequest,
    /// The stream's `authorization` header.
    pub authorization: Option<String>,
}

/// The running fake; dropping it stops the server and closes every stream.
pub struct FakeControlPlane {
    pub addr: SocketAddr,
    resources: Arc<watch::Sender<BTreeMap<String, Resource>>>,
    versions: AtomicU64,
    requests: tokio::sync::Mutex<mpsc::UnboundedReceiver<Seen>>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl FakeControlPlane {
    /// Serves on a fresh port of 127.0.0.1.
    pub async fn start(tls: Option<Arc<rustls::ServerConfig>>) -> std::io::Result<Self> {
        Self::start_on("127.0.0.1:0".parse().expect("literal address"), tls).await
    }

    /// Serves on `addr` (to restart a stopped fake where the client expects it).
    pub async fn start_on(
        addr: SocketAddr,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let resources = Arc::new(watch::channel(BTreeMap::new()).0);
        let (seen_tx, seen_rx) = mpsc::unbounded_channel();
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
        let (res, conns) = (resources.clone(), connections.clone());
        let accept = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (res, seen, acceptor) = (res.clone(), seen_tx.clone(), acceptor.clone());
                let task = tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let (res, seen) = (res.clone(), seen.clone());
                        async move { Ok::<_, Infallible>(call(req, res, seen)) }
                    });
                    let http2 = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
                    let _ = match acceptor {
                        Some(a) => match a.accept(tcp).await {
                            Ok(tls) => http2.serve_connection(TokioIo::new(tls), service).await,
                            Err(_) => return,
                        },
                        None => http2.serve_connection(TokioIo::new(tcp), service).await,
                    };
                });
                conns.lock().push(task);
            }
        });
        Ok(FakeControlPlane {
            addr,
            resources,
            versions: AtomicU64::new(0),
            requests: tokio::sync::Mutex::new(seen_rx),
            connections,
            accept,
        })
    }

    /// Adds or replaces a resource; connected clients get it as a delta.
    pub fn set(&self, name: &str, address: Address) {
        self.set_raw(
            name,
            Any {
                type_url: ADDRESS_TYPE_URL.into(),
                value: address.encode_to_vec(),
            },
        );
    }

    /// Adds a resource with arbitrary content (to send malformed ones).
    pub fn set_raw(&self, name: &str, any: Any) {
        let version = self.versions.fetch_add(1, Ordering::Relaxed) + 1;
        self.resources.send_modify(|r| {
            r.insert(
                name.to_owned(),
                Resource {
                    version: version.to_string(),
                    resource: Some(any),
                    name: name.to_owned(),
                    aliases: vec![],
                },
            );
        });
    }

    pub fn remove(&self, name: &str) {
        self.resources.send_modify(|r| {
            r.remove(name);
        });
    }

    /// The next request any client sent, waiting up to 5 s.
    pub async fn next_request(&self) -> Option<Seen> {
        let mut rx = self.requests.lock().await;
        tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .ok()
            .flatten()
    }

    /// Drops every open connection (the listener keeps accepting).
    pub fn disconnect_all(&self) {
        for task in self.connections.lock().drain(..) {
            task.abort();
        }
    }
}

impl Drop for FakeControlPlane {
    fn drop(&mut self) {
        self.accept.abort();
        self.disconnect_all();
    }
}

type Body = Channel<Bytes, Infallible>;

fn call(
    req: http::Request<Incoming>,
    resources: Arc<watch::Sender<BTreeMap<String, Resource>>>,
    seen: mpsc::UnboundedSender<Seen>,
) -> http::Response<Body> {
    let (tx, body) = Channel::new(8);
    let mut response = http::Response::new(body);
    response.headers_mut().insert(
        "content-type",
        http::HeaderValue::from_static("application/grpc"),
    );
    if req.uri().path() != DELTA_ADS_PATH {
        *response.status_mut() = http::StatusCode::NOT_FOUND;
        return response;
    }
    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let rx = resources.subscribe();
    tokio::spawn(stream(
        Messages::new(req.into_body()),
        tx,
        rx,
        seen,
        authorization,
    ));
    response
}

/// One client stream: the initial sync, then a delta per change, recording every request.
async fn stream(
    mut requests: Messages<Incoming>,
    mut tx: Sender<Bytes, Infallible>,
    mut resources: watch::Receiver<BTreeMap<String, Resource>>,
    seen: mpsc::UnboundedSender<Seen>,
    authorization: Option<String>,
) {
    let record = |bytes: Bytes| {
        let request = DeltaDiscoveryRequest::decode(bytes).ok()?;
        let _ = seen.send(Seen {
            request: request.clone(),
            authorization: authorization.clone(),
        });
        Some(request)
    };
    let Some(first) = requests.next().await.ok().flatten().and_then(record) else {
        return;
    };
    // What this client holds: name → version.
    let mut sent: HashMap<String, String> = first.initial_resource_versions;
    let mut nonce = 0u64;
    resources.mark_changed();
    loop {
        tokio::select! {
            changed = resources.changed() => {
                if changed.is_err() {
                    return;
                }
                let current = resources.borrow_and_update().clone();
                let Some(delta) = diff(&mut sent, &current, &mut nonce) else {
                    continue;
                };
                if tx.send_data(encode(&delta)).await.is_err() {
                    return;
                }
            }
            request = requests.next() => match request {
                Ok(Some(bytes)) => {
                    record(bytes);
                }
                _ => return,
            },
        }
    }
}

/// The delta from what the client holds to `current`, updating `sent`; `None` if nothing.
fn diff(
    sent: &mut HashMap<String, String>,
    current: &BTreeMap<String, Resource>,
    nonce: &mut u64,
) -> Option<DeltaDiscoveryResponse> {
    let resources: Vec<Resource> = current
        .values()
        .filter(|r| sent.get(&r.name) != Some(&r.version))
        .cloned()
        .collect();
    let removed_resources: Vec<String> = sent
        .keys()
        .filter(|n| !current.contains_key(*n))
        .cloned()
        .collect();
    if resources.is_empty() && removed_resources.is_empty() && *nonce > 0 {
        return None;
    }
    for r in &resources {
        sent.insert(r.name.clone(), r.version.clone());
    }
    for n in &removed_resources {
        sent.remove(n);
    }
    *nonce += 1;
    Some(DeltaDiscoveryResponse {
        system_version_info: String::new(),
        resources,
        type_url: ADDRESS_TYPE_URL.into(),
        nonce: format!("n{nonce}"),
        removed_resources,
    })
}

/// A pod: its IP, in the mesh or not, and the services (`namespace/hostname`) it backs with
/// their `(service_port, target_port)` mapping.
pub fn workload(uid: &str, ip: &str, hbone: bool, services: &[(&str, &[(u32, u32)])]) -> Address {
    let ip: std::net::IpAddr = ip.parse().expect("test IP");
    let addresses = vec![match ip {
        std::net::IpAddr::V4(v4) => v4.octets().to_vec(),
        std::net::IpAddr::V6(v6) => v6.octets().to_vec(),
    }];
    let services = services
        .iter()
        .map(|(key, ports)| {
            let ports = ports
                .iter()
                .map(|&(service_port, target_port)| Port {
                    service_port,
                    target_port,
                    ..Default::default()
                })
                .collect();
            ((*key).to_owned(), PortList { ports })
        })
        .collect();
    Address {
        r#type: Some(address::Type::Workload(Workload {
            uid: uid.into(),
            name: uid.into(),
            addresses,
            tunnel_protocol: (if hbone {
                TunnelProtocol::Hbone
            } else {
                TunnelProtocol::None
            }) as i32,
            services,
            ..Default::default()
        })),
    }
}

/// A service with one VIP and `(service_port, target_port)` ports.
pub fn service(namespace: &str, hostname: &str, vip: &str, ports: &[(u32, u32)]) -> Address {
    let vip: std::net::Ipv4Addr = vip.parse().expect("test IPv4");
    Address {
        r#type: Some(address::Type::Service(Service {
            name: hostname.split('.').next().unwrap_or_default().into(),
            namespace: namespace.into(),
            hostname: hostname.into(),
            addresses: vec![NetworkAddress {
                network: String::new(),
                address: vip.octets().to_vec(),
            }],
            ports: ports
                .iter()
                .map(|&(service_port, target_port)| Port {
                    service_port,
                    target_port,
                    ..Default::default()
                })
                .collect(),
        })),
    }
}
