//! The request and response heads the runtime works on in place.
//!
//! The embedder hands its own head to a headers callback by `&mut`; the runtime moves it into
//! the stream's context for the duration of the callback (a move of a few words, no copy) and
//! back afterwards. Hostcalls read and write it directly: pseudo-headers are answered from the
//! head's fields, other names looked up case-insensitively in the `HeaderMap` without
//! allocating, and mutations land where the embedder will read them, so nothing is converted
//! into ABI pairs and back per callback. Only `get_header_map_pairs` serialises the map.
//!
//! Concrete types rather than a trait the embedder implements: the head has to live in the
//! VM's store data (`'static`) while the guest runs, which a borrowed trait object cannot, and
//! every embedder (the proxy, tests, benches) already speaks `http`'s types.

use http::{HeaderMap, Method, StatusCode};

/// Request pseudo-headers plus the header map.
#[derive(Debug, Clone, Default)]
pub struct RequestHead {
    pub method: Method,
    pub scheme: String,
    pub authority: String,
    /// Path with query.
    pub path: String,
    pub headers: HeaderMap,
}

/// Response status plus headers.
#[derive(Debug, Clone, Default)]
pub struct ResponseHead {
    pub status: StatusCode,
    pub headers: HeaderMap,
}
