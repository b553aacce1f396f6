//! The load generator's side of HBONE, as a node tunnel speaks it: mTLS (TLS 1.3, ALPN h2, a
//! source SVID), HTTP/2 `CONNECT` with `:authority` = the service `VIP:port`, then the raw
//! tunnel, over which [`super::load`] runs HTTP/1.1 keep-alive. One tunnel per TLS connection,
//! so every load connection pays its own handshake and its own stream, as ztunnel's
//! per-connection tunnels do.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http2;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper::upgrade::Upgraded;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

/// Where tunnels go and what they ask for.
#[derive(Clone)]
pub struct HboneTarget {
    /// The waypoint's HBONE listener.
    pub waypoint: SocketAddr,
    /// The CONNECT `:authority`: the original destination (a service VIP and port).
    pub authority: String,
    pub tls: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for HboneTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HboneTarget")
            .field("waypoint", &self.waypoint)
            .field("authority", &self.authority)
            .finish_non_exhaustive()
    }
}

/// An established tunnel. It owns the HTTP/2 connection's request handle: hyper shuts an
/// HTTP/2 client connection down when its last handle goes, which would cut the tunnel, and
/// holding it here ends the TLS connection exactly when the tunnel is dropped.
pub struct Tunnel {
    io: Upgraded,
    _conn: http2::SendRequest<Empty<Bytes>>,
}

impl HboneTarget {
    /// Opens a TLS connection and one CONNECT stream on it.
    pub async fn open(&self) -> io::Result<Tunnel> {
        let tcp = TcpStream::connect(self.waypoint).await?;
        tcp.set_nodelay(true)?;
        let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(ServerName::IpAddress(self.waypoint.ip().into()), tcp)
            .await?;
        let (mut send, conn) = http2::Builder::new(TokioExecutor::new())
            .initial_stream_window_size(crate::waypoint::STREAM_WINDOW)
            .initial_connection_window_size(crate::waypoint::CONN_WINDOW)
            .handshake(TokioIo::new(tls))
            .await
            .map_err(io::Error::other)?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let req = Request::builder()
            .method(Method::CONNECT)
            .uri(self.authority.as_str())
            .body(Empty::new())
            .map_err(io::Error::other)?;
        let resp = send.send_request(req).await.map_err(io::Error::other)?;
        let status = resp.status();
        if status != StatusCode::OK {
            let body = resp
                .into_body()
                .collect()
                .await
                .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
                .unwrap_or_default();
            return Err(io::Error::other(format!(
                "CONNECT {} refused: {status} {}",
                self.authority,
                body.trim()
            )));
        }
        let io = hyper::upgrade::on(resp).await.map_err(io::Error::other)?;
        Ok(Tunnel { io, _conn: send })
    }
}

impl Read for Tunnel {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl Write for Tunnel {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
