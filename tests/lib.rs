//! Helpers shared by the integration tests.

#[path = "src/fixtures.rs"]
pub mod fixtures;
