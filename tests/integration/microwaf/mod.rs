//! MicroWAF end to end: the filter built from `filters/microwaf`, loaded by the proxy
//! in-process, in front of a real upstream that leaks (or does not leak) sensitive data.

pub(crate) mod upstream;

mod actions;
mod events;
mod native_wasm;
mod redaction;
mod scan_cli;
mod streaming;
mod visibility;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use microwaf_proxy::app::App;
use microwaf_tests::fixtures::{self, Target};

use crate::proxy::harness::start;

/// A card number that passes Luhn, as the leaking upstream sends it.
pub const CARD: &str = "4539578763621486";
/// A valid-looking SSN.
pub const SSN: &str = "536-90-4399";

/// Listener `main` with MicroWAF (policy given as a YAML block, indented by the caller's
/// convention of 10 spaces) in front of cluster `up`; admin on :0; label extraction for the
/// filter's metrics.
pub fn config(up: SocketAddr, policy: &str) -> String {
    let wasm = fixtures::wasm("microwaf_filter", Target::Wasip1);
    let policy: String = policy.lines().map(|l| format!("          {l}\n")).collect();
    format!(
        r#"
admin: 127.0.0.1:0
stats_tags:
  - {{tag_name: category, regex: "(;category=([^;]*))"}}
  - {{tag_name: endpoint, regex: "(;endpoint=([^;]*))"}}
  - {{tag_name: source, regex: "(;source=([^;]*))"}}
  - {{tag_name: destination, regex: "(;destination=([^;]*))"}}
  - {{tag_name: token, regex: "(;token=([^;]*))"}}
  - {{tag_name: direction, regex: "(;direction=([^;]*))"}}
  - {{tag_name: action, regex: "(;action=([^;]*))"}}
  - {{tag_name: reason, regex: "(;reason=([^;]*))"}}
listeners:
  - name: main
    address: 127.0.0.1:0
    filters:
      - name: microwaf
        code: {wasm}
        vm_count: 1
        config:
{policy}
    routes:
      - prefix: /
        cluster: up
clusters:
  - name: up
    endpoints: ["{up}"]
    connect_timeout: 1s
    http2: true
"#,
        wasm = wasm.display()
    )
}

/// Starts an upstream and the proxy with MicroWAF and `policy` (YAML, may be empty: `{}`).
pub async fn start_with(policy: &str) -> (App, upstream::Upstream) {
    let up = upstream::Upstream::start().await;
    let app = start(&config(up.addr, policy)).await;
    (app, up)
}

/// The `microwaf` binary of this target dir, built once (a plain `cargo test -p
/// microwaf-tests` does not build other packages' binaries).
pub fn microwaf() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("test exe");
        let dir = exe
            .parent()
            .and_then(|d| d.parent())
            .expect("target profile dir");
        let bin = dir.join(format!("microwaf{}", std::env::consts::EXE_SUFFIX));
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "microwaf-proxy", "--bin", "microwaf"])
            .status()
            .expect("run cargo build");
        assert!(status.success(), "building the microwaf binary failed");
        bin
    })
}
