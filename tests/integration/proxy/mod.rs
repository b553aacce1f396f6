//! The proxy in-process on 127.0.0.1:0 with real upstreams and real HTTP/1.1, HTTP/2 and gRPC
//! clients.

mod access_log;
mod basic;
mod breakers;
mod demo;
mod envoy;
mod fields;
mod filters;
mod grpc_local_reply;
pub(crate) mod harness;
mod limits;
mod limits_more;
mod module_cache;
mod ops;
mod ops_e2e;
mod pki;
mod props;
mod reload_listeners;
mod streaming;
mod tcp_route;
mod tcp_tls;
mod timeouts;
mod tls;
mod wasm;
mod workers;
