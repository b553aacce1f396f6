//! MicroWAF's detection engine: finds sensitive data and attacks in HTTP payloads.
//!
//! Pure Rust with no proxy-wasm dependency, so the same code is tested and benchmarked natively,
//! runs in `microwaf scan`, and is compiled unchanged into the MicroWAF filter.
pub mod formats;
mod keycache;
pub mod redact;

pub mod cardinality;
pub mod detect;
pub mod identity;
pub mod inspect;
pub mod policy;
pub mod ratelimit;
pub mod token;
