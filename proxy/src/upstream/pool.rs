//! Per-endpoint connection pools: idle HTTP/1.1 keep-alive connections, or one multiplexed
//! HTTP/2 connection. A connection returns to the idle list only after its response body was
//! read to the end (hyper's HTTP/1.1 sender is ready again only then).
//!
//! Each data-plane worker has its own pool slot per endpoint: a connection's driver task runs
//! on the worker that opened it, so reusing it from another worker would hop threads on every
//! read and write. The breakers (max connections, pending, requests) stay cluster-wide.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::client::conn::{http1, http2};
use parking_lot::Mutex;
use tokio::sync::Notify;

use super::connect::{connect, ConnectSpec, Sender};
use super::transport::Transport;
use crate::http::body::{BoxError, ProxyBody};
use crate::http::error::{ErrorKind, ProxyError};

/// One upstream address with its connections.
pub struct Endpoint {
    pub addr: SocketAddr,
    /// TCP, or a tunnel (HBONE) to a mesh workload.
    pub transport: Transport,
    active: AtomicUsize,
    /// One per data-plane worker ([`crate::worker::slot`]).
    pools: Box<[Pool]>,
    /// The cluster's "a connection became idle or closed" signal, shared by its endpoints:
    /// requests queued on `max_connections` wait for it.
    freed: Arc<Notify>,
}

/// One worker's connections to an endpoint.
#[derive(Default)]
struct Pool {
    idle: Mutex<Vec<http1::SendRequest<ProxyBody>>>,
    h2: tokio::sync::Mutex<Option<http2::SendRequest<ProxyBody>>>,
}

/// A checked-out connection, ready to send one request.
pub enum Checkout {
    H1(http1::SendRequest<ProxyBody>),
    H2(http2::SendRequest<ProxyBody>),
}

impl Endpoint {
    pub fn new(addr: SocketAddr, freed: Arc<Notify>) -> Arc<Self> {
        Self::with_transport(addr, Transport::Tcp, freed)
    }

    pub fn with_transport(addr: SocketAddr, transport: Transport, freed: Arc<Notify>) -> Arc<Self> {
        Arc::new(Self {
            addr,
            transport,
            active: AtomicUsize::new(0),
            pools: (0..crate::worker::slots())
                .map(|_| Pool::default())
                .collect(),
            freed,
        })
    }

    /// Requests in flight to this endpoint (least-request LB).
    pub fn active(&self) -> usize {
        self.active.load(Ordering::Relaxed)
    }

    /// Marks a request in flight until the guard drops.
    pub fn track(self: &Arc<Self>) -> ActiveGuard {
        self.active.fetch_add(1, Ordering::Relaxed);
        ActiveGuard(self.clone())
    }

    /// This thread's worker's pool.
    fn pool(&self) -> &Pool {
        &self.pools[crate::worker::slot(self.pools.len())]
    }

    /// Reuses an idle connection of this worker or opens one. `open` is asked before any new
    /// connection (the cluster's max-connections breaker) and returns the slot's release
    /// function. Over `max_connections` another worker's connection is shared if one is
    /// available; otherwise an HTTP/1.1 request waits, as Envoy queues it as pending, until a
    /// connection of the cluster is idle again or closes (the caller holds the pending slot
    /// and the route timeout bounds the wait). A new connection is opened on behalf of
    /// `client`, the downstream whose request needs it (tunnels name it to the far end).
    pub async fn checkout(
        &self,
        spec: &ConnectSpec,
        client: Option<SocketAddr>,
        open: impl Fn() -> Result<Box<dyn FnOnce() + Send>, ProxyError>,
    ) -> Result<(Checkout, bool), ProxyError> {
        if spec.http2 {
            let mut slot = self.pool().h2.lock().await;
            if let Some(s) = slot.as_ref() {
                if !s.is_closed() {
                    return Ok((Checkout::H2(s.clone()), true));
                }
            }
            let release = match open() {
                Ok(r) => r,
                // At max_connections: share another worker's connection rather than fail.
                Err(e) => return self.other_h2().map(|s| (Checkout::H2(s), true)).ok_or(e),
            };
            match connect(self.addr, &self.transport, spec, client, release).await? {
                Sender::H2(s) => {
                    *slot = Some(s.clone());
                    Ok((Checkout::H2(s), false))
                }
                Sender::H1(_) => unreachable_h1(),
            }
        } else {
            let release = loop {
                let freed = self.freed.notified();
                tokio::pin!(freed);
                freed.as_mut().enable();
                let pool = self.pool();
                while let Some(s) = pool.idle.lock().pop() {
                    if !s.is_closed() && s.is_ready() {
                        return Ok((Checkout::H1(s), true));
                    }
                }
                match open() {
                    Ok(release) => break release,
                    Err(e) if e.kind == ErrorKind::Overflow => {
                        // At max_connections: an idle connection of another worker serves
                        // (its driver stays on that worker) before anything waits.
                        if let Some(s) = self.other_idle() {
                            return Ok((Checkout::H1(s), true));
                        }
                        freed.await
                    }
                    Err(e) => return Err(e),
                }
            };
            match connect(self.addr, &self.transport, spec, client, release).await? {
                Sender::H1(mut s) => {
                    s.ready().await.map_err(|e| {
                        ProxyError::new(ErrorKind::ConnectFailure, format!("{}: {e}", self.addr))
                    })?;
                    Ok((Checkout::H1(s), false))
                }
                Sender::H2(s) => Ok((Checkout::H2(s), false)),
            }
        }
    }

