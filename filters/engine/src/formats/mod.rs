//! Content parsing: turns HTTP bodies into the values a detector scans.
//!
//! Every parser is a *push* parser: the filter hands it body chunks as they arrive
//! (`push(chunk, sink)`, then `finish(sink)`) and it reports each decoded value to a
//! [`ValueSink`]. Memory is bounded by [`Limits`]: values longer than
//! [`Limits::max_value_len`] are reported as overlapping windows, nesting deeper than
//! [`Limits::max_depth`] is an error, decoders stop at [`Limits::max_decoded_bytes`].
//! A value split across two `push` calls is still reported whole (or, if long, in windows
//! whose overlap guarantees that any match of up to [`Limits::window_overlap`] bytes is
//! seen whole in one window).
//!
//! Offsets (`span`, `raw`) are absolute byte positions in the *decoded* body stream, i.e.
//! after `Content-Encoding` is undone. Redaction ([`crate::redact`]) rewrites that decoded
//! form, so the filter drops `content-encoding` and fixes `content-length` when it redacts.
//!
//! Use [`BodyParser`] to pick the pipeline from the response headers; the individual
//! parsers are public for callers that already know the format. All parsers implement
//! [`PushParser`].
//!
//! | content type | parser | values |
//! |---|---|---|
//! | `*/json`, `*+json`, NDJSON | [`JsonParser`] | strings, numbers, keys |
//! | `application/grpc*` | [`GrpcParser`] | every message, walked as protobuf |
//! | `application/x-protobuf` | [`ProtoParser`] | strings/bytes, numbers |
//! | `text/html` | [`HtmlParser`] | text, comments, scripts, attribute values |
//! | `application/x-www-form-urlencoded` | [`FormParser`] | names, values |
//! | `multipart/*` | [`MultipartParser`] | each part by its own content type |
//! | `text/*`, XML, absent | [`TextParser`] | overlapping windows |
//!
//! ```
//! use microwaf_engine::formats::{BodyParser, ContentInfo, Limits, PushParser, Value};
//! use microwaf_engine::redact::{redact, Mask, RedactFormat};
//!
//! let body = br#"{"user":{"ssn":"078-05-1120","card":4111111111111111}}"#;
//! let info = ContentInfo { content_type: Some("application/json"), ..Default::default() };
//! let mut parser = BodyParser::new(&info, &Limits::default())?;
//! let mut masks = Vec::new();
//! let mut sink = |v: &Value<'_>| {
//!     // A detector would run here; pretend every value under `$.user` is sensitive.
//!     if v.path.starts_with("$.user.") {
//!         masks.push(Mask::for_finding(v, 0, v.text.len()));
//!     }
//! };
//! parser.push(&body[..20], &mut sink)?; // chunks may split values anywhere
//! parser.push(&body[20..], &mut sink)?;
//! parser.finish(&mut sink)?;
//! let out = redact(body, RedactFormat::from(parser.format()), &masks);
//! assert_eq!(out, br#"{"user":{"ssn":"***********","card":"****************"}}"#);
//! # Ok::<(), microwaf_engine::formats::FormatError>(())
//! ```

mod accum;
mod decimal;
mod decode;
mod dispatch;
mod form;
mod grpc;
mod html;
mod json;
mod multipart;
mod proto;
mod text;
mod value;

pub use decode::{ContentDecoder, Encoding};
pub use dispatch::{BodyParser, ContentInfo, Format};
pub use form::FormParser;
pub use grpc::GrpcParser;
pub use html::HtmlParser;
pub use json::JsonParser;
pub use multipart::MultipartParser;
#[cfg(test)]
pub(crate) use proto::tests as proto_tests;
pub use proto::{scan_message, ProtoParser};
pub use text::TextParser;
#[cfg(test)]
pub(crate) mod testutil;

pub use value::{Flags, FormatError, Limits, PushParser, Value, ValueKind, ValueSink};

#[cfg(test)]
mod tests;
