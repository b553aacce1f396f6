//! The demo: a built-in upstream on loopback serving realistic JSON (users and orders, some
//! carrying card numbers, SSNs, e-mails and API keys — test values, never real people) and the
//! configuration that puts a filter in front of it.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

/// Starts the demo upstream on `127.0.0.1:0`; returns its address.
pub async fn start_upstream() -> std::io::Result<SocketAddr> {
    let l = TcpListener::bind("127.0.0.1:0").await?;
    let addr = l.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = l.accept().await else { return };
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(handle);
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(s), svc)
                    .await;
            });
        }
    });
    Ok(addr)
}

/// MicroWAF encodes its labels in metric names (`microwaf_matches;category=us_ssn;…`); these
/// Envoy-style tag extractors turn each into a Prometheus label on `/metrics`.
const STATS_TAGS: &str = "stats_tags:
  - {tag_name: category, regex: \"(;category=([^;]*))\"}
  - {tag_name: endpoint, regex: \"(;endpoint=([^;]*))\"}
  - {tag_name: source, regex: \"(;source=([^;]*))\"}
  - {tag_name: destination, regex: \"(;destination=([^;]*))\"}
  - {tag_name: token, regex: \"(;token=([^;]*))\"}
  - {tag_name: direction, regex: \"(;direction=([^;]*))\"}
  - {tag_name: action, regex: \"(;action=([^;]*))\"}
  - {tag_name: reason, regex: \"(;reason=([^;]*))\"}
";

/// The demo's MicroWAF policy: one of each action on the printed requests. Personal data is
/// reported and passed on (alert), card numbers are masked inside the JSON (redact), responses
/// carrying credentials and requests carrying attacks are refused (block, 403).
pub const POLICY: &str = "\
defaults:
  default_action: alert
  actions:
    credit_card: redact
    stripe_key: block
    aws_access_key_id: block
    github_token: block
    generic_api_key: block
  attacks:
    action: block
    inspect: [path, query, headers, body]
block_response:
  status: 403
  content_type: application/json
  body: '{\"error\":\"blocked by MicroWAF\"}'
report:
  values: mask
";

/// The proxy configuration (native YAML) for the demo.
pub fn config_yaml(
    listen: SocketAddr,
    admin: SocketAddr,
    upstream: SocketAddr,
    wasm: Option<&str>,
) -> String {
    let filters = match wasm {
        Some(path) => format!(
            "    filters:\n      - name: microwaf\n        root_id: microwaf\n        code: {path:?}\n        config: |\n{}",
            POLICY
                .lines()
                .map(|l| format!("          {l}\n"))
                .collect::<String>()
        ),
        None => String::new(),
    };
    format!(
        r#"admin: {admin}
{STATS_TAGS}listeners:
  - name: demo
    address: {listen}
    access_log: stdout
{filters}    routes:
      - path: /healthz
        direct: {{ status: 200, body: "ok" }}
      - prefix: /
        cluster: demo_upstream
clusters:
  - name: demo_upstream
    endpoints: ["{upstream}"]
    connect_timeout: 1s
"#
    )
}

async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let (status, json) = route(method.as_str(), &path, &body);
    let mut resp = Response::new(Full::new(Bytes::from(json.to_string())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

fn route(method: &str, path: &str, body: &[u8]) -> (StatusCode, serde_json::Value) {
    use serde_json::json;
    let users = users();
    match (method, path) {
        ("GET", "/api/users") => (StatusCode::OK, json!({ "users": users })),
        ("GET", "/api/orders") => (StatusCode::OK, json!({ "orders": orders() })),
        ("GET", "/api/config") => (
            StatusCode::OK,
            json!({
                "service": "billing",
                "stripe_key": "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
                "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE",
                "github_token": "ghp_R2D2C3POr2d2c3por2d2c3por2d2c3poXYZ1",
            }),
        ),
        ("GET", p) if p.starts_with("/api/users/") => {
            let id = &p["/api/users/".len()..];
            match users
                .as_array()
                .and_then(|a| a.iter().find(|u| u["id"] == id))
            {
                Some(u) => (StatusCode::OK, u.clone()),
                None => (StatusCode::NOT_FOUND, json!({ "error": "no such user" })),
            }
        }
        ("POST", "/api/orders") => (
            StatusCode::CREATED,
            json!({ "status": "created", "echo": String::from_utf8_lossy(body) }),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            json!({ "error": "not found", "try": ["/api/users", "/api/users/u-1001", "/api/orders", "/api/config"] }),
        ),
    }
}

fn users() -> serde_json::Value {
    serde_json::json!([
        { "id": "u-1001", "name": "Ada Lovelace", "email": "ada@example.com",
          "ssn": "536-22-5314", "plan": "pro" },
        { "id": "u-1002", "name": "Grace Hopper", "email": "grace@example.org",
          "phone": "+1 202 555 0143", "plan": "free" },
        { "id": "u-1003", "name": "Alan Turing", "email": "alan@example.net", "plan": "team" },
    ])
}

fn orders() -> serde_json::Value {
    serde_json::json!([
        { "id": "o-5001", "user": "u-1001", "total": 129.90, "currency": "EUR",
          "card": { "number": "4111 1111 1111 1111", "exp": "12/29" } },
        { "id": "o-5002", "user": "u-1002", "total": 19.00, "currency": "USD",
          "card": { "number": "5500-0000-0000-0004", "exp": "01/28" } },
        { "id": "o-5003", "user": "u-1003", "total": 7.50, "currency": "GBP",
          "payment": "invoice" },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_routes_answer_json() {
        let (s, j) = route("GET", "/api/users/u-1001", b"");
        assert_eq!(s, StatusCode::OK);
        assert_eq!(j["ssn"], "536-22-5314");
        let (s, _) = route("GET", "/nope", b"");
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
}
