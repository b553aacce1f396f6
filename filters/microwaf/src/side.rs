//! One direction (request or response body) of a stream under inspection.

use microwaf_engine::formats::{Encoding, Format};
use microwaf_engine::inspect::{BodyScan, ScanMode};
use proxy_wasm::types::BufferType;

/// Which body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    Request,
    Response,
}

impl Dir {
    pub fn buffer(self) -> BufferType {
        match self {
            Dir::Request => BufferType::HttpRequestBody,
            Dir::Response => BufferType::HttpResponseBody,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Dir::Request => "request",
            Dir::Response => "response",
        }
    }
}

/// Inspection state of one body.
pub struct Side {
    pub scan: BodyScan,
    pub mode: ScanMode,
    /// Redact/block possible: the body is held by the host (Pause) until a decision point.
    pub hold: bool,
    /// The `content-encoding`, for re-encoding a redacted body.
    pub encoding: Option<Encoding>,
    /// Decoded-stream offset of the start of the host's current buffer (bytes already
    /// released). Only meaningful without `content-encoding`.
    pub base: u64,
    /// Findings already reported (streaming mode reports once at the end).
    pub done: bool,
}

impl Side {
    pub fn new(scan: BodyScan, mode: ScanMode, hold: bool, encoding: Option<Encoding>) -> Self {
        Side {
            scan,
            mode,
            hold,
            encoding,
            base: 0,
            done: false,
        }
    }

    pub fn is_grpc(&self) -> bool {
        matches!(self.scan.format(), Format::Grpc)
    }
}

/// Whether `buf` is a non-empty sequence of whole gRPC frames (5-byte prefix + message), so a
/// held gRPC stream can be decided message by message instead of waiting for trailers, which
/// would never let a streaming call through.
pub fn grpc_frames_complete(buf: &[u8]) -> bool {
    let mut rest = buf;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        if rest.len() < 5 {
            return false;
        }
        let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
        match rest.get(5..).and_then(|r| r.get(len..)) {
            Some(next) => rest = next,
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::grpc_frames_complete;

    #[test]
    fn grpc_frame_boundaries() {
        let frame = [0u8, 0, 0, 0, 2, b'h', b'i'];
        assert!(grpc_frames_complete(&frame));
        assert!(grpc_frames_complete(&[frame, frame].concat()));
        assert!(!grpc_frames_complete(&frame[..6]));
        assert!(!grpc_frames_complete(&[]));
    }
}
