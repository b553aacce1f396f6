//! [`TunnelStream`]: one upgraded outbound CONNECT stream, ended gracefully.
//!
//! Why the drop does work: an HTTP/2 stream whose handles go away before both sides ended is
//! reset with RST_STREAM(CANCEL). ztunnel logs every such reset as an error and counts the
//! connection as failed (`istio_tcp_connections_closed_total{response_flags="CONNECT"}`), yet
//! pooled upstream connections normally end by being dropped (idle, pool refreshed or removed)
//! after their last request completed. So a stream still open when dropped is finished in the
//! background: END_STREAM on our side, then the peer's side read to its end (bounded by
//! [`LINGER`]), and only then are its handles, its stream slot and its gauge released.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

use super::StreamSlot;
use crate::waypoint::metrics::Active;

/// How long a dropped stream may take to see the peer's end before it is reset after all.
const LINGER: Duration = Duration::from_secs(10);

/// What a live stream holds; taken by the drop to finish the stream in the background.
struct Held {
    io: TokioIo<Upgraded>,
    _slot: StreamSlot,
    _active: Active,
}

/// An upgraded CONNECT stream; see the module docs for how it ends.
pub(super) struct TunnelStream {
    held: Option<Held>,
    /// The peer ended its side (a read returned no bytes).
    peer_done: bool,
}

impl TunnelStream {
    pub fn new(io: TokioIo<Upgraded>, slot: StreamSlot, active: Active) -> Self {
        TunnelStream {
            held: Some(Held {
                io,
                _slot: slot,
                _active: active,
            }),
            peer_done: false,
        }
    }

    fn io(&mut self) -> std::io::Result<&mut TokioIo<Upgraded>> {
        self.held
            .as_mut()
            .map(|h| &mut h.io)
            .ok_or_else(|| std::io::ErrorKind::NotConnected.into())
    }
}

impl AsyncRead for TunnelStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(self.io()?).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() == before {
            self.peer_done = true;
        }
        r
    }
}

impl AsyncWrite for TunnelStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(self.io()?).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(self.io()?).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(self.io()?).poll_shutdown(cx)
    }
}

impl Drop for TunnelStream {
    fn drop(&mut self) {
        let Some(mut held) = self.held.take() else {
            return;
        };
        // Without a runtime (process exit) there is nobody to finish it: reset as before.
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let peer_done = self.peer_done;
        rt.spawn(async move {
            let finish = async {
                // A stream the user already shut down has nothing more to send: that error
                // is expected and the peer's end is still awaited.
                let _ = held.io.shutdown().await;
                if !peer_done {
                    let mut sink = [0u8; 4096];
                    while held.io.read(&mut sink).await? > 0 {}
                }
                Ok::<_, std::io::Error>(())
            };
            if let Err(e) = tokio::time::timeout(LINGER, finish)
                .await
                .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
            {
                tracing::debug!(error = %e, "outbound HBONE stream ended without the peer's end");
            }
            drop(held);
        });
    }
}
