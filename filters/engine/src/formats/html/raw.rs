//! Raw-text content: comments and `<script>`/`<style>` bodies run until a closing pattern,
//! which may straddle chunks, so its matched prefix is held back until it completes or fails.

use memchr::memchr;

use super::{HtmlParser, St, ValueSink};

pub(super) const COMMENT_END: &[u8] = b"-->";

impl HtmlParser {
    /// Consumes raw text up to and including `pattern` (ASCII case-insensitive); returns
    /// the index after what was consumed.
    pub(super) fn raw_text(
        &mut self,
        chunk: &[u8],
        mut i: usize,
        base: u64,
        pattern: &'static [u8],
        sink: &mut dyn ValueSink,
    ) -> usize {
        while i < chunk.len() {
            let at = base + i as u64;
            if self.held == 0 {
                let run = memchr(pattern[0], &chunk[i..]).unwrap_or(chunk.len() - i);
                if run > 0 {
                    self.extend(&chunk[i..i + run], Some(at), sink);
                    i += run;
                    continue;
                }
            }
            let b = chunk[i];
            if b.to_ascii_lowercase() == pattern[self.held] {
                self.held += 1;
                i += 1;
                if self.held == pattern.len() {
                    self.held = 0;
                    self.end_value(sink);
                    if pattern == COMMENT_END {
                        self.state = St::Text;
                        self.tok = at + 1;
                    } else {
                        self.state = St::SkipToGt;
                    }
                    return i;
                }
            } else if pattern == COMMENT_END && self.held == 2 && b == b'-' {
                // `--->`: the first dash is content, the last two may still end the comment.
                self.extend(b"-", None, sink);
                i += 1;
            } else {
                self.flush_held(pattern, sink);
            }
        }
        i
    }

    /// Releases a partial closing pattern as content.
    pub(super) fn flush_held(&mut self, pattern: &'static [u8], sink: &mut dyn ValueSink) {
        let n = std::mem::take(&mut self.held);
        if n > 0 {
            self.extend(&pattern[..n], None, sink);
        }
    }
}
