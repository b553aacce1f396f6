//! The microwaf L7 proxy as a library, so integration tests and benches run it in-process.

pub mod admin;
pub mod config;
