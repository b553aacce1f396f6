//! The prebuilt DFAs, embedded at compile time (see `build.rs`) and deserialized zero-copy.
//! All are forward and anchored-only: every walk starts at a candidate position, so neither
//! reverse DFAs nor unanchored start states are built (2026-12-08: 1.25 MB of tables → 0.29 MB).
//!
//! Loading reads only the DFA headers: the tables stay in the module's read-only data, shared
//! copy-on-write by every instance, and a page of them becomes resident only when a scan visits
//! its states. Measured 2026-12-02: validating the 3.4 MB of tables at load (the checked
//! `from_bytes`) made every VM touch all of them, 3.4 MB of resident memory per VM, most of it
//! for attack states that response scanning never visits.

use std::sync::OnceLock;

use regex_automata::dfa::{dense, sparse};

use super::{attack::AttackDfa, starts::Starts};

/// A dense DFA over the embedded, `u32`-aligned bytes (the hot raw scan).
pub type Dfa = dense::DFA<&'static [u32]>;

/// A sparse DFA over embedded bytes (attack checks of short request parts; see `build.rs`).
pub type SparseDfa = sparse::DFA<&'static [u8]>;

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

/// The built-in DFAs, forward and anchored only.
pub struct Builtins {
    /// Sensitive-data candidates, walked anchored at candidate starts; pattern ids index
    /// `patterns::RAW_RULES`.
    pub raw: Starts,
    /// One DFA per entry of `patterns::ATTACK_RULES`, same order.
    pub attack: [AttackDfa; 6],
}

/// The raw forward table (walked anchored, no reverse table needed).
fn raw_table() -> &'static [u8] {
    embedded!("raw_fwd.dfa")
}

/// Every embedded attack table: attack 0–5.
fn tables() -> [&'static [u8]; 6] {
    [
        embedded!("attack0_fwd.dfa"),
        embedded!("attack1_fwd.dfa"),
        embedded!("attack2_fwd.dfa"),
        embedded!("attack3_fwd.dfa"),
        embedded!("attack4_fwd.dfa"),
        embedded!("attack5_fwd.dfa"),
    ]
}

/// Per byte, the attack categories (bit `i`: `patterns::ATTACK_RULES[i]`) that byte is a
/// necessary byte of: every match of such a category holds at least one of them (`build.rs`).
pub fn attack_gate() -> &'static [u8; 256] {
    static GATE: [u8; 256] = *include_bytes!(concat!(env!("OUT_DIR"), "/attack_gate.bin"));
    &GATE
}

/// The process-wide built-ins, loaded on first use.
pub fn builtins() -> &'static Builtins {
    static B: OnceLock<Builtins> = OnceLock::new();
    B.get_or_init(|| {
        // SAFETY: `from_bytes_unchecked` requires bytes written by `to_bytes_*` of a valid DFA
        // of that kind for this target's endianness. These were, by this crate's build script,
        // and are embedded in the same compiled artifact as the code reading them: nothing
        // outside the build can change them. `checked_tables_are_valid` runs the full
        // validation on them.
        let raw = unsafe { Dfa::from_bytes_unchecked(raw_table()) }
            .expect("embedded raw DFA header is valid")
            .0;
        let attack = tables().map(|t| {
            // SAFETY: as above.
            let dfa = unsafe { SparseDfa::from_bytes_unchecked(t) }
                .expect("embedded attack DFA header is valid")
                .0;
            AttackDfa::new(dfa)
        });
        Builtins {
            raw: Starts::new(raw),
            attack,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the unchecked load relies on: every embedded table passes full validation.
    #[test]
    fn checked_tables_are_valid() {
        dense::DFA::from_bytes(raw_table()).expect("raw forward table validates");
        for t in tables() {
            sparse::DFA::from_bytes(t).expect("attack table validates");
        }
    }
}
