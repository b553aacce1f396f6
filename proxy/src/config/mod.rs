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
pub mod watch;

pub use error::{ConfigError, FieldError, FieldResult};
pub use model::*;
pub use pattern::Pattern;

mod envoy;
mod files;
mod module;
mod native;

use std::path::Path;

/// The two accepted file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Native,
    Envoy,
}

/// Tells the formats apart by their top-level keys: an Envoy bootstrap has
/// `static_resources` or `bootstrap_extensions`, or an `admin` object (the native `admin` is
/// an address string).
pub fn detect(doc: &serde_json::Value) -> Format {
    let envoy = doc.as_object().is_some_and(|m| {
        m.contains_key("static_resources")
            || m.contains_key("bootstrap_extensions")
            || m.get("admin").is_some_and(|a| a.is_object())
    });
    if envoy {
        Format::Envoy
    } else {
        Format::Native
    }
}

/// Reads, parses and validates the configuration file at `path` (either format).
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        file: file.clone(),
        source,
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse(&text, &file, base)
}

/// Parses configuration text. `file` names it in errors; relative paths inside are resolved
/// against `base_dir`.
pub fn parse(text: &str, file: &str, base_dir: &Path) -> Result<Config, ConfigError> {
    let mut yaml: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(text).map_err(|e| syntax(file, &e))?;
    // `<<: *anchor` merge keys, which Envoy's YAML loader applies too.
    yaml.apply_merge()
        .map_err(|e| FieldError::new("", e.to_string()).in_file(file))?;
    let doc = serde_json::to_value(&yaml).map_err(|e| {
        FieldError::new("", format!("not a JSON-compatible document: {e}")).in_file(file)
    })?;
    if doc.is_null() {
        // An empty (e.g. truncated) file must never become a configuration without listeners.
        return Err(FieldError::new("", "the file is empty").in_file(file));
    }
    let resolver = files::Resolver::new(base_dir);
    let parsed = match detect(&doc) {
        Format::Native => native::parse(text, &resolver),
        Format::Envoy => envoy::parse(&doc, &resolver),
    };
    parsed.map_err(|e| e.in_file(file))
}

/// A YAML syntax error as a [`ConfigError`] (also used by the waypoint's discovery file).
pub(crate) fn syntax(file: &str, e: &serde_yaml_ng::Error) -> ConfigError {
    let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
    // The library says "<reason> at line L column C[, while parsing …]"; the location goes
    // in front instead, the context stays.
    let reason = e
        .to_string()
        .replacen(&format!(" at line {line} column {column}"), "", 1);
    ConfigError::Syntax {
        file: file.to_owned(),
        line,
        column,
        reason,
    }
}
