//! Opening the gRPC stream: TCP, optionally TLS (ALPN `h2`, the control plane's root CA),
//! an HTTP/2 connection (with PING keepalive, so a silently dead control plane is noticed),
//! and one `POST` whose request body is fed from a channel.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::channel::{Channel, Sender};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

use super::grpc::{check_status, GrpcError};
use super::proto::DELTA_ADS_PATH;
use super::XdsError;

/// Where the control plane is and how to reach it.
#[derive(Clone)]
pub struct Target {
    /// `host:port`, also the `:authority`.
    pub authority: String,
    /// TLS client configuration and the name the server's certificate must carry; `None`:
    /// plain HTTP/2 (h2c).
    pub tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
    pub connect_timeout: Duration,
}

/// An open stream: the sender for requests and the response's body.
pub struct Call {
    pub requests: Sender<Bytes, Infallible>,
    pub responses: Incoming,
}

/// Connects and starts the call; `first` is sent before waiting for the response headers
/// (servers may not answer before the first request).
pub async fn call(target: &Target, token: Option<&str>, first: Bytes) -> Result<Call, XdsError> {
    let authority = &target.authority;
    let tcp = TcpStream::connect(authority.as_str())
        .await
        .map_err(|e| XdsError::Connect(format!("{authority}: {e}")))?;
    let _ = tcp.set_nodelay(true);
    let (scheme, sender) = match &target.tls {
        None => ("http", handshake(tcp).await?),
        Some((config, name)) => {
            let tls = tokio_rustls::TlsConnector::from(config.clone())
                .connect(name.clone(), tcp)
                .await
                .map_err(|e| XdsError::Connect(format!("{authority}: TLS: {e}")))?;
            ("https", handshake(tls).await?)
        }
    };
    let mut sender = sender;
    let (mut requests, body) = Channel::<Bytes, Infallible>::new(16);
    requests
        .send_data(first)
        .await
        .map_err(|_| XdsError::Connect("request stream closed".into()))?;
    let mut req = http::Request::post(format!("{scheme}://{authority}{DELTA_ADS_PATH}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header(
            "user-agent",
            concat!("microwaf/", env!("CARGO_PKG_VERSION")),
        );
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    let req = req
        .body(body)
        .map_err(|e| XdsError::Connect(format!("request: {e}")))?;
    let response = sender
        .send_request(req)
        .await
        .map_err(|e| XdsError::Http(e.to_string()))?;
    // A trailers-only error (e.g. UNAUTHENTICATED) carries grpc-status in the headers.
    check_status(response.headers()).map_err(XdsError::Grpc)?;
    if response.status() != http::StatusCode::OK {
        return Err(XdsError::Grpc(GrpcError::Status {
            code: 2,
            message: format!("HTTP status {}", response.status()),
        }));
    }
    Ok(Call {
        requests,
        responses: response.into_body(),
    })
}

async fn handshake<IO>(
    io: IO,
) -> Result<hyper::client::conn::http2::SendRequest<Channel<Bytes, Infallible>>, XdsError>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(10))
        .keep_alive_while_idle(true)
        // The initial sync of a large mesh is one big response.
        .initial_stream_window_size(4 << 20)
        .initial_connection_window_size(16 << 20)
        .handshake(TokioIo::new(io))
        .await
        .map_err(|e| XdsError::Http(e.to_string()))?;
    // The connection ends when the stream's halves are dropped.
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("control plane connection: {e}");
        }
    });
    Ok(sender)
}
