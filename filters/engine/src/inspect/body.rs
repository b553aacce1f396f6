//! [`BodyScan`]: one body, pushed chunk by chunk, into deduplicated [`Match`]es.

use std::collections::HashSet;
use std::sync::Arc;

use super::{config, Inspector, Match};
use crate::detect::{FieldContext, Finding};
use crate::formats::{
    BodyParser, ContentInfo, Flags, Format, FormatError, PushParser, Value, ValueSink,
};
use crate::redact::Mask;

/// What to look for in a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanMode {
    /// Sensitive data (responses, and requests with `scan_requests`).
    Sensitive,
    /// Attacks only (request bodies).
    Attacks,
    /// Both (request bodies with `scan_requests` and body attack inspection).
    Both,
}

impl ScanMode {
    fn sensitive(self) -> bool {
        matches!(self, ScanMode::Sensitive | ScanMode::Both)
    }
    fn attacks(self) -> bool {
        matches!(self, ScanMode::Attacks | ScanMode::Both)
    }
}

/// Scans one body. Memory is bounded by the parser limits plus the matches kept.
#[derive(Debug)]
pub struct BodyScan {
    inspector: Arc<Inspector>,
    parser: BodyParser,
    mode: ScanMode,
    matches: Vec<Match>,
    seen: HashSet<(String, u64, u64)>,
    /// Matches found past [`MAX_MATCHES`] since the last take, per category: counted (so
    /// thresholds, rate limits and metrics stay exact) but not kept, so they cannot be masked.
    dropped: Vec<(String, u32)>,
    scratch: Vec<Finding>,
    error: Option<FormatError>,
    scanned: u64,
}

/// Most matches kept (with their masks) between two takes. Matches past it are still counted
/// in [`BodyScan::dropped`]; a caller that must mask every match (redaction) has to treat a
/// non-empty `dropped` as "cannot redact" and apply its fallback.
pub const MAX_MATCHES: usize = 4096;

impl BodyScan {
    pub(super) fn new(
        inspector: Arc<Inspector>,
        info: &ContentInfo<'_>,
        mode: ScanMode,
    ) -> Result<Self, FormatError> {
        let parser = BodyParser::new(info, inspector.limits())?;
        Ok(BodyScan {
            inspector,
            parser,
            mode,
            matches: Vec::new(),
            seen: HashSet::new(),
            dropped: Vec::new(),
            scratch: Vec::new(),
            error: None,
            scanned: 0,
        })
    }

    /// Feeds the next raw (still encoded) chunk. After a parse error the rest is ignored and
    /// [`BodyScan::error`] says why.
    pub fn push(&mut self, chunk: &[u8]) {
        if self.error.is_some() {
            return;
        }
        self.scanned += chunk.len() as u64;
        self.drive(|parser, sink| parser.push(chunk, sink));
    }

    /// Ends the body and reports values still pending.
    pub fn finish(&mut self) {
        if self.error.is_some() {
            return;
        }
        self.drive(|parser, sink| parser.finish(sink));
    }

