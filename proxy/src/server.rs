//! The running proxy: bound listeners, the current [`State`], reload and drain.
//!
//! Each listener has its own drain pair, so a reload can stop one listener (removed, or moved
//! to another address) and let its connections finish while the others keep serving; a full
//! drain (SIGTERM) drains them all at once.
//!
//! With worker threads every listener is one socket per worker, all bound to the same address
//! with `SO_REUSEPORT`: the kernel spreads incoming connections over the workers' accept
//! queues, and each worker's accept loop serves what it accepts on its own thread.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::build::BuildError;
use crate::drain::{self, DrainTrigger, DrainWatcher};
use crate::listener::{self, Shared};
use crate::metrics::Metrics;
use crate::state::State;
use crate::worker::{Spawner, Workers};

/// How long connections of a listener removed by a reload may take to finish.
const REMOVED_LISTENER_DRAIN: Duration = Duration::from_secs(60);

/// One bound listener (all its workers' sockets).
struct Bound {
    /// The configured address (port 0 stays 0), compared on reload.
    configured: SocketAddr,
    local: SocketAddr,
    /// Stops its accept loops and drains its connections.
    trigger: DrainTrigger,
}

/// A started proxy. Dropping it without [`Proxy::drain`] stops the worker threads (cutting
/// what runs on them); inline, the listeners keep running until the tokio runtime stops.
pub struct Proxy {
    shared: Arc<Shared>,
    /// Dropping it stops the worker threads.
    workers: Workers,
    listeners: Mutex<HashMap<String, Bound>>,
    /// The drain pair of accept loops started beside the listeners (the waypoint's): taken
    /// by [`Proxy::drain`].
    extra: Mutex<Option<(DrainTrigger, DrainWatcher)>>,
}

impl Proxy {
    /// Binds every listener of `state` on every worker and starts accepting. Port 0 binds an
    /// ephemeral port (the same one on every worker); [`Proxy::addr`] tells which.
    pub async fn start(
        state: State,
        metrics: Arc<Metrics>,
        workers: Workers,
    ) -> std::io::Result<Self> {
        let spawner = workers.spawner().clone();
        let reuse = workers.threaded();
        let mut bound = Vec::new();
        for (name, ls) in &state.listeners {
            bound.push((
                name.clone(),
                ls.address,
                bind(name, ls.address, &spawner, reuse)?,
            ));
        }
        let shared = Shared::new(state, metrics, spawner);
        let mut listeners = HashMap::new();
        for (name, configured, ls) in bound {
            let b = spawn(&name, configured, ls, &shared)?;
            listeners.insert(name, b);
        }
        Ok(Self {
            shared,
            workers,
            listeners: Mutex::new(listeners),
            extra: Mutex::new(Some(drain::channel())),
        })
    }

    /// A watcher of this proxy's drain, for accept loops started beside the listeners (the
    /// waypoint's); `None` once a drain started.
    pub fn drain_watcher(&self) -> Option<DrainWatcher> {
        self.extra.lock().as_ref().map(|(_, w)| w.clone())
    }

    /// The bound address of listener `name`.
    pub fn addr(&self, name: &str) -> Option<SocketAddr> {
        self.listeners.lock().get(name).map(|b| b.local)
    }

