//! Operations end to end: a config-file edit reaches the running app through the watcher, a
//! plugin that fails on reload keeps the old configuration, and SIGTERM with a request still in
//! flight past the drain deadline cuts it and ends the process.

use microwaf_tests::bin::microwaf;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use microwaf_proxy::app::{self, App};
use microwaf_proxy::config::{self, watch::WatchOptions};
use microwaf_tests::fixtures::{self, Target};

use super::harness::*;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("microwaf-ops-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn reloads(app: &App) -> String {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &app.registry).unwrap();
    text.lines()
        .filter(|l| l.starts_with("config_reloads_total"))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn eventually_name(addr: std::net::SocketAddr, want: &str) -> String {
    let mut last = String::new();
    for _ in 0..100 {
        last = send(addr, false, get("svc", "/name", false)).await.text();
        if last == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    last
}

#[tokio::test]
async fn editing_the_file_reloads_the_app_and_a_bad_plugin_keeps_the_old_config() {
    let (a, b) = (upstream("a").await, upstream("b").await);
    let dir = scratch("watch");
    let path = dir.join("config.yaml");
    std::fs::write(&path, simple(a, "")).unwrap();
    let app = Arc::new(App::start(config::load(&path).unwrap()).await.unwrap());
    let options = WatchOptions {
        poll: Some(Duration::from_millis(20)),
        sighup: false,
        metrics: None,
    };
    let _watcher = app::apply_reloads_with(app.clone(), path.clone(), options).unwrap();
    let target = addr(&app);
    assert_eq!(
        send(target, false, get("svc", "/name", false)).await.text(),
        "a"
    );

    std::fs::write(&path, simple(b, "")).unwrap();
    assert_eq!(eventually_name(target, "b").await, "b");
    assert_eq!(reloads(&app), r#"config_reloads_total{result="ok"} 1"#);

    // A file that loads but whose plugin fails `on_configure`: rejected at build time.
    let failing = fixtures::wasm("config", Target::Wasip1);
    let bad = simple(a, "").replace(
        "    routes:",
        &format!(
            "    filters:\n      - name: config\n        code: {}\n        config: fail\n    routes:",
            failing.display()
        ),
    );
    std::fs::write(&path, bad).unwrap();
    let mut seen = String::new();
    for _ in 0..100 {
        seen = reloads(&app);
        if seen.contains("error") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert!(
        seen.contains(r#"config_reloads_total{result="error"} 1"#),
        "{seen}"
    );
    assert_eq!(
        send(target, false, get("svc", "/name", false)).await.text(),
        "b"
    );
    assert!(app.config().listeners[0].name == "main");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn sigterm_past_the_drain_deadline_cuts_the_request_and_exits() {
    let up = upstream("a").await;
    let listen = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dir = scratch("sigterm");
    let path = dir.join("config.yaml");
    std::fs::write(
        &path,
        simple(up, "").replace("127.0.0.1:0", &listen.to_string()),
    )
    .unwrap();
    let mut child = Command::new(microwaf())
        .args(["serve", "--config"])
        .arg(&path)
        .args(["--drain-timeout", "300ms"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut up_now = false;
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(listen).await.is_ok() {
            up_now = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(up_now, "serve did not start listening");
    let slow = tokio::spawn(async move {
        let tcp = tokio::net::TcpStream::connect(listen).await.unwrap();
        let (mut s, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
                .await
                .unwrap();
        tokio::spawn(conn);
        let resp = s.send_request(get("svc", "/sleep/5000", false)).await;
        match resp {
            Ok(r) => http_body_util::BodyExt::collect(r.into_body())
                .await
                .is_ok(),
            Err(_) => false,
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(t.elapsed() < Duration::from_secs(4), "serve still running");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status:?}");
    assert!(
        t.elapsed() >= Duration::from_millis(250),
        "exited before the deadline"
    );
    let completed = tokio::time::timeout(Duration::from_secs(3), slow)
        .await
        .expect("client noticed the cut")
        .unwrap();
    assert!(!completed, "the in-flight request was cut, not answered");
    let _ = std::fs::remove_dir_all(dir);
}
