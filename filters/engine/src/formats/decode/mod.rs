//! `Content-Encoding` / `grpc-encoding` decoders: gzip, deflate (zlib or raw) and brotli,
//! streaming, with a bound on the decoded size.
//!
//! Decoders write into a fixed 32 KiB buffer and hand each filled piece downstream, so a
//! decompression bomb costs at most [`Limits::max_decoded_bytes`] of *work* and never more
//! than that buffer (plus the codec's window: 32 KiB for deflate, up to 16 MiB for brotli,
//! whose large-window extension is refused) of memory. gzip CRCs are not verified: the
//! decoded bytes are only scanned, never forwarded.

use brotli_decompressor::{BrotliDecompressStream, BrotliResult, BrotliState, StandardAlloc};
use flate2::{Decompress, FlushDecompress, Status};

use super::{FormatError, Limits};

mod gzip;

use gzip::{gzip_header, GzipHeader};

const OUT_BUF: usize = 32 * 1024;

/// A content coding this crate can undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// No coding (`identity` or absent).
    Identity,
    /// `gzip` / `x-gzip`: RFC 1952, concatenated members accepted.
    Gzip,
    /// `deflate`: zlib (RFC 1950) as specified, or raw deflate as some servers send.
    Deflate,
    /// `br`: RFC 7932.
    Brotli,
}

impl Encoding {
    /// Parses one coding token of a `content-encoding` or `grpc-encoding` header.
    pub fn parse(token: &str) -> Result<Self, FormatError> {
        let t = token.trim();
        Ok(match t.to_ascii_lowercase().as_str() {
            "" | "identity" => Self::Identity,
            "gzip" | "x-gzip" => Self::Gzip,
            "deflate" => Self::Deflate,
            "br" => Self::Brotli,
            _ => return Err(FormatError::UnsupportedEncoding(t.to_owned())),
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Gzip => "gzip",
            Self::Deflate => "deflate",
            Self::Brotli => "br",
        }
    }
}

/// Streaming decoder for one coding; feed it with [`ContentDecoder::push`].
pub struct ContentDecoder {
    encoding: Encoding,
    codec: Codec,
    out: Vec<u8>,
    total: u64,
    limit: u64,
}

enum Codec {
    Identity,
    Flate {
        z: Decompress,
        stage: Stage,
        gzip: bool,
    },
    Brotli(Box<BrotliState<StandardAlloc, StandardAlloc, StandardAlloc>>),
}

/// Where a gzip or deflate stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// gzip header; the parser state says which field.
    GzipHeader(GzipHeader),
    /// Deciding zlib vs raw from the first two bytes (first byte kept).
    Sniff(Option<u8>),
    Body,
    /// gzip trailer bytes left (CRC32 + ISIZE).
    GzipTrailer(u8),
    /// The stream ended; anything after is ignored (deflate) or a new member (gzip).
    Done,
}

impl std::fmt::Debug for ContentDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContentDecoder")
            .field("encoding", &self.encoding)
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

impl ContentDecoder {
    /// A decoder bounded by `limits.max_decoded_bytes`.
    pub fn new(encoding: Encoding, limits: &Limits) -> Self {
        let codec = match encoding {
            Encoding::Identity => Codec::Identity,
            Encoding::Gzip => Codec::Flate {
                z: Decompress::new(false),
                stage: Stage::GzipHeader(GzipHeader::Fixed { at: 0, flags: 0 }),
                gzip: true,
            },
            Encoding::Deflate => Codec::Flate {
                z: Decompress::new(false),
                stage: Stage::Sniff(None),
                gzip: false,
            },
            Encoding::Brotli => {
                let mut s = BrotliState::new(
                    StandardAlloc::default(),
                    StandardAlloc::default(),
                    StandardAlloc::default(),
                );
                s.large_window = false;
                Codec::Brotli(Box::new(s))
            }
        };
        Self {
            encoding,
            codec,
            out: Vec::new(),
            total: 0,
            limit: limits.max_decoded_bytes,
        }
    }

    /// Decoded bytes produced so far.
    pub fn total_out(&self) -> u64 {
        self.total
    }

