//! The value model shared by every parser: what is reported, where it came from, and the
//! limits that bound a parser's memory.

use std::ops::Range;

use crate::detect::patterns::KeyFamily;

/// One decoded value found in a body, borrowed for the duration of [`ValueSink::value`].
///
/// `text` is what the detector scans. `span` is set only when `text` is a verbatim copy of
/// bytes of the decoded body, so a finding at `text[a..b]` maps to body bytes
/// `span.start + a .. span.start + b` and redaction can rewrite exactly those bytes. When the
/// value had escapes (JSON `\n`, `\u00e9`, form `%41`/`+`, HTML `&amp;`) or came out of a
/// compressed gRPC frame, `span` is `None` and redaction masks the whole token that starts
/// at `raw.start` instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value<'a> {
    /// Decoded bytes to scan (usually UTF-8, not guaranteed: invalid input is passed on).
    pub text: &'a [u8],
    /// Which syntactic element this is.
    pub kind: ValueKind,
    /// The nearest field name: JSON member key (array elements inherit the array's key),
    /// form or multipart field name, protobuf field number ("3"), HTML attribute name.
    pub key: Option<&'a str>,
    /// The key's field family, when the parser already knows it: the JSON parser computes it
    /// once per distinct key (its key cache), instead of once per value. `None`: not known,
    /// the detector works it out from `key`.
    pub key_family: Option<Option<KeyFamily>>,
    /// JSONPath-like location: `$.user.ssn`, `$.items[2].card`, proto `$.1.3`, form `$.card`.
    /// Segments are written unescaped; `$` alone for top-level values and plain text.
    pub path: &'a str,
    /// Body bytes `text` was copied from verbatim, if it was.
    pub span: Option<Range<u64>>,
    /// The whole raw token in the decoded body (a JSON string including its quotes, a form
    /// value, an attribute value). For a window of a long value, `raw.end` is the position
    /// reached so far.
    pub raw: Range<u64>,
    /// Leading bytes of `text` that were already reported at the end of the previous window
    /// of the same value. Findings ending within `text[..overlap]` are duplicates.
    pub overlap: usize,
}

/// The syntactic element a [`Value`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueKind {
    /// A JSON string member value or array element.
    JsonString,
    /// A JSON object key (scanned too: maps keyed by e-mail or card number exist).
    JsonKey,
    /// A JSON number, verbatim (`4111111111111111`, `1.5e3`).
    JsonNumber,
    /// A form-urlencoded or multipart field value.
    FormValue,
    /// A form-urlencoded field name.
    FormName,
    /// HTML text content, comments, and `<script>`/`<style>` contents.
    HtmlText,
    /// An HTML attribute value.
    HtmlAttr,
    /// A protobuf length-delimited field that decoded as UTF-8 text (or opaque bytes).
    ProtoString,
    /// A protobuf varint or fixed-width field, rendered in decimal.
    ProtoNumber,
    /// A window of plain text (also the fallback for malformed structured bodies).
    Text,
}

/// Receives values from a parser.
pub trait ValueSink {
    /// Called once per value (or per window of a long value).
    fn value(&mut self, v: &Value<'_>);
}

impl<F: FnMut(&Value<'_>)> ValueSink for F {
    fn value(&mut self, v: &Value<'_>) {
        self(v)
    }
}

/// The interface every push parser shares, so parsers nest (multipart parts, fallbacks)
/// and tests can drive them uniformly.
pub trait PushParser {
    /// Feeds the next chunk of the body.
    fn push(&mut self, chunk: &[u8], sink: &mut dyn ValueSink) -> Result<(), FormatError>;
    /// Signals the end of the body; reports values still pending.
    fn finish(&mut self, sink: &mut dyn ValueSink) -> Result<(), FormatError>;
    /// Observations so far.
    fn flags(&self) -> Flags;
}

/// Bounds on a parser's memory and work. Defaults suit API traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Longest text reported at once; longer values arrive as overlapping windows.
    pub max_value_len: usize,
    /// Bytes shared by consecutive windows: the longest match guaranteed to be seen whole.
    pub window_overlap: usize,
    /// Deepest JSON/protobuf/multipart nesting accepted.
    pub max_depth: usize,
    /// Most bytes a `Content-Encoding`/`grpc-encoding` decoder may produce (bomb bound).
    pub max_decoded_bytes: u64,
    /// Largest protobuf message buffered for the schemaless walk (bare body or gRPC frame).
    pub max_message_len: usize,
    /// Scan bodies of unknown or binary content types as plain text instead of skipping.
    pub unknown_as_text: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_value_len: 16 * 1024,
            window_overlap: 512,
            max_depth: 64,
            max_decoded_bytes: 64 * 1024 * 1024,
            max_message_len: 4 * 1024 * 1024,
            unknown_as_text: false,
        }
    }
}

impl Limits {
    /// The window length and overlap actually used: the window is at least twice the overlap
    /// (and at least 16 bytes) so windows always advance.
    pub(crate) fn window(&self) -> (usize, usize) {
        let overlap = self.window_overlap;
        (
            self.max_value_len.max(overlap.saturating_mul(2)).max(16),
            overlap,
        )
    }
}

/// Why a body could not be fully parsed. Parsers never panic on bad input; after an error,
/// further `push` calls are ignored unless the parser documents a fallback.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// A decoder would exceed [`Limits::max_decoded_bytes`].
    #[error("decoded body exceeds {limit} bytes")]
    DecodedTooLarge { limit: u64 },
    /// Compressed data is corrupt.
    #[error("corrupt {encoding} data: {reason}")]
    Corrupt {
        encoding: &'static str,
        reason: &'static str,
    },
    /// A content or grpc encoding this crate cannot decode.
    #[error("unsupported encoding {0:?}")]
    UnsupportedEncoding(String),
    /// A protobuf message or gRPC frame is larger than [`Limits::max_message_len`].
    #[error("message of {len} bytes exceeds {limit}")]
    MessageTooLarge { len: u64, limit: usize },
    /// The body ended inside a frame or message.
    #[error("body truncated inside a {0}")]
    Truncated(&'static str),
    /// Structural error in a format without a text fallback (protobuf, multipart).
    #[error("malformed {format}: {reason}")]
    Malformed {
        format: &'static str,
        reason: &'static str,
    },
}

/// Non-fatal observations about a body, for metrics and the filter's fallback decisions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    /// A structured body was malformed (or nested too deep); the rest was scanned as text.
    pub fell_back_to_text: bool,
    /// The body ended in the middle of a value or document.
    pub truncated: bool,
    /// Part of the body was not scanned (unknown content type, undecodable part).
    pub skipped: bool,
}

impl Flags {
    /// Combines the observations of nested parsers.
    pub fn merge(&mut self, other: Flags) {
        self.fell_back_to_text |= other.fell_back_to_text;
        self.truncated |= other.truncated;
        self.skipped |= other.skipped;
    }
}
