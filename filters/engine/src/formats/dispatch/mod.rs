//! Picks the pipeline for a body from its headers: `content-encoding` decoder, then the
//! parser for the `content-type` (gRPC frames use `grpc-encoding` themselves).

use super::decode::{ContentDecoder, Encoding};
use super::multipart::{boundary, MultipartParser};
use super::{
    Flags, FormParser, FormatError, GrpcParser, HtmlParser, JsonParser, Limits, ProtoParser,
    PushParser, TextParser, ValueSink,
};

/// The headers that decide how a body is parsed.
#[derive(Debug, Clone, Copy, Default)]
pub struct ContentInfo<'a> {
    /// `content-type`, parameters included.
    pub content_type: Option<&'a str>,
    /// `content-encoding`.
    pub content_encoding: Option<&'a str>,
    /// `grpc-encoding` (compression of gRPC frames with the compressed flag).
    pub grpc_encoding: Option<&'a str>,
}

/// The parser a content type maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// JSON, NDJSON and `+json` types: [`JsonParser`].
    Json,
    /// gRPC and gRPC-Web (binary) frames: [`GrpcParser`].
    Grpc,
    /// A bare protobuf message: [`ProtoParser`].
    Protobuf,
    /// HTML and XHTML: [`HtmlParser`].
    Html,
    /// `application/x-www-form-urlencoded`: [`FormParser`].
    Form,
    /// multipart/*, with its boundary: [`MultipartParser`].
    Multipart(String),
    /// Text, XML, YAML, absent content type: [`TextParser`].
    Text,
    /// Not scanned (binary or unknown with [`Limits::unknown_as_text`] off).
    Skip,
}

impl Format {
    /// Maps a `content-type` header; `None` (absent) is scanned as text.
    pub fn from_content_type(content_type: Option<&str>, limits: &Limits) -> Self {
        let Some(ct) = content_type else {
            return Self::Text;
        };
        let mime = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let (ty, sub) = mime.split_once('/').unwrap_or((mime.as_str(), ""));
        match (ty, sub) {
            (_, "json" | "x-ndjson" | "ndjson" | "jsonl" | "x-jsonlines" | "json-seq") => {
                Self::Json
            }
            (_, s) if s.ends_with("+json") => Self::Json,
            // gRPC-Web text mode is base64 of the frames: not decoded, scanned as text.
            ("application", s) if s.starts_with("grpc-web-text") => Self::Text,
            ("application", s) if s.starts_with("grpc") => Self::Grpc,
            (
                "application",
                "x-protobuf" | "protobuf" | "x-google-protobuf" | "vnd.google.protobuf",
            ) => Self::Protobuf,
            ("text", "html") | ("application", "xhtml+xml") => Self::Html,
            ("application", "x-www-form-urlencoded") => Self::Form,
            ("multipart", _) => match boundary(ct) {
                Some(b) => Self::Multipart(b),
                None => Self::Text,
            },
            ("text", _)
            | (
                "application",
                "xml" | "javascript" | "ecmascript" | "graphql" | "yaml" | "x-yaml" | "sql" | "csv",
            ) => Self::Text,
            (_, s) if s.ends_with("+xml") || s.ends_with("+yaml") => Self::Text,
            _ if limits.unknown_as_text => Self::Text,
            _ => Self::Skip,
        }
    }
}

/// The whole pipeline for one body: decoder (if any) then the format's parser.
pub struct BodyParser {
    format: Format,
    decoder: Option<ContentDecoder>,
    parser: Option<Box<dyn PushParser>>,
    error: Option<FormatError>,
    /// A copy of the decoded body for redaction, see [`BodyParser::keep_decoded`].
    kept: Option<Kept>,
}

/// The decoded body kept for redaction, dropped once it would exceed `limit`.
#[derive(Debug)]
struct Kept {
    body: Vec<u8>,
    limit: usize,
    overflowed: bool,
}

impl Kept {
    fn add(&mut self, piece: &[u8]) {
        if self.overflowed {
            return;
        }
        if self.body.len() + piece.len() > self.limit {
            self.overflowed = true;
            self.body = Vec::new();
        } else {
            self.body.extend_from_slice(piece);
        }
    }
}

