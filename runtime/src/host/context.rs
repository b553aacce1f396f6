//! State of one context: what its callbacks can read and what they asked for.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use microwaf_abi::{MapType, StreamType};

use crate::embedder::{Headers, LocalReply, PropertySource, StreamEvents};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContextKind {
    Root,
    Http,
    Network,
}

/// Something the guest asked for that the embedder hears about asynchronously.
#[derive(Debug, Clone)]
pub(crate) enum Pending {
    Resume(StreamType),
    Close(StreamType),
}

/// One context's state.
pub(crate) struct Context {
    pub kind: ContextKind,
    pub props: Option<Arc<dyn PropertySource>>,
    pub events: Option<Arc<dyn StreamEvents>>,
    /// Request headers, request trailers, response headers, response trailers; `None` until
    /// the stream reaches that phase (reads before → `BadArgument`, as in Envoy).
    pub maps: [Option<Headers>; 4],
    /// Request/response body (HTTP) or downstream/upstream data (L4), accumulated while the
    /// filter pauses.
    pub bodies: [BytesMut; 2],
    pub end_of_stream: [bool; 2],
    /// A headers callback returned Pause: body data is buffered without callbacks until
    /// the filter continues (Envoy's "stop all and buffer").
    pub headers_paused: [bool; 2],
    /// Where buffered bodies go if the VM dies, so fail-open loses no data.
    pub rescue: Option<std::sync::Arc<parking_lot::Mutex<[BytesMut; 2]>>>,
    /// Set by `proxy_send_local_response`; acted on after the callback.
    pub local_reply: Option<LocalReply>,
    pub pending: Vec<Pending>,
    /// Values written with `proxy_set_property`, keyed by the raw path.
    pub set_props: Vec<(Vec<u8>, Bytes)>,
}

impl Context {
    pub fn new(
        kind: ContextKind,
        props: Option<Arc<dyn PropertySource>>,
        events: Option<Arc<dyn StreamEvents>>,
    ) -> Self {
        Context {
            kind,
            props,
            events,
            maps: [None, None, None, None],
            bodies: [BytesMut::new(), BytesMut::new()],
            end_of_stream: [false, false],
            headers_paused: [false, false],
            rescue: None,
            local_reply: None,
            pending: Vec::new(),
            set_props: Vec::new(),
        }
    }

    /// Index into `maps` for the stream's own four maps.
    pub fn map_index(map: MapType) -> Option<usize> {
        match map {
            MapType::HttpRequestHeaders => Some(0),
            MapType::HttpRequestTrailers => Some(1),
            MapType::HttpResponseHeaders => Some(2),
            MapType::HttpResponseTrailers => Some(3),
            _ => None,
        }
    }
}
