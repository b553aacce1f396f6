//! Resolving file references (wasm modules, certificates) and the checks shared by both formats.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::error::{FieldError, FieldResult};
use super::model::{Config, Endpoint};

/// Resolves relative paths against the configuration file's directory and checks that the
/// file exists, so a typo fails at load time and not on the first request.
#[derive(Debug, Clone)]
pub struct Resolver {
    base: PathBuf,
}

impl Resolver {
    pub fn new(base: &Path) -> Resolver {
        Resolver {
            base: base.to_path_buf(),
        }
    }

    /// The directory relative paths are resolved against.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// `field` is the document path of the value, used in the error.
    pub fn file(&self, value: &str, field: &str) -> FieldResult<PathBuf> {
        if value.is_empty() {
            return Err(FieldError::new(field, "empty file name"));
        }
        let path = self.base.join(value);
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => Ok(path),
            Ok(_) => Err(FieldError::new(field, format!("{value}: not a file"))),
            Err(e) => Err(FieldError::new(field, format!("{value}: {e}"))),
        }
    }
}

/// Checks names are unique within one kind: remembers the first place each name was seen.
#[derive(Default)]
pub struct Unique {
    seen: HashMap<String, String>,
}

impl Unique {
    pub fn insert(&mut self, what: &str, name: &str, field: &str) -> FieldResult<()> {
        if let Some(first) = self.seen.insert(name.to_owned(), field.to_owned()) {
            return Err(FieldError::new(
                field,
                format!("duplicate {what} name {name:?} (first defined at {first})"),
            ));
        }
        Ok(())
    }
}

/// Cluster names used by routes and TCP proxies, with where they were used; checked once all
/// clusters are known.
#[derive(Default)]
pub struct ClusterRefs {
    refs: Vec<(String, String)>,
}

impl ClusterRefs {
    pub fn add(&mut self, cluster: &str, field: String) {
        self.refs.push((cluster.to_owned(), field));
    }

    pub fn check(&self, config: &Config) -> FieldResult<()> {
        for (name, field) in &self.refs {
            if config.cluster(name).is_none() {
                let known: Vec<&str> = config.clusters.iter().map(|c| c.name.as_str()).collect();
                return Err(FieldError::new(
                    field,
                    format!("unknown cluster {name:?} (defined: {})", known.join(", ")),
                ));
            }
        }
        Ok(())
    }
}

/// Checks that listeners do not share an address (the second bind would fail at run time).
pub fn check_listener_addresses(
    config: &Config,
    field_of: impl Fn(usize) -> String,
) -> FieldResult<()> {
    let mut seen = HashMap::new();
    for (i, l) in config.listeners.iter().enumerate() {
        if l.address.port() != 0 {
            if let Some(first) = seen.insert(l.address, i) {
                return Err(FieldError::new(
                    field_of(i),
                    format!(
                        "address {} already used by listener {:?}",
                        l.address, config.listeners[first].name
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Static clusters take IP literals only; DNS names need `strict_dns`/`logical_dns`.
pub fn check_static_endpoint(ep: &Endpoint, field: &str) -> FieldResult<()> {
    if ep.host.parse::<std::net::IpAddr>().is_err() {
        return Err(FieldError::new(
            field,
            format!("{:?} is not an IP address; a STATIC cluster needs IPs (use STRICT_DNS or LOGICAL_DNS for names)", ep.host),
        ));
    }
    Ok(())
}

/// Validates a virtual host domain pattern and lower-cases it (Envoy: a `*` only at the start
/// or the end, or `*` alone).
pub fn domain(pattern: &str, field: &str) -> FieldResult<String> {
    let inner = pattern.trim_start_matches('*').trim_end_matches('*');
    let stars = pattern.matches('*').count();
    if pattern.is_empty()
        || stars > 1
        || (stars == 1 && inner.contains('*'))
        || (pattern != "*" && inner.is_empty())
    {
        return Err(FieldError::new(
            field,
            format!("invalid domain {pattern:?}"),
        ));
    }
    Ok(pattern.to_ascii_lowercase())
}

/// Checks that no domain appears in two virtual hosts of one route table (Envoy rejects it).
pub fn check_unique_domains<'a>(
    domains: impl Iterator<Item = (&'a str, String)>,
) -> FieldResult<()> {
    let mut unique = Unique::default();
    for (domain, field) in domains {
        unique.insert("domain", domain, &field)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains() {
        for ok in [
            "*",
            "example.com",
            "*.example.com",
            "api.*",
            "EXAMPLE.com:8080",
        ] {
            assert!(domain(ok, "d").is_ok(), "{ok}");
        }
        assert_eq!(domain("EXAMPLE.com", "d").unwrap(), "example.com");
        for bad in ["", "a*b", "**", "*a*", "*.*"] {
            assert!(domain(bad, "d").is_err(), "{bad}");
        }
    }

    #[test]
    fn resolver_reports_missing_files_with_field() {
        let r = Resolver::new(Path::new("/nonexistent-dir-for-test"));
        let e = r
            .file("filter.wasm", "listeners[0].filters[0].code")
            .unwrap_err();
        assert_eq!(e.path, "listeners[0].filters[0].code");
        assert!(e.reason.starts_with("filter.wasm: "), "{}", e.reason);
    }
}
