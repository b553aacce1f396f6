//! gRPC message framing over HTTP/2 bodies, for both ends of the stream (the client here, the
//! fake control plane in tests): each message is a 1-byte compression flag (always 0: we
//! never negotiate compression), a 4-byte big-endian length, then the protobuf bytes; the
//! call's outcome is the `grpc-status` trailer (or header, for a trailers-only response).

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::HeaderMap;
use http_body::Body;
use http_body_util::BodyExt;

/// The largest message accepted. A full mesh's workloads arrive in one response at start-up;
/// ztunnel-sized meshes (10k pods) stay well below this, a corrupt length does not allocate.
pub const MAX_MESSAGE: usize = 64 << 20;

/// Why a gRPC stream could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GrpcError {
    #[error("compressed gRPC message (compression was not negotiated)")]
    Compressed,
    #[error("gRPC message of {0} bytes exceeds the {MAX_MESSAGE}-byte limit")]
    TooLarge(usize),
    #[error("stream ended inside a gRPC message")]
    Truncated,
    #[error("HTTP/2 body: {0}")]
    Body(String),
    /// The peer ended the call with a non-OK `grpc-status`.
    #[error("grpc-status {code}: {message}")]
    Status { code: u32, message: String },
}

/// One message, framed.
pub fn encode<M: prost::Message>(message: &M) -> Bytes {
    let len = message.encoded_len();
    let mut buf = BytesMut::with_capacity(5 + len);
    buf.put_u8(0);
    buf.put_u32(len as u32);
    // Encoding into a buffer with enough capacity cannot fail.
    let _ = message.encode(&mut buf);
    buf.freeze()
}

/// Splits a byte stream into messages.
#[derive(Default)]
pub struct Decoder {
    buf: BytesMut,
}

impl Decoder {
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete message, if buffered.
    pub fn decode(&mut self) -> Result<Option<Bytes>, GrpcError> {
        if self.buf.len() < 5 {
            return Ok(None);
        }
        if self.buf[0] != 0 {
            return Err(GrpcError::Compressed);
        }
        let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]) as usize;
        if len > MAX_MESSAGE {
            return Err(GrpcError::TooLarge(len));
        }
        if self.buf.len() < 5 + len {
            return Ok(None);
        }
        self.buf.advance(5);
        Ok(Some(self.buf.split_to(len).freeze()))
    }

    fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// The messages of one HTTP/2 body (a response for the client, a request for the server).
pub struct Messages<B> {
    body: B,
    decoder: Decoder,
    done: bool,
}

impl<B> Messages<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    pub fn new(body: B) -> Self {
        Messages {
            body,
            decoder: Decoder::default(),
            done: false,
        }
    }

    /// The next message; `Ok(None)` when the body ended with an OK status (or, for a request
    /// body, without trailers at all).
    pub async fn next(&mut self) -> Result<Option<Bytes>, GrpcError> {
        loop {
            if let Some(m) = self.decoder.decode()? {
                return Ok(Some(m));
            }
            if self.done {
                return Ok(None);
            }
            match self.body.frame().await {
                None => {
                    self.done = true;
                    if !self.decoder.is_empty() {
                        return Err(GrpcError::Truncated);
                    }
                }
                Some(Err(e)) => return Err(GrpcError::Body(e.to_string())),
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => self.decoder.push(&data),
                    Err(frame) => {
                        self.done = true;
                        if let Some(trailers) = frame.trailers_ref() {
                            check_status(trailers)?;
                        }
                    }
                },
            }
        }
    }
}

/// A non-OK `grpc-status` as an error; an absent one is OK here (the caller decides whether a
/// stream may end at all).
pub fn check_status(headers: &HeaderMap) -> Result<(), GrpcError> {
    let Some(code) = headers.get("grpc-status") else {
        return Ok(());
    };
    let code: u32 = code.to_str().ok().and_then(|c| c.parse().ok()).unwrap_or(2);
    if code == 0 {
        return Ok(());
    }
    let message = headers
        .get("grpc-message")
        .and_then(|m| m.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Err(GrpcError::Status { code, message })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::waypoint::discovery::xds::proto::Node;

    #[test]
    fn frames_split_across_and_within_chunks() {
        let a = encode(&Node {
            id: "a".into(),
            ..Default::default()
        });
        let b = encode(&Node::default());
        let mut all = a.to_vec();
        all.extend_from_slice(&b);
        let mut d = Decoder::default();
        d.push(&all[..3]);
        assert!(d.decode().unwrap().is_none());
        d.push(&all[3..]);
        let first: Node = prost::Message::decode(d.decode().unwrap().unwrap()).unwrap();
        assert_eq!(first.id, "a");
        assert_eq!(d.decode().unwrap().unwrap().len(), 0);
        assert!(d.decode().unwrap().is_none());
    }

    #[test]
    fn compressed_and_oversized_frames_are_refused() {
        let mut d = Decoder::default();
        d.push(&[1, 0, 0, 0, 0]);
        assert!(matches!(d.decode(), Err(GrpcError::Compressed)));
        let mut d = Decoder::default();
        d.push(&[0, 0xff, 0xff, 0xff, 0xff]);
        assert!(matches!(d.decode(), Err(GrpcError::TooLarge(_))));
    }

    #[test]
    fn status_trailers() {
        let mut h = HeaderMap::new();
        assert!(check_status(&h).is_ok());
        h.insert("grpc-status", "0".parse().unwrap());
        assert!(check_status(&h).is_ok());
        h.insert("grpc-status", "14".parse().unwrap());
        h.insert("grpc-message", "unavailable".parse().unwrap());
        match check_status(&h) {
            Err(GrpcError::Status { code, message }) => {
                assert_eq!((code, message.as_str()), (14, "unavailable"));
            }
            other => panic!("{other:?}"),
        }
    }
}
