//! The running proxy: bound listeners, the current [`State`], reload and drain.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::drain::{self, DrainTrigger, DrainWatcher};
use crate::listener::{self, Shared};
use crate::metrics::Metrics;
use crate::state::State;

/// A started proxy. Dropping it without [`Proxy::drain`] leaves the listeners running until the
/// tokio runtime stops.
pub struct Proxy {
    shared: Arc<Shared>,
    drain: Mutex<Option<(DrainTrigger, DrainWatcher)>>,
    addrs: HashMap<String, SocketAddr>,
}

impl Proxy {
    /// Binds every listener of `state` and starts accepting. Port 0 binds an ephemeral port;
    /// [`Proxy::addr`] tells which.
    pub async fn start(state: State, metrics: Arc<Metrics>) -> std::io::Result<Self> {
        let (trigger, watcher) = drain::channel();
        let mut bound = Vec::new();
        for (name, ls) in &state.listeners {
            let l = listener::bind(ls.address).await.map_err(|e| {
                std::io::Error::new(e.kind(), format!("listener {name} on {}: {e}", ls.address))
            })?;
            bound.push((name.clone(), l));
        }
        let shared = Shared::new(state, metrics);
        let mut addrs = HashMap::new();
        for (name, l) in bound {
            addrs.insert(name.clone(), l.local_addr()?);
            tokio::spawn(listener::accept_loop(
                l,
                name.into(),
                shared.clone(),
                watcher.clone(),
            ));
        }
        Ok(Self {
            shared,
            drain: Mutex::new(Some((trigger, watcher))),
            addrs,
        })
    }

    /// A watcher of this proxy's drain, for accept loops started beside the listeners (the
    /// waypoint's); `None` once a drain started.
    pub fn drain_watcher(&self) -> Option<DrainWatcher> {
        self.drain.lock().as_ref().map(|(_, w)| w.clone())
    }

    /// The bound address of listener `name`.
    pub fn addr(&self, name: &str) -> Option<SocketAddr> {
        self.addrs.get(name).copied()
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
    /// Listener addresses are fixed at start; a listener whose name disappears stops serving
    /// new connections.
    pub fn reload(&self, state: State) {
        *self.shared.state.write() = Arc::new(state);
    }

    /// Stops accepting, lets in-flight requests finish (HTTP/1.1 `connection: close`, HTTP/2
    /// GOAWAY), and waits up to `deadline`. Returns whether everything finished in time.
    pub async fn drain(&self, deadline: Duration) -> bool {
        let Some((trigger, watcher)) = self.drain.lock().take() else {
            return true;
        };
        drop(watcher);
        trigger.drain(deadline).await
    }
}
