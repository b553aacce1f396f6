//! One attack category's search: its DFA walked anchored at the positions where a match can
//! start, leftmost first.
//!
//! Why not the unanchored search (`dfa::regex::Regex`): an unanchored walk pays a sparse-DFA
//! transition on every byte of the part, and the states near its start have the most
//! transitions to look through (every first byte of every alternative, both cases): measured
//! 2026-12-08, 79 % of the `request_parts` bench was `next_state` of those sparse DFAs, about
//! 15 ns per byte and category natively. Most positions cannot start a match at all (`\b` wants
//! a word start, and only a few bytes begin an alternative), which a table lookup on (byte
//! before, byte) tells; the DFA is walked only from the others, and an ordinary word leaves it
//! within a byte or two. The leftmost position whose anchored walk matches, with the end the
//! leftmost-first walk picks there, is exactly the match the unanchored forward search plus
//! the reverse search for its start reported (see the oracle test).

use regex_automata::{
    dfa::Automaton,
    util::{primitives::StateID, start},
    Anchored,
};

use crate::detect::automata::SparseDfa;

/// A category's anchored DFA and where its walks may start.
pub struct AttackDfa {
    pub(super) dfa: SparseDfa,
    /// Per byte before a position (index 256: none, the part's first byte), the index of its
    /// start state in `starts`. Look-behind matters only through `\b` and `^`, so few differ.
    behind: [u8; 257],
    /// Distinct anchored start states, each with the set of bytes it does not reject at once.
    starts: Vec<(StateID, [u64; 4])>,
}

impl AttackDfa {
    /// Builds the start tables; `dfa` must have anchored start states.
    pub fn new(dfa: SparseDfa) -> AttackDfa {
        let mut behind = [0u8; 257];
        let mut starts: Vec<(StateID, [u64; 4])> = Vec::new();
        for (k, slot) in behind.iter_mut().enumerate() {
            let lb = u8::try_from(k).ok();
            let cfg = start::Config::new().anchored(Anchored::Yes).look_behind(lb);
            let s = dfa
                .start_state(&cfg)
                .expect("attack DFAs are built with anchored start states");
            let i = match starts.iter().position(|(t, _)| *t == s) {
                Some(i) => i,
                None => {
                    let mut first = [0u64; 4];
                    for b in 0..=255u8 {
                        if !dfa.is_dead_state(dfa.next_state(s, b)) {
                            first[usize::from(b >> 6)] |= 1 << (b & 63);
                        }
                    }
                    starts.push((s, first));
                    starts.len() - 1
                }
            };
            *slot = u8::try_from(i).expect("a handful of distinct start states");
        }
        AttackDfa {
            dfa,
            behind,
            starts,
        }
    }

    /// The leftmost match starting at or after `from`: `(start, end)`, never empty (the build
    /// script refuses patterns that match the empty string).
    pub fn find(&self, hay: &[u8], from: usize) -> Option<(usize, usize)> {
        for (p, &b) in hay.iter().enumerate().skip(from) {
            let k = p.checked_sub(1).map_or(256, |i| usize::from(hay[i]));
            let (start, first) = &self.starts[usize::from(self.behind[k])];
            if first[usize::from(b >> 6)] >> (b & 63) & 1 == 0 {
                continue;
            }
            if let Some(end) = self.walk(*start, hay, p) {
                return Some((p, end));
            }
        }
        None
    }

    /// The leftmost-first match anchored at `s` from state `start`: its end.
    fn walk(&self, start: StateID, hay: &[u8], s: usize) -> Option<usize> {
        let dfa = &self.dfa;
        let mut sid = start;
        let mut last = None;
        for (i, &b) in hay.iter().enumerate().skip(s) {
            sid = dfa.next_state(sid, b);
            if dfa.is_special_state(sid) {
                if dfa.is_match_state(sid) {
                    // Match states are entered one byte late: the match ended before `b`.
                    last = Some(i);
                } else if dfa.is_dead_state(sid) || dfa.is_quit_state(sid) {
                    return last;
                }
            }
        }
        sid = dfa.next_eoi_state(sid);
        if dfa.is_match_state(sid) {
            last = Some(hay.len());
        }
        last
    }
}
