//! The published policy schema, the example policies, the policy reference and the parser agree.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use microwaf_engine::policy::{Policy, PolicyDoc};
use serde_json::Value;

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

fn schema() -> Value {
    let text = fs::read_to_string(repo_file("filters/microwaf/policy.schema.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn validator() -> jsonschema::Validator {
    jsonschema::draft202012::new(&schema()).expect("the schema is a valid draft 2020-12 schema")
}

fn schema_errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

fn examples() -> Vec<(String, String)> {
    let dir = repo_file("filters/microwaf/examples");
    let mut out: Vec<(String, String)> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| (p.display().to_string(), fs::read_to_string(&p).unwrap()))
        .collect();
    out.sort();
    out
}

#[test]
fn every_example_parses_and_validates_against_the_schema() {
    let v = validator();
    let all = examples();
    assert!(all.len() >= 5, "examples missing: {}", all.len());
    for (name, text) in all {
        Policy::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let doc: Value = serde_yaml_ng::from_str(&text).unwrap();
        let errors = schema_errors(&v, &doc);
        assert!(errors.is_empty(), "{name}: {errors:?}");
    }
}

#[test]
fn the_reference_shows_the_complete_example_verbatim() {
    let docs = fs::read_to_string(repo_file("docs/policy.md")).unwrap();
    let complete =
        fs::read_to_string(repo_file("filters/microwaf/examples/complete.yaml")).unwrap();
    let start = docs
        .find("```yaml\n# Every section")
        .expect("complete example block in docs/policy.md");
    let block = &docs[start + "```yaml\n".len()..];
    let block = &block[..block.find("```").unwrap()];
    assert_eq!(
        block, complete,
        "docs/policy.md and examples/complete.yaml differ"
    );
}

/// Documents both the parser and the schema reject.
const BAD: &[(&str, &str)] = &[
    ("unknown top-level field", "colour: blue\n"),
    (
        "unknown action",
        "endpoints:\n  - path: /a\n    actions: {us_ssn: redcat}\n",
    ),
    ("misspelt field", "limits: {max_body_byte: 1MiB}\n"),
    (
        "threshold zero",
        "defaults:\n  actions: {email: {action: block, threshold: 0}}\n",
    ),
    ("bad fallback", "limits: {fallback: maybe}\n"),
    ("status out of range", "block_response: {status: 200}\n"),
    ("grpc status zero", "block_response: {grpc_status: 0}\n"),
    ("path glob without slash", "endpoints:\n  - path: api/*\n"),
    (
        "custom id shadows built-in",
        "categories:\n  custom:\n    - {id: email, regex: x}\n",
    ),
    (
        "unknown built-in disabled",
        "categories: {disable: [credit_crd]}\n",
    ),
    (
        "key rule with both key and path",
        "categories:\n  keys:\n    - {key: a, path: $.a, category: email}\n",
    ),
    ("bad token source", "tokens: {sources: [basic]}\n"),
    (
        "bad duration",
        "tokens:\n  rate_limits:\n    - {category: us_ssn, max: 1, per: 1fortnight}\n",
    ),
    ("hash too short", "tokens: {hash_length: 4}\n"),
    (
        "attack action redact",
        "defaults:\n  attacks: {action: redact}\n",
    ),
    ("empty content types", "defaults: {content_types: []}\n"),
    ("version 2", "version: 2\n"),
    ("empty methods", "endpoints:\n  - {path: /a, methods: []}\n"),
    ("empty token sources", "tokens: {sources: []}\n"),
    ("empty attack locations", "defaults:\n  attacks: {inspect: []}\n"),
    ("entropy out of range", "categories:\n  custom:\n    - {id: x, keys: [k], validator: {entropy: {min_bits_per_char: 9}}}\n"),
    ("mask_keep too large", "report: {mask_keep: 40}\n"),
];

#[test]
fn schema_rejects_what_the_parser_rejects() {
    let v = validator();
    for (what, yaml) in BAD {
        assert!(
            Policy::parse(yaml.as_bytes()).is_err(),
            "parser accepted {what}"
        );
        let doc: Value = serde_yaml_ng::from_str(yaml).unwrap();
        assert!(!v.is_valid(&doc), "schema accepted {what}");
    }
}

/// Every property name declared anywhere in the schema.
fn schema_properties(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = map.get("properties") {
                out.extend(props.keys().cloned());
            }
            map.values().for_each(|x| schema_properties(x, out));
        }
        Value::Array(items) => items.iter().for_each(|x| schema_properties(x, out)),
        _ => {}
    }
}

/// Every object key in a document, except under maps keyed by category ids.
fn doc_keys(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                out.insert(k.clone());
                if k != "actions" && k != "allow" {
                    doc_keys(x, out);
                } else if let Value::Object(rules) = x {
                    rules.values().for_each(|r| doc_keys(r, out));
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|x| doc_keys(x, out)),
        _ => {}
    }
}

#[test]
fn schema_and_serde_model_declare_the_same_fields() {
    let mut declared = BTreeSet::new();
    schema_properties(&schema(), &mut declared);

    // The complete example sets every field; serializing the parsed document emits every serde
    // field (none are skipped), so the two sets must be equal.
    let text = fs::read_to_string(repo_file("filters/microwaf/examples/complete.yaml")).unwrap();
    let policy = Policy::parse(text.as_bytes()).unwrap();
    let mut serde_fields = BTreeSet::new();
    doc_keys(
        &serde_json::to_value(policy.doc()).unwrap(),
        &mut serde_fields,
    );
    assert_eq!(declared, serde_fields);
}

fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|_, x| !x.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

#[test]
fn dumped_policies_validate_and_parse_back_identically() {
    let v = validator();
    let mut texts = vec![(String::from("default"), String::new())];
    texts.extend(examples());
    for (name, text) in texts {
        let doc: PolicyDoc = Policy::parse(text.as_bytes()).unwrap().doc().clone();
        let mut dumped = serde_json::to_value(&doc).unwrap();
        strip_nulls(&mut dumped);
        let errors = schema_errors(&v, &dumped);
        assert!(errors.is_empty(), "{name}: {errors:?}");
        let again =
            Policy::parse(dumped.to_string().as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(again.doc(), &doc, "{name}");
    }
}
