//! Per-category precision and recall over the corpus in `corpus/` (format: corpus/README.md).
//! Fails when any category falls below the thresholds or has no positive case.

use std::{collections::BTreeMap, fs, path::Path};

use microwaf_engine::detect::{CategoryId, CategoryKind, Detector, FieldContext, Finding};
use serde_json::Value;

const MIN_PRECISION: f64 = 0.95;
const MIN_RECALL: f64 = 0.95;

#[derive(Default)]
struct Score {
    tp: u32,
    fp: u32,
    fn_: u32,
}

struct Case {
    file: String,
    text: String,
    key: Option<String>,
    expect: Vec<(String, Option<String>)>,
}

fn load() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut cases = Vec::new();
    let mut files: Vec<_> = fs::read_dir(&dir)
        .expect("corpus dir")
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in files
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
    {
        let file = path.file_stem().unwrap().to_string_lossy().into_owned();
        for (n, line) in fs::read_to_string(&path).unwrap().lines().enumerate() {
            let v: Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{file}:{}: {e}", n + 1));
            let expect = v["expect"]
                .as_array()
                .unwrap_or_else(|| panic!("{file}:{}: no expect", n + 1))
                .iter()
                .map(|e| {
                    (
                        e["category"].as_str().unwrap().to_owned(),
                        e["match"].as_str().map(str::to_owned),
                    )
                })
                .collect();
            cases.push(Case {
                file: file.clone(),
                text: v["text"].as_str().unwrap().to_owned(),
                key: v["key"].as_str().map(str::to_owned),
                expect,
            });
        }
    }
    cases
}

fn scan(det: &Detector, c: &Case) -> Vec<Finding> {
    let mut out = Vec::new();
    let ctx = FieldContext {
        key: c.key.as_deref(),
        path: None,
        family: None,
    };
    let attack = CategoryId::builtin(&c.file).is_some_and(|id| id.kind() == CategoryKind::Attack);
    if attack {
        det.scan_attack(c.text.as_bytes(), &ctx, &mut out);
    } else if c.key.is_some() {
        det.scan_value(c.text.as_bytes(), &ctx, &mut out);
    } else {
        det.scan_raw(c.text.as_bytes(), &mut out);
    }
    out
}

#[test]
fn corpus_precision_and_recall() {
    let det = Detector::builtin();
    let mut scores: BTreeMap<&'static str, Score> = CategoryId::builtins()
        .map(|c| (c.as_str(), Score::default()))
        .collect();
    let mut errors = Vec::new();
    for case in load() {
        let found = scan(&det, &case);
        let found: Vec<(&'static str, &str)> = found
            .iter()
            .map(|f| (f.category.as_str(), &case.text[f.start..f.end]))
            .collect();
        for cat in CategoryId::builtins().map(CategoryId::as_str) {
            let exp: Vec<&Option<String>> = case
                .expect
                .iter()
                .filter(|(c, _)| c == cat)
                .map(|(_, m)| m)
                .collect();
            let got: Vec<&str> = found
                .iter()
                .filter(|(c, _)| *c == cat)
                .map(|(_, m)| *m)
                .collect();
            let s = scores.get_mut(cat).unwrap();
            if exp.iter().any(|m| m.is_none()) {
                if got.is_empty() {
                    s.fn_ += 1;
                    errors.push(format!("FN {cat} in {}: {:?}", case.file, case.text));
                } else {
                    s.tp += 1;
                }
                continue;
            }
            for m in exp.iter().filter_map(|m| m.as_deref()) {
                if got.contains(&m) {
                    s.tp += 1;
                } else {
                    s.fn_ += 1;
                    errors.push(format!("FN {cat} {m:?} in {}: {:?}", case.file, case.text));
                }
            }
            for g in got
                .iter()
                .filter(|g| !exp.iter().any(|m| m.as_deref() == Some(**g)))
            {
                s.fp += 1;
                errors.push(format!("FP {cat} {g:?} in {}: {:?}", case.file, case.text));
            }
        }
    }
    println!(
        "{:<26} {:>4} {:>4} {:>4} {:>9} {:>7}",
        "category", "tp", "fp", "fn", "precision", "recall"
    );
    let mut failing = Vec::new();
    for (cat, s) in &scores {
        let p = if s.tp + s.fp == 0 {
            1.0
        } else {
            f64::from(s.tp) / f64::from(s.tp + s.fp)
        };
        let r = if s.tp + s.fn_ == 0 {
            0.0
        } else {
            f64::from(s.tp) / f64::from(s.tp + s.fn_)
        };
        println!(
            "{cat:<26} {:>4} {:>4} {:>4} {p:>9.3} {r:>7.3}",
            s.tp, s.fp, s.fn_
        );
        if s.tp + s.fn_ == 0 || p < MIN_PRECISION || r < MIN_RECALL {
            failing.push(*cat);
        }
    }
    for e in &errors {
        println!("{e}");
    }
    assert!(
        failing.is_empty(),
        "categories below P/R {MIN_PRECISION}/{MIN_RECALL} or without cases: {failing:?}"
    );
}
