//! Keeping metric label cardinality bounded: top-N label admission with an `other` bucket, and
//! route-like labels from raw request paths.

mod path;
mod topn;

pub use path::{looks_like_id, normalize_path};
pub use topn::{TopN, OTHER};

use crate::policy::VisibilityDoc;

/// Sightings before a value may take a label slot: one-off values (a scanner's random tokens or
/// paths) never become series.
pub const ADMIT_AFTER: u64 = 2;

/// The bounded label mappers one filter VM keeps, sized by the policy's `visibility` section.
#[derive(Debug, Clone)]
pub struct Labels {
    pub tokens: TopN,
    pub endpoints: TopN,
    pub sources: TopN,
}

impl Labels {
    pub fn new(v: &VisibilityDoc) -> Self {
        Labels {
            tokens: TopN::new(v.top_tokens, ADMIT_AFTER),
            endpoints: TopN::new(v.top_endpoints, ADMIT_AFTER),
            sources: TopN::new(v.top_sources, ADMIT_AFTER),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_the_visibility_section() {
        let v = VisibilityDoc {
            top_tokens: 1,
            ..VisibilityDoc::default()
        };
        let mut l = Labels::new(&v);
        assert_eq!(l.tokens.label("a"), OTHER);
        assert_eq!(l.tokens.label("a"), "a");
        assert_eq!(l.tokens.label("b"), OTHER);
        assert_eq!(l.tokens.label("b"), OTHER);
        assert_eq!(l.endpoints.label("/x"), OTHER);
        assert_eq!(l.endpoints.label("/x"), "/x");
    }
}
