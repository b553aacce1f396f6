//! A cursor over the parsed YAML that remembers where it is, so every error names its field
//! (`static_resources.clusters[0].connect_timeout`), and the field policy: each object lists
//! the fields we implement and the cosmetic ones we accept; anything else is an error, because
//! silently ignoring an Envoy field could change routing or weaken security.

use std::time::Duration;

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::config::error::{FieldError, FieldResult};
use crate::config::model::DataSource;

/// A value and its path in the document.
#[derive(Clone)]
pub struct At<'a> {
    pub v: &'a Value,
    path: String,
}

/// What we do with each field of one kind of object.
pub struct Fields<'s> {
    /// Implemented.
    pub known: &'s [&'s str],
    /// Accepted silently: names, stat prefixes, tuning that does not change behaviour.
    pub cosmetic: &'s [&'s str],
    /// Accepted with a warning: features we do not implement and that neither route traffic
    /// nor enforce security (health checks, tracing, access-log formats…).
    pub ignored: &'s [&'s str],
    /// Why any other field is refused, e.g. "changes routing".
    pub effect: &'s str,
}

impl<'a> At<'a> {
    pub fn root(v: &'a Value) -> At<'a> {
        At {
            v,
            path: String::new(),
        }
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn err(&self, reason: impl Into<String>) -> FieldError {
        FieldError::new(self.path.clone(), reason)
    }

    fn child(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// This value as an object.
    pub fn obj(&self) -> FieldResult<Obj<'a>> {
        match self.v {
            Value::Object(map) => Ok(Obj {
                map,
                at: self.clone(),
            }),
            other => Err(self.err(format!("expected an object, found {}", kind(other)))),
        }
    }

    /// A list; a single object stands for a one-element list, as Envoy's YAML loader allows
    /// (the SDK examples write `listeners:` followed directly by one listener).
    pub fn list(&self) -> FieldResult<Vec<At<'a>>> {
        match self.v {
            Value::Array(items) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, v)| At {
                    v,
                    path: format!("{}[{i}]", self.path),
                })
                .collect()),
            Value::Object(_) => Ok(vec![self.clone()]),
            other => Err(self.err(format!("expected a list, found {}", kind(other)))),
        }
    }

    pub fn str(&self) -> FieldResult<&'a str> {
        self.v
            .as_str()
            .ok_or_else(|| self.err(format!("expected a string, found {}", kind(self.v))))
    }

    pub fn bool(&self) -> FieldResult<bool> {
        self.v
            .as_bool()
            .ok_or_else(|| self.err(format!("expected true or false, found {}", kind(self.v))))
    }

    /// An unsigned integer; protobuf JSON also allows it quoted.
    pub fn u64(&self) -> FieldResult<u64> {
        let n = match self.v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        };
        n.ok_or_else(|| {
            self.err(format!(
                "expected an unsigned integer, found {}",
                kind(self.v)
            ))
        })
    }

    pub fn u32(&self) -> FieldResult<u32> {
        u32::try_from(self.u64()?).map_err(|_| self.err("out of range for a 32-bit value"))
    }

    /// A protobuf `UInt32Value`: a plain number, or `{value: n}`.
    pub fn u32_wrapper(&self) -> FieldResult<u32> {
        match self.v {
            Value::Object(_) => self.obj()?.req("value")?.u32(),
            _ => self.u32(),
        }
    }

    /// A protobuf `BoolValue`: a plain bool, or `{value: b}`.
    pub fn bool_wrapper(&self) -> FieldResult<bool> {
        match self.v {
            Value::Object(_) => self.obj()?.req("value")?.bool(),
            _ => self.bool(),
        }
    }

    /// A protobuf `Duration` in its JSON form, `"0.25s"`.
    pub fn duration(&self) -> FieldResult<Duration> {
        crate::config::duration::parse(self.str()?).map_err(|e| self.err(e))
    }

    /// An enum given by name, e.g. `codec_type: AUTO`. Case-insensitive, as Envoy's loader
    /// is (`case_insensitive_enum_parsing`): the SDK examples write `lb_policy: round_robin`.
    pub fn one_of<T: Copy>(&self, options: &[(&str, T)]) -> FieldResult<T> {
        let name = self.str()?;
        options
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, t)| *t)
            .ok_or_else(|| {
                let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
                self.err(format!(
                    "unsupported value {name:?} (supported: {})",
                    names.join(", ")
                ))
            })
    }

    /// An Envoy `config.core.v3.DataSource`: `filename`, `inline_string`, `inline_bytes`
    /// (base64) or `environment_variable`.
    pub fn data_source(&self, files: &crate::config::files::Resolver) -> FieldResult<DataSource> {
        let o = self.obj()?;
        o.fields(&Fields {
            known: &[
                "filename",
                "inline_string",
                "inline_bytes",
                "environment_variable",
            ],
            cosmetic: &["watched_directory"],
            ignored: &[],
            effect: "changes what is loaded",
        })?;
        let set: Vec<_> = o.map.keys().collect();
        if set.len() != 1 {
            return Err(self.err(
                "give exactly one of filename, inline_string, inline_bytes, environment_variable",
            ));
        }
        if let Some(f) = o.get("filename") {
            return Ok(DataSource::File(files.file(f.str()?, f.path())?));
        }
        if let Some(s) = o.get("inline_string") {
            return Ok(DataSource::Inline(s.str()?.as_bytes().to_vec()));
        }
        if let Some(b) = o.get("inline_bytes") {
            return base64_bytes(&b).map(DataSource::Inline);
        }
        let var = o.req("environment_variable")?;
        let name = var.str()?;
        std::env::var(name)
            .map(|v| DataSource::Inline(v.into_bytes()))
            .map_err(|_| var.err(format!("environment variable {name:?} is not set")))
    }
}

