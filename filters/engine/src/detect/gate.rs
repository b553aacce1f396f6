//! [`RawGate`]: one pass over a whole body that tells which values the raw scan can skip.
//!
//! Why: a JSON body is mostly short values, and scanning each one on its own (a DFA search set
//! up per value, a digit loop per value) cost more than the bytes themselves — 40 % of a 4 KiB
//! API body's scan in the profile of 2026-12-02. The gate walks the raw DFA and a digit counter
//! over the decoded body once, in a tight loop, and records *events*: every place where a raw
//! finding could start. A value whose bytes hold no event cannot produce a raw finding, so its
//! raw scan is skipped; its key context is still checked (see `Detector::scan_value_keyed`).
//!
//! Why it never skips a value that has a finding (the gate may over-report, never under-report):
//! - **Digit runs.** A numeric finding needs a run of ≥ 8 digits joined only by ` .-/()+`.
//!   The gate tracks maximal runs of digits and those bytes; once one holds 8 digits it becomes
//!   an event *range* covering the whole run, so any value lying inside it overlaps it.
//! - **DFA candidates.** The raw DFA is leftmost-first and unanchored: once a match state is
//!   reached it stops starting new threads. The gate therefore restarts from the start state
//!   at every match state (re-reading that byte) and records the position as an event. A
//!   pattern matching `p..q` inside a value then always yields an event at some position in
//!   `p..=q` (matches are reported one byte late by the DFA, hence `q`): either the walk is
//!   still carrying the thread that started at `p` and enters a match state by `q`, or an
//!   earlier restart between `p` and `q` was itself such an event.
//! - Values that are not verbatim slices of the walked bytes (escaped strings, decoded frames,
//!   nested parsers) are never gated: the caller asks only for verbatim spans, and a span that
//!   is not entirely inside the walked bytes, or that reaches its last byte, is not quiet.
//!
//! Memory is bounded: past [`MAX_EVENTS`] pending events the gate gives up for the rest of
//! the body (every value is scanned in full, as without a gate).

use std::ops::Range;

use regex_automata::dfa::Automaton;
use regex_automata::util::primitives::StateID;
use regex_automata::Anchored;

use super::automata::{builtins, Dfa};

/// Pending events kept at most; a body with more (e.g. hostile `@@@@…`) is scanned without
/// the gate.
pub const MAX_EVENTS: usize = 4096;

/// Digits in a run from which a numeric finding is possible (`raw::numbers` skips shorter runs).
const MIN_DIGITS: u32 = 8;

/// The end of a digit run's event while the run goes on.
const OPEN: u64 = u64::MAX;

const OTHER: u8 = 0;
const DIGIT: u8 = 1;
/// Bytes that may join digit groups of one number: ` .-/()+`.
const JOINER: u8 = 2;

const DIGIT_CLASS: [u8; 256] = {
    let mut t = [OTHER; 256];
    let mut b = b'0';
    while b <= b'9' {
        t[b as usize] = DIGIT;
        b += 1;
    }
    let joiners = b" .-/()+";
    let mut i = 0;
    while i < joiners.len() {
        t[joiners[i] as usize] = JOINER;
        i += 1;
    }
    t
};

/// See the module docs.
#[derive(Debug)]
pub struct RawGate {
    dfa: &'static Dfa,
    start: StateID,
    state: StateID,
    /// Stream offset of the next byte to walk.
    walked: u64,
    /// Pending event ranges `(first, last)` (inclusive), sorted by `first`.
    events: Vec<(u64, u64)>,
    /// The current digit run: where it starts, its digits, and its event once it has one.
    run_start: u64,
    run_digits: u32,
    run_event: Option<usize>,
    /// Too many events, or bytes not walked in order: nothing is quiet for the rest of the body.
    off: bool,
}

impl Default for RawGate {
    fn default() -> Self {
        Self::new()
    }
}

impl RawGate {
    /// A gate for a body starting at stream offset 0.
    pub fn new() -> RawGate {
        let dfa = builtins().raw.forward();
        // Always `Some`: the raw patterns have no look-around (see `patterns`). Were it not,
        // the gate would stay off and every value would be scanned in full.
        let start = dfa.universal_start_state(Anchored::No);
        RawGate {
            dfa,
            start: start.unwrap_or(StateID::ZERO),
            state: start.unwrap_or(StateID::ZERO),
            walked: 0,
            events: Vec::new(),
            run_start: 0,
            run_digits: 0,
            run_event: None,
            off: start.is_none(),
        }
    }

