//! `multipart/*` bodies (form-data, mixed): each part is parsed by the parser for its own
//! `content-type`, with the part's `name` as key and `$.name` as path prefix.
//!
//! The delimiter search keeps only `delimiter length - 1` bytes across chunks, so a part of
//! any size streams through its own parser; part headers are limited to 8 KiB.

mod part;

use memchr::memmem;

use super::dispatch::{BodyParser, ContentInfo};
use super::{Flags, FormatError, Limits, PushParser, ValueSink};
use part::PartSink;

const MAX_HEADERS: usize = 8 * 1024;

/// Extracts the `boundary` parameter of a multipart content type.
pub(crate) fn boundary(content_type: &str) -> Option<String> {
    let b = param(content_type, "boundary")?;
    (!b.is_empty() && b.len() <= 70).then(|| b.to_owned())
}

/// The value of `name=` in a header's `;`-separated parameters, quotes removed.
pub(crate) fn param<'h>(header: &'h str, name: &str) -> Option<&'h str> {
    header.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"'))
    })
}

/// Streaming multipart parser.
pub struct MultipartParser {
    limits: Limits,
    depth: usize,
    /// `\r\n--boundary`.
    delim: Vec<u8>,
    state: State,
    /// Unprocessed bytes; `buf[0]` is at stream offset `buf_at` (−2 at the start, where a
    /// virtual CRLF lets the first delimiter match without one).
    buf: Vec<u8>,
    buf_at: i64,
    part: Option<(Box<BodyParser>, PartSink)>,
    flags: Flags,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Preamble,
    AfterDelimiter,
    Headers,
    Body,
    Epilogue,
}

impl std::fmt::Debug for MultipartParser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultipartParser")
            .field("state", &self.state)
            .field("depth", &self.depth)
            .finish_non_exhaustive()
    }
}

impl MultipartParser {
    /// A parser for parts separated by `boundary`.
    pub fn new(boundary: &str, limits: &Limits) -> Result<Self, FormatError> {
        Self::nested(boundary, limits, 0)
    }

    pub(crate) fn nested(
        boundary: &str,
        limits: &Limits,
        depth: usize,
    ) -> Result<Self, FormatError> {
        if depth >= limits.max_depth {
            return Err(FormatError::Malformed {
                format: "multipart",
                reason: "nested too deep",
            });
        }
        let mut delim = b"\r\n--".to_vec();
        delim.extend_from_slice(boundary.as_bytes());
        Ok(Self {
            limits: limits.clone(),
            depth,
            delim,
            state: State::Preamble,
            buf: b"\r\n".to_vec(),
            buf_at: -2,
            part: None,
            flags: Flags::default(),
        })
    }

    fn consume(&mut self, n: usize) {
        self.buf.drain(..n);
        self.buf_at += n as i64;
    }

    /// Hands body bytes to the current part's parser.
    fn forward(&mut self, n: usize, sink: &mut dyn ValueSink) -> Result<(), FormatError> {
        if let Some((parser, psink)) = self.part.as_mut() {
            psink.wrap(sink, |s| parser.push(&self.buf[..n], s))?;
        }
        self.consume(n);
        Ok(())
    }

    fn end_part(&mut self, sink: &mut dyn ValueSink) -> Result<(), FormatError> {
        if let Some((mut parser, mut psink)) = self.part.take() {
            let r = psink.wrap(sink, |s| parser.finish(s));
            self.flags.merge(parser.flags());
            r?;
        }
        Ok(())
    }

    fn start_part(&mut self, headers: &[u8], body_at: u64) -> Result<(), FormatError> {
        let headers = String::from_utf8_lossy(headers);
        let mut name = None;
        let mut content_type = None;
        for line in headers.split("\r\n") {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let k = k.trim();
            if k.eq_ignore_ascii_case("content-disposition") {
                name = param(v, "name").map(str::to_owned);
            } else if k.eq_ignore_ascii_case("content-type") {
                content_type = Some(v.trim().to_owned());
            }
        }
        let info = ContentInfo {
            content_type: Some(content_type.as_deref().unwrap_or("text/plain")),
            ..ContentInfo::default()
        };
        let parser = BodyParser::nested(&info, &self.limits, self.depth + 1)?;
        self.part = Some((Box::new(parser), PartSink::new(name, body_at)));
        Ok(())
    }

    /// Makes as much progress as the buffer allows.
    fn run(&mut self, sink: &mut dyn ValueSink) -> Result<(), FormatError> {
        loop {
            match self.state {
                State::Preamble | State::Body => match memmem::find(&self.buf, &self.delim) {
                    Some(k) => {
                        if self.state == State::Body {
                            self.forward(k, sink)?;
                            self.end_part(sink)?;
                        } else {
                            self.consume(k);
                        }
                        self.consume(self.delim.len());
                        self.state = State::AfterDelimiter;
                    }
                    None => {
                        let safe = self.buf.len().saturating_sub(self.delim.len() - 1);
                        if self.state == State::Body {
                            self.forward(safe, sink)?;
                        } else {
                            self.consume(safe);
                        }
                        return Ok(());
                    }
                },
                State::AfterDelimiter => {
                    if self.buf.len() < 2 {
                        return Ok(());
                    }
                    if self.buf.starts_with(b"--") {
                        self.state = State::Epilogue;
                        continue;
                    }
                    match memmem::find(&self.buf, b"\r\n") {
                        Some(k) => {
                            self.consume(k + 2);
                            self.state = State::Headers;
                        }
                        None => return self.check_header_size(),
                    }
                }
                State::Headers => {
                    let end = if self.buf.starts_with(b"\r\n") {
                        Some((0, 2))
                    } else {
                        memmem::find(&self.buf, b"\r\n\r\n").map(|k| (k, k + 4))
                    };
                    let Some((k, skip)) = end else {
                        return self.check_header_size();
                    };
                    let body_at = (self.buf_at + skip as i64) as u64;
                    let headers = self.buf[..k].to_vec();
                    self.start_part(&headers, body_at)?;
                    self.consume(skip);
                    self.state = State::Body;
                }
                State::Epilogue => {
                    let n = self.buf.len();
                    self.consume(n);
                    return Ok(());
                }
            }
        }
    }

    fn check_header_size(&self) -> Result<(), FormatError> {
        if self.buf.len() > MAX_HEADERS {
            return Err(FormatError::Malformed {
                format: "multipart",
                reason: "part headers too long",
            });
        }
        Ok(())
    }
}

impl PushParser for MultipartParser {
    fn push(&mut self, chunk: &[u8], sink: &mut dyn ValueSink) -> Result<(), FormatError> {
        self.buf.extend_from_slice(chunk);
        self.run(sink)
    }

    fn finish(&mut self, sink: &mut dyn ValueSink) -> Result<(), FormatError> {
        if self.state == State::Body {
            let n = self.buf.len();
            self.forward(n, sink)?;
        }
        if self.state != State::Epilogue {
            self.flags.truncated = true;
        }
        self.end_part(sink)
    }

    fn flags(&self) -> Flags {
        self.flags
    }
}

#[cfg(test)]
mod tests;
