//! Re-homes the values of a part's parser: offsets shift from part-relative to body-absolute,
//! the part's `name` becomes the key (if the value has none) and the path prefix.

use std::ops::Range;

use crate::formats::{Value, ValueKind, ValueSink};

/// Per-part adjustments applied to every value the part's parser reports.
#[derive(Debug)]
pub(super) struct PartSink {
    name: Option<String>,
    /// Body offset of the part's first content byte.
    base: u64,
    /// Reused buffer for the rewritten path.
    path: String,
}

impl PartSink {
    pub fn new(name: Option<String>, base: u64) -> Self {
        Self {
            name,
            base,
            path: String::new(),
        }
    }

    /// Runs `f` with a sink that rewrites values before passing them to `sink`.
    pub fn wrap<R>(
        &mut self,
        sink: &mut dyn ValueSink,
        f: impl FnOnce(&mut dyn ValueSink) -> R,
    ) -> R {
        let mut adapter = |v: &Value<'_>| self.rewrite(v, sink);
        f(&mut adapter)
    }

    fn rewrite(&mut self, v: &Value<'_>, sink: &mut dyn ValueSink) {
        let shift = |r: &Range<u64>| r.start + self.base..r.end + self.base;
        self.path.clear();
        self.path.push('$');
        if let Some(n) = &self.name {
            self.path.push('.');
            self.path.push_str(n);
        }
        self.path.push_str(&v.path[1.min(v.path.len())..]);
        let kind = match v.kind {
            ValueKind::Text => ValueKind::FormValue,
            k => k,
        };
        sink.value(&Value {
            text: v.text,
            kind,
            key: v.key.or(self.name.as_deref()),
            key_family: v.key.and(v.key_family),
            path: &self.path,
            span: v.span.as_ref().map(shift),
            raw: shift(&v.raw),
            overlap: v.overlap,
        });
    }
}