/// Protobuf JSON `bytes`: standard or URL-safe base64, padding optional.
pub fn base64_bytes(at: &At) -> FieldResult<Vec<u8>> {
    let text = at.str()?;
    let e = base64::engine::general_purpose::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    e.decode(text.trim())
        .or_else(|_| url.decode(text.trim().trim_end_matches('=')))
        .map_err(|e| at.err(format!("invalid base64: {e}")))
}

/// An object and its path.
#[derive(Clone)]
pub struct Obj<'a> {
    pub map: &'a Map<String, Value>,
    pub at: At<'a>,
}

impl<'a> Obj<'a> {
    /// The field, if present and not null.
    pub fn get(&self, key: &str) -> Option<At<'a>> {
        self.map.get(key).filter(|v| !v.is_null()).map(|v| At {
            v,
            path: self.at.child(key),
        })
    }

    /// A string field, empty when absent.
    pub fn string(&self, key: &str) -> FieldResult<String> {
        Ok(self
            .get(key)
            .map(|v| v.str())
            .transpose()?
            .unwrap_or_default()
            .to_owned())
    }

    /// A list field, empty when absent.
    pub fn items(&self, key: &str) -> FieldResult<Vec<At<'a>>> {
        Ok(self
            .get(key)
            .map(|v| v.list())
            .transpose()?
            .unwrap_or_default())
    }

    /// The field, or an error naming it.
    pub fn req(&self, key: &str) -> FieldResult<At<'a>> {
        self.get(key)
            .ok_or_else(|| FieldError::new(self.at.child(key), "required"))
    }

    pub fn err(&self, reason: impl Into<String>) -> FieldError {
        self.at.err(reason)
    }

    /// The error for a field we refuse.
    pub fn unsupported(&self, key: &str, effect: &str) -> FieldError {
        FieldError::new(self.at.child(key), format!("not supported ({effect})"))
    }

    /// Applies the field policy: unknown fields are errors naming their path.
    pub fn fields(&self, f: &Fields) -> FieldResult<()> {
        for key in self.map.keys() {
            if key == "@type"
                || f.known.contains(&key.as_str())
                || f.cosmetic.contains(&key.as_str())
            {
                continue;
            }
            if f.ignored.contains(&key.as_str()) {
                tracing::warn!(
                    "{}: ignored (not implemented by microwaf)",
                    self.at.child(key)
                );
                continue;
            }
            return Err(self.unsupported(key, f.effect));
        }
        Ok(())
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