    /// Walks the next bytes of the stream, which start at offset `base`. Bytes out of order
    /// (a gap or an overlap with what was walked) turn the gate off for the rest of the body.
    pub fn walk(&mut self, base: u64, bytes: &[u8]) {
        if self.off {
            return;
        }
        if base != self.walked {
            self.turn_off();
            return;
        }
        // The loop keeps its state in locals: it runs once per body byte, and field updates
        // through `&mut self` kept it from staying in registers (5 ns/byte measured).
        let dfa = self.dfa;
        let (mut state, mut run_start, mut run_digits) =
            (self.state, self.run_start, self.run_digits);
        let events = &mut self.events;
        let run_event = &mut self.run_event;
        macro_rules! step {
            ($b:expr, $i:expr) => {{
                let (b, at) = ($b, base + $i as u64);
                match DIGIT_CLASS[b as usize] {
                    DIGIT => {
                        if run_digits == 0 {
                            run_start = at;
                        }
                        run_digits = run_digits.saturating_add(1);
                        if run_digits == MIN_DIGITS {
                            // Kept sorted by start: DFA events inside this run came first.
                            let k = events.partition_point(|&(first, _)| first < run_start);
                            events.insert(k, (run_start, OPEN));
                            *run_event = Some(k);
                        }
                    }
                    JOINER => {}
                    _ => {
                        if run_digits != 0 {
                            run_digits = 0;
                            // The run's event (if any) ends before this byte.
                            if let Some(k) = run_event.take() {
                                events[k].1 = at - 1;
                            }
                        }
                    }
                }
                // SAFETY: `state` is always a state of `dfa`: its start state or a state a
                // transition of `dfa` returned.
                state = unsafe { dfa.next_state_unchecked(state, b) };
                if dfa.is_special_state(state)
                    && (dfa.is_match_state(state)
                        || dfa.is_dead_state(state)
                        || dfa.is_quit_state(state))
                {
                    events.push((at, at));
                    // SAFETY: as above, `self.start` is `dfa`'s start state.
                    state = unsafe { dfa.next_state_unchecked(self.start, b) };
                }
            }};
        }
        // Blocks of 16 bytes, unrolled: Wasmtime's epoch interruption checks the deadline at
        // every loop head, and a per-byte loop paid that check on every byte (20 % of the
        // engine's time in wasm); here it is paid once per block.
        let mut blocks = bytes.chunks_exact(16);
        let mut i = 0usize;
        for block in &mut blocks {
            let block: &[u8; 16] = block.try_into().expect("chunks_exact(16)");
            step!(block[0], i);
            step!(block[1], i + 1);
            step!(block[2], i + 2);
            step!(block[3], i + 3);
            step!(block[4], i + 4);
            step!(block[5], i + 5);
            step!(block[6], i + 6);
            step!(block[7], i + 7);
            step!(block[8], i + 8);
            step!(block[9], i + 9);
            step!(block[10], i + 10);
            step!(block[11], i + 11);
            step!(block[12], i + 12);
            step!(block[13], i + 13);
            step!(block[14], i + 14);
            step!(block[15], i + 15);
            i += 16;
        }
        for &b in blocks.remainder() {
            step!(b, i);
            i += 1;
        }
        (self.state, self.run_start, self.run_digits) = (state, run_start, run_digits);
        self.walked = base + bytes.len() as u64;
        if self.events.len() > MAX_EVENTS {
            self.turn_off();
        }
    }

    /// True when the raw scan of the walked bytes at `span` cannot find anything. Spans are
    /// asked in non-decreasing order of start: events ending before a span are forgotten.
    pub fn quiet(&mut self, span: &Range<u64>) -> bool {
        // The DFA reports a match ending at `span.end` on the byte after it: that byte must
        // have been walked too.
        if self.off || span.end >= self.walked {
            return false;
        }
        let (lo, hi) = (span.start, span.end);
        // An open run's event ends at `OPEN`, so it is never forgotten while it grows.
        let done = self
            .events
            .iter()
            .take_while(|&&(_, last)| last < lo)
            .count();
        if done > 0 {
            self.events.drain(..done);
            self.run_event = self.run_event.map(|k| k - done);
        }
        !self
            .events
            .iter()
            .take_while(|&&(first, _)| first <= hi)
            .any(|&(_, last)| last >= lo)
    }

    fn turn_off(&mut self) {
        self.off = true;
        self.events = Vec::new();
        self.run_event = None;
    }
}
