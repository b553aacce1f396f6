//! `typed_config` (`google.protobuf.Any`) unwrapping, including the `TypedStruct` wrappers
//! (`udpa.type.v1.TypedStruct`, `xds.type.v3.TypedStruct`) that Envoy docs use for extensions,
//! and `filter_metadata`.

use super::value::{At, Fields, Obj};
use crate::config::error::FieldResult;
use crate::config::model::Metadata;

const TYPED_STRUCTS: [&str; 2] = ["udpa.type.v1.TypedStruct", "xds.type.v3.TypedStruct"];

/// The message type of a type URL (`type.googleapis.com/x.y.Z` → `x.y.Z`).
pub fn type_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

/// Unwraps an `Any`: returns the message type name and the message's fields (for a
/// `TypedStruct`, those of its `value`).
pub fn typed<'a>(at: &At<'a>) -> FieldResult<(String, Obj<'a>)> {
    let obj = at.obj()?;
    let url = obj.req("@type")?.str()?;
    let name = type_name(url);
    if !TYPED_STRUCTS.contains(&name) {
        return Ok((name.to_owned(), obj));
    }
    obj.fields(&Fields {
        known: &["type_url", "value"],
        cosmetic: &[],
        ignored: &[],
        effect: "unknown TypedStruct field",
    })?;
    let inner = type_name(obj.req("type_url")?.str()?).to_owned();
    let value = match obj.get("value") {
        Some(v) => v.obj()?,
        None => return Err(obj.err("TypedStruct without `value`")),
    };
    Ok((inner, value))
}

/// `metadata.filter_metadata`: namespace → object.
pub fn metadata(at: &At) -> FieldResult<Metadata> {
    let obj = at.obj()?;
    obj.fields(&Fields {
        known: &["filter_metadata"],
        cosmetic: &[],
        ignored: &["typed_filter_metadata"],
        effect: "unknown metadata field",
    })?;
    let mut out = Metadata::new();
    if let Some(fm) = obj.get("filter_metadata") {
        for (ns, value) in fm.obj()?.map {
            if !value.is_object() {
                return Err(fm
                    .obj()?
                    .unsupported(ns, "filter_metadata values must be objects"));
            }
            out.insert(ns.clone(), value.clone());
        }
    }
    Ok(out)
}
