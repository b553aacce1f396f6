//! One direction (request or response body) of a stream under inspection.

use microwaf_engine::formats::{Encoding, Format};
use microwaf_engine::inspect::{BodyPlan, BodyScan, FallbackReason};
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

/// Inspection state of one body. Memory is the scan's (bounded by the parser limits and the
/// kept matches) plus at most [`crate::budget::MAX_CARRY`] of carried bytes.
pub struct Side {
    pub scan: BodyScan,
    pub plan: BodyPlan,
    /// The host holds the body (Pause) until a decision point. Starts as `plan.hold`; cleared
    /// when the body is released at the hold limit or after a fallback pass.
    pub hold: bool,
    /// The `content-encoding`, for re-encoding a redacted body.
    pub encoding: Option<Encoding>,
    /// Decoded-stream offset of the start of the host's current buffer (bytes already
    /// released). Only meaningful without `content-encoding`.
    pub base: u64,
    /// Bytes at the start of the host's held buffer already fed to the scan.
    pub scanned: usize,
    /// Size of the held buffer at the previous callback, and the largest growth seen between
    /// two callbacks (the hold limit leaves room for one more such piece).
    pub last_size: usize,
    pub largest_chunk: usize,
    /// Streamed bytes already forwarded but not yet scanned (time budget), bounded.
    pub carry: Vec<u8>,
    /// Why the scan stopped short of the whole body; nothing more is scanned once set.
    pub incomplete: Option<FallbackReason>,
    /// A fallback was already counted for this body (counted once per body).
    pub fell_back: bool,
    /// Findings already reported.
    pub done: bool,
}

impl Side {
    pub fn new(scan: BodyScan, plan: BodyPlan, encoding: Option<Encoding>) -> Self {
        Side {
            scan,
            plan,
            hold: plan.hold,
            encoding,
            base: 0,
            scanned: 0,
            last_size: 0,
            largest_chunk: 0,
            carry: Vec::new(),
            incomplete: None,
            fell_back: false,
            done: false,
        }
    }

    pub fn is_grpc(&self) -> bool {
        matches!(self.scan.format(), Format::Grpc)
    }

    /// Compressed input: scanned in smaller slices.
    pub fn encoded(&self) -> bool {
        !matches!(self.encoding, None | Some(Encoding::Identity))
    }

    /// Marks the scan incomplete (the first reason wins) and frees the carry.
    pub fn stop_scanning(&mut self, reason: FallbackReason) {
        self.incomplete.get_or_insert(reason);
        self.carry = Vec::new();
    }

    /// Records the scan's parse error, if any, as the reason it is incomplete.
    pub fn note_scan_error(&mut self) {
        if let Some(e) = self.scan.error() {
            let reason = FallbackReason::for_error(e);
            self.stop_scanning(reason);
        }
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
