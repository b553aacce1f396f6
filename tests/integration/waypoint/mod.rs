//! Ambient waypoint mode, in-process on 127.0.0.1 with real mTLS.

mod pki;
mod tls;
