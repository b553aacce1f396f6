//! The runtime's [`Embedder`] wired to the proxy: HTTP and gRPC callouts go to clusters of the
//! same configuration generation, filter logs go to tracing.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderName, HeaderValue, Method, Request};
use http_body_util::BodyExt;
use microwaf_runtime::{
    CalloutReply, CalloutResponse, CalloutResult, Embedder, GrpcCalloutRequest, Headers,
    HttpCalloutRequest, LogLevel, Status,
};

use crate::http::body::full;
use crate::http::service::Clusters;

/// One per configuration generation.
pub struct ProxyEmbedder {
    pub clusters: Arc<Clusters>,
    pub handle: tokio::runtime::Handle,
}

impl Embedder for ProxyEmbedder {
    fn http_call(&self, req: HttpCalloutRequest, reply: CalloutReply) -> Result<(), Status> {
        let cluster = self.cluster(&req.cluster)?;
        let get = |name: &[u8]| {
            req.headers
                .iter()
                .find(|(k, _)| &k[..] == name)
                .map(|(_, v)| v)
        };
        let (Some(method), Some(path), Some(authority)) =
            (get(b":method"), get(b":path"), get(b":authority"))
        else {
            return Err(Status::BadArgument);
        };
        let method = Method::from_bytes(method).map_err(|_| Status::BadArgument)?;
        let authority = String::from_utf8_lossy(authority).into_owned();
        let builder = Request::builder()
            .method(method)
            .uri(std::str::from_utf8(path).map_err(|_| Status::BadArgument)?);
        let builder = with_headers(builder, &req.headers);
        let request = builder
            .body(full(req.body))
            .map_err(|_| Status::BadArgument)?;
        let timeout = req.timeout.max(Duration::from_millis(1));
        self.handle.spawn(async move {
            let call = async {
                let (resp, _) = cluster.send(request, &authority, None).await.ok()?;
                let (parts, body) = resp.into_parts();
                let collected = body.collect().await.ok()?;
                let mut headers: Headers = vec![(
                    Bytes::from_static(b":status"),
                    Bytes::copy_from_slice(parts.status.as_str().as_bytes()),
                )];
                headers.extend(pairs(&parts.headers));
                let trailers = collected.trailers().map(pairs).unwrap_or_default();
                Some(CalloutResult {
                    headers,
                    body: collected.to_bytes(),
                    trailers,
                    ..Default::default()
                })
            };
            let result = tokio::time::timeout(timeout, call).await.ok().flatten();
            reply(CalloutResponse { result });
        });
        Ok(())
    }

    fn grpc_call(&self, req: GrpcCalloutRequest, reply: CalloutReply) -> Result<(), Status> {
        let cluster = self.cluster(&req.cluster)?;
        let path = format!(
            "/{}/{}",
            String::from_utf8_lossy(&req.service),
            String::from_utf8_lossy(&req.method)
        );
        let mut frame = BytesMut::with_capacity(req.message.len() + 5);
        frame.extend_from_slice(&[0]);
        frame.extend_from_slice(&(req.message.len() as u32).to_be_bytes());
        frame.extend_from_slice(&req.message);
        let builder = Request::post(path)
            .header("content-type", "application/grpc")
            .header("te", "trailers");
        let builder = with_headers(builder, &req.initial_metadata);
        let request = builder
            .body(full(frame.freeze()))
            .map_err(|_| Status::BadArgument)?;
        let authority = cluster.name().to_owned();
        let timeout = req.timeout.max(Duration::from_millis(1));
        self.handle.spawn(async move {
            let call = async {
                let (resp, _) = cluster.send(request, &authority, None).await.ok()?;
                let (parts, body) = resp.into_parts();
                let collected = body.collect().await.ok()?;
                let trailers_map = collected.trailers().cloned().unwrap_or_default();
                // Trailers-only responses carry the status in the headers.
                let status_of = |m: &http::HeaderMap| {
                    m.get("grpc-status")
                        .and_then(|v| v.to_str().ok()?.parse::<u32>().ok())
                };
                let grpc_status = status_of(&trailers_map)
                    .or_else(|| status_of(&parts.headers))
                    .unwrap_or(2);
                let message = trailers_map
                    .get("grpc-message")
                    .or_else(|| parts.headers.get("grpc-message"))
                    .map(|v| Bytes::copy_from_slice(v.as_bytes()))
                    .unwrap_or_default();
                let mut data = collected.to_bytes();
                let body = if data.len() >= 5 {
                    data.advance(1);
                    let len = data.get_u32() as usize;
                    data.slice(..len.min(data.len()))
                } else {
                    Bytes::new()
                };
                Some(CalloutResult {
                    headers: pairs(&parts.headers),
                    body,
                    trailers: pairs(&trailers_map),
                    grpc_status,
                    grpc_message: message,
                })
            };
            let result = tokio::time::timeout(timeout, call).await.ok().flatten();
            reply(CalloutResponse { result });
        });
        Ok(())
    }

    fn log(&self, plugin: &str, context: u32, level: LogLevel, message: &str) {
        match level {
            LogLevel::Trace => tracing::trace!(target: "wasm", plugin, context, "{message}"),
            LogLevel::Debug => tracing::debug!(target: "wasm", plugin, context, "{message}"),
            LogLevel::Info => tracing::info!(target: "wasm", plugin, context, "{message}"),
            LogLevel::Warn => tracing::warn!(target: "wasm", plugin, context, "{message}"),
            _ => tracing::error!(target: "wasm", plugin, context, "{message}"),
        }
    }
}

impl ProxyEmbedder {
    /// Envoy answers BadArgument for an unknown cluster.
    fn cluster(&self, name: &[u8]) -> Result<Arc<crate::upstream::Cluster>, Status> {
        let name = std::str::from_utf8(name).map_err(|_| Status::BadArgument)?;
        self.clusters.get(name).cloned().ok_or(Status::BadArgument)
    }
}

/// Adds every non-pseudo header that is valid HTTP.
fn with_headers(mut b: http::request::Builder, pairs: &Headers) -> http::request::Builder {
    for (k, v) in pairs.iter().filter(|(k, _)| k.first() != Some(&b':')) {
        if let (Ok(k), Ok(v)) = (HeaderName::from_bytes(k), HeaderValue::from_bytes(v)) {
            b = b.header(k, v);
        }
    }
    b
}

fn pairs(m: &http::HeaderMap) -> Headers {
    m.iter()
        .map(|(k, v)| {
            (
                Bytes::copy_from_slice(k.as_str().as_bytes()),
                Bytes::copy_from_slice(v.as_bytes()),
            )
        })
        .collect()
}
