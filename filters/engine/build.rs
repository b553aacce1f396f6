//! Determinizes the built-in detection patterns into dense DFAs at build time and writes them,
//! serialized for the target's endianness, to `OUT_DIR`. The crate embeds them with
//! `include_bytes!` and deserializes them zero-copy, so no VM ever compiles a built-in pattern
//! and every VM of a plugin shares the same read-only bytes (copy-on-write memory image).

use std::{env, fs, path::Path};

use regex_automata::{
    dfa::{dense, regex::Regex},
    nfa::thompson,
    util::syntax,
    MatchKind,
};

#[allow(dead_code)]
#[path = "src/detect/patterns.rs"]
mod patterns;

fn main() {
    println!("cargo:rerun-if-changed=src/detect/patterns.rs");
    println!("cargo:rerun-if-changed=build.rs");
    let out = env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let big_endian = env::var("CARGO_CFG_TARGET_ENDIAN").as_deref() == Ok("big");

    let raw: Vec<&str> = patterns::RAW_RULES.iter().map(|(_, p)| *p).collect();
    // The raw DFA is only walked forward, anchored at candidate starts (`detect::starts`):
    // its reverse DFA is not written.
    write_regex(Path::new(&out), "raw", &raw, true, false, big_endian);
    fs::remove_file(Path::new(&out).join("raw_rev.dfa")).expect("remove the unused raw_rev.dfa");
    // One DFA per attack category: their patterns carry "inside a tag / inside `${`" modes
    // whose union multiplies states; apart, each stays small. Request parts are short.
    for (i, (_, p)) in patterns::ATTACK_RULES.iter().enumerate() {
        write_regex(
            Path::new(&out),
            &format!("attack{i}"),
            &[p],
            false,
            true,
            big_endian,
        );
    }
}

/// Builds a leftmost-first multi-pattern regex (forward + reverse DFA) over bytes, ASCII-only
/// (no Unicode tables: payloads are scanned as bytes and every pattern is ASCII).
/// `minimize`: Hopcroft minimization, worth it for the large raw DFA (fewer states = fewer
/// cache misses per byte scanned), needless for the small per-category attack DFAs.
/// `sparse`: write sparse tables instead of dense ones. The attack DFAs only ever see short
/// request parts, where a slower transition lookup costs little, and sparse tables are a
/// fraction of the size: every byte of a table is linear memory of every VM.
fn write_regex(
    out: &Path,
    name: &str,
    pats: &[&str],
    minimize: bool,
    sparse: bool,
    big_endian: bool,
) {
    let re = Regex::builder()
        .syntax(syntax::Config::new().unicode(false).utf8(false))
        .thompson(thompson::Config::new().utf8(false))
        .dense(
            dense::Config::new()
                .match_kind(MatchKind::LeftmostFirst)
                .minimize(minimize)
                .byte_classes(true),
        )
        .build_many(pats)
        .unwrap_or_else(|e| panic!("built-in {name} patterns must compile: {e}"));
    for (suffix, dfa) in [("fwd", re.forward()), ("rev", re.reverse())] {
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
        let path = out.join(format!("{name}_{suffix}.dfa"));
        fs::write(&path, &bytes).expect("write DFA to OUT_DIR");
    }
}
