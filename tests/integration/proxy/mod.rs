//! The proxy in-process on 127.0.0.1:0 with real upstreams and real HTTP/1.1, HTTP/2 and gRPC
//! clients.

mod basic;
mod filters;
mod harness;
mod limits;
mod ops;
mod pki;
mod streaming;
mod tls;
