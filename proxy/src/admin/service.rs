//! The admin HTTP/1.1 service: accept loop and request dispatch.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::oneshot;

use super::{prom, AdminState, Surface};

type Reply = Response<Full<Bytes>>;

/// A client that has not sent its request headers by then is disconnected, so idle or
/// slow connections cannot pile up on the admin thread.
const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

const INDEX: &str = "microwaf admin\n\
GET  /metrics      Prometheus metrics (proxy and filter-defined); also /stats/prometheus\n\
GET  /ready        200 once listeners are bound and plugins configured, else 503; then one\n\
                   line per degraded component (e.g. a reloaded source that failed)\n\
GET  /healthz      200 while the process runs\n\
GET  /config_dump  the running configuration as JSON (secrets redacted)\n\
POST /logging?level=LEVEL  change the log filter (e.g. debug, info,microwaf_proxy=trace)\n";

/// Serves until `stop` fires (or its sender is dropped).
pub async fn serve(
    listener: std::net::TcpListener,
    state: Arc<AdminState>,
    mut stop: oneshot::Receiver<()>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("admin server: {e}");
            return;
        }
    };
    loop {
        let stream = tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!("admin accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let state = state.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(handle(&state, req)) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), svc)
                .await
            {
                tracing::debug!("admin connection: {e}");
            }
        });
    }
}

fn handle(state: &AdminState, req: Request<Incoming>) -> Reply {
    let get = req.method() == Method::GET || req.method() == Method::HEAD;
    match state.surface {
        Surface::Admin => admin(state, req, get),
        Surface::MeshHealth => match (req.uri().path(), get) {
            ("/healthz/ready", true) if state.ready.is_ready() => text(StatusCode::OK, "".into()),
            ("/healthz/ready", true) => text(StatusCode::SERVICE_UNAVAILABLE, "not ready\n".into()),
            ("/healthz/ready", false) => not_allowed(),
            _ => text(StatusCode::NOT_FOUND, "not found\n".into()),
        },
        Surface::MeshMetrics => match (req.uri().path(), get) {
            ("/metrics" | "/stats/prometheus", true) => metrics(state),
            ("/metrics" | "/stats/prometheus", false) => not_allowed(),
            _ => text(StatusCode::NOT_FOUND, "not found\n".into()),
        },
    }
}

fn not_allowed() -> Reply {
    text(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed\n".into(),
    )
}

fn admin(state: &AdminState, req: Request<Incoming>, get: bool) -> Reply {
    match (req.uri().path(), get) {
        ("/", true) => text(StatusCode::OK, INDEX.to_owned()),
        ("/healthz", true) => text(StatusCode::OK, "ok\n".into()),
        ("/ready", true) => ready(state),
        // Envoy's path too, so existing scrape configurations keep working.
        ("/metrics" | "/stats/prometheus", true) => metrics(state),
        ("/config_dump", true) => config_dump(state),
        ("/logging", false) if req.method() == Method::POST => logging(state, req.uri().query()),
        ("/" | "/healthz" | "/ready" | "/metrics" | "/config_dump" | "/logging", _) => {
            not_allowed()
        }
        _ => text(StatusCode::NOT_FOUND, "not found (see /)\n".into()),
    }
}

/// The status says whether traffic may be sent; the lines after the first name what still
/// needs an operator while it is served.
fn ready(state: &AdminState) -> Reply {
    let (status, mut body) = if state.ready.is_ready() {
        (StatusCode::OK, "ready\n".to_owned())
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n".to_owned())
    };
    for (component, detail) in state.ready.details() {
        body.push_str(&format!("{component}: {detail}\n"));
    }
    text(status, body)
}

fn metrics(state: &AdminState) -> Reply {
    let filter = state
        .filter_metrics
        .as_ref()
        .map(|f| f())
        .unwrap_or_default();
    let config = (state.config)();
    let mut proxy_metrics = String::new();
    if let Some(encode) = &state.registry {
        if let Err(e) = encode(&mut proxy_metrics) {
            tracing::warn!("encoding proxy metrics: {e}");
        }
    }
    let body = prom::render(&proxy_metrics, &filter, &config.stats_tags);
    reply(StatusCode::OK, prom::CONTENT_TYPE, body)
}

fn config_dump(state: &AdminState) -> Reply {
    let config = (state.config)();
    match serde_json::to_string_pretty(&*config) {
        Ok(json) => reply(StatusCode::OK, "application/json", json + "\n"),
        Err(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot serialize: {e}\n"),
        ),
    }
}

fn logging(state: &AdminState, query: Option<&str>) -> Reply {
    let level = query
        .unwrap_or_default()
        .split('&')
        .find_map(|kv| kv.strip_prefix("level="))
        .map(percent_decode);
    let Some(level) = level.filter(|l| !l.is_empty()) else {
        return text(
            StatusCode::BAD_REQUEST,
            "usage: POST /logging?level=debug\n".into(),
        );
    };
    let Some(set) = &state.log_level else {
        return text(
            StatusCode::NOT_IMPLEMENTED,
            "log level changes are not enabled\n".into(),
        );
    };
    match set(&level) {
        Ok(()) => {
            tracing::info!(level = %level, "log level changed");
            text(StatusCode::OK, format!("log level: {level}\n"))
        }
        Err(e) => text(StatusCode::BAD_REQUEST, format!("{e}\n")),
    }
}

/// `%XX` and `+` decoding for the query value (directives contain `,` and `=`).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(b) = hex {
                    out.push(b);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn text(status: StatusCode, body: String) -> Reply {
    reply(status, "text/plain; charset=utf-8", body)
}

fn reply(status: StatusCode, content_type: &str, body: String) -> Reply {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    if let Ok(v) = header::HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn decodes_query_values() {
        assert_eq!(
            percent_decode("info%2Cmicrowaf_proxy%3Dtrace"),
            "info,microwaf_proxy=trace"
        );
        assert_eq!(percent_decode("a+b"), "a b");
        assert_eq!(percent_decode("bad%zz%"), "bad%zz%");
    }
}
