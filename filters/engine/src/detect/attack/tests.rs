use std::{collections::HashSet, fs, path::Path};

use regex_automata::{
    dfa::Automaton,
    util::{primitives::StateID, start},
    Anchored,
};

use super::*;

#[test]
fn decodes_layers_and_maps_offsets() {
    let d = decode(b"a%253Cscript%253E+&lt;b&gt;");
    assert_eq!(&d.bytes[..], b"a<script> <b>");
    assert_eq!(d.span(1), (1, 6), "`<` came from `%253C`");
    let d = decode(b"UN/**/ION");
    assert_eq!(&d.bytes[..], b"UN ION");
    let d = decode(b"/api/v1/users");
    assert!(
        matches!(d.bytes, Cow::Borrowed(_)),
        "nothing to decode, nothing copied"
    );
    assert_eq!(d.span(4), (4, 5));
}

/// The gate's soundness, checked on the DFAs the scan runs (the embedded sparse tables, not the
/// build script's dense ones): over bytes outside a category's necessary set, no anchored
/// start state (any look-behind) reaches a match state, through bytes or at the end of the
/// input.
#[test]
fn gate_bytes_are_necessary() {
    let gate = attack_gate();
    for (i, search) in builtins().attack.iter().enumerate() {
        let dfa = &search.dfa;
        let allowed: Vec<u8> = (0..=255u8)
            .filter(|&b| gate[usize::from(b)] & (1 << i) == 0)
            .collect();
        assert!(
            allowed.len() > 200,
            "category {i}: gate lets {allowed:?} through"
        );
        let mut seen: HashSet<StateID> = HashSet::new();
        let mut todo = Vec::new();
        for lb in std::iter::once(None).chain(allowed.iter().copied().map(Some)) {
            let cfg = start::Config::new().anchored(Anchored::Yes).look_behind(lb);
            let s = dfa.start_state(&cfg).expect("anchored start");
            if seen.insert(s) {
                todo.push(s);
            }
        }
        while let Some(s) = todo.pop() {
            assert!(
                !dfa.is_match_state(s) && !dfa.is_match_state(dfa.next_eoi_state(s)),
                "category {i} matches a part without any of its gate bytes"
            );
            for &b in &allowed {
                let n = dfa.next_state(s, b);
                if !dfa.is_dead_state(n) && seen.insert(n) {
                    todo.push(n);
                }
            }
        }
    }
}

/// The scan before the gate and the anchored walks: every category's regex (a lazy DFA built
/// here from the same patterns) searched unanchored over every decoded part, leftmost-first,
/// each match's start found by the reverse search.
fn ungated(value: &[u8], out: &mut Vec<Finding>) {
    use regex_automata::{hybrid::regex::Regex, nfa::thompson, util::syntax, Input};
    thread_local! {
        static RES: Vec<Regex> = ATTACK_RULES
            .iter()
            .map(|(_, p)| {
                Regex::builder()
                    .syntax(syntax::Config::new().unicode(false).utf8(false))
                    .thompson(thompson::Config::new().utf8(false))
                    .build(p)
                    .expect("attack pattern compiles")
            })
            .collect();
    }
    if value.is_empty() {
        return;
    }
    let d = decode(value);
    RES.with(|res| {
        for ((rule, _), re) in ATTACK_RULES.iter().zip(res) {
            let mut cache = re.create_cache();
            let mut pos = 0;
            while pos < d.bytes.len() {
                let input = Input::new(&d.bytes[..]).range(pos..);
                let Ok(Some(m)) = re.try_search(&mut cache, &input) else {
                    break;
                };
                pos = m.end().max(pos + 1);
                if !m.is_empty() {
                    out.push(Finding {
                        category: category(*rule),
                        start: d.span(m.start()).0 as usize,
                        end: d.span(m.end() - 1).1 as usize,
                    });
                }
            }
        }
    });
}

/// Every text of the engine corpus (attacks, sensitive data, traps), as written.
fn corpus_texts() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut texts = Vec::new();
    for entry in fs::read_dir(dir).expect("corpus dir") {
        let path = entry.expect("corpus entry").path();
        if path.extension().is_none_or(|e| e != "jsonl") {
            continue;
        }
        for line in fs::read_to_string(&path).expect("corpus file").lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("corpus line");
            texts.push(v["text"].as_str().expect("text").as_bytes().to_vec());
        }
    }
    texts
}

/// Encoded, cased, commented, cut and glued forms of `t`, the shapes the decoder and the
/// look-arounds see in real parts.
fn variants(t: &[u8], next: &[u8]) -> Vec<Vec<u8>> {
    let pct: Vec<u8> = t
        .iter()
        .flat_map(|b| format!("%{b:02X}").into_bytes())
        .collect();
    let double: Vec<u8> = t
        .iter()
        .flat_map(|b| format!("%25{b:02x}").into_bytes())
        .collect();
    let entity: Vec<u8> = t
        .iter()
        .flat_map(|b| format!("&#{b};").into_bytes())
        .collect();
    let plus: Vec<u8> = t
        .iter()
        .map(|&b| if b == b' ' { b'+' } else { b })
        .collect();
    let comment: Vec<u8> = t
        .iter()
        .flat_map(|&b| if b == b' ' { b"/**/".to_vec() } else { vec![b] })
        .collect();
    let mut out = vec![
        t.to_ascii_uppercase(),
        pct,
        double,
        entity,
        plus,
        comment,
        [t, next].concat(),
        [t, b"\x00", next].concat(),
    ];
    for i in (1..t.len()).step_by(3) {
        out.push(t[i..].to_vec());
        out.push(t[..i].to_vec());
    }
    out
}

/// The gated, anchored scan reports exactly what the unanchored search of every category
/// reports, on the corpus and on variants of it, with every category enabled and with one
/// disabled.
#[test]
fn gated_scan_equals_ungated_scan() {
    let texts = corpus_texts();
    assert!(texts.len() > 300, "corpus has {} texts", texts.len());
    let (mut parts, mut matched) = (0, 0);
    for (n, t) in texts.iter().enumerate() {
        let next = &texts[(n * 7 + 1) % texts.len()];
        for v in std::iter::once(t.clone()).chain(variants(t, next)) {
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            scan(&v, |_| true, &mut fast);
            ungated(&v, &mut slow);
            assert_eq!(fast, slow, "{:?}", String::from_utf8_lossy(&v));
            parts += 1;
            matched += usize::from(!slow.is_empty());
            let mut no_sql = Vec::new();
            scan(&v, |c| c != CategoryId::SQL_INJECTION, &mut no_sql);
            slow.retain(|f| f.category != CategoryId::SQL_INJECTION);
            assert_eq!(no_sql, slow);
        }
    }
    assert!(matched > parts / 20, "{matched} of {parts} parts matched");
}
