//! Every load of the binary goes through the module cache: a second start, a reload and a
//! second `microwaf run` map the artifact the first load stored instead of compiling again
//! (`microwaf_wasm_module_loads_total{cache}` and the runtime's load log say which).

use std::path::{Path, PathBuf};
use std::process::Command;

use microwaf_proxy::app::App;
use microwaf_proxy::config;
use microwaf_tests::bin::microwaf;
use microwaf_tests::fixtures::{self, Target};

use super::harness::*;

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("microwaf-mcache-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The `.cwasm` artifacts in `dir`.
fn artifacts(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| Some(e.ok()?.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
                .collect()
        })
        .unwrap_or_default()
}

/// `microwaf_wasm_module_loads_total` of each outcome: (hit, miss).
fn loads(app: &App) -> (u64, u64) {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &app.registry).unwrap();
    let count = |outcome: &str| {
        let series = format!("microwaf_wasm_module_loads_total{{cache=\"{outcome}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&series))
            .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
            .parse()
            .unwrap()
    };
    (count("hit"), count("miss"))
}

fn yaml(cache: &Path, up: std::net::SocketAddr) -> String {
    let wasm = fixtures::wasm("headers", Target::Wasip1);
    format!("module_cache: {}\n", cache.display())
        + &simple(up, "").replace(
            "    routes:",
            &format!(
                "    filters:\n      - name: headers\n        code: {}\n        config: {{}}\n    routes:",
                wasm.display()
            ),
        )
}

#[tokio::test]
async fn a_second_start_and_a_reload_map_the_cached_module() {
    let cache = fresh_dir("serve");
    let text = yaml(&cache, upstream("a").await);
    let parse = || config::parse(&text, "test.yaml", Path::new(".")).unwrap();

    let first = App::start(parse()).await.unwrap();
    assert_eq!(loads(&first), (0, 1), "the first start compiles");
    assert_eq!(artifacts(&cache).len(), 1, "and stores the artifact");
    drop(first);

    let second = App::start(parse()).await.unwrap();
    assert_eq!(loads(&second), (1, 0), "a second start compiles nothing");
    let r = send(addr(&second), false, get("svc", "/", false)).await;
    assert_eq!(
        r.headers["x-fixture-response"], "1",
        "the mapped module runs"
    );

    second.reload(parse()).unwrap();
    assert_eq!(loads(&second), (2, 0), "a reload maps it too");
    assert_eq!(artifacts(&cache).len(), 1);
    let _ = std::fs::remove_dir_all(&cache);
}

#[test]
fn a_second_run_maps_the_cached_module() {
    let cache = fresh_dir("run");
    let req = cache.join("req.http");
    std::fs::write(&req, "GET / HTTP/1.1\r\nhost: svc\r\n\r\n").unwrap();
    let wasm = fixtures::wasm("headers", Target::Wasip1);
    let run = || {
        let o = Command::new(microwaf())
            .args(["run", "--wasm"])
            .arg(&wasm)
            .arg("--request")
            .arg(&req)
            .arg("--module-cache")
            .arg(&cache)
            .env("MICROWAF_LOG", "info")
            // Plain `key="value"` fields, without colour codes between key and value.
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(o.status.success(), "{stderr}");
        stderr
    };
    let first = run();
    assert!(first.contains("cache=\"miss\""), "{first}");
    assert_eq!(artifacts(&cache).len(), 1);
    let second = run();
    assert!(second.contains("cache=\"hit\""), "{second}");
    assert!(!second.contains("cache=\"miss\""), "{second}");
    let _ = std::fs::remove_dir_all(&cache);
}
