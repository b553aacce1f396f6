//! Keeping metric label cardinality bounded: top-N label admission with an `other` bucket, and
//! route-like labels from raw request paths.

mod path;
mod topn;

pub use path::{looks_like_id, normalize_path};
pub use topn::{TopN, OTHER};
