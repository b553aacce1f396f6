//! State of one context: what its callbacks can read and what they asked for.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use bytes::BytesMut;
use microwaf_abi::{MapType, StreamType};

use super::StreamMap;
use crate::embedder::{DynProperties, LocalReply, StreamEvents};
use crate::properties::FilterState;

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
    pub props: Option<DynProperties>,
    pub events: Option<Arc<dyn StreamEvents>>,
    /// Request headers, request trailers, response headers, response trailers; `None` until
    /// the stream reaches that phase. Kept afterwards for the embedder (`current_headers`).
    pub maps: [Option<StreamMap>; 4],
    /// Whether hostcalls may use `maps[i]`. Envoy hands the guest a map only while its phase
    /// holds it: from the callback that delivers it until the filter continues (the callback
    /// returns Continue or calls `continue_stream`); outside that window → `BadArgument`.
    pub open: [bool; 4],
    /// A host call changed `maps[i]` since the embedder handed it over, so the embedder must
    /// take the map back; an unchanged map lets it keep its own copy (most filters only read).
    pub changed: [bool; 4],
    /// `on_log` is running: request headers, response headers and response trailers are
    /// readable (not writable) whatever the phase windows say, as in Envoy's access-log phase.
    pub log_phase: bool,
    /// Request/response body (HTTP) or downstream/upstream data (L4), accumulated while the
    /// filter pauses.
    pub bodies: [BytesMut; 2],
    pub end_of_stream: [bool; 2],
    /// A headers callback returned Pause: body data is buffered without callbacks until
    /// the filter continues (Envoy's "stop all and buffer").
    pub headers_paused: [bool; 2],
    /// Set by `proxy_send_local_response`; acted on after the callback.
    pub local_reply: Option<LocalReply>,
    pub pending: Vec<Pending>,
    /// Values written with `proxy_set_property` and `set_envoy_filter_state`.
    pub filter_state: FilterState,
}

impl Context {
    pub fn new(
        kind: ContextKind,
        props: Option<DynProperties>,
        events: Option<Arc<dyn StreamEvents>>,
    ) -> Self {
        Context {
            kind,
            props,
            events,
            maps: [None, None, None, None],
            open: [false; 4],
            changed: [false; 4],
            log_phase: false,
            bodies: [BytesMut::new(), BytesMut::new()],
            end_of_stream: [false, false],
            headers_paused: [false, false],
            local_reply: None,
            pending: Vec::new(),
            filter_state: FilterState::default(),
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

/// The contexts of one VM by id. Ids are small integers the host hands out in sequence (no
/// peer chooses them), so the default SipHash, built against flooding, buys nothing here and
/// was ~3 % of a no-op stream's profile (several lookups per callback).
pub(crate) type ContextMap = HashMap<u32, Context, BuildHasherDefault<IdHasher>>;

/// Hashes a context id with one multiplication (Fibonacci hashing): sequential ids spread
/// over the table's buckets and its 7-bit control tags.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, id: u32) {
        self.0 = u64::from(id).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}
