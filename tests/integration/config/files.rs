//! The example configurations under `tests/configs/`: the good ones load to the same IR, and
//! each bad one fails with the message a user would need to fix it.

use std::path::{Path, PathBuf};

use microwaf_proxy::config::{self, ConfigError};

fn configs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("configs")
}

/// Loads `tests/configs/bad/<name>` and returns the error text after the file name.
fn bad(name: &str) -> String {
    let path = configs().join("bad").join(name);
    let err = config::load(&path).expect_err("bad config accepted");
    let text = err.to_string();
    let file = path.display().to_string();
    text.strip_prefix(&file)
        .unwrap_or_else(|| panic!("error does not start with the file name: {text}"))
        .to_owned()
}

#[test]
fn envoy_and_native_examples_load_identically() {
    let envoy = config::load(&configs().join("envoy.yaml")).unwrap();
    let native = config::load(&configs().join("native.yaml")).unwrap();
    assert_eq!(envoy, native);
    assert_eq!(envoy.plugins().count(), 1);
}

#[test]
fn unknown_cluster() {
    assert_eq!(
        bad("unknown_cluster.yaml"),
        ": static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].route.cluster: unknown cluster \"web_servce\" (defined: web_service)"
    );
}

#[test]
fn unsupported_routing_field() {
    assert_eq!(
        bad("weighted_clusters.yaml"),
        ": static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[1].route.weighted_clusters: not supported (changes routing)"
    );
}

#[test]
fn bad_duration() {
    assert_eq!(
        bad("bad_duration.yaml"),
        ": static_resources.clusters[0].connect_timeout: invalid duration \"250 ms\" (expected e.g. \"0.25s\", \"250ms\", \"1m\")"
    );
}

#[test]
fn missing_wasm_file() {
    let msg = bad("missing_wasm.yaml");
    let expected = ": static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.config.vm_config.code.local.filename: no_such_filter.wasm: ";
    assert!(msg.starts_with(expected), "{msg}");
}

#[test]
fn bad_yaml_reports_line_and_column() {
    // The sequence opened on line 26 is still open where line 27's key starts.
    assert_eq!(
        bad("bad_yaml.yaml"),
        ":27:23: invalid YAML: did not find expected ',' or ']', while parsing a flow sequence at line 26 column 32"
    );
    let path = configs().join("bad/bad_yaml.yaml");
    assert!(matches!(
        config::load(&path),
        Err(ConfigError::Syntax {
            line: 27,
            column: 23,
            ..
        })
    ));
}

#[test]
fn missing_file_is_a_read_error() {
    let err = config::load(&configs().join("does-not-exist.yaml")).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }), "{err}");
}

/// The complete example in `docs/config.md` must stay valid.
#[test]
fn documented_native_example_loads() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/config.md"))
            .unwrap();
    let after = doc
        .split("### Complete example")
        .nth(1)
        .expect("example heading");
    let yaml = after
        .split("```yaml\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("yaml block");
    let dir = std::env::temp_dir().join(format!("microwaf-doc-example-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("certs")).unwrap();
    for f in [
        "ticker.wasm",
        "microwaf.wasm",
        "certs/server.pem",
        "certs/server.key",
        "certs/ca.pem",
        "certs/client.pem",
        "certs/client.key",
    ] {
        let content: &[u8] = if f.ends_with(".wasm") {
            b"\0asm\x01\0\0\0"
        } else {
            b"placeholder"
        };
        std::fs::write(dir.join(f), content).unwrap();
    }
    let parsed = config::parse(yaml, "config.md", &dir);
    std::fs::remove_dir_all(&dir).unwrap();
    let c = parsed.unwrap();
    assert_eq!(c.listeners.len(), 3);
    assert_eq!(c.clusters.len(), 3);
    assert_eq!(
        c.plugins().count(),
        3,
        "singleton + http filter + network filter"
    );
    assert!(c.listeners[0].tls.as_ref().unwrap().require_client_cert);
    let microwaf = c.plugins().find(|p| p.name == "microwaf").unwrap();
    let cfg: serde_json::Value = serde_json::from_slice(&microwaf.plugin_config).unwrap();
    assert_eq!(cfg["mode"], "block");
}

#[test]
fn empty_file_is_rejected() {
    for text in ["", "# only a comment\n", "---\n"] {
        let err = config::parse(text, "empty.yaml", &configs()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "empty.yaml: (top level): the file is empty"
        );
    }
}

#[test]
fn a_filter_file_that_is_not_wasm_names_the_file_and_the_field() {
    assert_eq!(
        bad("not_wasm.yaml"),
        ": listeners[0].filters[0].code: not_wasm.txt (plugin waf): not a WebAssembly module (starts with \"These are releas\"; a binary module starts with \\0asm, a text module with `(module`)"
    );
}
