//! The downstream response body, which never lets a cut response look whole.
//!
//! Once the headers are out, the only honest way to report that the body cannot be delivered
//! whole (the upstream failed mid-body, a filter stopped the stream, a filter changed the body
//! without fixing `content-length`) is to break the message: the body yields an error, so
//! hyper resets the HTTP/2 stream or closes the HTTP/1.1 connection without the last chunk.
//! Two cases would otherwise pass silently, which is why this wrapper exists:
//! - a body *longer* than its `content-length`: hyper's HTTP/1.1 encoder writes exactly the
//!   announced length and ends the message, dropping the rest, so the client would see a
//!   complete response with the tail missing;
//! - a body *shorter* than its `content-length` over HTTP/2: hyper sends `END_STREAM`, and
//!   only a client that checks the length notices.
//!
//! To catch the first before the client sees a complete message, the chunk that completes
//! the announced length is held until the source says whether more follows. Every cut is
//! recorded on the stream's [`Done`] (response flags `TR` plus the cause) and counted.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http::{header, HeaderMap, Method, StatusCode};
use http_body::{Body, Frame};

use super::body::BoxError;
use super::chain::Stop;
use super::log::Done;

/// Why a body cannot be delivered whole: the error a pump aborts its body with, so the
/// response wrapper can name the cause (an Envoy-style flag) in the access log.
#[derive(Debug, thiserror::Error)]
#[error("{reason}")]
pub struct Cut {
    pub flag: &'static str,
    pub reason: String,
}

impl Cut {
    /// A filter stopped a body after part of it had left the chain.
    pub fn from_stop(stop: &Stop) -> Self {
        match stop {
            Stop::Error(e) => Self {
                flag: e.flag(),
                reason: e.reason.clone(),
            },
            // The fail-closed policy's reply (runtime details `wasm_fail_closed`) is a filter
            // failure, any other a filter's own local reply.
            Stop::Reply(r, _) => Self {
                flag: if r.details == "wasm_fail_closed" {
                    "FF"
                } else {
                    "LR"
                },
                reason: format!(
                    "local reply {} after the body started: {}",
                    r.status.as_u16(),
                    r.details
                ),
            },
            Stop::Reset => Self {
                flag: "reset",
                reason: "stream reset by a filter after the body started".into(),
            },
        }
    }

    /// Any other body error comes from the upstream side (reset, early close, bad framing).
    fn from_source(e: BoxError) -> Self {
        match e.downcast::<Cut>() {
            Ok(cut) => *cut,
            Err(e) => Self {
                flag: "UR",
                reason: format!("upstream body failed: {e}"),
            },
        }
    }
}

/// The length a response announces for its body, when the body must match it: not for HEAD
/// requests, 1xx, 204 and 304 responses, whose `content-length` describes no body here.
pub fn announced_length(method: &Method, status: StatusCode, headers: &HeaderMap) -> Option<u64> {
    if method == Method::HEAD
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return None;
    }
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// The response body handed to hyper: counts bytes out, checks the announced length, turns
/// any failure into a broken message, and owns the stream's [`Done`].
pub struct ResponseBody<B> {
    inner: B,
    announced: Option<u64>,
    /// Data bytes taken from `inner` so far.
    seen: u64,
    /// The chunk completing the announced length, held until the source's next frame.
    held: Option<Bytes>,
    /// A frame to yield after `held` (the trailers that followed it).
    queued: Option<Frame<Bytes>>,
    finished: bool,
    bytes_out: Arc<AtomicU64>,
    done: Done,
}

impl<B> ResponseBody<B> {
    pub fn new(inner: B, announced: Option<u64>, bytes_out: Arc<AtomicU64>, done: Done) -> Self {
        Self {
            inner,
            announced,
            seen: 0,
            held: None,
            queued: None,
            finished: false,
            bytes_out,
            done,
        }
    }

    fn cut(&mut self, cut: Cut) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.finished = true;
        self.held = None;
        self.done.cut(cut.flag, &cut.reason);
        Poll::Ready(Some(Err(Box::new(cut))))
    }

    fn short(&self) -> Option<Cut> {
        let want = self.announced?;
        (self.seen < want).then(|| Cut {
            flag: "FF",
            reason: format!(
                "response body ended after {} of the {want} bytes its content-length announced",
                self.seen
            ),
        })
    }

    fn out(&mut self, frame: Frame<Bytes>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(d) = frame.data_ref() {
            self.bytes_out.fetch_add(d.len() as u64, Ordering::Relaxed);
        }
        Poll::Ready(Some(Ok(frame)))
    }
}

impl<B> Body for ResponseBody<B>
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
        let this = &mut *self;
        loop {
            if let Some(f) = this.queued.take() {
                return this.out(f);
            }
            if this.finished {
                return Poll::Ready(None);
            }
            let frame = match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                None => {
                    if let Some(cut) = this.short() {
                        return this.cut(cut);
                    }
                    this.finished = true;
                    match this.held.take() {
                        Some(d) => return this.out(Frame::data(d)),
                        None => return Poll::Ready(None),
                    }
                }
                Some(Err(e)) => return this.cut(Cut::from_source(e.into())),
                Some(Ok(f)) => f,
            };
            let frame = match frame.into_data() {
                Ok(d) if d.is_empty() => continue,
                Ok(d) => {
                    this.seen += d.len() as u64;
                    match this.announced {
                        Some(want) if this.seen > want => {
                            return this.cut(Cut {
                                flag: "FF",
                                reason: format!(
                                    "response body longer than the {want} bytes its content-length announced"
                                ),
                            })
                        }
                        Some(want) if this.seen == want && !this.inner.is_end_stream() => {
                            this.held = Some(d);
                            continue;
                        }
                        _ => Frame::data(d),
                    }
                }
                Err(f) => {
                    if let Some(cut) = this.short() {
                        return this.cut(cut);
                    }
                    this.finished = true;
                    match this.held.take() {
                        Some(d) => {
                            this.queued = Some(f);
                            Frame::data(d)
                        }
                        None => f,
                    }
                }
            };
            return this.out(frame);
        }
    }

    fn is_end_stream(&self) -> bool {
        // A source that is done but short must still be polled, so the cut is reported.
        self.queued.is_none()
            && self.held.is_none()
            && (self.finished || self.inner.is_end_stream() && self.short().is_none())
    }

    fn size_hint(&self) -> http_body::SizeHint {
        if self.held.is_some() || self.queued.is_some() || self.finished {
            return http_body::SizeHint::default();
        }
        self.inner.size_hint()
    }
}
