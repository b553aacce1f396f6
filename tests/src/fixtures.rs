//! Paths of the guest fixtures built by `tests/build.rs`.
//!
//! Rust fixtures (every cdylib of the `filters/` workspace) exist for both wasm targets; WAT
//! fixtures (`filters/wat/*.wat`) are target independent. What each fixture does and what a
//! correct host makes observable is documented in `filters/FIXTURES.md`.
//!
//! ```no_run
//! use microwaf_tests::fixtures::{self, Target};
//! let headers = fixtures::wasm("headers", Target::Wasip1);
//! let abi_010 = fixtures::wat("abi_0_1_0");
//! ```

use std::path::PathBuf;

mod table {
    include!(concat!(env!("OUT_DIR"), "/fixtures.rs"));
}

/// The wasm target a Rust fixture was compiled for. The two differ in the allocator they
/// export (`proxy_on_memory_allocate` on wasip1, `malloc` on unknown) and in their WASI imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// `wasm32-wasip1`: WASI imports, `_initialize`, `proxy_on_memory_allocate`.
    Wasip1,
    /// `wasm32-unknown-unknown`: no WASI, `malloc`.
    Unknown,
}

impl Target {
    /// Both targets, in a stable order.
    pub const ALL: [Target; 2] = [Target::Wasip1, Target::Unknown];

    /// The Rust target triple.
    pub fn triple(self) -> &'static str {
        match self {
            Target::Wasip1 => "wasm32-wasip1",
            Target::Unknown => "wasm32-unknown-unknown",
        }
    }
}

/// Where a fixture came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Built from a Rust crate of `filters/` for the given target.
    Rust(Target),
    /// Converted from `filters/wat/<name>.wat`.
    Wat,
}

/// One fixture file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fixture {
    /// The name used with [`wasm`] or [`wat`].
    pub name: &'static str,
    /// How it was built.
    pub kind: Kind,
    /// The `.wasm` file.
    pub path: PathBuf,
}

/// The Rust fixture `name` built for `target`: a conformance crate by its directory name
/// (`"headers"`, `"local_reply"`), any other crate by library name (`"microwaf_filter"`).
///
/// # Panics
/// On an unknown name, listing the known ones: a typo in a test must fail loudly.
pub fn wasm(name: &str, target: Target) -> PathBuf {
    let wanted = name.replace('-', "_");
    let row = table::RUST
        .iter()
        .find(|(n, lib, _, _)| *n == wanted || *lib == wanted)
        .unwrap_or_else(|| panic!("no Rust fixture {name:?}; known: {:?}", rust_names()));
    PathBuf::from(match target {
        Target::Wasip1 => row.2,
        Target::Unknown => row.3,
    })
}

/// The WAT fixture `name` (file stem of `filters/wat/<name>.wat`), converted to wasm.
///
/// # Panics
/// On an unknown name, listing the known ones.
pub fn wat(name: &str) -> PathBuf {
    let row = table::WAT
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no WAT fixture {name:?}; known: {:?}", wat_names()));
    PathBuf::from(row.1)
}

/// Names accepted by [`wasm`].
pub fn rust_names() -> Vec<&'static str> {
    table::RUST.iter().map(|row| row.0).collect()
}

/// Names accepted by [`wat`].
pub fn wat_names() -> Vec<&'static str> {
    table::WAT.iter().map(|row| row.0).collect()
}

/// Every fixture file: each Rust fixture for both targets, then each WAT fixture.
pub fn all() -> Vec<Fixture> {
    let rust = table::RUST.iter().flat_map(|row| {
        Target::ALL.map(|target| Fixture {
            name: row.0,
            kind: Kind::Rust(target),
            path: PathBuf::from(match target {
                Target::Wasip1 => row.2,
                Target::Unknown => row.3,
            }),
        })
    });
    let wat = table::WAT.iter().map(|row| Fixture {
        name: row.0,
        kind: Kind::Wat,
        path: PathBuf::from(row.1),
    });
    rust.chain(wat).collect()
}
