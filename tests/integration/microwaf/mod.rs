//! MicroWAF end to end: the filter built from `filters/microwaf`, loaded by the proxy
//! in-process, in front of a real upstream that leaks (or does not leak) sensitive data.

pub(crate) mod upstream;

mod actions;
mod encoded;
mod events;
mod large;
mod native_wasm;
mod redaction;
mod scan_cli;
mod streaming;
mod visibility;

pub use microwaf_tests::bin::microwaf;
use std::net::SocketAddr;

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
