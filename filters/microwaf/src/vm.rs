//! State shared by every stream of one VM: the inspector, token extraction, rate-limit windows,
//! label trackers and metric ids. A VM runs one callback at a time, so a `RefCell` suffices.

use std::cell::RefCell;
use std::sync::Arc;

use microwaf_engine::cardinality::{Labels, TopN, ADMIT_AFTER};
use microwaf_engine::inspect::{InspectError, Inspector};
use microwaf_engine::ratelimit::TokenRateLimits;
use microwaf_engine::token::TokenExtractor;

use crate::metrics::Metrics;

pub struct Vm {
    pub inspector: Arc<Inspector>,
    pub tokens: TokenExtractor,
    pub state: RefCell<VmState>,
}

pub struct VmState {
    pub labels: Labels,
    /// Destination services (the `:authority` host), bounded like sources.
    pub destinations: TopN,
    pub limits: TokenRateLimits,
    pub metrics: Metrics,
}

impl Vm {
    pub fn new(config: &[u8]) -> Result<Vm, InspectError> {
        let inspector = Inspector::from_config(config)?;
        let policy = inspector.policy();
        let visibility = policy.visibility();
        let state = VmState {
            labels: Labels::new(visibility),
            destinations: TopN::new(visibility.top_sources, ADMIT_AFTER),
            limits: TokenRateLimits::new(policy.tokens()),
            metrics: Metrics::default(),
        };
        Ok(Vm {
            tokens: TokenExtractor::new(policy.tokens()),
            state: RefCell::new(state),
            inspector,
        })
    }
}
