//! Stream properties for `proxy_get_property` (Envoy's attribute names, current and pre-1.33):
//! request id, source/destination, connection TLS facts (SPIFFE ID and friends), route
//! and cluster names and metadata, node, access-log facts. The attributes of the request and
//! response heads (`request.path`, `response.headers`, …) are answered by the runtime from the
//! heads the stream holds, so nothing is copied here per phase.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::config::NodeInfo;
use crate::http::filter::{LogInfo, StreamInfo};
use microwaf_runtime::{PropertySource, Value};

/// What is known about the stream so far; updated by the filter before each phase. One per
/// filter and stream (the runtime holds it as the context's property source); the stream's
/// facts are the service's shared `StreamInfo`, not a copy.
pub struct StreamProps {
    info: Arc<StreamInfo>,
    node: Arc<NodeInfo>,
    dynamic: Mutex<Dynamic>,
}

#[derive(Default)]
struct Dynamic {
    log: Option<LogInfo>,
}

impl StreamProps {
    pub fn new(info: Arc<StreamInfo>, node: Arc<NodeInfo>) -> Arc<Self> {
        Arc::new(Self {
            info,
            node,
            dynamic: Mutex::default(),
        })
    }

    pub fn set_log(&self, l: &LogInfo) {
        self.dynamic.lock().log = Some(l.clone());
    }
}

fn s(v: impl AsRef<str>) -> Option<Value> {
    Some(Value::Str(v.as_ref().to_owned()))
}

fn int(v: i64) -> Option<Value> {
    Some(Value::Int(v))
}

/// JSON (metadata) as a typed value: objects become maps, so the runtime walks into them.
fn json(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::String(t) => Value::Str(t.clone()),
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Double(n.as_f64().unwrap_or_default()),
        },
        serde_json::Value::Object(o) => {
            Value::Map(o.iter().map(|(k, v)| (k.clone(), json(v))).collect())
        }
        other => Value::Str(other.to_string()),
    }
}

/// Envoy nests metadata as `filter_metadata.<ns>.<key>`; both that and `<ns>.<key>` resolve.
fn metadata(m: &crate::config::Metadata) -> Option<Value> {
    let v = serde_json::to_value(m).ok()?;
    let inner = json(&v);
    let Value::Map(mut entries) = inner else {
        return Some(inner);
    };
    entries.push(("filter_metadata".to_owned(), Value::Map(entries.clone())));
    Some(Value::Map(entries))
}

impl PropertySource for StreamProps {
    fn attribute(&self, name: &str) -> Option<Value> {
        let d = self.dynamic.lock();
        let conn = &self.info.conn;
        let tls = conn.tls.as_ref();
        let peer = tls.and_then(|t| t.peer.as_ref());
        match name {
            "request.id" => s(&self.info.request_id),
            "response.code_details" => s(&d.log.as_ref()?.reason),
            "source.address" => s(conn.peer.to_string()),
            "source.port" => int(conn.peer.port() as i64),
            "source.principal" => s(peer?.spiffe_id()?),
            "destination.address" => s(conn.local.to_string()),
            "destination.port" => int(conn.local.port() as i64),
            "connection.id" => Some(Value::Uint(conn.id)),
            "connection.mtls" => Some(Value::Bool(peer.is_some())),
            "connection.requested_server_name" => s(tls?.sni.as_ref()?),
            "connection.tls_version" => s(&tls?.version),
            "connection.uri_san_peer_certificate" => s(peer?.uri_sans.first()?),
            "connection.dns_san_peer_certificate" => s(peer?.dns_sans.first()?),
            "connection.subject_peer_certificate" => s(&peer?.subject),
            "connection.sha256_peer_certificate_digest" => s(&peer?.sha256),
            "xds.route_name" => s(self.info.route_name.as_ref()?),
            "xds.cluster_name" => s(self.info.cluster.as_ref()?),
            "xds.listener_name" | "listener_name" => s(&*conn.listener),
            "xds.route_metadata" => metadata(&self.info.route_metadata),
            "xds.cluster_metadata" => metadata(&self.info.cluster_metadata),
            "xds.listener_metadata" => metadata(&conn.listener_metadata),
            "upstream.address" => s(d.log.as_ref()?.upstream?.to_string()),
            "xds.node" => Some(Value::Map(vec![
                ("id".to_owned(), Value::Str(self.node.id.clone())),
                ("cluster".to_owned(), Value::Str(self.node.cluster.clone())),
                (
                    "metadata".to_owned(),
                    json(&serde_json::Value::Object(self.node.metadata.clone())),
                ),
            ])),
            _ => None,
        }
    }
}
