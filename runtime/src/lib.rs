//! Wasmtime embedding for proxy-wasm plugins (work in progress).
