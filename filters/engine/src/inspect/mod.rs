//! Inspection: message bodies and request parts through the content parsers, the detector and
//! the policy's allow lists and key rules, into [`Match`]es the filter acts on.
//!
//! The filter (per stream, chunk by chunk) and `microwaf scan` (whole files) both go through
//! [`Inspector`], so they report identical findings for identical bytes. An `Inspector` is built
//! once per VM in `on_configure` (the detector's automata are prebuilt; only custom patterns are
//! compiled here) and shared by every stream of that VM.

mod body;
mod config;
mod decision;
mod finding;
mod request;
mod verdict;

#[cfg(test)]
mod tests;

use std::sync::Arc;

pub use body::{BodyScan, ScanMode, MAX_MATCHES};
pub use decision::{
    decide_body, over_hold_limit, plan_request, plan_response, BodyFacts, BodyPlan, Decision,
    FallbackReason, Outcome,
};
pub use finding::Match;
pub use request::{scan_request_line, RequestLine};
pub use verdict::{decide, decide_attacks, decide_attacks_counted, decide_counted, Verdict};

use crate::detect::{DetectError, Detector};
use crate::formats::{ContentInfo, FormatError, Limits};
use crate::policy::{Policy, PolicyError};

/// Why a policy could not be turned into an inspector. The message names the field.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("{0}")]
    Policy(#[from] PolicyError),
    #[error("categories: {0}")]
    Detector(#[from] DetectError),
    #[error("categories.custom[{index}].except[{pattern}]: {message}")]
    Except {
        index: usize,
        pattern: usize,
        message: String,
    },
}

/// A policy with its detector, shared by every stream of a VM.
pub struct Inspector {
    policy: Policy,
    detector: Detector,
    excepts: config::Excepts,
    limits: Limits,
}

impl std::fmt::Debug for Inspector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inspector")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Inspector {
    /// Parses a policy (YAML or JSON; empty = defaults) and builds its detector.
    pub fn from_config(text: &[u8]) -> Result<Arc<Inspector>, InspectError> {
        Self::new(Policy::parse(text)?)
    }

    /// Builds the detector for an already validated policy.
    pub fn new(policy: Policy) -> Result<Arc<Inspector>, InspectError> {
        let detector = Detector::new(&config::detector_config(&policy))?;
        let excepts = config::Excepts::compile(&policy)?;
        Ok(Arc::new(Inspector {
            policy,
            detector,
            excepts,
            limits: Limits::default(),
        }))
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn detector(&self) -> &Detector {
        &self.detector
    }

    /// Parser limits used for every body.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Starts scanning one body described by its headers. Fails only for an encoding the engine
    /// cannot decode; the caller then applies the policy's fallback.
    pub fn body(
        self: &Arc<Self>,
        info: &ContentInfo<'_>,
        mode: ScanMode,
    ) -> Result<BodyScan, FormatError> {
        BodyScan::new(Arc::clone(self), info, mode)
    }

    /// Whether a match of `category` with this value is suppressed by the policy (allow list or
    /// a custom category's `except` patterns).
    pub(crate) fn suppressed(&self, category: &str, value: &[u8]) -> bool {
        let text = String::from_utf8_lossy(value);
        self.policy.is_allowed(category, &text) || self.excepts.excepted(category, value)
    }
}
