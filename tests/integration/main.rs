//! One integration-test binary; a module per area.

mod fixtures;
mod config;
mod status_table;
mod proxy;
