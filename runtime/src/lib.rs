//! Wasmtime embedding for proxy-wasm plugins (work in progress).

pub mod foreign;
pub mod metrics;
pub mod properties;
pub mod shared;
