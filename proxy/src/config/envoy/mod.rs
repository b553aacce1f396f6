//! The Envoy v3 static bootstrap subset.

use super::error::{FieldError, FieldResult};
use super::files::Resolver;
use super::model::Config;

pub fn parse(_doc: &serde_json::Value, _files: &Resolver) -> FieldResult<Config> {
    Err(FieldError::new("", "the Envoy format is being implemented"))
}
