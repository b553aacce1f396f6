//! One integration-test binary; a module per area.
mod bench;
mod config;
mod fixtures;
mod proxy;
