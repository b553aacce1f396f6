//! A stream header map as hostcalls see it: the embedder's own head moved in for the callback
//! (see [`crate::head`]), or ABI pairs (the pairs API, local replies).
//!
//! Envoy's view of a request map is the pseudo-headers (`:authority`, `:path`, `:method`,
//! `:scheme`; `:status` for a response) followed by the headers. Here the pseudo-headers are the
//! head's fields and the rest its `HeaderMap`, so:
//! - reads are case-insensitive lookups that borrow (no allocation, no conversion);
//! - writes land in place: a pseudo-header sets its field, other names go into the map. What the
//!   head cannot hold is dropped at the write, exactly what the embedder's rebuild of its map
//!   from the pairs dropped before: invalid names or values, unknown pseudo-headers, a method or
//!   status that does not parse;
//! - a removed pseudo-header reads as absent until set again, while the head keeps its value
//!   (the request still needs one, as when the embedder rebuilt its head from pairs lacking it).
//!
//! `HeaderMap` keeps the values of one name together, so a name added again is listed next to
//! its earlier values rather than at the end; everything else keeps the embedder's order.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use microwaf_abi::{pairs, PairRef};

use crate::embedder::Headers;
use crate::head::{RequestHead, ResponseHead};

/// Envoy's order of the request pseudo-headers.
const REQUEST_PSEUDO: [&[u8]; 4] = [b":authority", b":path", b":method", b":scheme"];
const STATUS: &[u8] = b":status";

#[derive(Clone)]
pub(crate) enum StreamMap {
    /// `hidden`: bit `i` set when the guest removed `REQUEST_PSEUDO[i]`.
    Request {
        head: RequestHead,
        hidden: u8,
    },
    /// `hidden`: the guest removed `:status`.
    Response {
        head: ResponseHead,
        hidden: bool,
    },
    /// Trailers: no pseudo-headers.
    Fields(HeaderMap),
    Pairs(Headers),
}

fn lower(key: &[u8]) -> Bytes {
    Bytes::from(key.to_ascii_lowercase())
}

fn same_name(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn request_pseudo(key: &[u8]) -> Option<usize> {
    REQUEST_PSEUDO.iter().position(|p| same_name(p, key))
}

fn text(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

/// First value of `key` in `map`, looked up without allocating (`HeaderMap` lower-cases the
/// name in a stack buffer); a name that is not valid HTTP is simply absent.
fn field<'m>(map: &'m HeaderMap, key: &[u8]) -> Option<&'m [u8]> {
    map.get(std::str::from_utf8(key).ok()?)
        .map(|v| v.as_bytes())
}

fn append(map: &mut HeaderMap, key: &[u8], value: &[u8]) {
    if let (Ok(k), Ok(v)) = (HeaderName::from_bytes(key), HeaderValue::from_bytes(value)) {
        map.append(k, v);
    }
}

/// Envoy's `setCopy`: the first entry gets the value, the others go, absent → added.
fn replace(map: &mut HeaderMap, key: &[u8], value: &[u8]) {
    let Ok(k) = HeaderName::from_bytes(key) else {
        return;
    };
    match HeaderValue::from_bytes(value) {
        Ok(v) => {
            map.insert(k, v);
        }
        // The pair was kept with a value the embedder's rebuild dropped: the header went.
        Err(_) => {
            map.remove(k);
        }
    }
}

fn remove(map: &mut HeaderMap, key: &[u8]) {
    if let Ok(k) = std::str::from_utf8(key) {
        map.remove(k);
    }
}

impl RequestHead {
    fn pseudo(&self, i: usize) -> &[u8] {
        match i {
            0 => self.authority.as_bytes(),
            1 => self.path.as_bytes(),
            2 => self.method.as_str().as_bytes(),
            _ => self.scheme.as_bytes(),
        }
    }

    fn set_pseudo(&mut self, i: usize, v: &[u8]) {
        match i {
            0 => self.authority = text(v),
            1 => self.path = text(v),
            2 => {
                if let Ok(m) = Method::from_bytes(v) {
                    self.method = m;
                }
            }
            _ => self.scheme = text(v),
        }
    }
}

impl ResponseHead {
    fn set_status(&mut self, v: &[u8]) {
        if let Some(s) = std::str::from_utf8(v)
            .ok()
            .and_then(|s| s.parse::<u16>().ok())
            .and_then(|s| StatusCode::from_u16(s).ok())
        {
            self.status = s;
        }
    }
}

