//! Accumulates one value's decoded bytes across chunks and cuts it into overlapping windows.
//!
//! Parsers report short values straight from the chunk (zero copy, see [`emit_slice`]) and
//! fall back to an [`Accum`] only when a value straddles a chunk boundary or needs decoding.
//! The buffer never grows past one window, so memory per parser is `O(max_value_len)`.

use crate::detect::patterns::KeyFamily;
use std::ops::Range;

use super::{Value, ValueKind, ValueSink};

/// One window of a value, ready to be wrapped into a [`super::Value`].
#[derive(Debug)]
pub(crate) struct Piece<'a> {
    pub text: &'a [u8],
    pub span: Option<Range<u64>>,
    pub overlap: usize,
}

/// Reports `text` (at stream offset `off` if verbatim) as one piece, or as overlapping windows
/// of `w` bytes sharing `o` bytes when longer than `w`.
#[inline]
pub(crate) fn emit_slice(
    text: &[u8],
    off: Option<u64>,
    (w, o): (usize, usize),
    emit: &mut impl FnMut(Piece<'_>),
) {
    let span = |a: usize, b: usize| off.map(|s| s + a as u64..s + b as u64);
    if text.len() <= w {
        emit(Piece {
            text,
            span: span(0, text.len()),
            overlap: 0,
        });
        return;
    }
    let mut p = 0;
    loop {
        let end = (p + w).min(text.len());
        emit(Piece {
            text: &text[p..end],
            span: span(p, end),
            overlap: if p == 0 { 0 } else { o },
        });
        if end == text.len() {
            return;
        }
        p += w - o;
    }
}

/// The pending bytes of a value that is not complete yet.
#[derive(Debug, Default)]
pub(crate) struct Accum {
    buf: Vec<u8>,
    /// Stream offset of `buf[0]` while `verbatim`.
    start: u64,
    /// All bytes so far are contiguous verbatim copies of the stream.
    verbatim: bool,
    /// Leading bytes of `buf` already reported in the previous window.
    overlap: usize,
    /// A window of this value was already reported.
    emitted: bool,
}

impl Accum {
    /// Starts a new value.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.verbatim = true;
        self.overlap = 0;
        self.emitted = false;
    }

    /// The bytes held (the tail of the value if windows were already reported).
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Appends bytes; `off` is their stream offset when they are a verbatim copy, `None`
    /// when decoded. Reports a window each time one fills up.
    pub fn extend(
        &mut self,
        mut bytes: &[u8],
        off: Option<u64>,
        (w, o): (usize, usize),
        emit: &mut impl FnMut(Piece<'_>),
    ) {
        self.note_offset(off);
        while !bytes.is_empty() {
            let take = (w - self.buf.len()).min(bytes.len());
            self.buf.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.buf.len() == w {
                self.window(emit);
                self.buf.drain(..w - o);
                self.start += (w - o) as u64;
                self.overlap = o;
                self.emitted = true;
            }
        }
    }

    /// Appends `bytes` if that fills no window (the common case, with no reporting to set
    /// up); returns `false` and does nothing otherwise.
    #[inline]
    pub fn extend_quiet(&mut self, bytes: &[u8], off: Option<u64>, w: usize) -> bool {
        if self.buf.len() + bytes.len() >= w {
            return false;
        }
        self.note_offset(off);
        self.buf.extend_from_slice(bytes);
        true
    }

    /// Tracks whether the value is still a contiguous verbatim slice of the stream.
    #[inline]
    fn note_offset(&mut self, off: Option<u64>) {
        match off {
            None => self.verbatim = false,
            Some(off) if self.buf.is_empty() && !self.emitted => self.start = off,
            Some(off) => {
                if self.start + self.buf.len() as u64 != off {
                    self.verbatim = false;
                }
            }
        }
    }

    /// Reports what is left of the value, unless it was all reported already. The bytes stay
    /// readable through [`Accum::bytes`] until the next [`Accum::clear`].
    pub fn finish(&mut self, emit: &mut impl FnMut(Piece<'_>)) {
        let fresh = if self.emitted {
            self.buf.len() > self.overlap
        } else {
            !self.buf.is_empty()
        };
        if fresh {
            self.window(emit);
        }
    }

    fn window(&self, emit: &mut impl FnMut(Piece<'_>)) {
        emit(Piece {
            text: &self.buf,
            span: self
                .verbatim
                .then(|| self.start..self.start + self.buf.len() as u64),
            overlap: self.overlap,
        });
    }
}

/// Builds the closure that wraps pieces of one value into [`Value`]s for `sink`.
#[inline]
pub(crate) fn emitter<'s>(
    sink: &'s mut dyn ValueSink,
    kind: ValueKind,
    path: &'s str,
    key: Option<&'s str>,
    key_family: Option<Option<KeyFamily>>,
    raw: Range<u64>,
) -> impl FnMut(Piece<'_>) + 's {
    move |p: Piece<'_>| {
        sink.value(&Value {
            text: p.text,
            kind,
            key,
            key_family,
            path,
            span: p.span,
            raw: raw.clone(),
            overlap: p.overlap,
        })
    }
}