impl std::fmt::Debug for BodyParser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyParser")
            .field("format", &self.format)
            .field("decoder", &self.decoder)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl BodyParser {
    /// Builds the pipeline; fails only for a `content-encoding`/`grpc-encoding` this crate
    /// cannot decode (the filter then decides: pass with an alert or fail closed).
    pub fn new(info: &ContentInfo<'_>, limits: &Limits) -> Result<Self, FormatError> {
        Self::nested(info, limits, 0)
    }

    pub(crate) fn nested(
        info: &ContentInfo<'_>,
        limits: &Limits,
        depth: usize,
    ) -> Result<Self, FormatError> {
        let format = Format::from_content_type(info.content_type, limits);
        let decoder = content_decoder(info.content_encoding, limits)?;
        let parser: Option<Box<dyn PushParser>> = match &format {
            Format::Json => Some(Box::new(JsonParser::new(limits))),
            Format::Grpc => {
                let enc = Encoding::parse(info.grpc_encoding.unwrap_or("identity"))?;
                Some(Box::new(GrpcParser::new(limits, enc)))
            }
            Format::Protobuf => Some(Box::new(ProtoParser::new(limits))),
            Format::Html => Some(Box::new(HtmlParser::new(limits))),
            Format::Form => Some(Box::new(FormParser::new(limits))),
            Format::Multipart(b) => Some(Box::new(MultipartParser::nested(b, limits, depth)?)),
            Format::Text => Some(Box::new(TextParser::new(limits))),
            Format::Skip => None,
        };
        Ok(Self {
            format,
            decoder,
            parser,
            error: None,
            kept: None,
        })
    }

    /// Keeps a copy of the decoded body (what [`crate::redact::redact`] rewrites) of up to
    /// `limit` bytes. Call before the first `push`. A body that grows past `limit` is
    /// dropped and [`BodyParser::decoded_body`] returns `None`, while scanning goes on, so
    /// the filter can apply its fallback (pass with an alert, or fail closed).
    pub fn keep_decoded(&mut self, limit: usize) {
        self.kept = Some(Kept {
            body: Vec::new(),
            limit,
            overflowed: false,
        });
    }

    /// The decoded body kept so far, if [`BodyParser::keep_decoded`] was called and the
    /// body stayed within its limit.
    pub fn decoded_body(&self) -> Option<&[u8]> {
        self.kept
            .as_ref()
            .filter(|k| !k.overflowed)
            .map(|k| k.body.as_slice())
    }

    /// The format chosen.
    pub fn format(&self) -> &Format {
        &self.format
    }

    /// Decoded bytes produced so far (equals the body length without `content-encoding`).
    pub fn decoded_len(&self) -> Option<u64> {
        self.decoder.as_ref().map(ContentDecoder::total_out)
    }
}

impl PushParser for BodyParser {
    /// Feeds the next raw body chunk. After an error, every later call returns it again.
    fn push(&mut self, chunk: &[u8], sink: &mut dyn ValueSink) -> Result<(), FormatError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if self.parser.is_none() && self.kept.is_none() {
            return Ok(());
        }
        let kept = &mut self.kept;
        let mut forward = |piece: &[u8]| {
            if let Some(k) = kept.as_mut() {
                k.add(piece);
            }
            match self.parser.as_mut() {
                Some(p) => p.push(piece, sink),
                None => Ok(()),
            }
        };
        let r = match self.decoder.as_mut() {
            Some(d) => d.push(chunk, &mut forward),
            None => forward(chunk),
        };
        if let Err(e) = &r {
            self.error = Some(e.clone());
        }
        r
    }

    fn finish(&mut self, sink: &mut dyn ValueSink) -> Result<(), FormatError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let r = (|| {
            if let Some(d) = self.decoder.as_mut() {
                d.finish()?;
            }
            match self.parser.as_mut() {
                Some(p) => p.finish(sink),
                None => Ok(()),
            }
        })();
        if let Err(e) = &r {
            self.error = Some(e.clone());
        }
        r
    }

    fn flags(&self) -> Flags {
        let mut f = self.parser.as_ref().map(|p| p.flags()).unwrap_or_default();
        f.skipped |= self.parser.is_none();
        if matches!(self.error, Some(FormatError::Truncated(_))) {
            f.truncated = true;
        }
        f
    }
}

/// One decoder for `content-encoding`; stacked codings (`gzip, br`) are refused.
fn content_decoder(
    header: Option<&str>,
    limits: &Limits,
) -> Result<Option<ContentDecoder>, FormatError> {
    let Some(h) = header else { return Ok(None) };
    let mut codings = h
        .split(',')
        .map(Encoding::parse)
        .filter(|e| !matches!(e, Ok(Encoding::Identity)));
    match (codings.next(), codings.next()) {
        (None, _) => Ok(None),
        (Some(e), None) => Ok(Some(ContentDecoder::new(e?, limits))),
        (Some(_), Some(_)) => Err(FormatError::UnsupportedEncoding(h.trim().to_owned())),
    }
}

#[cfg(test)]
mod tests;
