//! One integration-test binary; a module per area.

mod bench;
mod config;
mod crate_graph;
mod fixtures;
mod hardening;
mod k8s;
mod microwaf;
mod proxy;
mod runtime;
mod status_table;
mod waypoint;
