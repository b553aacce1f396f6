//! What the proxy refuses from a client on protocol grounds (RFC 9112, RFC 9110), before any
//! filter or upstream sees it, and how a request body that breaks its framing is told apart
//! from an upstream failure.
//!
//! hyper parses HTTP/1.1 but leaves two of RFC 9112's rules to the server, and the proxy
//! forwarded both: a request must carry exactly one `Host` (§3.2: "A server MUST respond with a
//! 400"), and `CONNECT` asks for a tunnel, which no route provides (it used to be forwarded as
//! `CONNECT /` and never answered). A malformed chunked body (size overflow, a bare-LF chunk
//! line, a bad trailer) surfaces only as a body error once the stream is under way; without
//! [`RequestBody`] it became the upstream's fault (`503`) or a silent close.

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{header, Method, StatusCode, Version};
use http_body::{Body, Frame};

use super::body::BoxError;
use super::error::{ErrorKind, ProxyError};
use super::filter::LocalReply;

/// The methods a route can carry: every one but `CONNECT` (the `allow` header of the 405).
const ALLOWED: &str = "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS, TRACE";

/// The reply refusing a request that breaks the protocol, if it does.
pub fn refusal(method: &Method, version: Version, headers: &http::HeaderMap) -> Option<LocalReply> {
    let hosts = headers.get_all(header::HOST).iter().count();
    let bad = |details: &str| {
        Some(LocalReply {
            details: details.into(),
            ..LocalReply::new(StatusCode::BAD_REQUEST, "Bad Request")
        })
    };
    if hosts > 1 {
        return bad("more than one host header");
    }
    if hosts == 0 && version == Version::HTTP_11 {
        return bad("HTTP/1.1 request without a host header");
    }
    if method == Method::CONNECT {
        return Some(LocalReply {
            details: "CONNECT is not supported by any route".into(),
            headers: vec![(header::ALLOW.to_string(), ALLOWED.into())],
            ..LocalReply::new(StatusCode::METHOD_NOT_ALLOWED, "CONNECT is not supported")
        });
    }
    None
}

/// The first failure of a downstream request body, shared with the stream's handler.
pub type BodyFailure = Arc<OnceLock<(ErrorKind, String)>>;

/// The downstream request body, remembering why it failed: a framing error is the client's
/// (`400`, `DPE`), a connection that went away mid-body is `DC`; either way not the
/// upstream's, whatever error the upstream leg reports after its request body broke.
pub struct RequestBody<B> {
    inner: B,
    http2: bool,
    failed: BodyFailure,
}

impl<B> RequestBody<B> {
    pub fn new(inner: B, version: Version, failed: BodyFailure) -> Self {
        Self {
            inner,
            http2: version == Version::HTTP_2,
            failed,
        }
    }
}

/// Whether a body error means the client left rather than sent bad framing. HTTP/2 framing
/// errors reset the stream in the codec, so only HTTP/1.1 can still be answered with a 400.
fn went_away(e: &(dyn std::error::Error + 'static), http2: bool) -> bool {
    http2
        || e.downcast_ref::<hyper::Error>()
            .is_some_and(|h| h.is_incomplete_message() || h.is_canceled() || h.is_closed())
}

/// The error the stream reports instead of the upstream's, when the request body failed.
pub fn body_error(failed: &BodyFailure) -> Option<ProxyError> {
    failed
        .get()
        .map(|(kind, reason)| ProxyError::new(*kind, reason.clone()))
}

impl<B> Body for RequestBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let res = Pin::new(&mut self.inner).poll_frame(cx);
        match res {
            Poll::Ready(Some(Err(e))) => {
                let e: BoxError = e.into();
                let kind = if went_away(e.as_ref(), self.http2) {
                    ErrorKind::DownstreamReset
                } else {
                    ErrorKind::DownstreamProtocol
                };
                let _ = self.failed.set((kind, format!("request body failed: {e}")));
                Poll::Ready(Some(Err(e)))
            }
            other => other.map_err(Into::into),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
