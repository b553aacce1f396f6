//! [`HttpFilter`] over a runtime [`HttpStream`]: the proxy's heads and trailers handed to the
//! runtime in place (no conversion to pairs and back), body chunks (the runtime keeps paused data), and the stream's asynchronous events turned
//! into [`Signal`]s the chain waits on.

use std::sync::Arc;

use bytes::BytesMut;
use http::{HeaderMap, StatusCode};
use microwaf_runtime::{Decision, HttpStream, StreamEvents, StreamType};

use super::props::StreamProps;
use crate::http::filter::{
    FilterStatus, HttpFilter, LocalReply, LogInfo, RequestHead, ResponseHead, Signal, StreamSignal,
};

/// One wasm filter instance for one stream.
pub struct WasmFilter {
    pub(super) stream: HttpStream,
    pub(super) props: Arc<StreamProps>,
    /// The plugin's name, shared with the factory (for the access log's actions).
    pub(super) plugin: Arc<str>,
    pub(super) replied: bool,
}

/// The runtime's wake-ups go straight to the chain's signal (the stream's `Arc` is shared, no
/// wrapper allocated per stream).
impl StreamEvents for StreamSignal {
    fn resume(&self, stream: StreamType) {
        self.push(Signal::Resume {
            response: stream == StreamType::Response,
        });
    }

    fn close(&self, _stream: StreamType) {
        self.push(Signal::Close);
    }

    fn local_reply(&self, reply: microwaf_runtime::LocalReply) {
        self.push(Signal::LocalReply(convert_reply(reply)));
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

impl HttpFilter for WasmFilter {
    fn on_request_headers(&mut self, head: &mut RequestHead, eos: bool) -> FilterStatus {
        let d = self.stream.on_request_head(head, eos);
        self.note(status(d))
    }

    fn on_request_body(&mut self, body: &mut BytesMut, eos: bool) -> FilterStatus {
        let d = self.stream.on_request_body(body, eos);
        self.note(status(d))
    }

    fn on_request_trailers(&mut self, trailers: &mut HeaderMap) -> FilterStatus {
        let d = self.stream.on_request_trailer_map(trailers);
        self.note(status(d))
    }

    fn resumed_request_headers(&mut self, head: &mut RequestHead) {
        self.stream.resumed_request_head(head);
    }

    fn on_response_headers(&mut self, head: &mut ResponseHead, eos: bool) -> FilterStatus {
        let d = self.stream.on_response_head(head, eos);
        self.note(status(d))
    }

    fn on_response_body(&mut self, body: &mut BytesMut, eos: bool) -> FilterStatus {
        let d = self.stream.on_response_body(body, eos);
        self.note(status(d))
    }

    fn on_response_trailers(&mut self, trailers: &mut HeaderMap) -> FilterStatus {
        let d = self.stream.on_response_trailer_map(trailers);
        self.note(status(d))
    }

    fn resumed_response_headers(&mut self, head: &mut ResponseHead) {
        self.stream.resumed_response_head(head);
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
