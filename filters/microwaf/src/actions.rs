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
#[derive(Debug)]
pub enum RedactError {
    /// Brotli cannot be re-encoded by the filter, and compressed gRPC frames cannot be
    /// rewritten in place.
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
