//! The application protocol a service port declares (Kubernetes `appProtocol`, Istio's port
//! protocol), as discovery reports it.
//!
//! Why it matters: without a declaration the waypoint sniffs a tunnel's first bytes to choose
//! between the HTTP stack and the TCP proxy, and a client that says nothing first (a
//! server-first protocol: SMTP, MySQL, a banner) waits out the whole detection timeout before
//! its server is even connected. A declared protocol skips the sniff in both directions: opaque
//! protocols go straight to the TCP proxy, HTTP ones straight to the HTTP stack.

use serde::Deserialize;

use crate::waypoint::detect::Protocol;

/// What a port carries; Istio's `istio.workload.AppProtocol` (the xDS state maps it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "String")]
pub enum AppProtocol {
    /// Not declared: the tunnel's first bytes decide.
    #[default]
    Unknown,
    /// HTTP/1.1 (the upstream is spoken to in HTTP/1.1).
    Http,
    /// HTTP/2, with prior knowledge.
    Http2,
    /// gRPC: HTTP/2.
    Grpc,
    /// Opaque TCP.
    Tcp,
    /// TLS the waypoint cannot see into: opaque TCP.
    Tls,
}

/// The names the discovery file accepts (Istio's protocol names, lower case).
pub const NAMES: &str =
    "http, http2, kubernetes.io/h2c, grpc, tcp, tls, https, mongo, mysql, redis";

impl AppProtocol {
    /// A declared name (the discovery file's `app_protocol`); `None` for a name the waypoint
    /// does not know, so a typo is an error rather than silently sniffed.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "http" => Self::Http,
            "http2" | "kubernetes.io/h2c" => Self::Http2,
            "grpc" => Self::Grpc,
            // Istio's other TCP-based protocols carry nothing the waypoint parses.
            "tcp" | "mongo" | "mysql" | "redis" => Self::Tcp,
            "tls" | "https" => Self::Tls,
            _ => return None,
        })
    }

    /// The stack a tunnel goes to without sniffing, when the port declares one.
    pub fn declared(self) -> Option<Protocol> {
        match self {
            Self::Unknown => None,
            Self::Http => Some(Protocol::Http1),
            Self::Http2 | Self::Grpc => Some(Protocol::Http2),
            Self::Tcp | Self::Tls => Some(Protocol::Tcp),
        }
    }
}

impl TryFrom<String> for AppProtocol {
    type Error = String;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        Self::from_name(&name).ok_or_else(|| format!("unknown protocol {name:?} (one of {NAMES})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_numbers_and_what_they_skip_to() {
        for (name, p, to) in [
            ("http", AppProtocol::Http, Protocol::Http1),
            ("HTTP2", AppProtocol::Http2, Protocol::Http2),
            ("kubernetes.io/h2c", AppProtocol::Http2, Protocol::Http2),
            ("grpc", AppProtocol::Grpc, Protocol::Http2),
            ("tcp", AppProtocol::Tcp, Protocol::Tcp),
            ("mysql", AppProtocol::Tcp, Protocol::Tcp),
            ("https", AppProtocol::Tls, Protocol::Tcp),
        ] {
            assert_eq!(AppProtocol::from_name(name), Some(p), "{name}");
            assert_eq!(p.declared(), Some(to), "{name}");
        }
        assert_eq!(AppProtocol::from_name("htp"), None);
        assert_eq!(AppProtocol::Unknown.declared(), None);
    }
}
