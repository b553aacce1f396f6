//! Accept loops. Each accepted connection is served with the [`State`] current at accept time,
//! so a reload never changes a connection mid-flight.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

use crate::conn::{self, ConnInfo};
use crate::drain::DrainWatcher;
use crate::http::service::HttpService;
use crate::metrics::Metrics;
use crate::state::{ListenerKind, ListenerState, State};
use crate::worker::{self, Spawner};

/// How long a TLS client may take to finish its handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What every accept loop shares.
pub struct Shared {
    pub state: RwLock<Arc<State>>,
    pub metrics: Arc<Metrics>,
    /// The data-plane workers connections are served on.
    pub workers: Spawner,
    next_conn: AtomicU64,
}

impl Shared {
    pub fn new(state: State, metrics: Arc<Metrics>, workers: Spawner) -> Arc<Self> {
        Arc::new(Self {
            state: RwLock::new(Arc::new(state)),
            metrics,
            workers,
            next_conn: AtomicU64::new(1),
        })
    }

    pub fn current(&self) -> Arc<State> {
        self.state.read().clone()
    }

    /// A fresh connection id (`connection.id`), shared by listeners and tunnels.
    pub fn next_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }
}

/// Accepts until a drain starts. Each worker runs one per listener on its own socket; the
/// connections it accepts are served on the same worker.
pub async fn accept_loop(l: TcpListener, name: Arc<str>, shared: Arc<Shared>, drain: DrainWatcher) {
    loop {
        let accepted = tokio::select! {
            a = l.accept() => a,
            _ = drain.signaled() => return,
        };
        let (tcp, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!(listener = %name, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        shared.workers.count_accept(worker::index().unwrap_or(0));
        let local = tcp.local_addr().unwrap_or(peer);
        let shared = shared.clone();
        let name = name.clone();
        let drain = drain.clone();
        tokio::spawn(async move {
            let state = shared.current();
            let Some(ls) = state.listeners.get(&*name).cloned() else {
                return;
            };
            let _guard = shared.metrics.connection(&name);
            let mut info = ConnInfo {
                id: shared.next_conn.fetch_add(1, Ordering::Relaxed),
                listener: name,
                peer,
                local,
                tls: None,
                listener_metadata: ls.metadata.clone(),
            };
            match &ls.tls {
                None => serve_stream(tcp, info, ls, state, shared.metrics.clone(), drain).await,
                Some(cfg) => {
                    let acceptor = tokio_rustls::TlsAcceptor::from(cfg.clone());
                    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => {
                            info.tls = Some(conn::tls::info(&tls));
                            serve_stream(tls, info, ls, state, shared.metrics.clone(), drain).await
                        }
                        Ok(Err(e)) => tracing::info!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::info!(%peer, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
}

/// Serves one byte stream (TCP, TLS, or a tunneled stream) with a listener's settings.
pub async fn serve_stream<I>(
    io: I,
    info: ConnInfo,
    ls: Arc<ListenerState>,
    state: Arc<State>,
    metrics: Arc<Metrics>,
    drain: DrainWatcher,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    match &ls.kind {
        ListenerKind::Http(hcm) => {
            let svc = Arc::new(HttpService {
                hcm: hcm.clone(),
                clusters: state.clusters.clone(),
                conn: Arc::new(info),
                metrics,
            });
            conn::serve_http(io, svc, drain).await
        }
        ListenerKind::Tcp(t) => t.serve(io, info, &state.clusters).await,
    }
}
