//! Helpers for the parser tests: owned values and split-invariance checks.

use std::ops::Range;

use super::{Flags, FormatError, PushParser, Value, ValueKind};

/// A [`Value`] copied out of the sink. `raw.end` of a window depends on chunking, so only
/// `raw.start` is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owned {
    /// `text` lossily decoded; `len` is the byte length of the original.
    pub text: String,
    pub len: usize,
    pub kind: ValueKind,
    pub key: Option<String>,
    pub path: String,
    pub span: Option<Range<u64>>,
    pub raw_start: u64,
    pub overlap: usize,
}

impl Owned {
    pub fn of(v: &Value<'_>) -> Self {
        Self {
            text: String::from_utf8_lossy(v.text).into_owned(),
            len: v.text.len(),
            kind: v.kind,
            key: v.key.map(str::to_owned),
            path: v.path.to_owned(),
            span: v.span.clone(),
            raw_start: v.raw.start,
            overlap: v.overlap,
        }
    }
}

/// What one run produced.
#[derive(Debug, PartialEq, Eq)]
pub struct Run {
    pub values: Vec<Owned>,
    pub result: Result<(), FormatError>,
    pub flags: Flags,
}

/// Feeds `chunks` then finishes; stops at the first error like a filter would.
pub fn run<'a>(p: &mut dyn PushParser, chunks: impl IntoIterator<Item = &'a [u8]>) -> Run {
    let mut values = Vec::new();
    let mut sink = |v: &Value<'_>| values.push(Owned::of(v));
    let mut result = Ok(());
    for c in chunks {
        result = p.push(c, &mut sink);
        if result.is_err() {
            break;
        }
    }
    if result.is_ok() {
        result = p.finish(&mut sink);
    }
    let flags = p.flags();
    Run {
        values,
        result,
        flags,
    }
}

/// Deterministic pseudo-random numbers (xorshift64*), enough for chunk sizes.
pub struct Rng(pub u64);

impl Rng {
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n.max(1)
    }
}

/// Runs `input` whole, split at every position, byte by byte and in random chunkings,
/// asserts every run gives the same values, flags and result, and returns the whole run.
pub fn split_invariant(make: &dyn Fn() -> Box<dyn PushParser>, input: &[u8]) -> Run {
    let whole = run(&mut *make(), [input]);
    let check = |chunks: Vec<&[u8]>, what: &str| {
        let r = run(&mut *make(), chunks);
        assert_eq!(r, whole, "{what} differs from the whole-body run");
    };
    let step = (input.len() / 300).max(1);
    for at in (0..=input.len()).step_by(step) {
        check(vec![&input[..at], &input[at..]], &format!("split at {at}"));
    }
    check(input.chunks(1).collect(), "byte by byte");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ input.len() as u64);
    for round in 0..20 {
        let mut chunks = Vec::new();
        let mut rest = input;
        while !rest.is_empty() {
            let n = 1 + rng.below(rest.len().min(64));
            chunks.push(&rest[..n]);
            rest = &rest[n..];
        }
        check(chunks, &format!("random chunking {round}"));
    }
    whole
}
