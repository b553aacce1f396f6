//! How bytes reach one endpoint: a plain TCP connection, or a stream through a tunnel (HBONE
//! for mesh workloads). The HTTP pools and the TCP proxy open their streams here, so a tunneled
//! endpoint gets the same pooling, breakers and load balancing as a TCP one.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::http::error::{ErrorKind, ProxyError};

/// A bidirectional byte stream to an endpoint.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

pub type BoxIo = Box<dyn Io>;

pub type OpenFuture<'a> = Pin<Box<dyn Future<Output = Result<BoxIo, ProxyError>> + Send + 'a>>;

/// Something that opens a stream to a target address through an intermediary.
pub trait Tunnel: Send + Sync {
    /// Opens one stream whose far end is connected to `target`. `client` is the downstream
    /// client the stream is opened for, when known: a tunnel tells the far end (HBONE's
    /// `forwarded: for=`), since the far end otherwise sees only the intermediary.
    fn open(&self, target: SocketAddr, client: Option<SocketAddr>) -> OpenFuture<'_>;
}

/// The way to one endpoint.
#[derive(Clone, Default)]
pub enum Transport {
    #[default]
    Tcp,
    Tunnel(Arc<dyn Tunnel>),
}

impl Transport {
    pub fn is_tunnel(&self) -> bool {
        matches!(self, Self::Tunnel(_))
    }

    /// Opens a stream to `addr` within `timeout`, on behalf of `client` (see [`Tunnel::open`];
    /// plain TCP has no way to carry it).
    pub async fn open(
        &self,
        addr: SocketAddr,
        timeout: Duration,
        client: Option<SocketAddr>,
    ) -> Result<BoxIo, ProxyError> {
        let timed_out = || {
            ProxyError::new(
                ErrorKind::ConnectFailure,
                format!("connect timeout to {addr}"),
            )
        };
        match self {
            Self::Tcp => {
                let tcp = tokio::time::timeout(timeout, TcpStream::connect(addr))
                    .await
                    .map_err(|_| timed_out())?
                    .map_err(|e| {
                        ProxyError::new(
                            ErrorKind::ConnectFailure,
                            format!("connect to {addr}: {e}"),
                        )
                    })?;
                let _ = tcp.set_nodelay(true);
                Ok(Box::new(tcp))
            }
            Self::Tunnel(t) => tokio::time::timeout(timeout, t.open(addr, client))
                .await
                .map_err(|_| timed_out())?,
        }
    }
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Tcp => "Tcp",
            Self::Tunnel(_) => "Tunnel",
        })
    }
}
