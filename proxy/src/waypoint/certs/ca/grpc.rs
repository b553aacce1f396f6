//! The one RPC the waypoint makes to the mesh CA: `istio.v1.auth.IstioCertificateService/
//! CreateCertificate`, unary gRPC over HTTP/2 (hyper's client), TLS verified against a
//! configured root or h2c.
//!
//! The messages are written here from Istio's `security/v1alpha1/ca.proto` (package
//! `istio.v1.auth`) rather than generated: two messages, three fields. gRPC's framing is
//! done by hand too: a 5-byte prefix (compressed flag, big-endian length) before each
//! message, the status in the `grpc-status` trailer (or header, for "trailers-only" errors).

use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use prost::Message;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

use crate::waypoint::certs::CaError;

/// `IstioCertificateRequest`: a PEM CSR and the requested lifetime.
#[derive(Clone, PartialEq, prost::Message)]
pub struct IstioCertificateRequest {
    /// PEM-encoded PKCS#10 request; its public key and URI SAN go into the certificate.
    #[prost(string, tag = "1")]
    pub csr: String,
    /// Requested validity in seconds (the CA may shorten it).
    #[prost(int64, tag = "3")]
    pub validity_duration: i64,
    // Field 4, `metadata` (google.protobuf.Struct), is only for a node agent requesting on
    // behalf of other workloads (impersonation); a waypoint asks for itself and leaves it out.
}

/// `IstioCertificateResponse`: PEM certificates, leaf first, the root last.
#[derive(Clone, PartialEq, prost::Message)]
pub struct IstioCertificateResponse {
    #[prost(string, repeated, tag = "1")]
    pub cert_chain: Vec<String>,
}

/// The method's HTTP/2 path.
pub const PATH: &str = "/istio.v1.auth.IstioCertificateService/CreateCertificate";

/// A CA response larger than this is refused (a chain is a few KiB).
const MAX_RESPONSE: usize = 1 << 20;
/// The whole exchange (connect, handshake, reply) must finish within this.
const TIMEOUT: Duration = Duration::from_secs(15);

/// How to reach the CA.
pub struct CaClient {
    /// As configured, for messages.
    address: String,
    host: String,
    port: u16,
    /// `Some` for `https://`: the client configuration and the name the CA must present.
    tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
}

impl CaClient {
    /// Parses `http(s)://host:port`; `tls` carries the verifying client configuration for https.
    pub fn new(address: &str, tls: Option<Arc<rustls::ClientConfig>>) -> Result<CaClient, CaError> {
        let bad = |reason: &str| CaError::Address {
            address: address.to_owned(),
            reason: reason.to_owned(),
        };
        let uri: http::Uri = address.parse().map_err(|_| bad("not a URI"))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(bad("the scheme must be https:// or http://")),
        };
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(bad("give only scheme, host and port"));
        }
        let host = uri.host().ok_or_else(|| bad("no host"))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let tls = match (https, tls) {
            (true, Some(cfg)) => {
                let name = ServerName::try_from(host.clone())
                    .map_err(|_| bad("the host is not a valid TLS server name"))?;
                Some((cfg, name))
            }
            (true, None) => return Err(bad("https needs a root to verify the CA")),
            (false, _) => None,
        };
        Ok(CaClient {
            address: address.to_owned(),
            host,
            port,
            tls,
        })
    }

    /// The configured address, as given.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Sends one `CreateCertificate` with `authorization: Bearer <token>`.
    pub async fn create_certificate(
        &self,
        request: &IstioCertificateRequest,
        token: &str,
    ) -> Result<IstioCertificateResponse, CaError> {
        match tokio::time::timeout(TIMEOUT, self.exchange(request, token)).await {
            Ok(result) => result,
            Err(_) => Err(CaError::Timeout {
                address: self.address.clone(),
                secs: TIMEOUT.as_secs(),
            }),
        }
    }

    async fn exchange(
        &self,
        request: &IstioCertificateRequest,
        token: &str,
    ) -> Result<IstioCertificateResponse, CaError> {
        let connect = |reason: String| CaError::Connect {
            address: self.address.clone(),
            reason,
        };
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| connect(e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let req = http::Request::post(format!("{scheme}://{host}:{}{PATH}", self.port))
            .header(http::header::CONTENT_TYPE, "application/grpc")
            .header(http::header::TE, "trailers")
            .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Full::new(frame(request)))
            .map_err(|e| connect(e.to_string()))?;
        let builder = {
            let mut b = http2::Builder::new(TokioExecutor::new());
            b.timer(TokioTimer::new());
            b
        };
        let response = match &self.tls {
            Some((cfg, name)) => {
                let tls = tokio_rustls::TlsConnector::from(cfg.clone())
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| connect(format!("TLS handshake: {e}")))?;
                send(&builder, TokioIo::new(tls), req).await
            }
            None => send(&builder, TokioIo::new(tcp), req).await,
        }
        .map_err(|e| connect(e.to_string()))?;
        self.decode(response).await
    }

    async fn decode(
        &self,
        response: http::Response<hyper::body::Incoming>,
    ) -> Result<IstioCertificateResponse, CaError> {
        let invalid = |reason: String| CaError::Response {
            address: self.address.clone(),
            reason,
        };
        if response.status() != http::StatusCode::OK {
            return Err(CaError::Http {
                address: self.address.clone(),
                status: response.status().as_u16(),
            });
        }
        // "Trailers-only": an error status carried in the headers, no body.
        if let Some(status) = self.status(response.headers())? {
            return Err(status);
        }
        let body = Limited::new(response.into_body(), MAX_RESPONSE)
            .collect()
            .await
            .map_err(|e| invalid(format!("reading the body: {e}")))?;
        let trailers = body.trailers().cloned().unwrap_or_default();
        match self.status(&trailers)? {
            Some(status) => return Err(status),
            None if trailers.contains_key("grpc-status") => {}
            None => return Err(invalid("no grpc-status trailer".into())),
        }
        let bytes = body.to_bytes();
        let message = unframe(&bytes).map_err(invalid)?;
        IstioCertificateResponse::decode(message)
            .map_err(|e| invalid(format!("IstioCertificateResponse: {e}")))
    }

    /// `Ok(None)` for no status or status 0; `Ok(Some(err))` for a non-zero status.
    fn status(&self, headers: &http::HeaderMap) -> Result<Option<CaError>, CaError> {
        let Some(value) = headers.get("grpc-status") else {
            return Ok(None);
        };
        let code: u32 = value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| CaError::Response {
                address: self.address.clone(),
                reason: format!("grpc-status {value:?} is not a number"),
            })?;
        if code == 0 {
            return Ok(None);
        }
        let message = headers
            .get("grpc-message")
            .map(|m| percent_decode(m.as_bytes()))
            .unwrap_or_default();
        Ok(Some(CaError::Status {
            address: self.address.clone(),
            code,
            name: status_name(code),
            message,
        }))
    }
}

