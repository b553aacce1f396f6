//! `microwaf compile` and `microwaf run`, through the real binary.

use microwaf_tests::bin::microwaf;
use std::path::PathBuf;
use std::process::{Command, Output};

use microwaf_runtime::{load_precompiled, Runtime, RuntimeConfig};
use microwaf_tests::fixtures::{self, Target};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("microwaf-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn run(args: &[&str]) -> Output {
    Command::new(microwaf())
        .args(args)
        .output()
        .expect("spawn microwaf")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn compile_writes_an_artifact_the_runtime_loads() {
    let wasm = fixtures::wasm("noop", Target::Unknown);
    let out = tmp("noop.cwasm");
    let o = run(&[
        "compile",
        wasm.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let rt = Runtime::new(RuntimeConfig {
        max_instances: 1,
        ..Default::default()
    })
    .unwrap();
    let module = load_precompiled(rt.wasmtime_engine(), &out).expect("verified artifact");
    assert!(module
        .exports()
        .any(|e| e.name() == "proxy_abi_version_0_2_1"));

    let o = run(&["compile", "no/such/file.wasm"]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("cannot read no/such/file.wasm"),
        "{}",
        text(&o.stderr)
    );
    let garbage = tmp("garbage.wasm");
    std::fs::write(&garbage, b"\0asm\x01\0\0\0garbage").unwrap();
    let o = run(&["compile", garbage.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("compile failed"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn run_replays_an_exchange_through_a_chain() {
    let req = tmp("req.http");
    std::fs::write(&req, "POST /items HTTP/1.1\r\nHost: svc.test\r\nX-Echo: e1\r\nX-Drop-This: 1\r\nContent-Length: 5\r\n\r\nhello").unwrap();
    let resp = tmp("resp.http");
    std::fs::write(
        &resp,
        "HTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\nworld",
    )
    .unwrap();
    let body_cfg = tmp("body.json");
    std::fs::write(&body_cfg, r#"{"request":"append","response":"prepend"}"#).unwrap();
    let headers = fixtures::wasm("headers", Target::Wasip1);
    let body = fixtures::wasm("body", Target::Unknown);
    let o = run(&[
        "run",
        "--wasm",
        headers.to_str().unwrap(),
        "--wasm",
        body.to_str().unwrap(),
        "--plugin-config",
        &format!("@{}", body_cfg.display()),
        "--request",
        req.to_str().unwrap(),
        "--response",
        resp.to_str().unwrap(),
        "--show-upstream",
    ]);
    let (stdout, stderr) = (text(&o.stdout), text(&o.stderr));
    assert!(o.status.success(), "{stderr}");
    let (upstream, client) = stdout.split_at(stdout.find("HTTP/1.1 201").expect("response"));
    assert!(
        upstream.starts_with("POST /items HTTP/1.1\r\nhost: svc.test\r\n"),
        "{upstream}"
    );
    assert!(upstream.contains("x-fixture-added: 1\r\n"), "{upstream}");
    assert!(!upstream.contains("x-drop-this"), "{upstream}");
    assert!(upstream.ends_with("\r\n\r\nhello[fixture]"), "{upstream}");
    assert!(client.contains("x-fixture-echo: e1\r\n"), "{client}");
    assert!(client.ends_with("\r\n\r\n[fixture]world"), "{client}");
    // Plugins are named after the file stem (`conformance_headers`).
    assert!(
        stderr.contains("headers#2: headers: request :path=/items"),
        "{stderr}"
    );
    assert!(stderr.lines().all(|l| l.starts_with('[')), "{stderr}");
}

#[test]
fn run_prints_a_local_reply_and_fails_clearly_on_bad_input() {
    let req = tmp("local.http");
    std::fs::write(
        &req,
        "GET / HTTP/1.1\r\nHost: a\r\nX-Local-Reply: 403\r\n\r\n",
    )
    .unwrap();
    let wasm = fixtures::wasm("local_reply", Target::Wasip1);
    let o = run(&[
        "run",
        "--wasm",
        wasm.to_str().unwrap(),
        "--request",
        req.to_str().unwrap(),
    ]);
    let stdout = text(&o.stdout);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(stdout.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{stdout}");
    assert!(stdout.contains("x-seen-local: true\r\n"), "{stdout}");
    assert!(stdout.ends_with("local reply 403\n"), "{stdout}");

    let bad = tmp("bad.http");
    std::fs::write(&bad, "GET / HTTP/1.1\r\nHost: a").unwrap();
    let o = run(&[
        "run",
        "--wasm",
        wasm.to_str().unwrap(),
        "--request",
        bad.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("cannot parse request"),
        "{}",
        text(&o.stderr)
    );

    let o = run(&[
        "run",
        "--wasm",
        "missing.wasm",
        "--request",
        req.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("missing.wasm"),
        "{}",
        text(&o.stderr)
    );

    let mut cfg_fail = vec!["run", "--wasm"];
    let config = fixtures::wasm("config", Target::Unknown);
    cfg_fail.extend([
        config.to_str().unwrap(),
        "--plugin-config",
        "fail",
        "--request",
        req.to_str().unwrap(),
    ]);
    let o = run(&cfg_fail);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("proxy_on_configure returned false"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn run_passes_vm_config_and_answers_200_empty_without_a_response() {
    let req = tmp("cfg.http");
    std::fs::write(&req, "GET /cfg HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    let vm_cfg = tmp("vm.txt");
    std::fs::write(&vm_cfg, "vm-from-file").unwrap();
    let wasm = fixtures::wasm("config", Target::Unknown);
    let o = run(&[
        "run",
        "--wasm",
        wasm.to_str().unwrap(),
        "--vm-config",
        &format!("@{}", vm_cfg.display()),
        "--plugin-config",
        "plugin-text",
        "--request",
        req.to_str().unwrap(),
    ]);
    let (stdout, stderr) = (text(&o.stdout), text(&o.stderr));
    assert!(o.status.success(), "{stderr}");
    // No --response: the upstream answers 200 with an empty body.
    assert!(stdout.starts_with("HTTP/1.1 200 OK\r\n"), "{stdout}");
    assert!(stdout.ends_with("\r\n\r\n"), "{stdout}");
    assert!(stdout.contains("x-vm-config: vm-from-file\r\n"), "{stdout}");
    assert!(
        stdout.contains("x-plugin-config: plugin-text\r\n"),
        "{stdout}"
    );
    assert!(
        stderr.contains("config: vm_start size=12 vm=vm-from-file"),
        "{stderr}"
    );
}

#[test]
fn run_serves_root_id_and_request_properties_from_the_replayed_request() {
    let req = tmp("props.http");
    std::fs::write(
        &req,
        "PUT /p/q?x=1 HTTP/1.1\r\nHost: props.test\r\nX-Custom: c1\r\n\r\n",
    )
    .unwrap();
    let wasm = fixtures::wasm("properties", Target::Wasip1);
    let cfg = r#"{"properties":["request.path","request.url_path","request.method","request.host",["request","headers","x-custom"],"plugin_root_id","source.address"]}"#;
    let o = run(&[
        "run",
        "--wasm",
        wasm.to_str().unwrap(),
        "--root-id",
        "cli-root",
        "--plugin-config",
        cfg,
        "--request",
        req.to_str().unwrap(),
    ]);
    let (stdout, stderr) = (text(&o.stdout), text(&o.stderr));
    assert!(o.status.success(), "{stderr}");
    for (name, want) in [
        ("request.path", "/p/q?x=1"),
        ("request.url_path", "/p/q"),
        ("request.method", "PUT"),
        ("request.host", "props.test"),
        ("request.headers.x-custom", "c1"),
        ("plugin_root_id", "cli-root"),
        // No connection in a replay: absent, not invented.
        ("source.address", "<missing>"),
    ] {
        let line = format!("x-prop-{name}: {want}\r\n");
        assert!(stdout.contains(&line), "{line:?} in {stdout}");
    }
}
