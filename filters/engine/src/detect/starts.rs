//! Where a raw candidate can start, and the anchored DFA walk tried there.
//!
//! The raw patterns are prefixes (`ghp_`, `AKIA`, `password=`, `@`, `-----BEGIN`), and every
//! one the scan accepts starts at a *key start*: a letter not preceded by a letter, or a
//! camelCase hump (`userPassword`), or one of the trigger bytes `@`, `-` and `h`. Tokens, IBANs and
//! `bearer` additionally refuse a letter or digit before them, and key patterns refuse a letter
//! (see `raw::key_start`). So instead of an unanchored DFA search, which pays a transition on
//! every byte of the body, keys and structure included, the scan classifies bytes with a table
//! (one table lookup per byte, see [`Starts::candidates`]) and runs the DFA *anchored* only at those starts,
//! where an ordinary word leaves it within a byte or two. Measured 2026-12-07 on order JSON:
//! the unanchored search was a third of a whole inspection.
//!
//! The first byte is filtered too: only bytes the anchored DFA accepts at all start a token
//! candidate (computed from the DFA at load, so it follows the patterns). Digit runs, which
//! the DFA does not handle (see `raw::number`), start at a digit after a non-digit.

use regex_automata::{
    dfa::Automaton,
    util::{primitives::StateID, start},
    Anchored,
};

use super::automata::Dfa;

/// Byte classes, the state carried from one byte to the next.
const OTHER: u8 = 0;
const LOWER: u8 = 1;
const UPPER: u8 = 2;
const DIGIT: u8 = 3;
/// [`Starts::next`] bits: a token or key may start at this byte (given the byte before it);
/// a digit run starts here.
const TOKEN_START: u8 = 1;
const DIGIT_START: u8 = 2;

/// Positions per block of candidate positions (`2^n − 1`, so an index masks into the array).
/// Small: most scans are of one short value, and the array is zeroed per call.
const BLOCK: usize = 63;

const fn class(b: u8) -> u8 {
    match b {
        b'a'..=b'z' => LOWER,
        b'A'..=b'Z' => UPPER,
        b'0'..=b'9' => DIGIT,
        _ => OTHER,
    }
}

/// [`class`] of every byte.
static CLASSES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = class(b as u8);
        b += 1;
    }
    t
};

/// 1 for bytes that can follow the first digit of a run of 8 or more (`raw::number`): a digit
/// or the first byte of a separator.
static DIGIT_FOLLOW: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = matches!(c, b'0'..=b'9' | b' ' | b'.' | b'/' | b'-' | b')') as u8;
        b += 1;
    }
    t
};

/// The anchored walk of the raw DFA and the tables that pick where to run it.
pub struct Starts {
    dfa: Dfa,
    start: StateID,
    /// Indexed by `previous byte's class << 8 | byte`: [`TOKEN_START`], [`DIGIT_START`].
    next: [u8; 4 << 8],
    /// One bit per byte pair `(b, b1)`: the anchored DFA is still alive (or has matched)
    /// after reading both. Most word starts fail here (`st`, `na`, `ti` begin no pattern),
    /// so the DFA is walked at a few positions per hundred bytes.
    pairs: Box<[u8; 1 << 13]>,
}

impl Starts {
    /// Builds the tables from the (forward, leftmost-first) raw DFA, which must have anchored
    /// start states (the default `StartKind::Both`).
    pub fn new(dfa: Dfa) -> Starts {
        let start = dfa
            .start_state(&start::Config::new().anchored(Anchored::Yes))
            .expect("the raw DFA is built with anchored start states");
        let mut next = [0u8; 4 << 8];
        for prev in [OTHER, LOWER, UPPER, DIGIT] {
            for b in 0..=255u8 {
                let c = class(b);
                // `@`, `-` and `h` begin rules that ask for no word boundary before them
                // (e-mail, PEM header, Slack webhook URL).
                let trigger = matches!(b, b'@' | b'-' | b'h');
                let key_start = !matches!(prev, LOWER | UPPER) || (prev == LOWER && c == UPPER);
                let first = !dfa.is_dead_state(dfa.next_state(start, b));
                let mut e = 0;
                if first && (trigger || key_start) {
                    e |= TOKEN_START;
                }
                if c == DIGIT && prev != DIGIT {
                    e |= DIGIT_START;
                }
                next[(prev as usize) << 8 | b as usize] = e;
            }
        }
        let mut pairs = Box::new([0u8; 1 << 13]);
        for b in 0..=255u8 {
            let s1 = dfa.next_state(start, b);
            if dfa.is_dead_state(s1) {
                continue;
            }
            for b1 in 0..=255u8 {
                if !dfa.is_dead_state(dfa.next_state(s1, b1)) {
                    let idx = (b as usize) << 8 | b1 as usize;
                    pairs[idx >> 3] |= 1 << (idx & 7);
                }
            }
        }
        Starts {
            dfa,
            start,
            next,
            pairs,
        }
    }

