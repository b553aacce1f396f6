//! Data-plane workers, thread per core: `serve --workers N` runs N OS threads, each driving its
//! own current-thread tokio runtime. Each worker accepts on its own socket per listener
//! (`SO_REUSEPORT`, so the kernel spreads connections), and everything a connection spawns
//! (hyper's stream tasks, body pumps, upstream connection drivers) stays on that worker: a
//! stream never changes thread, its upstream connection comes from the worker's own pool slot
//! and its filters run in the worker's own VM of each plugin, so no lock on the request path is
//! contended by another worker.
//!
//! Without worker threads ([`Workers::inline`], what the in-process tests use) the "one worker"
//! is the runtime that started the proxy.

use std::cell::Cell;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::runtime::Handle;
use tokio::sync::oneshot;

thread_local! {
    /// The index of the data-plane worker running on this thread.
    static INDEX: Cell<Option<usize>> = const { Cell::new(None) };
}

/// The most worker threads any [`Workers::spawn`] of this process started (0: none). An
/// endpoint's pool slots are sized by it; the `microwaf` binary runs one data plane per
/// process, so it is that data plane's worker count. More slots than workers are harmless
/// (the extra ones stay empty), fewer only share a slot.
static STARTED: AtomicUsize = AtomicUsize::new(0);

/// The data-plane worker running on this thread, if any.
pub fn index() -> Option<usize> {
    INDEX.with(Cell::get)
}

/// How many per-worker slots a per-worker structure (an endpoint's pools) should have.
pub fn slots() -> usize {
    STARTED.load(Ordering::Relaxed).max(1)
}

/// This thread's slot among `n` (a thread that is no worker uses slot 0).
pub fn slot(n: usize) -> usize {
    index().unwrap_or(0) % n.max(1)
}

/// Where data-plane tasks run: one runtime handle per worker. Cheap to clone; holding it does
/// not keep the workers alive ([`Workers`] does).
#[derive(Clone)]
pub struct Spawner {
    handles: Arc<[Handle]>,
    next: Arc<AtomicUsize>,
    /// Connections handed to each worker (accepted on its sockets or dispatched to it).
    accepted: Arc<[AtomicU64]>,
}

impl Spawner {
    fn new(handles: Vec<Handle>) -> Self {
        let accepted = handles.iter().map(|_| AtomicU64::new(0)).collect();
        Self {
            handles: handles.into(),
            next: Arc::new(AtomicUsize::new(0)),
            accepted,
        }
    }

    /// The number of workers (1 when inline).
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// Always false: there is at least one worker.
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// Runs `fut` on worker `i`.
    pub fn spawn_on<F>(&self, i: usize, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(self.handles[i % self.handles.len()].spawn(fut));
    }

    /// Counts one connection served by worker `i` (or this thread's worker).
    pub fn count_accept(&self, i: usize) {
        self.accepted[i % self.accepted.len()].fetch_add(1, Ordering::Relaxed);
    }

    /// Connections served per worker so far.
    pub fn accepted(&self) -> Vec<u64> {
        self.accepted
            .iter()
            .map(|a| a.load(Ordering::Relaxed))
            .collect()
    }

    /// Serves a connection accepted outside the workers (the waypoint's single HBONE accept
    /// loop) on the next worker, round robin. The socket moves to that worker's reactor, so its
    /// readiness wakes the worker directly.
    pub fn spawn_tcp<F, Fut>(&self, tcp: tokio::net::TcpStream, serve: F)
    where
        F: FnOnce(tokio::net::TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.handles.len();
        self.count_accept(i);
        if self.handles.len() == 1 {
            drop(self.handles[0].spawn(serve(tcp)));
            return;
        }
        let std = match tcp.into_std() {
            Ok(s) => s,
            Err(e) => return tracing::warn!(error = %e, "handing a connection to a worker"),
        };
        self.spawn_on(i, async move {
            match tokio::net::TcpStream::from_std(std) {
                Ok(tcp) => serve(tcp).await,
                Err(e) => tracing::warn!(error = %e, "adopting a connection on a worker"),
            }
        });
    }
}

/// Why the workers could not start.
#[derive(Debug, thiserror::Error)]
#[error("starting data-plane worker {index}: {source}")]
pub struct WorkerError {
    index: usize,
    source: std::io::Error,
}

/// The running data-plane workers. Dropping it stops them: each runtime is shut down and what
/// still runs on it is cancelled, as when a tokio runtime stops.
pub struct Workers {
    spawner: Spawner,
    /// One per worker thread (none inline); dropping a sender stops its worker.
    stops: Vec<oneshot::Sender<()>>,
}

impl Workers {
    /// The data plane on the caller's tokio runtime (must be called inside one).
    pub fn inline() -> Self {
        Self {
            spawner: Spawner::new(vec![Handle::current()]),
            stops: Vec::new(),
        }
    }

    /// Starts `n` (at least 1) worker threads, each with a current-thread runtime.
    pub fn spawn(n: usize) -> Result<Self, WorkerError> {
        let n = n.max(1);
        STARTED.fetch_max(n, Ordering::Relaxed);
        let mut handles = Vec::with_capacity(n);
        let mut stops = Vec::with_capacity(n);
        for index in 0..n {
            let err = |source| WorkerError { index, source };
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(err)?;
            handles.push(rt.handle().clone());
            let (stop, stopped) = oneshot::channel::<()>();
            std::thread::Builder::new()
                .name(format!("microwaf-worker-{index}"))
                .spawn(move || {
                    INDEX.with(|c| c.set(Some(index)));
                    // Ends when the sender is dropped (or sends).
                    let _ = rt.block_on(stopped);
                    rt.shutdown_timeout(std::time::Duration::from_secs(1));
                })
                .map_err(err)?;
            stops.push(stop);
        }
        Ok(Self {
            spawner: Spawner::new(handles),
            stops,
        })
    }

    /// The number of workers to run when none is configured: one per available core.
    pub fn default_count() -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }

    pub fn spawner(&self) -> &Spawner {
        &self.spawner
    }

    /// Whether the workers are threads of their own (each listener then gets one socket per
    /// worker).
    pub fn threaded(&self) -> bool {
        !self.stops.is_empty()
    }

    /// The number of worker threads, `None` when inline. Plugins without a configured
    /// `vm_count` get one VM per worker thread.
    pub fn threads(&self) -> Option<usize> {
        self.threaded().then(|| self.spawner.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_run_on_their_worker_thread() {
        let w = Workers::spawn(2).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        for i in 0..4 {
            let tx = tx.clone();
            w.spawner().spawn_on(i, async move {
                // A task spawned from a worker stays on it.
                let inner = tokio::spawn(async { index() }).await.unwrap();
                tx.send((i, index(), inner)).unwrap();
            });
        }
        let mut got: Vec<_> = (0..4).map(|_| rx.recv().unwrap()).collect();
        got.sort();
        for (i, idx, inner) in got {
            assert_eq!(idx, Some(i % 2));
            assert_eq!(inner, Some(i % 2));
        }
        assert!(slots() >= 2);
        assert_eq!(index(), None, "the test thread is no worker");
    }

    #[test]
    fn dropping_the_workers_stops_their_threads() {
        let w = Workers::spawn(1).unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        w.spawner().spawn_on(0, async move {
            // Held until the runtime cancels this task.
            let _tx = tx;
            std::future::pending::<()>().await;
        });
        drop(w);
        assert_eq!(
            rx.recv_timeout(std::time::Duration::from_secs(5)),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected),
            "the pending task was cancelled"
        );
    }
}
