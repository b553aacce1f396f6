//! One integration-test binary; a module per area.
mod config;
mod proxy;
