//! Wasm filters: the adapter between the runtime's sans-IO stream API and [`HttpFilter`].
//!
//! [`HttpFilter`]: crate::http::filter::HttpFilter

use std::sync::Arc;

use crate::build::BuildError;
use crate::config::WasmPlugin;
use crate::http::filter::HttpFilterFactory;

/// Loads each configured plugin into a filter factory.
pub fn loader() -> impl FnMut(&WasmPlugin) -> Result<Arc<dyn HttpFilterFactory>, BuildError> {
    |p: &WasmPlugin| {
        Err(BuildError::Plugin {
            plugin: p.name.clone(),
            reason: "wasm runtime not available in this build".into(),
        })
    }
}
