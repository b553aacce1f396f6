//! One integration-test binary; a module per area.

mod fixtures;
mod runtime;
