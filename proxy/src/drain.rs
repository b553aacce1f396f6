//! Graceful drain: a trigger/watcher pair shared by every listener (ztunnel style).
//!
//! Each accept loop and each connection holds a [`DrainWatcher`]. [`DrainTrigger::drain`] tells
//! them all to stop (listeners stop accepting, connections finish in-flight requests and close)
//! and then waits until every watcher is dropped, or the deadline passes.

use std::time::Duration;

use tokio::sync::{mpsc, watch};

/// Starts a drain and waits for it to finish.
pub struct DrainTrigger {
    signal: watch::Sender<bool>,
    done: mpsc::Receiver<()>,
    // Kept so `done` only closes once every watcher (not this trigger) is gone.
    _keep: Option<mpsc::Sender<()>>,
}

/// Held by every task that must finish before a drain completes.
#[derive(Clone)]
pub struct DrainWatcher {
    signal: watch::Receiver<bool>,
    _done: mpsc::Sender<()>,
}

/// A new trigger and its first watcher.
pub fn channel() -> (DrainTrigger, DrainWatcher) {
    let (signal, rx) = watch::channel(false);
    let (done_tx, done) = mpsc::channel(1);
    let watcher = DrainWatcher {
        signal: rx,
        _done: done_tx,
    };
    (
        DrainTrigger {
            signal,
            done,
            _keep: None,
        },
        watcher,
    )
}

impl DrainTrigger {
    /// Signals every watcher and waits until all are dropped. Returns `false` when the deadline
    /// passed first (the caller then exits anyway and in-flight work is cut).
    pub async fn drain(mut self, deadline: Duration) -> bool {
        let _ = self.signal.send(true);
        self._keep = None;
        tokio::time::timeout(deadline, self.done.recv())
            .await
            .is_ok()
    }
}

impl DrainWatcher {
    /// Resolves once a drain has started.
    pub async fn signaled(&self) {
        let mut rx = self.signal.clone();
        // An error means the trigger was dropped without draining: treat it as a drain.
        let _ = rx.wait_for(|draining| *draining).await;
    }

    /// Whether a drain has started.
    pub fn is_draining(&self) -> bool {
        *self.signal.borrow()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn drain_waits_for_watchers() {
        let (trigger, watcher) = channel();
        let w2 = watcher.clone();
        let task = tokio::spawn(async move {
            w2.signaled().await;
            tokio::time::sleep(Duration::from_millis(20)).await;
            drop(w2);
        });
        drop(watcher);
        assert!(trigger.drain(Duration::from_secs(5)).await);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn drain_deadline_passes_when_a_watcher_hangs() {
        let (trigger, watcher) = channel();
        assert!(!trigger.drain(Duration::from_millis(20)).await);
        assert!(watcher.is_draining());
    }
}