    /// What the accept loops share (the current state).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.shared.metrics
    }

    /// Registers the connection-pool gauges (read from the current state at scrape time).
    pub fn register_pool_metrics(&self, registry: &mut prometheus_client::registry::Registry) {
        registry.register_collector(crate::pool_metrics::collector(&self.shared));
    }

    /// The state new connections get.
    pub fn state(&self) -> Arc<State> {
        self.shared.current()
    }

    /// Swaps in a new state: connections accepted from now on use it, open ones keep theirs.
    /// Listeners that are new or whose address changed are bound first (a bind failure rejects
    /// the reload and changes nothing); removed or moved listeners then stop accepting and
    /// drain their connections in the background.
    pub fn reload(&self, state: State) -> Result<(), BuildError> {
        let mut listeners = self.listeners.lock();
        let mut fresh = Vec::new();
        for (name, ls) in &state.listeners {
            if listeners
                .get(name)
                .is_some_and(|b| b.configured == ls.address)
            {
                continue;
            }
            let reuse = self.workers.threaded();
            let l = bind(name, ls.address, &self.shared.workers, reuse).map_err(|source| {
                BuildError::Bind {
                    listener: name.clone(),
                    source,
                }
            })?;
            fresh.push((name.clone(), ls.address, l));
        }
        let gone: Vec<String> = listeners
            .keys()
            .filter(|n| !state.listeners.contains_key(*n))
            .cloned()
            .collect();
        *self.shared.state.write() = Arc::new(state);
        let mut retired = Vec::new();
        for name in gone {
            retired.extend(listeners.remove(&name).map(|b| (name, b)));
        }
        for (name, configured, l) in fresh {
            let b =
                spawn(&name, configured, l, &self.shared).map_err(|source| BuildError::Bind {
                    listener: name.clone(),
                    source,
                })?;
            tracing::info!(listener = %name, address = %b.local, "listening");
            retired.extend(listeners.insert(name.clone(), b).map(|old| (name, old)));
        }
        for (name, b) in retired {
            tracing::info!(listener = %name, address = %b.local, "listener removed; draining");
            tokio::spawn(b.trigger.drain(REMOVED_LISTENER_DRAIN));
        }
        Ok(())
    }

    /// Stops accepting, lets in-flight requests finish (HTTP/1.1 `connection: close`, HTTP/2
    /// GOAWAY), and waits up to `deadline`. Returns whether everything finished in time.
    pub async fn drain(&self, deadline: Duration) -> bool {
        let all: Vec<Bound> = self.listeners.lock().drain().map(|(_, b)| b).collect();
        let mut set = tokio::task::JoinSet::new();
        for b in all {
            set.spawn(b.trigger.drain(deadline));
        }
        if let Some((trigger, watcher)) = self.extra.lock().take() {
            drop(watcher);
            set.spawn(trigger.drain(deadline));
        }
        let mut clean = true;
        while let Some(r) = set.join_next().await {
            clean &= r.unwrap_or(false);
        }
        clean
    }

    /// The number of worker threads, `None` when the data plane runs inline.
    pub fn worker_threads(&self) -> Option<usize> {
        self.workers.threads()
    }

    /// Connections served per worker so far (one entry when inline).
    pub fn accepted_per_worker(&self) -> Vec<u64> {
        self.shared.workers.accepted()
    }
}

/// Binds one socket per worker without awaiting (so a reload, which runs synchronously, can
/// bind too). With worker threads the sockets share the address through `SO_REUSEPORT`; port 0
/// is resolved by the first bind and reused by the others.
fn bind(
    name: &str,
    addr: SocketAddr,
    workers: &Spawner,
    reuse: bool,
) -> std::io::Result<Vec<std::net::TcpListener>> {
    let wrap = |e: std::io::Error| {
        std::io::Error::new(e.kind(), format!("listener {name} on {addr}: {e}"))
    };
    if !reuse {
        let l = std::net::TcpListener::bind(addr).map_err(wrap)?;
        l.set_nonblocking(true).map_err(wrap)?;
        return Ok(vec![l]);
    }
    let mut out: Vec<std::net::TcpListener> = Vec::with_capacity(workers.len());
    let mut at = addr;
    for _ in 0..workers.len() {
        let l = reuseport_listener(at).map_err(wrap)?;
        at = l.local_addr().map_err(wrap)?;
        out.push(l);
    }
    Ok(out)
}

/// A non-blocking listening socket with `SO_REUSEADDR` and `SO_REUSEPORT`.
fn reuseport_listener(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Accept queue length per worker socket (the kernel caps it at `somaxconn`).
const LISTEN_BACKLOG: i32 = 1024;

/// Starts one accept loop per worker socket of a bound listener, each on its worker.
fn spawn(
    name: &str,
    configured: SocketAddr,
    sockets: Vec<std::net::TcpListener>,
    shared: &Arc<Shared>,
) -> std::io::Result<Bound> {
    let local = sockets
        .first()
        .ok_or_else(|| std::io::Error::other("no socket bound"))?
        .local_addr()?;
    let (trigger, watcher) = drain::channel();
    for (i, l) in sockets.into_iter().enumerate() {
        let (name, shared, watcher): (Arc<str>, _, _) =
            (name.into(), shared.clone(), watcher.clone());
        shared.clone().workers.spawn_on(i, async move {
            match tokio::net::TcpListener::from_std(l) {
                Ok(l) => listener::accept_loop(l, name, shared, watcher).await,
                Err(e) => {
                    tracing::error!(listener = %name, error = %e, "adopting a listener socket")
                }
            }
        });
    }
    Ok(Bound {
        configured,
        local,
        trigger,
    })
}
