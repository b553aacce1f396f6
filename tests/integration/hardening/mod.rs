//! Issue 21's hardening: no input, filter or client can make the proxy fail other people's
//! requests or deliver a broken response as a whole one. Each test drives the real proxy over
//! real sockets and checks both the offending exchange's answer and a healthy one beside it.

mod guest_log;
mod h2_fair;
mod honest;
mod rfc9112;
pub(crate) mod support;
