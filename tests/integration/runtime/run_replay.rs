//! `microwaf run` as a replay tool: HTTP/1.1 framing of its input files (chunked bodies,
//! trailers), well-formed output, the exit status of a failed filter, plain or JSON log lines.

use std::path::PathBuf;
use std::process::{Command, Output};

use microwaf_tests::bin::microwaf;
use microwaf_tests::fixtures::{self, Target};

fn file(name: &str, contents: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("microwaf-run-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(microwaf())
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("spawn microwaf")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn chunked_files_reach_the_filter_decoded_and_leave_with_one_framing() {
    let body = fixtures::wasm("body", Target::Wasip1);
    let req = file(
        "chunked-req.http",
        b"POST /up HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n\
          3\r\nhel\r\n2;x=y\r\nlo\r\n0\r\n\r\n",
    );
    let resp = file(
        "chunked-resp.http",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n\
          5\r\nworld\r\n0\r\n\r\n",
    );
    let o = run(
        &[
            "run",
            "--wasm",
            body.to_str().unwrap(),
            "--plugin-config",
            r#"{"request":"append","response":"prepend"}"#,
            "--request",
            req.to_str().unwrap(),
            "--response",
            resp.to_str().unwrap(),
            "--show-upstream",
        ],
        &[],
    );
    let stdout = text(&o.stdout);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let (upstream, client) = stdout.split_at(stdout.find("HTTP/1.1 200").expect("response"));
    // The filter saw the decoded body (it appended to "hello", not to chunk framing), and the
    // output is framed once, by a length that matches what the filter left.
    assert_eq!(
        upstream,
        "POST /up HTTP/1.1\r\nhost: a.test\r\ncontent-length: 14\r\n\r\nhello[fixture]"
    );
    assert_eq!(
        client,
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 14\r\n\r\n[fixture]world"
    );
}

#[test]
fn trailers_end_the_stream_and_flush_what_a_filter_held() {
    // The body fixture holds every chunk until end of stream; with trailers the stream ends in
    // the trailers callback, so the held body goes on unchanged, ahead of the trailers.
    let body = fixtures::wasm("body", Target::Wasip1);
    let req = file("plain.http", b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    let resp = file(
        "trailers-resp.http",
        b"HTTP/1.1 200 OK\r\nContent-Type: application/grpc\r\nTransfer-Encoding: chunked\r\n\r\n\
          4\r\n\0\0\0\0\r\n1\r\n\0\r\n0\r\ngrpc-status: 0\r\ngrpc-message: ok\r\n\r\n",
    );
    let o = run(
        &[
            "run",
            "--wasm",
            body.to_str().unwrap(),
            "--plugin-config",
            r#"{"response":"append"}"#,
            "--request",
            req.to_str().unwrap(),
            "--response",
            resp.to_str().unwrap(),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        o.stdout,
        b"HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\ntransfer-encoding: chunked\r\n\r\n\
          5\r\n\0\0\0\0\0\r\n0\r\ngrpc-status: 0\r\ngrpc-message: ok\r\n\r\n"
    );

    let bad = file(
        "bad-chunked.http",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
    );
    let o = run(
        &[
            "run",
            "--wasm",
            body.to_str().unwrap(),
            "--request",
            bad.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("both transfer-encoding and content-length"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn a_trapping_filter_fails_the_run_and_its_trap_is_printed_once() {
    let hostile = fixtures::wat("hostile");
    let req = file("trap.http", b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    let o = run(
        &[
            "run",
            "--wasm",
            hostile.to_str().unwrap(),
            "--plugin-config",
            "trap on_request_headers",
            "--request",
            req.to_str().unwrap(),
        ],
        &[],
    );
    let (stdout, stderr) = (text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    assert!(stdout.starts_with("HTTP/1.1 503 "), "{stdout}");
    assert_eq!(stderr.matches("wasm backtrace").count(), 1, "{stderr}");
    assert!(stderr.contains("the VM of hostile failed"), "{stderr}");
}

#[test]
fn logs_are_plain_text_when_piped_and_json_on_request() {
    let noop = fixtures::wasm("noop", Target::Wasip1);
    let req = file("log.http", b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    let args = [
        "run",
        "--wasm",
        noop.to_str().unwrap(),
        "--request",
        req.to_str().unwrap(),
    ];
    // Stderr is a pipe here: no colour codes, even with a colour-loving terminal type.
    let o = run(
        &args,
        &[("MICROWAF_LOG", "info"), ("TERM", "xterm-256color")],
    );
    let stderr = text(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("wasm module loaded"), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "ANSI escape in piped logs: {stderr:?}"
    );

    let mut json = vec!["--log-format", "json"];
    json.extend(args);
    let o = run(&json, &[("MICROWAF_LOG", "info")]);
    let stderr = text(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.contains("wasm module loaded"))
        .unwrap_or_else(|| panic!("no module-load line: {stderr}"));
    let v: serde_json::Value = serde_json::from_str(line).expect("a JSON log line");
    assert_eq!(v["level"], "INFO");
    assert_eq!(v["fields"]["message"], "wasm module loaded");
}

/// `--callout NAME=@FILE` answers HTTP and gRPC calls from a recording, `NAME=http://…` sends
/// them to a live server, and a call to any other cluster is accepted and fails later (the SDK's
/// gRPC example unwraps the dispatch result; it must not see InternalFailure).
#[test]
fn callouts_are_answered_from_files_and_local_servers() {
    let callouts = fixtures::wasm("callouts", Target::Wasip1);
    let replay = |headers: &str, config: &str, extra: &[&str]| {
        let req = file(
            "callout.http",
            format!("GET / HTTP/1.1\r\nHost: a\r\nx-callout-mode: reply\r\n{headers}\r\n")
                .as_bytes(),
        );
        let mut args = vec![
            "run".to_owned(),
            "--wasm".to_owned(),
            callouts.display().to_string(),
            "--plugin-config".to_owned(),
            config.to_owned(),
            "--request".to_owned(),
            req.display().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = run(&args, &[]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        text(&o.stdout)
    };

    let recorded = file(
        "callout-resp.http",
        b"HTTP/1.1 201 Created\r\nx-from: file\r\ncontent-length: 8\r\n\r\nrecorded",
    );
    let at = format!("callout=@{}", recorded.display());
    let out = replay("", "{}", &["--callout", &at]);
    assert!(out.starts_with("HTTP/1.1 201 Created\r\n"), "{out}");
    assert!(out.contains("x-callout-header-x-from: file\r\n"), "{out}");
    assert!(out.ends_with("\r\n\r\nrecorded"), "{out}");

    let grpc_file = file(
        "callout-grpc.http",
        b"HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\ntransfer-encoding: chunked\r\n\r\n\
          9\r\n\0\0\0\0\x04pong\r\n0\r\ngrpc-status: 0\r\n\r\n",
    );
    let at = format!("callout=@{}", grpc_file.display());
    let out = replay("x-callout-kind: grpc\r\n", "{}", &["--callout", &at]);
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.ends_with("\r\n\r\npong"), "{out}");

    // No --callout for the cluster: the gRPC dispatch is accepted, the call fails later.
    let out = replay("x-callout-kind: grpc\r\n", "{}", &[]);
    assert!(out.starts_with("HTTP/1.1 502 "), "{out}");
    assert!(out.contains("x-grpc-status: 14\r\n"), "{out}");
    let out = replay("", "{}", &[]);
    assert!(out.starts_with("HTTP/1.1 503 "), "{out}");
    assert!(out.contains("x-callout-failed: 11\r\n"), "{out}");

    // A live server: the proxy's own clusters carry the calls.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let up = rt.block_on(crate::proxy::harness::upstream("live"));
    let url = format!("callout=http://{up}");
    let out = replay("", r#"{"path": "/name"}"#, &["--callout", &url]);
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.ends_with("\r\n\r\nlive"), "{out}");
    // The upstream answers `/trailers/...` as a gRPC echo over HTTP/2.
    let out = replay(
        "x-callout-kind: grpc\r\nx-grpc-message: hello\r\n",
        r#"{"grpc_service": "trailers"}"#,
        &["--callout", &url],
    );
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.ends_with("\r\n\r\nhello"), "{out}");
}