    /// A ready idle HTTP/1.1 connection from any worker's pool.
    fn other_idle(&self) -> Option<http1::SendRequest<ProxyBody>> {
        for pool in self.pools.iter() {
            let mut idle = pool.idle.lock();
            while let Some(s) = idle.pop() {
                if !s.is_closed() && s.is_ready() {
                    return Some(s);
                }
            }
        }
        None
    }

    /// A live HTTP/2 connection from another worker's pool (one not being opened right now).
    fn other_h2(&self) -> Option<http2::SendRequest<ProxyBody>> {
        self.pools.iter().find_map(|pool| {
            let slot = pool.h2.try_lock().ok()?;
            slot.as_ref().filter(|s| !s.is_closed()).cloned()
        })
    }

    fn put_idle(&self, s: http1::SendRequest<ProxyBody>) {
        if !s.is_closed() {
            self.pool().idle.lock().push(s);
            self.freed.notify_waiters();
        }
    }
}

fn unreachable_h1() -> Result<(Checkout, bool), ProxyError> {
    Err(ProxyError::new(
        ErrorKind::ConnectFailure,
        "HTTP/2 requested but an HTTP/1.1 connection was made",
    ))
}

/// Decrements the endpoint's active-request count on drop.
pub struct ActiveGuard(Arc<Endpoint>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The upstream response body: when it ends cleanly, an HTTP/1.1 connection goes back to the
/// idle list; whatever else it holds (breaker slots, active guards) is released on drop.
pub struct PooledBody {
    inner: hyper::body::Incoming,
    h1: Option<(http1::SendRequest<ProxyBody>, Weak<Endpoint>)>,
    _guards: Box<dyn Send>,
}

impl PooledBody {
    pub fn new(
        inner: hyper::body::Incoming,
        h1: Option<(http1::SendRequest<ProxyBody>, Weak<Endpoint>)>,
        guards: Box<dyn Send>,
    ) -> Self {
        Self {
            inner,
            h1,
            _guards: guards,
        }
    }
}

impl http_body::Body for PooledBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        let res = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(None) = res {
            self.release();
        }
        res.map_err(Into::into)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl PooledBody {
    fn release(&mut self) {
        if let Some((s, ep)) = self.h1.take() {
            if let Some(ep) = ep.upgrade() {
                ep.put_idle(s);
            }
        }
    }
}

impl Drop for PooledBody {
    /// A reader that stops at `is_end_stream` never sees `None`: the body is still complete.
    fn drop(&mut self) {
        if http_body::Body::is_end_stream(&self.inner) {
            self.release();
        }
    }
}

/// Counts live things (connections, pending, requests) against a limit.
#[derive(Default)]
pub struct Gauge(Arc<AtomicUsize>);

impl Gauge {
    /// Takes a slot unless `max` are taken; the returned guard releases it.
    pub fn try_acquire(&self, max: usize) -> Option<GaugeGuard> {
        let prev = self.0.fetch_add(1, Ordering::AcqRel);
        if prev >= max {
            self.0.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(GaugeGuard(self.0.clone()))
    }

    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// Releases a [`Gauge`] slot on drop.
pub struct GaugeGuard(Arc<AtomicUsize>);

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
