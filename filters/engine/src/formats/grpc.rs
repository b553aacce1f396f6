//! gRPC framing: every length-prefixed message of a stream, each walked as protobuf.
//!
//! A frame is a 1-byte flag (bit 0 compressed, bit 7 gRPC-Web trailers) and a 4-byte big-endian length, then the message.
//! Frames may be split across chunks or several may share one chunk; a frame wholly inside
//! a chunk is walked in place, others are buffered (up to [`Limits::max_message_len`]).
//! Uncompressed frames larger than that are scanned as text windows instead (flagged).
//! Compressed frames are decoded with the stream's `grpc-encoding` (bounded by
//! [`Limits::max_decoded_bytes`]); their values have no `span` and carry the frame as `raw`.

use super::decode::{decode_all, Encoding};
use super::proto::{scan, Origin};
use super::{Flags, FormatError, Limits, PushParser, TextParser, ValueSink};

const HEADER: usize = 5;

/// Streaming gRPC message parser (length-prefixed protobuf).
#[derive(Debug)]
pub struct GrpcParser {
    limits: Limits,
    encoding: Encoding,
    off: u64,
    header: [u8; HEADER],
    have: usize,
    /// The frame being read: compressed flag, message length, stream offset of the message.
    frame: Option<(bool, usize, u64)>,
    buf: Vec<u8>,
    scratch: Scratch,
    messages: u64,
    /// An uncompressed frame over [`Limits::max_message_len`], scanned as text, and the
    /// bytes of it seen so far.
    oversize: Option<(TextParser, usize)>,
}

/// Buffers reused across messages.
#[derive(Debug, Default)]
struct Scratch {
    decoded: Vec<u8>,
    path: String,
    flags: Flags,
}

impl GrpcParser {
    /// `encoding` is the stream's `grpc-encoding` (identity if absent).
    pub fn new(limits: &Limits, encoding: Encoding) -> Self {
        Self {
            limits: limits.clone(),
            encoding,
            off: 0,
            header: [0; HEADER],
            have: 0,
            frame: None,
            buf: Vec::new(),
            scratch: Scratch::default(),
            messages: 0,
            oversize: None,
        }
    }

    /// Complete messages seen so far.
    pub fn messages(&self) -> u64 {
        self.messages
    }

    fn start_frame(&mut self, at: u64) -> Result<(), FormatError> {
        // Bit 0: compressed. Bit 7: a gRPC-Web trailers frame (text headers, scanned too).
        let compressed = match self.header[0] & 0x7f {
            0 => false,
            1 => true,
            _ => {
                return Err(FormatError::Malformed {
                    format: "grpc",
                    reason: "invalid compressed flag",
                })
            }
        };
        let len = u32::from_be_bytes([
            self.header[1],
            self.header[2],
            self.header[3],
            self.header[4],
        ]);
        if len as usize > self.limits.max_message_len {
            if compressed {
                return Err(FormatError::MessageTooLarge {
                    len: u64::from(len),
                    limit: self.limits.max_message_len,
                });
            }
            // Too large to walk as protobuf: stream it through as text instead.
            self.oversize = Some((TextParser::at(&self.limits, at), 0));
            self.scratch.flags.fell_back_to_text = true;
        }
        self.have = 0;
        self.frame = Some((compressed, len as usize, at));
        Ok(())
    }
}

impl PushParser for GrpcParser {
    fn push(&mut self, chunk: &[u8], sink: &mut dyn ValueSink) -> Result<(), FormatError> {
        let base = self.off;
        self.off += chunk.len() as u64;
        let mut i = 0;
        loop {
            match self.frame {
                None => {
                    if i == chunk.len() {
                        return Ok(());
                    }
                    let take = (HEADER - self.have).min(chunk.len() - i);
                    self.header[self.have..self.have + take].copy_from_slice(&chunk[i..i + take]);
                    self.have += take;
                    i += take;
                    if self.have == HEADER {
                        self.start_frame(base + i as u64)?;
                    }
                }
                Some((_, len, _)) if self.oversize.is_some() => {
                    let (text, got) = self.oversize.as_mut().expect("checked");
                    let take = (len - *got).min(chunk.len() - i);
                    text.push(&chunk[i..i + take], sink)?;
                    *got += take;
                    i += take;
                    if *got < len {
                        return Ok(());
                    }
                    text.finish(sink)?;
                    self.oversize = None;
                    self.frame = None;
                    self.messages += 1;
                }
                Some((compressed, len, at)) => {
                    if self.buf.is_empty() && chunk.len() - i >= len {
                        let msg = &chunk[i..i + len];
                        message(
                            &self.limits,
                            self.encoding,
                            &mut self.scratch,
                            msg,
                            compressed,
                            at,
                            sink,
                        )?;
                        i += len;
                    } else {
                        let take = (len - self.buf.len()).min(chunk.len() - i);
                        self.buf.extend_from_slice(&chunk[i..i + take]);
                        i += take;
                        if self.buf.len() < len {
                            return Ok(());
                        }
                        let r = message(
                            &self.limits,
                            self.encoding,
                            &mut self.scratch,
                            &self.buf,
                            compressed,
                            at,
                            sink,
                        );
                        self.buf.clear();
                        r?;
                    }
                    self.frame = None;
                    self.messages += 1;
                }
            }
        }
    }

    fn finish(&mut self, _sink: &mut dyn ValueSink) -> Result<(), FormatError> {
        if self.have > 0 || self.frame.is_some() {
            self.scratch.flags.truncated = true;
            return Err(FormatError::Truncated("grpc frame"));
        }
        Ok(())
    }

    fn flags(&self) -> Flags {
        self.scratch.flags
    }
}

/// Walks one complete message.
fn message(
    limits: &Limits,
    encoding: Encoding,
    scratch: &mut Scratch,
    msg: &[u8],
    compressed: bool,
    at: u64,
    sink: &mut dyn ValueSink,
) -> Result<(), FormatError> {
    let frame = at - HEADER as u64..at + msg.len() as u64;
    let parsed = if compressed {
        if encoding == Encoding::Identity {
            return Err(FormatError::Malformed {
                format: "grpc",
                reason: "compressed frame without grpc-encoding",
            });
        }
        let bounded = Limits {
            max_decoded_bytes: limits.max_decoded_bytes.min(limits.max_message_len as u64),
            ..limits.clone()
        };
        scratch.decoded.clear();
        decode_all(encoding, msg, &bounded, &mut scratch.decoded)?;
        let origin = Origin { base: None, frame };
        scan(&scratch.decoded, &origin, limits, &mut scratch.path, sink)
    } else {
        let origin = Origin {
            base: Some(at),
            frame,
        };
        scan(msg, &origin, limits, &mut scratch.path, sink)
    };
    if !parsed && !msg.is_empty() {
        scratch.flags.fell_back_to_text = true;
    }
    Ok(())
}