    /// Decodes `input`, handing decoded pieces to `out` as they are produced.
    pub fn push(
        &mut self,
        mut input: &[u8],
        out: &mut dyn FnMut(&[u8]) -> Result<(), FormatError>,
    ) -> Result<(), FormatError> {
        if self.out.is_empty() && !matches!(self.codec, Codec::Identity) {
            self.out.resize(OUT_BUF, 0);
        }
        let limit = self.limit;
        let encoding = self.encoding.name();
        match &mut self.codec {
            Codec::Identity => {
                self.total += input.len() as u64;
                if self.total > limit {
                    return Err(FormatError::DecodedTooLarge { limit });
                }
                out(input)
            }
            Codec::Flate { z, stage, gzip } => {
                while !input.is_empty() {
                    let before = *stage;
                    let used = step_flate(z, stage, *gzip, input, &mut self.out, &mut |piece| {
                        self.total += piece.len() as u64;
                        if self.total > limit {
                            return Err(FormatError::DecodedTooLarge { limit });
                        }
                        out(piece)
                    })
                    .map_err(|reason| match reason {
                        Step::Corrupt(reason) => FormatError::Corrupt { encoding, reason },
                        Step::Downstream(e) => e,
                    })?;
                    if used == 0 && *stage == before {
                        return Err(FormatError::Corrupt {
                            encoding,
                            reason: "decoder made no progress",
                        });
                    }
                    input = &input[used..];
                }
                Ok(())
            }
            Codec::Brotli(state) => {
                let (mut avail_in, mut in_off) = (input.len(), 0);
                loop {
                    let (mut avail_out, mut out_off, mut total) = (self.out.len(), 0, 0);
                    let r = BrotliDecompressStream(
                        &mut avail_in,
                        &mut in_off,
                        input,
                        &mut avail_out,
                        &mut out_off,
                        &mut self.out,
                        &mut total,
                        state,
                    );
                    if out_off > 0 {
                        self.total += out_off as u64;
                        if self.total > limit {
                            return Err(FormatError::DecodedTooLarge { limit });
                        }
                        out(&self.out[..out_off])?;
                    }
                    match r {
                        BrotliResult::NeedsMoreOutput => continue,
                        BrotliResult::NeedsMoreInput | BrotliResult::ResultSuccess => return Ok(()),
                        BrotliResult::ResultFailure => {
                            return Err(FormatError::Corrupt {
                                encoding,
                                reason: "invalid brotli stream",
                            })
                        }
                    }
                }
            }
        }
    }

    /// Checks that the stream ended cleanly.
    pub fn finish(&mut self) -> Result<(), FormatError> {
        let complete = match &self.codec {
            Codec::Identity => true,
            Codec::Flate { stage, .. } => matches!(stage, Stage::Done | Stage::Sniff(None)),
            Codec::Brotli(state) => {
                brotli_decompressor::BrotliDecoderIsFinished(state) || self.total == 0
            }
        };
        if complete {
            Ok(())
        } else {
            Err(FormatError::Truncated(self.encoding.name()))
        }
    }
}

/// Decodes a whole buffer (a compressed gRPC frame) into `out`, bounded by `limits`.
pub(crate) fn decode_all(
    encoding: Encoding,
    data: &[u8],
    limits: &Limits,
    out: &mut Vec<u8>,
) -> Result<(), FormatError> {
    let mut d = ContentDecoder::new(encoding, limits);
    d.push(data, &mut |piece| {
        out.extend_from_slice(piece);
        Ok(())
    })?;
    d.finish()
}

pub(super) enum Step {
    Corrupt(&'static str),
    Downstream(FormatError),
}

/// Advances a gzip/deflate stream over a prefix of `input`; returns the bytes consumed.
fn step_flate(
    z: &mut Decompress,
    stage: &mut Stage,
    gzip: bool,
    input: &[u8],
    buf: &mut [u8],
    out: &mut dyn FnMut(&[u8]) -> Result<(), FormatError>,
) -> Result<usize, Step> {
    match *stage {
        Stage::GzipHeader(h) => {
            *stage = match gzip_header(h, input[0])? {
                Some(h) => Stage::GzipHeader(h),
                None => Stage::Body,
            };
            Ok(1)
        }
        Stage::Sniff(None) => {
            *stage = Stage::Sniff(Some(input[0]));
            Ok(1)
        }
        Stage::Sniff(Some(b0)) => {
            let b1 = input[0];
            let zlib =
                b0 & 0x0f == 8 && b0 >> 4 <= 7 && (u16::from(b0) << 8 | u16::from(b1)) % 31 == 0;
            *z = Decompress::new(zlib);
            *stage = Stage::Body;
            inflate(z, stage, gzip, &[b0, b1], buf, out)?;
            Ok(1)
        }
        Stage::Body => inflate(z, stage, gzip, input, buf, out),
        Stage::GzipTrailer(left) => {
            let n = input.len().min(left as usize);
            *stage = if n == left as usize {
                Stage::Done
            } else {
                Stage::GzipTrailer(left - n as u8)
            };
            Ok(n)
        }
        Stage::Done => {
            if gzip && input[0] == 0x1f {
                *z = Decompress::new(false);
                *stage = Stage::GzipHeader(GzipHeader::Fixed { at: 0, flags: 0 });
                return Ok(0);
            }
            // Trailing garbage after a deflate stream (or gzip padding) is ignored.
            Ok(input.len())
        }
    }
}

fn inflate(
    z: &mut Decompress,
    stage: &mut Stage,
    gzip: bool,
    input: &[u8],
    buf: &mut [u8],
    out: &mut dyn FnMut(&[u8]) -> Result<(), FormatError>,
) -> Result<usize, Step> {
    let mut used = 0;
    loop {
        let (in0, out0) = (z.total_in(), z.total_out());
        let status = z
            .decompress(&input[used..], buf, FlushDecompress::None)
            .map_err(|_| Step::Corrupt("invalid deflate data"))?;
        let consumed = (z.total_in() - in0) as usize;
        let produced = (z.total_out() - out0) as usize;
        used += consumed;
        if produced > 0 {
            out(&buf[..produced]).map_err(Step::Downstream)?;
        }
        if status == Status::StreamEnd {
            *stage = if gzip {
                Stage::GzipTrailer(8)
            } else {
                Stage::Done
            };
            return Ok(used);
        }
        if produced < buf.len() && (used == input.len() || consumed == 0 && produced == 0) {
            return Ok(used);
        }
    }
}

#[cfg(test)]
mod tests;
