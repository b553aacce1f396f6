//! The guest fixtures themselves: every file the build script produced exists, validates,
//! carries the ABI marker and allocator its source promises, and imports nothing Envoy lacks
//! (docs/abi.md). A fixture failing here would make every runtime test built on it
//! meaningless, so these run first and need no host.

use anyhow::{bail, ensure, Context, Result};
use microwaf_tests::fixtures::{self, Fixture, Kind, Target};
use std::collections::BTreeSet;
use wasmparser::{FuncType, Parser, Payload, TypeRef, ValType, Validator};

/// Conformance fixtures `filters/FIXTURES.md` documents; each must have been built.
const RUST_FIXTURES: &[&str] = &[
    "body",
    "callouts",
    "config",
    "context_ids",
    "foreign",
    "headers",
    "l4",
    "local_reply",
    "metrics",
    "noop",
    "properties",
    "queues",
    "shared_data",
    "ticks",
];
const WAT_FIXTURES: &[&str] = &[
    "abi_0_1_0",
    "abi_0_2_0",
    "alloc_zero",
    "cut_body",
    "envoy_extras",
    "hostile",
    "huge_memory",
    "log_flood",
    "oob",
    "unknown_import",
];

/// Imports no host provides, on purpose: `unknown_import` checks that they never fail a load.
const DELIBERATELY_UNKNOWN: &[(&str, &str)] = &[
    ("env", "proxy_fixture_no_such_hostcall"),
    ("fixture_vendor", "anything"),
];

/// Envoy's `env` imports (docs/abi.md, ABI 0.2.1 plus the 0.1.0 additions) with their wasm32
/// signatures: parameter types, then result types.
const ENVOY_IMPORTS: &[(&str, &str)] = &[
    ("proxy_log", "i32 i32 i32 -> i32"),
    ("proxy_get_log_level", "i32 -> i32"),
    ("proxy_get_current_time_nanoseconds", "i32 -> i32"),
    ("proxy_set_tick_period_milliseconds", "i32 -> i32"),
    ("proxy_set_effective_context", "i32 -> i32"),
    ("proxy_done", " -> i32"),
    ("proxy_get_buffer_bytes", "i32 i32 i32 i32 i32 -> i32"),
    ("proxy_set_buffer_bytes", "i32 i32 i32 i32 i32 -> i32"),
    ("proxy_get_buffer_status", "i32 i32 i32 -> i32"),
    ("proxy_get_header_map_pairs", "i32 i32 i32 -> i32"),
    ("proxy_set_header_map_pairs", "i32 i32 i32 -> i32"),
    ("proxy_get_header_map_size", "i32 i32 -> i32"),
    ("proxy_get_header_map_value", "i32 i32 i32 i32 i32 -> i32"),
    ("proxy_add_header_map_value", "i32 i32 i32 i32 i32 -> i32"),
    (
        "proxy_replace_header_map_value",
        "i32 i32 i32 i32 i32 -> i32",
    ),
    ("proxy_remove_header_map_value", "i32 i32 i32 -> i32"),
    ("proxy_continue_stream", "i32 -> i32"),
    ("proxy_close_stream", "i32 -> i32"),
    (
        "proxy_send_local_response",
        "i32 i32 i32 i32 i32 i32 i32 i32 -> i32",
    ),
    (
        "proxy_http_call",
        "i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 -> i32",
    ),
    (
        "proxy_grpc_call",
        "i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 -> i32",
    ),
    (
        "proxy_grpc_stream",
        "i32 i32 i32 i32 i32 i32 i32 i32 i32 -> i32",
    ),
    ("proxy_grpc_send", "i32 i32 i32 i32 -> i32"),
    ("proxy_grpc_cancel", "i32 -> i32"),
    ("proxy_grpc_close", "i32 -> i32"),
    ("proxy_get_status", "i32 i32 i32 -> i32"),
    ("proxy_set_shared_data", "i32 i32 i32 i32 i32 -> i32"),
    ("proxy_get_shared_data", "i32 i32 i32 i32 i32 -> i32"),
    ("proxy_register_shared_queue", "i32 i32 i32 -> i32"),
    ("proxy_resolve_shared_queue", "i32 i32 i32 i32 i32 -> i32"),
    ("proxy_enqueue_shared_queue", "i32 i32 i32 -> i32"),
    ("proxy_dequeue_shared_queue", "i32 i32 i32 -> i32"),
    ("proxy_define_metric", "i32 i32 i32 i32 -> i32"),
    ("proxy_increment_metric", "i32 i64 -> i32"),
    ("proxy_record_metric", "i32 i64 -> i32"),
    ("proxy_get_metric", "i32 i32 -> i32"),
    ("proxy_get_property", "i32 i32 i32 i32 -> i32"),
    ("proxy_set_property", "i32 i32 i32 i32 -> i32"),
    (
        "proxy_call_foreign_function",
        "i32 i32 i32 i32 i32 i32 -> i32",
    ),
    ("pthread_equal", "i32 i32 -> i32"),
    ("emscripten_notify_memory_growth", "i32 -> "),
    ("proxy_get_configuration", "i32 i32 -> i32"),
    ("proxy_continue_request", " -> i32"),
    ("proxy_continue_response", " -> i32"),
    ("proxy_clear_route_cache", " -> i32"),
];

