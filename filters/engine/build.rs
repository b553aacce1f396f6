//! Determinizes the built-in detection patterns into DFAs at build time and writes them,
//! serialized for the target's endianness, to `OUT_DIR`. The crate embeds them with
//! `include_bytes!` and deserializes them zero-copy, so no VM ever compiles a built-in pattern
//! and every VM of a plugin shares the same read-only bytes (copy-on-write memory image).
//! It also derives the attack gate from the attack DFAs (`necessary_bytes`).

use std::{env, fs, path::Path};

use regex_automata::{
    dfa::{dense, Automaton, StartKind},
    nfa::thompson,
    util::{primitives::StateID, start, syntax},
    Anchored, MatchKind,
};

#[allow(dead_code)]
#[path = "src/detect/patterns.rs"]
mod patterns;

fn main() {
    println!("cargo:rerun-if-changed=src/detect/patterns.rs");
    println!("cargo:rerun-if-changed=build.rs");
    let out = env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let big_endian = env::var("CARGO_CFG_TARGET_ENDIAN").as_deref() == Ok("big");

    let out = Path::new(&out);
    let raw: Vec<&str> = patterns::RAW_RULES.iter().map(|(_, p)| *p).collect();
    // Every DFA is walked forward and anchored only, at candidate starts (`detect::starts`,
    // `detect::attack`): no reverse DFA, no unanchored start states.
    let dfa = build("raw", &raw, true);
    write(out, "raw", &dfa, false, big_endian);
    // One DFA per attack category: their patterns carry "inside a tag / inside `${`" modes
    // whose union multiplies states; apart, each stays small. Request parts are short.
    let mut gate = [0u8; 256];
    for (i, (_, p)) in patterns::ATTACK_RULES.iter().enumerate() {
        let dfa = build("attack", &[p], false);
        write(out, &format!("attack{i}"), &dfa, true, big_endian);
        assert!(
            syntax::parse_with(p, &syntax::Config::new().unicode(false).utf8(false))
                .expect("parsed above")
                .properties()
                .minimum_len()
                > Some(0),
            "attack pattern {i} can match the empty string: the gate assumes it cannot"
        );
        for (b, necessary) in necessary_bytes(&dfa).iter().enumerate() {
            gate[b] |= u8::from(*necessary) << i;
        }
    }
    fs::write(out.join("attack_gate.bin"), gate).expect("write the attack gate");
}

/// Bytes tried in this order when looking for a small necessary set: the ones ordinary request
/// parts are made of first (letters, digits, URL and header punctuation), so the set that
/// remains is of bytes benign parts rarely hold.
fn preference() -> Vec<Vec<u8>> {
    let mut groups: Vec<Vec<u8>> = vec![
        (b'a'..=b'z').collect(),
        (b'A'..=b'Z').collect(),
        (b'0'..=b'9').collect(),
    ];
    for &b in b"-./_,=:;+~*!()?#[]%& @{}'\"|$<>`^\\" {
        groups.push(vec![b]);
    }
    groups.push((0x80..=0xff).collect());
    groups.extend((0u8..=0xff).map(|b| vec![b]));
    groups
}

/// A set of bytes of which every match of `dfa` contains at least one (the attack gate):
/// a part without any of them cannot match, so its search is skipped. Found greedily: start
/// from "every byte is necessary" and allow the bytes of each group of [`preference`] in
/// turn, keeping the group allowed when the DFA still reaches no match state over haystacks of
/// allowed bytes only, from every (anchored) start state, whatever the byte before (or none),
/// and at the end of the input. Exact by construction: it reads the very DFA the search runs.
fn necessary_bytes(dfa: &dense::DFA<Vec<u32>>) -> [bool; 256] {
    let mut necessary = [true; 256];
    for group in preference() {
        let mut trial = necessary;
        for &b in &group {
            trial[usize::from(b)] = false;
        }
        if trial != necessary && !matches_over(dfa, &trial) {
            necessary = trial;
        }
    }
    necessary
}

/// Whether some haystack made only of bytes outside `excluded` holds a match.
fn matches_over(dfa: &dense::DFA<Vec<u32>>, excluded: &[bool; 256]) -> bool {
    let allowed: Vec<u8> = (0u8..=0xff)
        .filter(|&b| !excluded[usize::from(b)])
        .collect();
    let mut seen = std::collections::HashSet::new();
    let mut todo: Vec<StateID> = Vec::new();
    let behind = std::iter::once(None).chain(allowed.iter().map(|&b| Some(b)));
    for lb in behind {
        let cfg = start::Config::new().anchored(Anchored::Yes).look_behind(lb);
        let s = dfa.start_state(&cfg).expect("anchored start states exist");
        if seen.insert(s) {
            todo.push(s);
        }
    }
    while let Some(s) = todo.pop() {
        if dfa.is_match_state(s) || dfa.is_match_state(dfa.next_eoi_state(s)) {
            return true;
        }
        for &b in &allowed {
            let n = dfa.next_state(s, b);
            if !dfa.is_dead_state(n) && seen.insert(n) {
                todo.push(n);
            }
        }
    }
    false
}

/// Builds a leftmost-first, anchored-only multi-pattern DFA over bytes, ASCII-only (no Unicode
/// tables: payloads are scanned as bytes and every pattern is ASCII). Anchored only: the
/// unanchored `(?s:.)*?` prefix multiplies states, and every search starts at a candidate.
/// `minimize`: Hopcroft minimization, worth it for the large raw DFA (fewer states = fewer
/// cache misses per byte scanned), needless for the small per-category attack DFAs.
fn build(name: &str, pats: &[&str], minimize: bool) -> dense::DFA<Vec<u32>> {
    dense::Builder::new()
        .syntax(syntax::Config::new().unicode(false).utf8(false))
        .thompson(thompson::Config::new().utf8(false))
        .configure(
            dense::Config::new()
                .match_kind(MatchKind::LeftmostFirst)
                .start_kind(StartKind::Anchored)
                .minimize(minimize)
                .byte_classes(true),
        )
        .build_many(pats)
        .unwrap_or_else(|e| panic!("built-in {name} patterns must compile: {e}"))
}

/// Writes `dfa` as `<name>_fwd.dfa`, serialized for the target's endianness.
/// `sparse`: sparse tables instead of dense ones. The attack DFAs only ever see short request
/// parts, where a slower transition lookup costs little, and sparse tables are a fraction of
/// the size: every byte of a table is in the module of every VM.
fn write(out: &Path, name: &str, dfa: &dense::DFA<Vec<u32>>, sparse: bool, big_endian: bool) {
    let bytes = if sparse {
        let dfa = dfa
            .to_sparse()
            .expect("a dense DFA converts to a sparse one");
        if big_endian {
            dfa.to_bytes_big_endian()
        } else {
            dfa.to_bytes_little_endian()
        }
    } else {
        let (bytes, pad) = if big_endian {
            dfa.to_bytes_big_endian()
        } else {
            dfa.to_bytes_little_endian()
        };
        bytes[pad..].to_vec()
    };
    fs::write(out.join(format!("{name}_fwd.dfa")), &bytes).expect("write DFA to OUT_DIR");
}
