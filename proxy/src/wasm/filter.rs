//! [`HttpFilter`] over a runtime [`HttpStream`]: header maps with pseudo-headers in and out,
//! body chunks (the runtime keeps paused data), and the stream's asynchronous events turned
//! into [`Signal`]s the chain waits on.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use microwaf_runtime::{Decision, Headers, HttpStream, StreamEvents, StreamType};

use super::props::StreamProps;
use crate::http::filter::{
    FilterStatus, HttpFilter, LocalReply, LogInfo, RequestHead, ResponseHead, Signal, StreamSignal,
};

/// One wasm filter instance for one stream.
pub struct WasmFilter {
    pub(super) stream: HttpStream,
    pub(super) props: Arc<StreamProps>,
    pub(super) plugin: String,
    pub(super) replied: bool,
}

/// Forwards the runtime's wake-ups to the chain.
pub struct Events(pub Arc<StreamSignal>);

impl StreamEvents for Events {
    fn resume(&self, stream: StreamType) {
        self.0.push(Signal::Resume {
            response: stream == StreamType::Response,
        });
    }

    fn close(&self, _stream: StreamType) {
        self.0.push(Signal::Close);
    }

    fn local_reply(&self, reply: microwaf_runtime::LocalReply) {
        self.0.push(Signal::LocalReply(convert_reply(reply)));
    }
}

fn convert_reply(r: microwaf_runtime::LocalReply) -> LocalReply {
    LocalReply {
        status: StatusCode::from_u16(r.status as u16).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        body: r.body,
        headers: r
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    String::from_utf8_lossy(k).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect(),
        grpc_status: r.grpc_status.and_then(|g| u32::try_from(g).ok()),
        details: String::from_utf8_lossy(&r.details).into_owned(),
    }
}

fn status(d: Decision) -> FilterStatus {
    match d {
        Decision::Continue => FilterStatus::Continue,
        Decision::Pause => FilterStatus::Pause,
        Decision::LocalReply(r) => FilterStatus::LocalReply(convert_reply(r)),
    }
}

fn push_map(out: &mut Headers, map: &HeaderMap) {
    for (k, v) in map {
        out.push((
            Bytes::copy_from_slice(k.as_str().as_bytes()),
            Bytes::copy_from_slice(v.as_bytes()),
        ));
    }
}

fn to_map(pairs: &Headers) -> HeaderMap {
    let mut m = HeaderMap::with_capacity(pairs.len());
    for (k, v) in pairs {
        if k.first() == Some(&b':') {
            continue;
        }
        if let (Ok(k), Ok(v)) = (HeaderName::from_bytes(k), HeaderValue::from_bytes(v)) {
            m.append(k, v);
        }
    }
    m
}

fn request_pairs(h: &RequestHead) -> Headers {
    let mut out = Vec::with_capacity(h.headers.len() + 4);
    let p = |k: &'static str, v: &str| {
        (
            Bytes::from_static(k.as_bytes()),
            Bytes::copy_from_slice(v.as_bytes()),
        )
    };
    out.push(p(":authority", &h.authority));
    out.push(p(":path", &h.path));
    out.push(p(":method", h.method.as_str()));
    out.push(p(":scheme", &h.scheme));
    push_map(&mut out, &h.headers);
    out
}

fn apply_request(h: &mut RequestHead, pairs: &Headers) {
    for (k, v) in pairs {
        let text = || String::from_utf8_lossy(v).into_owned();
        match &k[..] {
            b":authority" => h.authority = text(),
            b":path" => h.path = text(),
            b":scheme" => h.scheme = text(),
            b":method" => {
                if let Ok(m) = Method::from_bytes(v) {
                    h.method = m;
                }
            }
            _ => {}
        }
    }
    h.headers = to_map(pairs);
}

fn response_pairs(h: &ResponseHead) -> Headers {
    let mut out = Vec::with_capacity(h.headers.len() + 1);
    out.push((
        Bytes::from_static(b":status"),
        Bytes::copy_from_slice(h.status.as_str().as_bytes()),
    ));
    push_map(&mut out, &h.headers);
    out
}

fn apply_response(h: &mut ResponseHead, pairs: &Headers) {
    for (k, v) in pairs {
        if &k[..] == b":status" {
            if let Some(s) = std::str::from_utf8(v)
                .ok()
                .and_then(|s| s.parse::<u16>().ok())
                .and_then(|s| StatusCode::from_u16(s).ok())
            {
                h.status = s;
            }
        }
    }
    h.headers = to_map(pairs);
}

fn trailer_pairs(t: &HeaderMap) -> Headers {
    let mut out = Vec::with_capacity(t.len());
    push_map(&mut out, t);
    out
}

impl HttpFilter for WasmFilter {
    fn on_request_headers(&mut self, head: &mut RequestHead, eos: bool) -> FilterStatus {
        self.props.set_request(head);
        let mut pairs = request_pairs(head);
        let d = self.stream.on_request_headers(&mut pairs, eos);
        // Most filters only read: rebuilding the `HeaderMap` from the pairs was a visible share
        // of a no-op filter's cost (benches/PROFILE.md).
        if self.stream.map_changed() {
            apply_request(head, &pairs);
        }
        self.note(status(d))
    }

    fn on_request_body(&mut self, body: &mut BytesMut, eos: bool) -> FilterStatus {
        let d = self.stream.on_request_body(body, eos);
        self.note(status(d))
    }

    fn on_request_trailers(&mut self, trailers: &mut HeaderMap) -> FilterStatus {
        let mut pairs = trailer_pairs(trailers);
        let d = self.stream.on_request_trailers(&mut pairs);
        if self.stream.map_changed() {
            *trailers = to_map(&pairs);
        }
        self.note(status(d))
    }

    fn resumed_request_headers(&mut self, head: &mut RequestHead) {
        if let Some(pairs) = self.stream.current_headers(StreamType::Request) {
            apply_request(head, &pairs);
        }
    }

    fn on_response_headers(&mut self, head: &mut ResponseHead, eos: bool) -> FilterStatus {
        self.props.set_response(head);
        let mut pairs = response_pairs(head);
        let d = self.stream.on_response_headers(&mut pairs, eos);
        if self.stream.map_changed() {
            apply_response(head, &pairs);
        }
        self.note(status(d))
    }

    fn on_response_body(&mut self, body: &mut BytesMut, eos: bool) -> FilterStatus {
        let d = self.stream.on_response_body(body, eos);
        self.note(status(d))
    }

    fn on_response_trailers(&mut self, trailers: &mut HeaderMap) -> FilterStatus {
        let mut pairs = trailer_pairs(trailers);
        let d = self.stream.on_response_trailers(&mut pairs);
        if self.stream.map_changed() {
            *trailers = to_map(&pairs);
        }
        self.note(status(d))
    }

    fn resumed_response_headers(&mut self, head: &mut ResponseHead) {
        if let Some(pairs) = self.stream.current_headers(StreamType::Response) {
            apply_response(head, &pairs);
        }
    }

    fn on_log(&mut self, log: &LogInfo) {
        self.props.set_log(log);
        self.stream.on_log();
    }

    fn actions(&self) -> Vec<String> {
        let mut a = Vec::new();
        if self.replied {
            a.push(format!("{}:local_reply", self.plugin));
        }
        if self.stream.is_failed() {
            a.push(format!("{}:failed", self.plugin));
        }
        a
    }
}

impl WasmFilter {
    fn note(&mut self, s: FilterStatus) -> FilterStatus {
        if matches!(s, FilterStatus::LocalReply(_)) {
            self.replied = true;
        }
        s
    }
}
