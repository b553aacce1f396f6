//! The HTTP pipeline: route matching, the filter phase trait and chain, the per-stream service.

pub mod body;
pub mod chain;
pub mod error;
pub mod filter;
pub mod headers;
pub mod honest;
pub mod log;
pub mod pump;
pub mod route;
pub mod service;
pub mod strict;

#[cfg(test)]
mod tests;