/// WASI preview1, importable under either module name.
const WASI_MODULES: &[&str] = &["wasi_snapshot_preview1", "wasi_unstable"];
const WASI_IMPORTS: &[&str] = &[
    "args_get",
    "args_sizes_get",
    "environ_get",
    "environ_sizes_get",
    "clock_res_get",
    "clock_time_get",
    "fd_advise",
    "fd_allocate",
    "fd_close",
    "fd_datasync",
    "fd_fdstat_get",
    "fd_fdstat_set_flags",
    "fd_fdstat_set_rights",
    "fd_filestat_get",
    "fd_filestat_set_size",
    "fd_filestat_set_times",
    "fd_pread",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "fd_pwrite",
    "fd_read",
    "fd_readdir",
    "fd_renumber",
    "fd_seek",
    "fd_sync",
    "fd_tell",
    "fd_write",
    "path_create_directory",
    "path_filestat_get",
    "path_filestat_set_times",
    "path_link",
    "path_open",
    "path_readlink",
    "path_remove_directory",
    "path_rename",
    "path_symlink",
    "path_unlink_file",
    "poll_oneoff",
    "proc_exit",
    "proc_raise",
    "sched_yield",
    "random_get",
    "sock_accept",
    "sock_recv",
    "sock_send",
    "sock_shutdown",
];

/// What a module imports and exports, read with wasmparser after validation.
struct Surface {
    /// (module, name, signature) of every function import.
    imports: Vec<(String, String, String)>,
    /// Names of every export.
    exports: BTreeSet<String>,
}

