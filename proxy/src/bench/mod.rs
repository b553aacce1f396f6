//! `microwaf bench`: what a proxy — and a proxy-wasm filter chain on it — costs per request.
//!
//! One run starts a built-in [`upstream`], the proxy as a child process (`microwaf serve` with a
//! generated configuration, so its CPU time and peak RSS can be read from `/proc`), and a
//! closed-loop (or constant-rate) [`load`] generator in this process. It then measures, in
//! alternating rounds, (a) the upstream directly, (b) the proxy without filters and (c) the
//! proxy with the given filters, and reports medians over rounds with the ratios (b)/(a) and
//! (c)/(b). Ratios from side-by-side rounds are what we publish: absolute figures drift on
//! shared machines, pairs measured a second apart mostly do not.
//!
//! Modules: [`content`] response bodies, [`upstream`] the built-in server, [`load`] the load
//! generator, [`procstat`] `/proc` readings, [`child`] the proxy child, [`runner`] the rounds,
//! [`report`] medians, the table and the JSON document.
//!
//! `--mode waypoint` measures the ambient waypoint instead: (b) the proxy without filters, (w)
//! HBONE tunnels through a waypoint child without filters, (w+f) the same with the filters
//! ([`waypoint`] the child's mesh, [`pki`] its certificates, [`hbone`] the tunnels).

pub mod child;
pub mod content;
pub mod hbone;
pub mod load;
pub mod pki;
pub mod procstat;
pub mod report;
pub mod runner;
pub mod startup;
pub mod terminator;
pub mod upstream;
pub mod waypoint;

use std::path::PathBuf;
use std::time::Duration;

pub use content::Content;
pub use runner::{run, BenchError};

/// The wire protocol between the load generator and the proxy (and the proxy and upstream).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// HTTP/1.1 keep-alive: one request at a time per connection.
    Http1,
    /// HTTP/2 prior knowledge (h2c): `streams` concurrent requests per connection.
    Http2,
    /// gRPC unary calls over h2c: length-prefixed messages and a `grpc-status` trailer.
    Grpc,
}

impl Protocol {
    /// Whether this protocol runs over HTTP/2.
    pub fn is_h2(self) -> bool {
        !matches!(self, Protocol::Http1)
    }
}

/// What the proxy children are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// HTTP listeners: direct vs proxy vs proxy with the filters.
    Proxy,
    /// Ambient waypoint: plain HTTP through the proxy vs HBONE through a waypoint, without and
    /// with the filters (HTTP/1.1 inside the tunnels).
    Waypoint,
}

/// One wasm filter of the chain under test.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FilterSpec {
    /// The `.wasm` file.
    pub path: PathBuf,
    /// Plugin configuration passed to `proxy_on_configure` as is.
    pub config: String,
}

/// Everything a run needs, independent of how it was asked for (CLI, tests).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Options {
    pub mode: Mode,
    /// Waypoint mode: the upstream is a mesh endpoint behind an in-process HBONE terminator
    /// (the waypoint opens HBONE to it) instead of a plain TCP endpoint.
    pub mesh_endpoint: bool,
    pub protocol: Protocol,
    /// Response body size in bytes.
    pub body_size: usize,
    pub content: Content,
    /// TCP connections from the load generator.
    pub connections: usize,
    /// Concurrent streams per connection (HTTP/2 and gRPC; HTTP/1.1 always uses 1).
    pub streams: usize,
    /// Requests on open connections before timing starts, not recorded.
    #[serde(with = "secs")]
    pub warmup: Duration,
    /// The timed window of each measurement.
    #[serde(with = "secs")]
    pub duration: Duration,
    pub rounds: usize,
    /// Constant total request rate (requests/s) instead of closed-loop maximum throughput.
    pub rate: Option<f64>,
    pub filters: Vec<FilterSpec>,
    /// `serve --workers` of the proxy children.
    pub proxy_workers: usize,
    /// Threads of the built-in upstream's runtime.
    pub upstream_threads: usize,
}

impl Options {
    /// Concurrent requests in flight at most: one per HTTP/1.1 connection, `streams` per HTTP/2
    /// connection.
    pub fn concurrency(&self) -> usize {
        if self.protocol.is_h2() {
            self.connections * self.streams.max(1)
        } else {
            self.connections
        }
    }
}

/// Durations as fractional seconds in the JSON output.
mod secs {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests;
