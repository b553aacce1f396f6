//! Configuration errors: always the file, then the field path, then the reason, so a user can
//! find the line to fix: `envoy.yaml: static_resources.clusters[0].connect_timeout: invalid …`.

use std::fmt;

/// Why a configuration file was rejected.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// Not well-formed YAML (or JSON); `line`/`column` are 1-based.
    #[error("{file}:{line}:{column}: invalid YAML: {reason}")]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        reason: String,
    },
    /// Well-formed but wrong: an unknown or unsupported field, a bad value, a reference to a
    /// cluster that does not exist, a missing file…
    #[error("{file}: {path}: {reason}")]
    Invalid {
        file: String,
        path: String,
        reason: String,
    },
}

impl ConfigError {
    /// The field path of an [`ConfigError::Invalid`] error (`None` for the other kinds).
    pub fn path(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { path, .. } => Some(path),
            _ => None,
        }
    }
}

/// An error located in the document but not yet in a file; parsers return it and
/// [`FieldError::in_file`] attaches the file name at the boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub path: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(path: impl Into<String>, reason: impl Into<String>) -> FieldError {
        FieldError {
            path: path.into(),
            reason: reason.into(),
        }
    }

    pub fn in_file(self, file: &str) -> ConfigError {
        ConfigError::Invalid {
            file: file.to_owned(),
            path: if self.path.is_empty() {
                "(top level)".to_owned()
            } else {
                self.path
            },
            reason: self.reason,
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

/// Result of the format parsers.
pub type FieldResult<T> = Result<T, FieldError>;
