//! Carrying out verdicts: the block response and body redaction.

use std::io::Write;

use microwaf_engine::formats::{ContentDecoder, Encoding, Format, FormatError, Limits};
use microwaf_engine::policy::BlockResponseDoc;
use microwaf_engine::redact::{redact, Mask, RedactFormat};
use proxy_wasm::types::GrpcStatusCode;

/// The gRPC status for a configured code (validated 1..=16 by the policy).
pub fn grpc_status(code: u32) -> GrpcStatusCode {
    use GrpcStatusCode::*;
    match code {
        1 => Cancelled,
        2 => Unknown,
        3 => InvalidArgument,
        4 => DeadlineExceeded,
        5 => NotFound,
        6 => AlreadyExists,
        8 => ResourceExhausted,
        9 => FailedPrecondition,
        10 => Aborted,
        11 => OutOfRange,
        12 => Unimplemented,
        13 => Internal,
        14 => Unavailable,
        15 => DataLoss,
        16 => Unauthenticated,
        _ => PermissionDenied,
    }
}

/// HTTP block response headers.
pub fn block_headers(b: &BlockResponseDoc) -> Vec<(&str, &str)> {
    vec![("content-type", b.content_type.as_str())]
}

/// Why a body could not be redacted; the caller applies the policy's fallback.
#[derive(Debug, PartialEq)]
pub enum RedactError {
    /// Brotli cannot be re-encoded by the filter, and compressed gRPC frames cannot be
    /// rewritten in place (their findings are located only to the frame, not the field).
    Unsupported(&'static str),
    Decode(FormatError),
}

impl std::fmt::Display for RedactError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RedactError::Unsupported(what) => write!(f, "cannot redact {what}"),
            RedactError::Decode(e) => write!(f, "cannot decode body: {e}"),
        }
    }
}

/// Redacts a whole body held by the host. `base` is the decoded-stream offset of `body[0]`
/// (non-zero for gRPC streams decided message by message). Compressed bodies are decoded,
/// redacted and re-encoded with the same coding so the headers already sent stay true.
pub fn redact_body(
    body: &[u8],
    format: &Format,
    encoding: Option<Encoding>,
    masks: &[Mask],
    base: u64,
    limits: &Limits,
) -> Result<Vec<u8>, RedactError> {
    let shifted: Vec<Mask> = masks
        .iter()
        .filter_map(|m| match m {
            Mask::Bytes(r) if r.start >= base => Some(Mask::Bytes(r.start - base..r.end - base)),
            Mask::Token(t) if *t >= base => Some(Mask::Token(t - base)),
            _ => None,
        })
        .collect();
    if matches!(format, Format::Grpc) && !shifted.is_empty() && has_compressed_frame(body) {
        // Masks inside a compressed message point at its frame header: rewriting them in
        // place would corrupt the frame and leave the compressed leak readable.
        return Err(RedactError::Unsupported("compressed gRPC frames"));
    }
    let format = RedactFormat::from(format);
    match encoding {
        None | Some(Encoding::Identity) => Ok(redact(body, format, &shifted)),
        Some(Encoding::Brotli) => Err(RedactError::Unsupported("br bodies")),
        Some(enc) => {
            let mut decoded = Vec::with_capacity(body.len() * 4);
            let mut decoder = ContentDecoder::new(enc, limits);
            decoder
                .push(body, &mut |piece| {
                    decoded.extend_from_slice(piece);
                    Ok(())
                })
                .and_then(|()| decoder.finish())
                .map_err(RedactError::Decode)?;
            let redacted = redact(&decoded, format, &shifted);
            Ok(encode(enc, &redacted))
        }
    }
}

/// Whether any whole frame of a gRPC body has the compressed flag (bit 0) set.
fn has_compressed_frame(body: &[u8]) -> bool {
    let mut rest = body;
    while rest.len() >= 5 {
        if rest[0] & 1 == 1 {
            return true;
        }
        let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
        match rest.get(5..).and_then(|r| r.get(len..)) {
            Some(next) => rest = next,
            None => return false,
        }
    }
    false
}

fn encode(enc: Encoding, data: &[u8]) -> Vec<u8> {
    let level = flate2::Compression::fast();
    let out = match enc {
        Encoding::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), level);
            e.write_all(data).and_then(|()| e.finish())
        }
        _ => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), level);
            e.write_all(data).and_then(|()| e.finish())
        }
    };
    // Writing into a Vec cannot fail.
    out.unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(compressed: bool, msg: &[u8]) -> Vec<u8> {
        let mut f = vec![u8::from(compressed)];
        f.extend_from_slice(&(msg.len() as u32).to_be_bytes());
        f.extend_from_slice(msg);
        f
    }

    fn message(text: &str) -> Vec<u8> {
        let mut m = vec![0x0a, text.len() as u8];
        m.extend_from_slice(text.as_bytes());
        m
    }

    #[test]
    fn compressed_grpc_frames_are_refused_not_corrupted() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&message("card 4539578763621486")).unwrap();
        let body = [
            frame(false, &message("ok")),
            frame(true, &gz.finish().unwrap()),
        ]
        .concat();
        let masks = [Mask::Token(9)];
        let limits = Limits::default();
        let r = redact_body(&body, &Format::Grpc, None, &masks, 0, &limits);
        assert_eq!(r, Err(RedactError::Unsupported("compressed gRPC frames")));
        // Uncompressed frames are masked in place, length kept.
        let plain = frame(false, &message("card 4539578763621486"));
        let out = redact_body(&plain, &Format::Grpc, None, &[Mask::Token(5)], 0, &limits).unwrap();
        assert_eq!(out.len(), plain.len());
        assert!(!String::from_utf8_lossy(&out).contains("4539578763621486"));
    }
}
