//! The crate graph's one-way rule, checked from `cargo metadata`: proxy → runtime → abi →
//! wasmtime, and the guest modules (`filters/`) depend on no host crate. An edge the other way
//! would make the ABI contract depend on one embedding of it, or compile host code into every
//! filter; this test fails the moment such an edge is declared.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Crate → the workspace crates it must never depend on (normal, dev or build dependencies).
const FORBIDDEN: &[(&str, &[&str])] = &[
    ("microwaf-abi", &["microwaf-runtime", "microwaf-proxy"]),
    ("microwaf-runtime", &["microwaf-proxy"]),
];

/// The host crates no guest module may depend on.
const HOST_CRATES: &[&str] = &["microwaf-abi", "microwaf-runtime", "microwaf-proxy"];

/// Package name → names of its declared dependencies, for the workspace at `manifest`.
fn declared(manifest: &Path) -> BTreeMap<String, Vec<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .arg("--manifest-path")
        .arg(manifest)
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .expect("dependencies")
                .iter()
                .map(|d| d["name"].as_str().expect("name").to_owned())
                .collect();
            (p["name"].as_str().expect("name").to_owned(), deps)
        })
        .collect()
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
}

#[test]
fn host_crates_depend_one_way() {
    let host = declared(&root().join("Cargo.toml"));
    for (krate, never) in FORBIDDEN {
        let deps = host
            .get(*krate)
            .unwrap_or_else(|| panic!("{krate} in the workspace"));
        for bad in *never {
            assert!(
                !deps.iter().any(|d| d == bad),
                "{krate} must not depend on {bad}"
            );
        }
    }
    // The runtime embeds Wasmtime through the ABI crate: it must depend on both.
    let runtime = &host["microwaf-runtime"];
    assert!(runtime.iter().any(|d| d == "microwaf-abi"), "{runtime:?}");
}

#[test]
fn guest_modules_depend_on_no_host_crate() {
    let guests = declared(&root().join("filters").join("Cargo.toml"));
    assert!(
        guests.contains_key("microwaf-engine") && guests.contains_key("microwaf-filter"),
        "the filters workspace holds the engine and the filter: {:?}",
        guests.keys()
    );
    for (krate, deps) in &guests {
        for bad in HOST_CRATES {
            assert!(
                !deps.iter().any(|d| d == bad),
                "{krate} must not depend on {bad}"
            );
        }
    }
}
