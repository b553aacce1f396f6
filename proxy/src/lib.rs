//! The microwaf L7 proxy as a library, so integration tests and benches run it in-process.
//!
//! Flow (see proxy/ARCHITECTURE.md): [`listener`] accepts → [`conn`] (TLS, HTTP/1.1 or HTTP/2
//! via hyper)
//! → [`http::service`] (filters, route, upstream) → [`upstream`] (clusters, pools) and back.
//! [`server::Proxy`] owns the listeners, reload and drain; [`worker`] runs the data-plane
//! threads (one runtime, socket per listener, pool slot and VM per plugin each).

pub mod access_log;
pub mod admin;
pub mod app;
pub mod bench;
pub mod build;
pub mod config;
pub mod conn;
pub mod demo;
pub mod drain;
pub mod http;
pub mod listener;
pub mod metrics;
pub mod module_cache;
pub mod pool_metrics;
pub mod server;
pub mod state;
pub mod tcp;
pub mod upstream;
pub mod wasm;
pub mod wasm_pool_metrics;
pub mod waypoint;
pub mod worker;
