//! Helpers shared by the integration tests.

#[path = "src/bin.rs"]
pub mod bin;
#[path = "src/fixtures.rs"]
pub mod fixtures;
