//! One finding, located in the decoded body and ready for redaction and reporting.

use std::ops::Range;

use crate::redact::Mask;

/// A finding: what was found, where, and what to mask to remove it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Category id exactly as in configuration and metrics (`credit_card`, `sql_injection`…).
    pub category: String,
    /// Byte range in the decoded body: exact when the value was verbatim, else the range of
    /// the whole token the value came from.
    pub range: Range<u64>,
    /// JSONPath-like location (`$.user.ssn`), `$` for unstructured text; for request parts
    /// `path`, `query.<name>` or `header.<name>`.
    pub path: String,
    /// The nearest field name, if any.
    pub key: Option<String>,
    /// The matched text (decoded). Never reported raw unless the policy says so.
    pub value: String,
    /// What redaction must rewrite.
    pub mask: Mask,
}