    /// Runs the parser with the collector borrowing the other fields.
    fn drive(
        &mut self,
        f: impl FnOnce(&mut BodyParser, &mut Collector<'_>) -> Result<(), FormatError>,
    ) {
        let BodyScan {
            inspector,
            parser,
            mode,
            matches,
            seen,
            dropped,
            scratch,
            error,
            ..
        } = self;
        let mut sink = Collector {
            inspector,
            mode: *mode,
            matches,
            seen,
            dropped,
            scratch,
        };
        if let Err(e) = f(parser, &mut sink) {
            *error = Some(e);
        }
    }

    /// Findings so far, in body order of discovery.
    pub fn matches(&self) -> &[Match] {
        &self.matches
    }

    /// Takes the findings, leaving none. Take [`BodyScan::take_dropped`] at the same point.
    pub fn take_matches(&mut self) -> Vec<Match> {
        std::mem::take(&mut self.matches)
    }

    /// Matches not kept since the last take because [`MAX_MATCHES`] were already kept, per
    /// category (sorted). Empty for any ordinary body.
    pub fn dropped(&self) -> &[(String, u32)] {
        &self.dropped
    }

    /// Takes the dropped counts, leaving none.
    pub fn take_dropped(&mut self) -> Vec<(String, u32)> {
        std::mem::take(&mut self.dropped)
    }

    /// Per-category counts of kept and dropped matches, sorted by category.
    pub fn counts(&self) -> Vec<(String, u32)> {
        let mut counts: Vec<(String, u32)> = self.dropped.clone();
        for m in &self.matches {
            match counts.iter_mut().find(|(c, _)| *c == m.category) {
                Some((_, n)) => *n += 1,
                None => counts.push((m.category.clone(), 1)),
            }
        }
        counts.sort();
        counts
    }

    /// Why the body could not be fully parsed, if it could not.
    pub fn error(&self) -> Option<&FormatError> {
        self.error.as_ref()
    }

    pub fn flags(&self) -> Flags {
        self.parser.flags()
    }

    /// The format the body is parsed as.
    pub fn format(&self) -> &Format {
        self.parser.format()
    }

    /// Raw bytes pushed so far.
    pub fn scanned_bytes(&self) -> u64 {
        self.scanned
    }
}

/// The sink that turns parser values into matches; borrows the scan's other fields so the
/// parser can be driven at the same time.
struct Collector<'a> {
    inspector: &'a Inspector,
    mode: ScanMode,
    matches: &'a mut Vec<Match>,
    seen: &'a mut HashSet<(String, u64, u64)>,
    dropped: &'a mut Vec<(String, u32)>,
    scratch: &'a mut Vec<Finding>,
}

impl Collector<'_> {
    fn add(&mut self, v: &Value<'_>, category: &str, start: usize, end: usize) {
        if end <= v.overlap {
            return;
        }
        let text = &v.text[start..end];
        if self.inspector.suppressed(category, text) {
            return;
        }
        let mask = Mask::for_finding(v, start, end);
        let range = match &v.span {
            Some(s) => s.start + start as u64..s.start + end as u64,
            None => v.raw.clone(),
        };
        let key = (category.to_owned(), range.start, range.end);
        if self.matches.len() >= MAX_MATCHES {
            // Counted, not kept: the dedup set stops growing too, so memory stays bounded.
            if !self.seen.contains(&key) {
                match self.dropped.iter_mut().find(|(c, _)| c == category) {
                    Some((_, n)) => *n = n.saturating_add(1),
                    None => {
                        self.dropped.push((category.to_owned(), 1));
                        self.dropped.sort();
                    }
                }
            }
            return;
        }
        if !self.seen.insert(key) {
            return;
        }
        self.matches.push(Match {
            category: category.to_owned(),
            range,
            path: v.path.to_owned(),
            key: v.key.map(str::to_owned),
            value: String::from_utf8_lossy(text).into_owned(),
            mask,
        });
    }
}

impl ValueSink for Collector<'_> {
    fn value(&mut self, v: &Value<'_>) {
        let policy = self.inspector.policy();
        if self.mode.sensitive() && !v.text.is_empty() && v.overlap == 0 {
            if let Some(category) = policy.key_rule_category(v.key, v.path) {
                let category = category.to_owned();
                self.add(v, &category, 0, v.text.len());
            }
            let key_only: Vec<String> = policy
                .custom_categories()
                .iter()
                .filter(|c| c.is_key_only() && c.applies_to_key(v.key))
                .map(|c| c.id.clone())
                .collect();
            for category in key_only {
                self.add(v, &category, 0, v.text.len());
            }
        }
        let ctx = FieldContext {
            key: v.key,
            path: Some(v.path),
            family: v.key_family,
        };
        let mut found = std::mem::take(self.scratch);
        found.clear();
        if self.mode.sensitive() {
            self.inspector
                .detector()
                .scan_value(v.text, &ctx, &mut found);
        }
        if self.mode.attacks() {
            self.inspector
                .detector()
                .scan_attack(v.text, &ctx, &mut found);
        }
        for f in &found {
            let category = f.category.as_str();
            let wanted = if config::is_attack(category) {
                self.mode.attacks()
            } else {
                self.mode.sensitive()
            };
            if wanted {
                self.add(v, category, f.start, f.end);
            }
        }
        *self.scratch = found;
    }
}
