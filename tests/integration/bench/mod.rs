//! `microwaf bench` end to end: the real binary, its built-in upstream, proxy children started
//! as `microwaf serve`, a very short run, and the JSON report it prints. No timing is asserted:
//! only that every variant was measured, with positive rates and well-formed figures.

mod waypoint;

use microwaf_tests::bin::microwaf;
use std::process::Command;

use serde_json::Value;

/// Runs `microwaf bench --json` with `args` and returns the parsed report.
fn bench(args: &[&str]) -> Value {
    let out = Command::new(microwaf())
        .args(["bench", "--json", "--rounds", "1", "--connections", "2"])
        .args(["--duration", "1s", "--warmup", "200ms"])
        .args(args)
        .env("MICROWAF_LOG", "warn")
        .output()
        .expect("running microwaf bench");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "microwaf bench {args:?} failed:\n{stderr}"
    );
    assert!(
        stderr.contains("round 1/1"),
        "progress on stderr:\n{stderr}"
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "--json output is not JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Checks one variant's summary and returns it.
fn variant<'a>(report: &'a Value, name: &str) -> &'a Value {
    let s = report["summary"]
        .as_array()
        .expect("summary array")
        .iter()
        .find(|s| s["variant"] == name)
        .unwrap_or_else(|| panic!("no {name} in {report:#}"));
    let rps = s["requests_per_sec"].as_f64().expect("requests_per_sec");
    assert!(rps > 0.0, "{name}: {rps} req/s");
    let lat = &s["latency_us"];
    let p50 = lat["p50"].as_f64().unwrap();
    let p99 = lat["p99"].as_f64().unwrap();
    assert!(p50 > 0.0 && p50 <= p99, "{name}: p50 {p50} p99 {p99}");
    assert_eq!(s["errors"], 0, "{name}: transport errors");
    assert_eq!(s["non_2xx"], 0, "{name}: non-2xx responses");
    s
}

fn proxy_figures(s: &Value) {
    let cpu = s["proxy_cpu_s_per_1k"]
        .as_f64()
        .expect("proxy CPU measured");
    assert!(cpu >= 0.0);
    let rss = s["proxy_peak_rss_kib"]
        .as_u64()
        .expect("proxy RSS measured");
    assert!(rss > 1024, "peak RSS {rss} KiB");
}

#[test]
fn bench_without_filters_reports_direct_and_proxy() {
    let r = bench(&["--body-size", "512", "--content", "json-sensitive"]);
    variant(&r, "direct");
    proxy_figures(variant(&r, "proxy"));
    assert_eq!(r["measurements"].as_array().unwrap().len(), 2);
    let ratio = r["ratios"]["proxy_vs_direct_rps"].as_f64().expect("ratio");
    assert!(ratio > 0.0);
    assert!(r["ratios"]["filters_vs_proxy_rps"].is_null());
    assert!(r["machine"]["cores"].as_u64().unwrap() >= 1);
}

#[test]
fn bench_over_grpc_multiplexes_streams() {
    let r = bench(&["--protocol", "grpc", "--streams", "3"]);
    variant(&r, "direct");
    proxy_figures(variant(&r, "proxy"));
    assert_eq!(r["options"]["protocol"], "grpc");
}

#[test]
fn bench_rejects_a_missing_filter_file() {
    let out = Command::new(microwaf())
        .args(["bench", "--duration", "1s", "--rounds", "1"])
        .args(["--wasm", "/nonexistent/filter.wasm"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("filter.wasm"), "{stderr}");
}

#[test]
fn bench_reports_a_filter_the_proxy_cannot_load_with_its_log() {
    let dir = std::env::temp_dir().join(format!("microwaf-bench-badwasm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("garbage.wasm");
    std::fs::write(&bad, b"this is not a wasm module").unwrap();
    let out = Command::new(microwaf())
        .args([
            "bench",
            "--duration",
            "1s",
            "--rounds",
            "1",
            "--connections",
            "1",
        ])
        .arg("--wasm")
        .arg(&bad)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The first start of the filters child (the one that fills the module cache) fails.
    assert!(
        stderr.contains("the proxy (filters-compile) exited"),
        "names the child and says it exited:\n{stderr}"
    );
    // The child's own error names the plugin of the generated configuration.
    let log = stderr.split("its log:").nth(1).unwrap_or_default();
    assert!(
        log.contains("filter0"),
        "includes the child's log:\n{stderr}"
    );
}
