//! Test upstreams, clients and a proxy started from YAML text.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use microwaf_proxy::app::App;
use microwaf_proxy::config;
use tokio::net::TcpListener;

/// Parses native YAML (paths relative to `dir`) and starts the proxy.
pub async fn start_in(yaml: &str, dir: &Path) -> App {
    let cfg = config::parse(yaml, "test.yaml", dir).unwrap_or_else(|e| panic!("{e}"));
    App::start(cfg).await.unwrap_or_else(|e| panic!("{e}"))
}

pub async fn start(yaml: &str) -> App {
    start_in(yaml, Path::new(".")).await
}

/// The address of the listener called `main`.
pub fn addr(app: &App) -> SocketAddr {
    app.proxy().addr("main").expect("listener main")
}

/// An upstream answering with a JSON echo of the request, plus a few behaviours by path:
/// `/status/N` answers N, `/sleep/MS` waits first, `/big/N` sends N bytes, `/trailers` adds
/// trailers, `/name` answers with the upstream's name.
pub async fn upstream(name: &'static str) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = l.accept().await else { return };
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| echo(name, req));
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(s), svc)
                    .await;
            });
        }
    });
    addr
}

type EchoBody = http_body_util::combinators::BoxBody<Bytes, Infallible>;

async fn echo(
    name: &'static str,
    req: Request<Incoming>,
) -> Result<Response<EchoBody>, Infallible> {
    let (parts, body) = req.into_parts();
    let collected = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let path = parts.uri.path().to_owned();
    let seg: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if seg[0] == "sleep" {
        let ms = seg.get(1).and_then(|s| s.parse().ok()).unwrap_or(100);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let mut status = 200;
    if seg[0] == "status" {
        status = seg.get(1).and_then(|s| s.parse().ok()).unwrap_or(500);
    }
    let full = |b: Bytes| Full::new(b).boxed();
    if seg[0] == "big" {
        let n: usize = seg.get(1).and_then(|s| s.parse().ok()).unwrap_or(1024);
        return Ok(Response::new(full(Bytes::from(vec![b'x'; n]))));
    }
    if seg[0] == "name" {
        return Ok(Response::new(full(Bytes::from_static(name.as_bytes()))));
    }
    if seg[0] == "trailers" {
        let mut t = hyper::HeaderMap::new();
        t.insert("grpc-status", "0".parse().unwrap());
        let b = Full::new(collected).with_trailers(async move { Some(Ok(t)) });
        let mut r = Response::new(b.boxed());
        r.headers_mut()
            .insert("content-type", "application/grpc".parse().unwrap());
        return Ok(r);
    }
    let headers: serde_json::Map<String, serde_json::Value> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned().into(),
            )
        })
        .collect();
    let json = serde_json::json!({
        "upstream": name,
        "method": parts.method.as_str(),
        "uri": parts.uri.to_string(),
        "version": format!("{:?}", parts.version),
        "headers": headers,
        "body": String::from_utf8_lossy(&collected),
    });
    let mut r = Response::new(full(Bytes::from(json.to_string())));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
    r.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    Ok(r)
}

/// A collected response.
pub struct Reply {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
    pub trailers: Option<hyper::HeaderMap>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one request over a fresh HTTP/1.1 (or h2c prior-knowledge) connection.
pub async fn send(addr: SocketAddr, h2: bool, req: Request<Full<Bytes>>) -> Reply {
    collect(open(addr, h2, req).await).await
}

/// The response head to one request over a fresh connection; the body is still streaming.
pub async fn open(addr: SocketAddr, h2: bool, req: Request<Full<Bytes>>) -> Response<Incoming> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let io = TokioIo::new(tcp);
    let resp = if h2 {
        let (mut s, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .unwrap();
        tokio::spawn(conn);
        s.send_request(req).await.unwrap()
    } else {
        let (mut s, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
        tokio::spawn(conn);
        s.send_request(req).await.unwrap()
    };
    resp
}

pub async fn collect(resp: Response<Incoming>) -> Reply {
    let (parts, body) = resp.into_parts();
    let c = body.collect().await.unwrap();
    let trailers = c.trailers().cloned();
    Reply {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: c.to_bytes(),
        trailers,
    }
}

/// `GET path` with `host: authority`.
pub fn get(authority: &str, path: &str, h2: bool) -> Request<Full<Bytes>> {
    let b = Request::builder().method("GET");
    let b = if h2 {
        b.uri(format!("http://{authority}{path}"))
    } else {
        b.uri(path).header("host", authority)
    };
    b.body(Full::new(Bytes::new())).unwrap()
}

/// A minimal native config: listener `main` on :0 → cluster `up` at `up`.
pub fn simple(up: SocketAddr, extra_route: &str) -> String {
    format!(
        r#"
listeners:
  - name: main
    address: 127.0.0.1:0
    routes:
{extra_route}
      - prefix: /
        cluster: up
clusters:
  - name: up
    endpoints: ["{up}"]
    connect_timeout: 1s
"#
    )
}

/// [`simple`] with extra cluster fields (one line of YAML at cluster indentation).
pub fn with_cluster_opts(up: SocketAddr, opts: &str) -> String {
    simple(up, "").replace(
        "connect_timeout: 1s",
        &format!("connect_timeout: 1s\n    {opts}"),
    )
}

/// A loopback address nobody listens on.
pub fn dead_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}
