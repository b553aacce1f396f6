//! `RuntimeConfig::perf_map`: guest functions are named in the process's perf map, so a
//! `perf record` of the proxy attributes wasm time to filter functions (benches/README.md).

use microwaf_runtime::{Runtime, RuntimeConfig};
use microwaf_tests::fixtures::{self, Target};

#[test]
fn perf_map_names_guest_functions() {
    let map = std::path::PathBuf::from(format!("/tmp/perf-{}.map", std::process::id()));
    let rt = Runtime::new(RuntimeConfig {
        max_instances: 4,
        perf_map: true,
        ..Default::default()
    })
    .unwrap();
    let wasm = std::fs::read(fixtures::wasm("noop", Target::Unknown)).unwrap();
    rt.precompile("noop", &wasm).unwrap();
    let text = std::fs::read_to_string(&map).unwrap_or_else(|e| panic!("{}: {e}", map.display()));
    assert!(
        text.lines().any(|l| l.contains("proxy_on_context_create")),
        "no guest symbol in {}",
        map.display()
    );
    let _ = std::fs::remove_file(&map);
}