    /// 1 when a candidate starts at a byte `b` with class `prev` before it and `b1` after it.
    #[inline(always)]
    fn is_candidate(&self, prev: u8, b: u8, b1: u8) -> usize {
        let e = self.next[(prev as usize) << 8 | b as usize];
        let idx = (b as usize) << 8 | b1 as usize;
        let pair = (self.pairs[idx >> 3] >> (idx & 7)) & 1;
        ((e & pair) | ((e >> 1) & DIGIT_FOLLOW[b1 as usize])) as usize
    }

    /// Calls `f` with every candidate start of `buf`, in order: the first digit of what may
    /// be a run of 8 digits or more, and token/key starts whose first two bytes the DFA
    /// accepts.
    ///
    /// Why blocks: each position is classified without branches — table lookups for the
    /// byte before, the byte and the byte after, the position written to a small array and
    /// the count bumped by the "is a candidate" bit — and the candidates are then handed out
    /// in a second loop, so a branch per byte never mispredicts. The inner loop has a
    /// constant trip count of 8 so it unrolls, and wasm's per-loop-head epoch check runs once
    /// per 8 bytes.
    #[inline]
    pub fn candidates(&self, buf: &[u8], mut f: impl FnMut(usize)) {
        let Some(last) = buf.len().checked_sub(1) else {
            return;
        };
        let mut at = [0u32; BLOCK + 1];
        let mut prev = OTHER;
        let mut p = 0;
        while p < last {
            let (base, stop) = (p, (p + BLOCK).min(last));
            let mut k = 0usize;
            while p + 8 <= stop {
                let w: &[u8; 9] = buf[p..p + 9].try_into().expect("9 bytes");
                // Classes looked up per byte, not carried from entry to entry: the lookups
                // stay independent, no dependency chain through `prev`.
                let classes: [u8; 8] = std::array::from_fn(|j| CLASSES[w[j] as usize]);
                for j in 0..8 {
                    at[k & BLOCK] = (p - base + j) as u32;
                    k += self.is_candidate(prev, w[j], w[j + 1]);
                    prev = classes[j];
                }
                p += 8;
            }
            while p < stop {
                at[k & BLOCK] = (p - base) as u32;
                k += self.is_candidate(prev, buf[p], buf[p + 1]);
                prev = CLASSES[buf[p] as usize];
                p += 1;
            }
            for &o in &at[..k] {
                f(base + o as usize);
            }
        }
        // The last byte has no byte after it: decided by the first-byte tests alone.
        if self.next[(prev as usize) << 8 | buf[last] as usize] != 0 {
            f(last);
        }
    }

    /// The anchored leftmost-first match at `s`: (pattern index, match end).
    #[inline]
    pub fn match_at(&self, buf: &[u8], s: usize) -> Option<(usize, usize)> {
        let dfa = &self.dfa;
        let mut sid = self.start;
        let mut last = None;
        for (i, &b) in buf.iter().enumerate().skip(s) {
            sid = dfa.next_state(sid, b);
            if dfa.is_special_state(sid) {
                if dfa.is_match_state(sid) {
                    // Match states are entered one byte late: the match ended before `b`.
                    last = Some((dfa.match_pattern(sid, 0).as_usize(), i));
                } else if dfa.is_dead_state(sid) || dfa.is_quit_state(sid) {
                    return last;
                }
            }
        }
        sid = dfa.next_eoi_state(sid);
        if dfa.is_match_state(sid) {
            last = Some((dfa.match_pattern(sid, 0).as_usize(), buf.len()));
        }
        last
    }
}
