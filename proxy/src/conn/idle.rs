//! Envoy's connection idle timeout: a downstream connection with no active stream for the
//! configured time is closed (HTTP/1.1 close, HTTP/2 GOAWAY). A stream counts as active from
//! its request headers until its response body is finished or dropped, so a long download or
//! a slow upstream never trips it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::http::body::ProxyBody;

/// Active streams and when the last one ended.
pub struct Activity {
    active: AtomicUsize,
    since: Mutex<Instant>,
    /// Woken when the last active stream ends.
    ended: Notify,
}

/// Marks one stream active until dropped.
pub struct Active(Arc<Activity>);

impl Activity {
    pub fn new() -> Self {
        Activity {
            active: AtomicUsize::new(0),
            since: Mutex::new(Instant::now()),
            ended: Notify::new(),
        }
    }

    pub fn begin(self: &Arc<Self>) -> Active {
        self.active.fetch_add(1, Ordering::AcqRel);
        Active(self.clone())
    }

    /// Resolves once the connection has been idle for `timeout`; never when `None`.
    pub async fn idle(&self, timeout: Option<Duration>) {
        let Some(timeout) = timeout else {
            return std::future::pending().await;
        };
        loop {
            let ended = self.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            if self.active.load(Ordering::Acquire) > 0 {
                ended.await;
                continue;
            }
            let idle_for = self.since.lock().elapsed();
            if idle_for >= timeout {
                return;
            }
            tokio::time::sleep(timeout - idle_for).await;
        }
    }
}

impl Active {
    /// Keeps the stream active while `body` is alive.
    pub fn hold(self, body: ProxyBody) -> ProxyBody {
        body.map_frame(move |f: http_body::Frame<Bytes>| {
            let _keep = &self;
            f
        })
        .boxed_unsync()
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        // Update `since` before the count drops, so `idle` never sees zero streams with a
        // stale start time.
        *self.0.since.lock() = Instant::now();
        if self.0.active.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.ended.notify_waiters();
        }
    }
}
