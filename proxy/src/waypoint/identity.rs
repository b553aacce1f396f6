//! SPIFFE identities as the mesh writes them: `spiffe://<trust-domain>/ns/<ns>/sa/<sa>`.
//!
//! rustls verifies certificate chains but never looks at URI SANs; the trust-domain check the
//! mesh relies on is ours, and it starts with parsing the ID strictly.

use std::fmt;
use std::str::FromStr;

/// A parsed SPIFFE ID of the Kubernetes form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SpiffeId {
    pub trust_domain: String,
    pub namespace: String,
    pub service_account: String,
}

/// Why a string is not a mesh SPIFFE ID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpiffeIdError {
    #[error("not a spiffe:// URI")]
    Scheme,
    #[error("empty or invalid trust domain")]
    TrustDomain,
    #[error("path is not /ns/<namespace>/sa/<service-account>")]
    Path,
}

impl FromStr for SpiffeId {
    type Err = SpiffeIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s.strip_prefix("spiffe://").ok_or(SpiffeIdError::Scheme)?;
        let (td, path) = rest.split_once('/').ok_or(SpiffeIdError::Path)?;
        let td_ok = !td.is_empty()
            && td
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._".contains(&b));
        if !td_ok {
            return Err(SpiffeIdError::TrustDomain);
        }
        let parts: Vec<&str> = path.split('/').collect();
        match parts.as_slice() {
            ["ns", ns, "sa", sa] if !ns.is_empty() && !sa.is_empty() => Ok(SpiffeId {
                trust_domain: td.to_owned(),
                namespace: (*ns).to_owned(),
                service_account: (*sa).to_owned(),
            }),
            _ => Err(SpiffeIdError::Path),
        }
    }
}

impl fmt::Display for SpiffeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "spiffe://{}/ns/{}/sa/{}",
            self.trust_domain, self.namespace, self.service_account
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_mesh_form_and_round_trips() {
        let id: SpiffeId = "spiffe://cluster.local/ns/shop/sa/checkout"
            .parse()
            .unwrap();
        assert_eq!(id.trust_domain, "cluster.local");
        assert_eq!(id.namespace, "shop");
        assert_eq!(id.service_account, "checkout");
        assert_eq!(id.to_string(), "spiffe://cluster.local/ns/shop/sa/checkout");
    }

    #[test]
    fn rejects_other_shapes() {
        use SpiffeIdError::*;
        for (s, e) in [
            ("https://cluster.local/ns/a/sa/b", Scheme),
            ("spiffe:///ns/a/sa/b", TrustDomain),
            ("spiffe://Cluster.Local/ns/a/sa/b", TrustDomain),
            ("spiffe://cluster.local", Path),
            ("spiffe://cluster.local/ns/a", Path),
            ("spiffe://cluster.local/ns//sa/b", Path),
            ("spiffe://cluster.local/ns/a/sa/b/extra", Path),
        ] {
            assert_eq!(s.parse::<SpiffeId>(), Err(e), "{s}");
        }
    }
}