async fn send<I>(
    builder: &http2::Builder<TokioExecutor>,
    io: I,
    req: http::Request<Full<Bytes>>,
) -> Result<http::Response<hyper::body::Incoming>, hyper::Error>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = builder.handshake(io).await?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!("CA connection: {e}");
        }
    });
    sender.send_request(req).await
}

/// One gRPC length-prefixed message, uncompressed.
pub fn frame(msg: &impl Message) -> Bytes {
    let len = msg.encoded_len();
    let mut buf = BytesMut::with_capacity(5 + len);
    buf.put_u8(0);
    buf.put_u32(len as u32);
    // Encoding into a buffer reserved for `encoded_len` bytes cannot run out of room.
    let _ = msg.encode(&mut buf);
    buf.freeze()
}

/// The single uncompressed message of a unary reply.
pub fn unframe(body: &[u8]) -> Result<&[u8], String> {
    let (head, rest) = body
        .split_first_chunk::<5>()
        .ok_or_else(|| format!("{} bytes, shorter than a gRPC frame header", body.len()))?;
    if head[0] != 0 {
        return Err("compressed message (no grpc-encoding was offered)".into());
    }
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if rest.len() != len {
        return Err(format!(
            "frame says {len} bytes, the body has {} after the header",
            rest.len()
        ));
    }
    Ok(rest)
}

/// gRPC's status code names, for the log.
fn status_name(code: u32) -> &'static str {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    NAMES.get(code as usize).copied().unwrap_or("unknown code")
}

/// `grpc-message` is percent-encoded UTF-8.
fn percent_decode(raw: &[u8]) -> String {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (raw[i], raw.get(i + 1).copied(), raw.get(i + 2).copied()) {
            (b'%', Some(h), Some(l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_bad_frames_are_refused() {
        let req = IstioCertificateRequest {
            csr: "pem".into(),
            validity_duration: 60,
        };
        let framed = frame(&req);
        assert_eq!(framed[0], 0);
        let inner = unframe(&framed).unwrap();
        assert_eq!(IstioCertificateRequest::decode(inner).unwrap(), req);
        // Field numbers as in ca.proto: csr = 1 (tag 0x0a), validity_duration = 3 (tag 0x18).
        assert_eq!(inner[0], 0x0a);
        assert_eq!(inner[inner.len() - 2], 0x18);
        assert!(unframe(&framed[..3]).unwrap_err().contains("shorter"));
        assert!(unframe(&framed[..framed.len() - 1])
            .unwrap_err()
            .contains("frame says"));
        let mut compressed = framed.to_vec();
        compressed[0] = 1;
        assert!(unframe(&compressed).unwrap_err().contains("compressed"));
    }

    #[test]
    fn grpc_message_is_percent_decoded() {
        assert_eq!(percent_decode(b"bad%20token%3A x"), "bad token: x");
        assert_eq!(percent_decode(b"100%"), "100%");
        assert_eq!(status_name(16), "UNAUTHENTICATED");
        assert_eq!(status_name(99), "unknown code");
    }
}
