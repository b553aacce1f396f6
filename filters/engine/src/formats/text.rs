//! Plain text: the body itself, cut into overlapping windows.

use super::accum::{Accum, Piece};
use super::{Flags, FormatError, Limits, PushParser, Value, ValueKind, ValueSink};

/// Reports a body as [`ValueKind::Text`] windows of [`Limits::max_value_len`] bytes that
/// overlap by [`Limits::window_overlap`], with `span` set (text is always verbatim).
#[derive(Debug)]
pub struct TextParser {
    wo: (usize, usize),
    acc: Accum,
    off: u64,
}

impl TextParser {
    /// A parser for a body starting at stream offset 0.
    pub fn new(limits: &Limits) -> Self {
        Self::at(limits, 0)
    }

    /// A parser whose first byte is at stream offset `off` (fallback after a structured
    /// parser gave up part-way).
    pub(crate) fn at(limits: &Limits, off: u64) -> Self {
        let mut acc = Accum::default();
        acc.clear();
        Self {
            wo: limits.window(),
            acc,
            off,
        }
    }
}

impl PushParser for TextParser {
    fn flags(&self) -> Flags {
        Flags::default()
    }

    /// Feeds the next chunk.
    fn push(&mut self, chunk: &[u8], sink: &mut dyn ValueSink) -> Result<(), FormatError> {
        let off = self.off;
        self.off += chunk.len() as u64;
        self.acc
            .extend(chunk, Some(off), self.wo, &mut |p| text_value(sink, p));
        Ok(())
    }

    /// Reports the last window.
    fn finish(&mut self, sink: &mut dyn ValueSink) -> Result<(), FormatError> {
        self.acc.finish(&mut |p| text_value(sink, p));
        self.acc.clear();
        Ok(())
    }
}

/// Text is verbatim, so its raw token is its span.
fn text_value(sink: &mut dyn ValueSink, p: Piece<'_>) {
    let raw = p.span.clone().unwrap_or(0..0);
    sink.value(&Value {
        text: p.text,
        kind: ValueKind::Text,
        key: None,
        key_family: None,
        path: "$",
        span: p.span,
        raw,
        overlap: p.overlap,
    })
}
