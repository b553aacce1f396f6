//! MicroWAF, the proxy-wasm filter: finds sensitive data and attacks in HTTP traffic, then
//! alerts, redacts or blocks per its policy (the plugin configuration), and reports which
//! service talked to which and which token touched which data as proxy-wasm metrics.
//!
//! All detection lives in `microwaf-engine` (pure Rust, tested natively); this crate is the
//! glue to the proxy-wasm ABI through the official SDK, so the same `.wasm` runs in Envoy,
//! Istio and microwaf. It imports only what Envoy provides.

mod actions;
mod budget;
mod metrics;
mod root;
mod side;
mod stream;
mod vm;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(proxy_wasm::types::LogLevel::Trace);
    proxy_wasm::set_root_context(|_| Box::new(root::Root::default()));
}}
