//! Stream properties for `proxy_get_property` (Envoy's attribute names, current and pre-1.33):
//! request, response, source/destination, connection TLS facts (SPIFFE ID and friends), route
//! and cluster names and metadata, node.

use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;

use crate::config::NodeInfo;
use crate::http::filter::{LogInfo, RequestHead, ResponseHead, StreamInfo};
use microwaf_runtime::PropertySource;

/// What is known about the stream so far; updated by the filter before each phase.
pub struct StreamProps {
    info: StreamInfo,
    node: Arc<NodeInfo>,
    dynamic: Mutex<Dynamic>,
}

#[derive(Default)]
struct Dynamic {
    request: Option<RequestHead>,
    response: Option<ResponseHead>,
    log: Option<LogInfo>,
}

impl StreamProps {
    pub fn new(info: StreamInfo, node: Arc<NodeInfo>) -> Arc<Self> {
        Arc::new(Self {
            info,
            node,
            dynamic: Mutex::default(),
        })
    }

    pub fn set_request(&self, h: &RequestHead) {
        self.dynamic.lock().request = Some(h.clone());
    }

    pub fn set_response(&self, h: &ResponseHead) {
        self.dynamic.lock().response = Some(h.clone());
    }

    pub fn set_log(&self, l: &LogInfo) {
        self.dynamic.lock().log = Some(l.clone());
    }
}

fn s(v: impl AsRef<str>) -> Option<Bytes> {
    Some(Bytes::copy_from_slice(v.as_ref().as_bytes()))
}

fn int(v: i64) -> Option<Bytes> {
    Some(Bytes::copy_from_slice(&v.to_le_bytes()))
}

fn boolean(v: bool) -> Option<Bytes> {
    Some(Bytes::copy_from_slice(&[v as u8]))
}

fn map(h: &http::HeaderMap) -> Option<Bytes> {
    let pairs: Vec<(&[u8], &[u8])> = h
        .iter()
        .map(|(k, v)| (k.as_str().as_bytes(), v.as_bytes()))
        .collect();
    microwaf_abi::pairs::encode(&pairs).ok().map(Bytes::from)
}

/// Walks a JSON value by path segments: strings raw, integers 8-byte LE, bools 1 byte, other
/// values as JSON text.
fn json(mut v: &serde_json::Value, path: &[&[u8]]) -> Option<Bytes> {
    for seg in path {
        let key = std::str::from_utf8(seg).ok()?;
        v = v.get(key)?;
    }
    match v {
        serde_json::Value::String(t) => s(t),
        serde_json::Value::Bool(b) => boolean(*b),
        serde_json::Value::Number(n) if n.is_i64() => int(n.as_i64()?),
        other => s(other.to_string()),
    }
}

fn metadata(m: &crate::config::Metadata, path: &[&[u8]]) -> Option<Bytes> {
    let v = serde_json::to_value(m).ok()?;
    // Envoy nests it as `metadata.filter_metadata.<ns>.<key>`; accept both forms.
    match path {
        [b"filter_metadata", rest @ ..] => json(&v, rest),
        rest => json(&v, rest),
    }
}

impl PropertySource for StreamProps {
    fn property(&self, path: &[&[u8]]) -> Option<Bytes> {
        let path = match path {
            [b"xds", rest @ ..] => rest,
            p => p,
        };
        let d = self.dynamic.lock();
        let conn = &self.info.conn;
        let tls = conn.tls.as_ref();
        let peer = tls.and_then(|t| t.peer.as_ref());
        match path {
            [b"request", b"path"] => s(&d.request.as_ref()?.path),
            [b"request", b"url_path"] => {
                let p = &d.request.as_ref()?.path;
                s(p.split('?').next().unwrap_or(p))
            }
            [b"request", b"host"] => s(&d.request.as_ref()?.authority),
            [b"request", b"method"] => s(d.request.as_ref()?.method.as_str()),
            [b"request", b"scheme"] => s(&d.request.as_ref()?.scheme),
            [b"request", b"id"] => s(&self.info.request_id),
            [b"request", b"headers"] => map(&d.request.as_ref()?.headers),
            [b"request", b"headers", name] => {
                let v = d
                    .request
                    .as_ref()?
                    .headers
                    .get(std::str::from_utf8(name).ok()?)?;
                Some(Bytes::copy_from_slice(v.as_bytes()))
            }
            [b"response", b"code"] => int(d.response.as_ref()?.status.as_u16() as i64),
            [b"response", b"headers"] => map(&d.response.as_ref()?.headers),
            [b"response", b"headers", name] => {
                let v = d
                    .response
                    .as_ref()?
                    .headers
                    .get(std::str::from_utf8(name).ok()?)?;
                Some(Bytes::copy_from_slice(v.as_bytes()))
            }
            [b"response", b"code_details"] => s(&d.log.as_ref()?.reason),
            [b"response", b"flags"] => s(d.log.as_ref()?.flags.join(",")),
            [b"source", b"address"] => s(conn.peer.to_string()),
            [b"source", b"port"] => int(conn.peer.port() as i64),
            [b"source", b"principal"] => s(peer?.spiffe_id()?),
            [b"destination", b"address"] => s(conn.local.to_string()),
            [b"destination", b"port"] => int(conn.local.port() as i64),
            [b"connection", b"id"] => int(conn.id as i64),
            [b"connection", b"mtls"] => boolean(peer.is_some()),
            [b"connection", b"requested_server_name"] => s(tls?.sni.as_ref()?),
            [b"connection", b"tls_version"] => s(&tls?.version),
            [b"connection", b"uri_san_peer_certificate"] => s(peer?.uri_sans.first()?),
            [b"connection", b"dns_san_peer_certificate"] => s(peer?.dns_sans.first()?),
            [b"connection", b"subject_peer_certificate"] => s(&peer?.subject),
            [b"connection", b"sha256_peer_certificate_digest"] => s(&peer?.sha256),
            [b"route_name"] => s(self.info.route_name.as_ref()?),
            [b"cluster_name"] | [b"upstream", b"cluster_name"] => s(self.info.cluster.as_ref()?),
            [b"listener_name"] => s(&*conn.listener),
            [b"route_metadata", rest @ ..] => metadata(&self.info.route_metadata, rest),
            [b"cluster_metadata", rest @ ..] => metadata(&self.info.cluster_metadata, rest),
            [b"upstream", b"address"] => s(d.log.as_ref()?.upstream?.to_string()),
            [b"node", b"id"] => s(&self.node.id),
            [b"node", b"cluster"] => s(&self.node.cluster),
            [b"node", b"metadata", rest @ ..] => {
                json(&serde_json::Value::Object(self.node.metadata.clone()), rest)
            }
            _ => None,
        }
    }
}
