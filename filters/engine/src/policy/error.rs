//! Policy errors. Every error names the field it is about, because the only place an operator
//! sees it is one log line from a failed `on_configure`.

use core::fmt;

/// Why a policy was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The text is not valid YAML/JSON, or does not fit the document structure (unknown field,
    /// wrong type, unknown keyword).
    #[error("{}: {message}", display_path(path))]
    Syntax {
        format: Format,
        /// Dotted field path (`endpoints[2].actions.us_ssn`); empty for the document itself.
        path: String,
        message: String,
    },
    /// The document is well-formed but a value is unacceptable (unknown category, bad regex,
    /// out-of-range number, conflicting settings).
    #[error("{}: {message}", display_path(path))]
    Invalid { path: String, message: String },
    /// The configuration is larger than any sane policy, probably the wrong buffer.
    #[error("policy: {size} bytes is larger than the {max} byte limit")]
    TooLarge { size: usize, max: usize },
}

impl PolicyError {
    /// The field path the error is about (empty for the whole document).
    pub fn path(&self) -> &str {
        match self {
            PolicyError::Syntax { path, .. } | PolicyError::Invalid { path, .. } => path,
            PolicyError::TooLarge { .. } => "",
        }
    }

    pub(crate) fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        PolicyError::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }
}

fn display_path(path: &str) -> &str {
    if path.is_empty() || path == "." {
        "policy"
    } else {
        path
    }
}

/// The notation a policy was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Json => "JSON",
            Format::Yaml => "YAML",
        })
    }
}
