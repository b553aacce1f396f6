//! Builds the guest fixtures the integration tests load.
//!
//! 1. Every cdylib of the `filters/` workspace (conformance fixtures, the MicroWAF filter and
//!    whatever is added later) is compiled in release for `wasm32-wasip1` and
//!    `wasm32-unknown-unknown` by a nested cargo run in `filters/` with its own target dir
//!    (`filters/target`), so it never waits on the outer build's lock and is shared by
//!    `cargo build`, `cargo test` and `cargo clippy` runs alike.
//! 2. Every `filters/wat/*.wat` is converted to `.wasm` in `OUT_DIR`.
//! 3. A table of all fixtures is written to `OUT_DIR/fixtures.rs` for `microwaf_tests::fixtures`.
//!
//! A failing nested build fails this build with the nested cargo's stderr.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The wasm targets every fixture is built for (the allocator export differs: docs/abi.md).
const TARGETS: [&str; 2] = ["wasm32-wasip1", "wasm32-unknown-unknown"];

/// Cargo variables set for this build script that would change what the nested cargo does.
/// Everything else starting with `CARGO_` is dropped too, except the user's cargo settings
/// (home, registries, network, terminal) listed in [`KEPT_CARGO_PREFIXES`].
const LEAKING_VARS: &[&str] = &[
    "RUSTFLAGS",
    "RUSTDOCFLAGS",
    "RUSTC",
    "RUSTDOC",
    "RUSTC_LINKER",
    "RUSTC_WORKSPACE_WRAPPER",
    "MAKEFLAGS",
    "MFLAGS",
    "TARGET",
    "HOST",
    "OUT_DIR",
    "PROFILE",
    "OPT_LEVEL",
    "DEBUG",
    "NUM_JOBS",
];
const KEPT_CARGO_PREFIXES: &[&str] = &[
    "CARGO_HOME",
    "CARGO_NET_",
    "CARGO_HTTP_",
    "CARGO_REGISTRIES_",
    "CARGO_REGISTRY_",
    "CARGO_TERM_",
];

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf();
    let filters = root.join("filters");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());

    println!("cargo:rerun-if-changed=build.rs");
    watch_sources(&filters);

    let target_dir = filters.join("target");
    let mut build = nested_cargo(&cargo, &filters);
    build.args(["build", "--release", "--workspace", "--locked"]);
    for target in TARGETS {
        build.args(["--target", target]);
    }
    build.arg("--target-dir").arg(&target_dir);
    run(build, "building the filters/ workspace for wasm");

    let cdylibs = cdylib_names(&cargo, &filters);
    let wats = convert_wat(&filters.join("wat"), &out_dir.join("wat"));
    let table = render_table(&target_dir, &cdylibs, &wats);
    fs::write(out_dir.join("fixtures.rs"), table).expect("write fixtures.rs");
}

/// Re-runs this script when anything in `filters/` except build output changes. Directories are
/// watched recursively by cargo, so new crates and new `.wat` files are picked up too.
fn watch_sources(filters: &Path) {
    let entries = fs::read_dir(filters).expect("read filters/");
    for entry in entries {
        let path = entry.expect("read filters/ entry").path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name == "target" || name.starts_with('.') {
            continue;
        }
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// A cargo command in `dir` that inherits nothing from the outer build but the user's settings.
fn nested_cargo(cargo: &std::ffi::OsStr, dir: &Path) -> Command {
    let mut cmd = Command::new(cargo);
    cmd.current_dir(dir);
    for (key, _) in env::vars_os() {
        let key = key.to_string_lossy();
        let cargo_var = key.starts_with("CARGO_") || key == "CARGO";
        let kept = KEPT_CARGO_PREFIXES.iter().any(|p| key.starts_with(p));
        if (cargo_var && !kept) || LEAKING_VARS.contains(&key.as_ref()) {
            cmd.env_remove(key.as_ref());
        }
    }
    cmd
}

/// Runs `cmd`, failing the build with its stderr when it fails; returns its stdout.
fn run(mut cmd: Command, what: &str) -> Vec<u8> {
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    if !output.status.success() {
        panic!(
            "{what} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    output.stdout
}

/// The library names (as the `.wasm` files are named) of the workspace's cdylib targets that
/// are proxy-wasm modules. A crate that is not (the engine probe) opts out with
/// `[package.metadata.microwaf] proxy_wasm = false`; it is still built.
fn cdylib_names(cargo: &std::ffi::OsStr, filters: &Path) -> Vec<String> {
    let mut cmd = nested_cargo(cargo, filters);
    cmd.args(["metadata", "--format-version", "1", "--no-deps", "--locked"]);
    let stdout = run(cmd, "reading the filters/ workspace metadata");
    let metadata: serde_json::Value =
        serde_json::from_slice(&stdout).expect("cargo metadata prints JSON");
    let mut names = Vec::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        if package["metadata"]["microwaf"]["proxy_wasm"] == serde_json::Value::Bool(false) {
            continue;
        }
        for target in package["targets"].as_array().into_iter().flatten() {
            let is_cdylib = target["crate_types"]
                .as_array()
                .is_some_and(|types| types.iter().any(|t| t == "cdylib"));
            if let (true, Some(name)) = (is_cdylib, target["name"].as_str()) {
                names.push(name.replace('-', "_"));
            }
        }
    }
    names.sort();
    names
}

/// Converts every `*.wat` in `src` to `<stem>.wasm` in `dst`; returns (stem, output path).
fn convert_wat(src: &Path, dst: &Path) -> Vec<(String, PathBuf)> {
    fs::create_dir_all(dst).expect("create OUT_DIR/wat");
    let mut converted = Vec::new();
    let Ok(entries) = fs::read_dir(src) else {
        return converted;
    };
    for entry in entries {
        let path = entry.expect("read filters/wat entry").path();
        if path.extension().is_none_or(|e| e != "wat") {
            continue;
        }
        let stem = path
            .file_stem()
            .expect("a .wat file has a stem")
            .to_string_lossy()
            .into_owned();
        let wasm =
            wat::parse_file(&path).unwrap_or_else(|e| panic!("converting {}: {e}", path.display()));
        let out = dst.join(format!("{stem}.wasm"));
        fs::write(&out, wasm).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
        converted.push((stem, out));
    }
    converted.sort();
    converted
}

/// The generated table: `RUST` rows are (fixture name, library name, wasip1 path, unknown
/// path); `WAT` rows are (name, path). Conformance crates are named without their
/// `conformance_` prefix (`headers`), other crates by library name (`microwaf_filter`).
fn render_table(target_dir: &Path, cdylibs: &[String], wats: &[(String, PathBuf)]) -> String {
    let mut out = String::from("pub(crate) const RUST: &[(&str, &str, &str, &str)] = &[\n");
    for lib in cdylibs {
        let name = lib.strip_prefix("conformance_").unwrap_or(lib);
        let [wasip1, unknown] = TARGETS.map(|t| {
            target_dir
                .join(t)
                .join("release")
                .join(format!("{lib}.wasm"))
        });
        writeln!(
            out,
            "    ({name:?}, {lib:?}, {:?}, {:?}),",
            wasip1.display().to_string(),
            unknown.display().to_string()
        )
        .expect("write to string");
    }
    out.push_str("];\n\npub(crate) const WAT: &[(&str, &str)] = &[\n");
    for (name, path) in wats {
        writeln!(out, "    ({name:?}, {:?}),", path.display().to_string()).expect("write");
    }
    out.push_str("];\n");
    out
}