impl StreamMap {
    /// Calls `f` on every pair in Envoy's order.
    pub fn for_each<'a>(&'a self, mut f: impl FnMut(&'a [u8], &'a [u8])) {
        let headers = match self {
            StreamMap::Request { head, hidden } => {
                for (i, name) in REQUEST_PSEUDO.iter().enumerate() {
                    if hidden & (1 << i) == 0 {
                        f(name, head.pseudo(i));
                    }
                }
                &head.headers
            }
            StreamMap::Response { head, hidden } => {
                if !hidden {
                    f(STATUS, head.status.as_str().as_bytes());
                }
                &head.headers
            }
            StreamMap::Fields(map) => map,
            StreamMap::Pairs(pairs) => {
                pairs.iter().for_each(|(k, v)| f(k, v));
                return;
            }
        };
        for (k, v) in headers {
            f(k.as_str().as_bytes(), v.as_bytes());
        }
    }

    /// The first value of `key` (case-insensitive).
    pub fn get(&self, key: &[u8]) -> Option<&[u8]> {
        match self {
            StreamMap::Request { head, hidden } => match request_pseudo(key) {
                Some(i) => (hidden & (1 << i) == 0).then(|| head.pseudo(i)),
                None => field(&head.headers, key),
            },
            StreamMap::Response { head, hidden } if same_name(key, STATUS) => {
                (!hidden).then(|| head.status.as_str().as_bytes())
            }
            StreamMap::Response { head, .. } => field(&head.headers, key),
            StreamMap::Fields(map) => field(map, key),
            StreamMap::Pairs(pairs) => pairs
                .iter()
                .find(|(k, _)| same_name(k, key))
                .map(|(_, v)| &v[..]),
        }
    }

    /// The number of pairs (the count a headers callback is given).
    pub fn len(&self) -> usize {
        match self {
            StreamMap::Request { head, hidden } => {
                REQUEST_PSEUDO.len() - hidden.count_ones() as usize + head.headers.len()
            }
            StreamMap::Response { head, hidden } => !hidden as usize + head.headers.len(),
            StreamMap::Fields(map) => map.len(),
            StreamMap::Pairs(pairs) => pairs.len(),
        }
    }

    /// The map as owned ABI pairs (the pairs API: `current_headers`, local replies).
    pub fn to_pairs(&self) -> Headers {
        if let StreamMap::Pairs(p) = self {
            return p.clone();
        }
        let mut out = Vec::with_capacity(self.len());
        self.for_each(|k, v| out.push((Bytes::copy_from_slice(k), Bytes::copy_from_slice(v))));
        out
    }

    /// Envoy's `byteSize`: names and values, no separators.
    pub fn byte_size(&self) -> usize {
        let mut n = 0;
        self.for_each(|k, v| n += k.len() + v.len());
        n
    }

    /// The whole map in the ABI's pairs layout.
    pub fn encode(&self) -> Result<Vec<u8>, pairs::PairsError> {
        if let StreamMap::Pairs(p) = self {
            return pairs::encode(p);
        }
        let mut all: Vec<(&[u8], &[u8])> = Vec::with_capacity(16);
        self.for_each(|k, v| all.push((k, v)));
        pairs::encode(&all)
    }

    pub fn add(&mut self, key: &[u8], value: &[u8]) {
        match self {
            StreamMap::Request { head, hidden } => match request_pseudo(key) {
                Some(i) => {
                    // A second value of a pseudo-header: the last one wins, as in the rebuild.
                    head.set_pseudo(i, value);
                    *hidden &= !(1 << i);
                }
                None => append(&mut head.headers, key, value),
            },
            StreamMap::Response { head, hidden } if same_name(key, STATUS) => {
                head.set_status(value);
                *hidden = false;
            }
            StreamMap::Response { head, .. } => append(&mut head.headers, key, value),
            StreamMap::Fields(map) => append(map, key, value),
            StreamMap::Pairs(pairs) => pairs.push((lower(key), Bytes::copy_from_slice(value))),
        }
    }

    pub fn replace(&mut self, key: &[u8], value: &[u8]) {
        match self {
            StreamMap::Request { head, hidden } => match request_pseudo(key) {
                Some(i) => {
                    head.set_pseudo(i, value);
                    *hidden &= !(1 << i);
                }
                None => replace(&mut head.headers, key, value),
            },
            StreamMap::Response { head, hidden } if same_name(key, STATUS) => {
                head.set_status(value);
                *hidden = false;
            }
            StreamMap::Response { head, .. } => replace(&mut head.headers, key, value),
            StreamMap::Fields(map) => replace(map, key, value),
            StreamMap::Pairs(m) => {
                let value = Bytes::copy_from_slice(value);
                match m.iter().position(|(k, _)| same_name(k, key)) {
                    Some(first) => {
                        m[first].1 = value;
                        let mut i = 0;
                        m.retain(|(k, _)| {
                            i += 1;
                            i - 1 == first || !same_name(k, key)
                        });
                    }
                    None => m.push((lower(key), value)),
                }
            }
        }
    }

    pub fn remove(&mut self, key: &[u8]) {
        match self {
            StreamMap::Request { head, hidden } => match request_pseudo(key) {
                Some(i) => *hidden |= 1 << i,
                None => remove(&mut head.headers, key),
            },
            StreamMap::Response { hidden, .. } if same_name(key, STATUS) => *hidden = true,
            StreamMap::Response { head, .. } => remove(&mut head.headers, key),
            StreamMap::Fields(map) => remove(map, key),
            StreamMap::Pairs(pairs) => pairs.retain(|(k, _)| !same_name(k, key)),
        }
    }

    /// `proxy_set_header_map_pairs`: the map becomes `new` (pseudo-headers not in it read as
    /// absent).
    pub fn set_all(&mut self, new: &[PairRef<'_>]) {
        match self {
            StreamMap::Pairs(pairs) => *pairs = owned_pairs(new),
            StreamMap::Request { head, hidden } => {
                head.headers.clear();
                *hidden = 0b1111;
            }
            StreamMap::Response { head, hidden } => {
                head.headers.clear();
                *hidden = true;
            }
            StreamMap::Fields(map) => map.clear(),
        }
        if !matches!(self, StreamMap::Pairs(_)) {
            for (k, v) in new {
                self.add(k, v);
            }
        }
    }
}

/// Converts borrowed guest pairs into an owned map (names lower-cased like Envoy's
/// `LowerCaseString`).
pub(crate) fn owned_pairs(pairs: &[PairRef<'_>]) -> Headers {
    pairs
        .iter()
        .map(|(k, v)| (lower(k), Bytes::copy_from_slice(v)))
        .collect()
}
