//! Configuration: file formats → one validated IR ([`Config`]) the data plane runs.
//!
//! Two formats are accepted and told apart automatically ([`load`]):
//! - the concise native YAML (`native`, documented in `docs/config.md`), and
//! - a static subset of the Envoy v3 bootstrap (`envoy`), so existing `envoy.yaml` files that
//!   only used Envoy to run proxy-wasm filters run unchanged (apart from paths and ports).
//!
//! Anything in an Envoy file that would change routing or security and is not implemented is
//! rejected with its field path rather than silently ignored; cosmetic fields are accepted.
//! Relative file paths are resolved against the configuration file's directory.
//! [`watch`] reloads the file on SIGHUP or when it changes.

pub mod duration;
mod error;
pub mod model;
pub mod pattern;

pub use error::{ConfigError, FieldError, FieldResult};
pub use model::*;
pub use pattern::Pattern;