fn signature(ty: &FuncType) -> String {
    let names = |types: &[ValType]| {
        types
            .iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!("{} -> {}", names(ty.params()), names(ty.results()))
}

fn surface(fixture: &Fixture) -> Result<Surface> {
    let bytes = std::fs::read(&fixture.path)
        .with_context(|| format!("reading {}", fixture.path.display()))?;
    Validator::new()
        .validate_all(&bytes)
        .with_context(|| format!("validating {}", fixture.path.display()))?;
    let mut types: Vec<FuncType> = Vec::new();
    let mut imports = Vec::new();
    let mut exports = BTreeSet::new();
    for payload in Parser::new(0).parse_all(&bytes) {
        match payload? {
            Payload::TypeSection(reader) => {
                for ty in reader.into_iter_err_on_gc_types() {
                    types.push(ty?);
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import?;
                    if let TypeRef::Func(index) = import.ty {
                        let ty = types
                            .get(index as usize)
                            .context("import refers to a missing type")?;
                        imports.push((
                            import.module.to_string(),
                            import.name.to_string(),
                            signature(ty),
                        ));
                    }
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    exports.insert(export?.name.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(Surface { imports, exports })
}

/// The ABI marker each fixture must export.
fn expected_marker(fixture: &Fixture) -> &'static str {
    match (fixture.kind, fixture.name) {
        (Kind::Wat, "abi_0_1_0") => "proxy_abi_version_0_1_0",
        (Kind::Wat, "abi_0_2_0") => "proxy_abi_version_0_2_0",
        _ => "proxy_abi_version_0_2_1",
    }
}

/// The allocator exports each fixture must have (and the ones it must not).
fn expected_allocators(fixture: &Fixture) -> (&'static [&'static str], &'static [&'static str]) {
    const MALLOC: &str = "malloc";
    const PROXY: &str = "proxy_on_memory_allocate";
    match (fixture.kind, fixture.name) {
        (Kind::Rust(Target::Wasip1), _) => (&[PROXY], &[MALLOC]),
        (Kind::Rust(Target::Unknown), _) => (&[MALLOC], &[PROXY]),
        (Kind::Wat, "abi_0_2_0") => (&[PROXY], &[MALLOC]),
        (Kind::Wat, "alloc_zero") => (&[MALLOC, PROXY], &[]),
        (Kind::Wat, _) => (&[MALLOC], &[PROXY]),
    }
}

fn all_surfaces() -> Result<Vec<(Fixture, Surface)>> {
    fixtures::all()
        .into_iter()
        .map(|f| surface(&f).map(|s| (f, s)))
        .collect()
}

#[test]
fn every_documented_fixture_was_built() {
    let rust = fixtures::rust_names();
    for name in RUST_FIXTURES {
        assert!(
            rust.contains(name),
            "Rust fixture {name} missing from {rust:?}"
        );
    }
    let wat = fixtures::wat_names();
    for name in WAT_FIXTURES {
        assert!(
            wat.contains(name),
            "WAT fixture {name} missing from {wat:?}"
        );
    }
}

#[test]
fn fixtures_md_documents_every_fixture() -> Result<()> {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../filters/FIXTURES.md"),
    )?;
    let wat = fixtures::wat_names();
    for name in RUST_FIXTURES.iter().chain(wat.iter()) {
        ensure!(
            doc.contains(&format!("### `{name}`")),
            "filters/FIXTURES.md has no section for fixture {name}"
        );
    }
    Ok(())
}

#[test]
fn every_fixture_file_exists_and_validates() -> Result<()> {
    let all = fixtures::all();
    ensure!(all.len() >= 2 * RUST_FIXTURES.len() + WAT_FIXTURES.len());
    for fixture in &all {
        ensure!(fixture.path.is_file(), "{fixture:?} was not built");
        surface(fixture)?;
    }
    Ok(())
}

#[test]
fn each_fixture_exports_exactly_its_abi_marker() -> Result<()> {
    for (fixture, surface) in all_surfaces()? {
        let markers: Vec<&String> = surface
            .exports
            .iter()
            .filter(|e| e.starts_with("proxy_abi_version_"))
            .collect();
        ensure!(
            markers == [expected_marker(&fixture)],
            "{} ({:?}) exports markers {markers:?}",
            fixture.name,
            fixture.kind
        );
        ensure!(
            surface.exports.contains("memory"),
            "{}: no memory export",
            fixture.name
        );
        ensure!(
            surface.exports.contains("proxy_on_context_create"),
            "{}: no proxy_on_context_create",
            fixture.name
        );
    }
    Ok(())
}

#[test]
fn allocator_exports_match_the_target() -> Result<()> {
    for (fixture, surface) in all_surfaces()? {
        let (present, absent) = expected_allocators(&fixture);
        for name in present {
            ensure!(
                surface.exports.contains(*name),
                "{} ({:?}) must export {name}",
                fixture.name,
                fixture.kind
            );
        }
        for name in absent {
            ensure!(
                !surface.exports.contains(*name),
                "{} ({:?}) must not export {name}",
                fixture.name,
                fixture.kind
            );
        }
    }
    Ok(())
}

#[test]
fn imports_stay_within_the_envoy_set() -> Result<()> {
    for (fixture, surface) in all_surfaces()? {
        for (module, name, sig) in &surface.imports {
            let deliberate = DELIBERATELY_UNKNOWN.contains(&(module.as_str(), name.as_str()));
            if fixture.name == "unknown_import" && deliberate {
                continue;
            }
            if module == "env" {
                let Some((_, expected)) = ENVOY_IMPORTS.iter().find(|(n, _)| n == name) else {
                    bail!("{}: env.{name} is not in Envoy's import set", fixture.name);
                };
                ensure!(
                    sig == expected,
                    "{}: env.{name} has signature {sig}, Envoy's is {expected}",
                    fixture.name
                );
            } else if WASI_MODULES.contains(&module.as_str()) {
                ensure!(
                    WASI_IMPORTS.contains(&name.as_str()),
                    "{}: {module}.{name} is not WASI preview1",
                    fixture.name
                );
            } else {
                bail!(
                    "{}: import from unknown module {module}.{name}",
                    fixture.name
                );
            }
        }
    }
    Ok(())
}

#[test]
fn target_specific_entry_points() -> Result<()> {
    for (fixture, surface) in all_surfaces()? {
        let wasi = surface
            .imports
            .iter()
            .any(|(module, _, _)| WASI_MODULES.contains(&module.as_str()));
        match fixture.kind {
            Kind::Rust(Target::Wasip1) => ensure!(
                surface.exports.contains("_initialize"),
                "{}: wasip1 reactor without _initialize",
                fixture.name
            ),
            Kind::Rust(Target::Unknown) => {
                ensure!(
                    !wasi,
                    "{}: wasm32-unknown-unknown imports WASI",
                    fixture.name
                )
            }
            Kind::Wat if fixture.name == "abi_0_2_0" => {
                ensure!(surface.exports.contains("_start"), "abi_0_2_0: no _start");
                ensure!(wasi, "abi_0_2_0 must write through WASI fd_write");
            }
            Kind::Wat => {}
        }
    }
    Ok(())
}

#[test]
fn hostile_fixture_exports_every_callback_it_can_break() -> Result<()> {
    let hostile = fixtures::all()
        .into_iter()
        .find(|f| f.name == "hostile")
        .context("hostile fixture")?;
    let surface = surface(&hostile)?;
    for callback in [
        "proxy_on_vm_start",
        "proxy_on_configure",
        "proxy_on_context_create",
        "proxy_on_request_headers",
        "proxy_on_request_body",
        "proxy_on_response_headers",
        "proxy_on_response_body",
        "proxy_on_tick",
        "proxy_on_http_call_response",
        "proxy_on_log",
        "proxy_on_done",
        "proxy_on_delete",
    ] {
        ensure!(surface.exports.contains(callback), "hostile: no {callback}");
    }
    Ok(())
}

#[test]
fn rust_fixtures_resolve_by_either_name() {
    let by_dir = fixtures::wasm("local_reply", Target::Unknown);
    let by_lib = fixtures::wasm("conformance-local_reply", Target::Unknown);
    assert_eq!(by_dir, by_lib);
    assert_ne!(by_dir, fixtures::wasm("local_reply", Target::Wasip1));
    assert!(fixtures::wat("oob").ends_with("oob.wasm"));
}

#[test]
#[should_panic(expected = "known:")]
fn unknown_fixture_names_fail_loudly() {
    fixtures::wasm("no_such_fixture", Target::Wasip1);
}
