//! The prebuilt DFAs, embedded at compile time (see `build.rs`) and deserialized zero-copy.
//!
//! Deserialization only validates the tables (no determinization); it runs once per process
//! (per VM in wasm) and the tables themselves stay in the module's read-only data, shared
//! copy-on-write by every instance.

use std::sync::OnceLock;

use regex_automata::dfa::{dense, regex::Regex};

/// A DFA over the embedded, `u32`-aligned bytes.
pub type Dfa = dense::DFA<&'static [u32]>;

/// `include_bytes!` only guarantees byte alignment; the DFA wants `u32` alignment.
#[repr(C)]
struct Aligned<B: ?Sized> {
    _align: [u32; 0],
    bytes: B,
}

macro_rules! embedded {
    ($file:literal) => {{
        static A: &Aligned<[u8]> = &Aligned {
            _align: [],
            bytes: *include_bytes!(concat!(env!("OUT_DIR"), "/", $file)),
        };
        &A.bytes
    }};
}

/// The built-in regexes (forward DFA for match ends, reverse DFA for starts).
pub struct Builtins {
    /// Sensitive-data candidates; pattern ids index `patterns::RAW_RULES`.
    pub raw: Regex<Dfa>,
    /// One regex per entry of `patterns::ATTACK_RULES`, same order.
    pub attack: [Regex<Dfa>; 6],
}

fn load(fwd: &'static [u8], rev: &'static [u8]) -> Regex<Dfa> {
    // The bytes were produced by this crate's build script for this target's endianness, so a
    // failure here is a build defect, not an input error.
    let fwd = dense::DFA::from_bytes(fwd)
        .expect("embedded forward DFA is valid")
        .0;
    let rev = dense::DFA::from_bytes(rev)
        .expect("embedded reverse DFA is valid")
        .0;
    Regex::builder().build_from_dfas(fwd, rev)
}

/// The process-wide built-ins, deserialized on first use.
pub fn builtins() -> &'static Builtins {
    static B: OnceLock<Builtins> = OnceLock::new();
    B.get_or_init(|| Builtins {
        raw: load(embedded!("raw_fwd.dfa"), embedded!("raw_rev.dfa")),
        attack: [
            load(embedded!("attack0_fwd.dfa"), embedded!("attack0_rev.dfa")),
            load(embedded!("attack1_fwd.dfa"), embedded!("attack1_rev.dfa")),
            load(embedded!("attack2_fwd.dfa"), embedded!("attack2_rev.dfa")),
            load(embedded!("attack3_fwd.dfa"), embedded!("attack3_rev.dfa")),
            load(embedded!("attack4_fwd.dfa"), embedded!("attack4_rev.dfa")),
            load(embedded!("attack5_fwd.dfa"), embedded!("attack5_rev.dfa")),
        ],
    })
}
