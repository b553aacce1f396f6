//! The inbound HBONE listener (15008): mTLS with the mesh verifier, HTTP/2, one `CONNECT`
//! stream per tunneled connection.
//!
//! Each accepted stream is checked (CONNECT, a usable `:authority`, a known destination) and
//! answered `200`; the upgraded bytes then enter the same stack as an accepted TCP connection
//! (see [`super::tunnel`]), with the tunnel's TLS facts so the source identity reaches filters,
//! the access log and metrics.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http2;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};

use super::forwarded;
use super::metrics::RejectReason;
use super::tunnel::{Tunnel, TunnelConn};
use super::{Waypoint, CONN_WINDOW, KEEPALIVE_INTERVAL, KEEPALIVE_TIMEOUT, MAX_STREAMS};
use super::{STREAM_WINDOW, TLS_HANDSHAKE_TIMEOUT};
use crate::conn;
use crate::drain::DrainWatcher;

/// Header block limit for CONNECT requests.
const MAX_CONNECT_HEADERS: u32 = 16 * 1024;

/// Accepts HBONE connections until a drain starts.
pub async fn accept_loop(l: TcpListener, wp: Arc<Waypoint>, drain: DrainWatcher) {
    loop {
        let accepted = tokio::select! {
            a = l.accept() => a,
            _ = drain.signaled() => return,
        };
        let (tcp, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "HBONE accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let (w, d) = (wp.clone(), drain.clone());
        wp.shared
            .workers
            .spawn_tcp(tcp, move |tcp| serve_connection(tcp, peer, w, d));
    }
}

async fn serve_connection(
    tcp: TcpStream,
    peer: SocketAddr,
    wp: Arc<Waypoint>,
    drain: DrainWatcher,
) {
    let local = tcp.local_addr().unwrap_or(peer);
    let acceptor = tokio_rustls::TlsAcceptor::from(wp.server_tls.clone());
    let tls = match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            wp.metrics.inbound_tls_failures.inc();
            tracing::info!(%peer, error = %e, "HBONE TLS handshake failed");
            return;
        }
        Err(_) => {
            wp.metrics.inbound_tls_failures.inc();
            tracing::info!(%peer, "HBONE TLS handshake timed out");
            return;
        }
    };
    let info = conn::tls::info(&tls);
    let source = info
        .peer
        .as_ref()
        .and_then(|p| p.spiffe_id())
        .unwrap_or_default()
        .to_owned();
    let tc = Arc::new(TunnelConn {
        peer,
        local,
        tls: info,
        source,
    });
    let svc = {
        let (wp, tc, drain) = (wp.clone(), tc.clone(), drain.clone());
        service_fn(move |req| {
            let (wp, tc, drain) = (wp.clone(), tc.clone(), drain.clone());
            async move { Ok::<_, Infallible>(stream(req, wp, tc, drain)) }
        })
    };
    let conn = http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .max_concurrent_streams(MAX_STREAMS)
        .initial_stream_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONN_WINDOW)
        .keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_timeout(KEEPALIVE_TIMEOUT)
        .max_pending_accept_reset_streams(20)
        // CONNECT carries a few short headers (authority, forwarded, baggage, traceparent);
        // a small limit keeps a flood of streams cheap to hold.
        .max_header_list_size(MAX_CONNECT_HEADERS)
        .serve_connection(TokioIo::new(tls), svc);
    tokio::pin!(conn);
    let res = tokio::select! {
        r = conn.as_mut() => r,
        _ = drain.signaled() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = res {
        tracing::debug!(%peer, error = %e, "HBONE connection ended with an error");
    }
}

/// Checks one stream and, when it is a usable CONNECT, starts its tunnel after the `200`.
fn stream(
    mut req: Request<Incoming>,
    wp: Arc<Waypoint>,
    tc: Arc<TunnelConn>,
    drain: DrainWatcher,
) -> Response<Full<Bytes>> {
    if req.method() != Method::CONNECT {
        return reject(
            &wp,
            &tc,
            RejectReason::NotConnect,
            StatusCode::BAD_REQUEST,
            "HBONE streams must be CONNECT".into(),
        );
    }
    let Some(authority) = req.uri().authority().map(|a| a.as_str().to_owned()) else {
        return reject(
            &wp,
            &tc,
            RejectReason::BadAuthority,
            StatusCode::BAD_REQUEST,
            "missing :authority".into(),
        );
    };
    if !valid_authority(&authority) {
        return reject(
            &wp,
            &tc,
            RejectReason::BadAuthority,
            StatusCode::BAD_REQUEST,
            format!(":authority {authority:?} is not ip:port or host:port"),
        );
    }
    let Some(registry) = wp.discovery.current() else {
        return reject(
            &wp,
            &tc,
            RejectReason::NotReady,
            StatusCode::SERVICE_UNAVAILABLE,
            "service discovery has not synced yet".into(),
        );
    };
    let Some(dest) = registry.resolve(&authority) else {
        return reject(
            &wp,
            &tc,
            RejectReason::UnknownDestination,
            StatusCode::SERVICE_UNAVAILABLE,
            format!("unknown destination {authority}"),
        );
    };
    let peer = forwarded::parse_for(req.headers()).unwrap_or(tc.peer);
    let upgrade = hyper::upgrade::on(&mut req);
    let tunnel = Tunnel {
        conn: tc,
        dest,
        authority,
        peer,
    };
    tokio::spawn(async move {
        match upgrade.await {
            Ok(up) => tunnel.serve(TokioIo::new(up), &wp, drain).await,
            Err(e) => tracing::debug!(error = %e, "HBONE CONNECT upgrade failed"),
        }
    });
    Response::new(Full::new(Bytes::new()))
}

fn reject(
    wp: &Waypoint,
    tc: &TunnelConn,
    reason: RejectReason,
    status: StatusCode,
    detail: String,
) -> Response<Full<Bytes>> {
    wp.metrics.rejected(reason);
    tracing::info!(peer = %tc.peer, source = %tc.source, reason = reason.as_str(), %detail, "HBONE stream refused");
    let mut r = Response::new(Full::new(Bytes::from(detail)));
    *r.status_mut() = status;
    r
}

/// `ip:port` or `host:port` with a non-zero port and a plausible host name.
fn valid_authority(a: &str) -> bool {
    if a.parse::<SocketAddr>().is_ok() {
        return true;
    }
    let Some((host, port)) = a.rsplit_once(':') else {
        return false;
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    host_ok && port.parse::<u16>().is_ok_and(|p| p != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorities() {
        for ok in [
            "10.0.0.1:80",
            "[::1]:443",
            "reviews.shop.svc.cluster.local:9080",
        ] {
            assert!(valid_authority(ok), "{ok}");
        }
        for bad in [
            "",
            "10.0.0.1",
            "host",
            "host:",
            ":80",
            "host:0",
            "host:99999",
            "a/b:80",
        ] {
            assert!(!valid_authority(bad), "{bad}");
        }
    }
}
