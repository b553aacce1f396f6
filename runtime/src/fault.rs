//! Classifying guest failures and counting them.

use std::sync::atomic::{AtomicU64, Ordering};

/// Why a VM was discarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrapKind {
    /// The callback exceeded its deadline (epoch interruption).
    Deadline,
    /// Unbounded recursion.
    StackOverflow,
    /// `unreachable` — Rust panics and aborting allocators end here.
    Unreachable,
    /// Out-of-bounds memory or table access, bad indirect call.
    MemoryAccess,
    /// The guest called WASI `proc_exit`.
    Exit,
    /// Anything else (integer traps, host error).
    Other,
}

impl TrapKind {
    pub const ALL: [TrapKind; 6] = [
        TrapKind::Deadline,
        TrapKind::StackOverflow,
        TrapKind::Unreachable,
        TrapKind::MemoryAccess,
        TrapKind::Exit,
        TrapKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TrapKind::Deadline => "deadline",
            TrapKind::StackOverflow => "stack_overflow",
            TrapKind::Unreachable => "unreachable",
            TrapKind::MemoryAccess => "memory_access",
            TrapKind::Exit => "exit",
            TrapKind::Other => "other",
        }
    }
}

impl std::fmt::Display for TrapKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed callback.
#[derive(Debug, Clone)]
pub(crate) struct Fault {
    pub kind: TrapKind,
    pub message: String,
}

impl Fault {
    pub fn from_error(e: wasmtime::Error) -> Fault {
        use wasmtime::Trap;
        let kind = match e.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => TrapKind::Deadline,
            Some(Trap::StackOverflow) => TrapKind::StackOverflow,
            Some(Trap::UnreachableCodeReached) => TrapKind::Unreachable,
            Some(
                Trap::MemoryOutOfBounds
                | Trap::HeapMisaligned
                | Trap::TableOutOfBounds
                | Trap::IndirectCallToNull
                | Trap::BadSignature,
            ) => TrapKind::MemoryAccess,
            _ if e.downcast_ref::<microwaf_abi::ProcExit>().is_some() => TrapKind::Exit,
            _ => TrapKind::Other,
        };
        Fault {
            kind,
            message: format!("{e:#}"),
        }
    }
}

/// Failure counters of one plugin, read by the proxy's metrics.
#[derive(Debug, Default)]
pub struct FailureCounters {
    traps: [AtomicU64; 6],
    replacements: AtomicU64,
    start_failures: AtomicU64,
    log_dropped: AtomicU64,
}

/// A copy of [`FailureCounters`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FailureSnapshot {
    /// Traps by kind, in [`TrapKind::ALL`] order.
    pub traps: Vec<(TrapKind, u64)>,
    /// Fresh VMs started to replace a failed one.
    pub vm_replacements: u64,
    /// VM starts (initial or replacement) that failed.
    pub start_failures: u64,
    /// Guest log lines dropped because the plugin's log budget was spent.
    pub log_lines_dropped: u64,
}

impl FailureSnapshot {
    pub fn traps_of(&self, kind: TrapKind) -> u64 {
        self.traps
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0, |(_, n)| *n)
    }

    pub fn total_traps(&self) -> u64 {
        self.traps.iter().map(|(_, n)| n).sum()
    }
}

impl FailureCounters {
    pub(crate) fn trap(&self, kind: TrapKind) {
        let i = TrapKind::ALL.iter().position(|k| *k == kind).unwrap_or(5);
        self.traps[i].fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn replacement(&self) {
        self.replacements.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn start_failure(&self) {
        self.start_failures.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn log_dropped(&self) {
        self.log_dropped.fetch_add(1, Ordering::Relaxed);
    }
    pub fn snapshot(&self) -> FailureSnapshot {
        FailureSnapshot {
            traps: TrapKind::ALL
                .iter()
                .zip(&self.traps)
                .map(|(k, n)| (*k, n.load(Ordering::Relaxed)))
                .collect(),
            vm_replacements: self.replacements.load(Ordering::Relaxed),
            start_failures: self.start_failures.load(Ordering::Relaxed),
            log_lines_dropped: self.log_dropped.load(Ordering::Relaxed),
        }
    }
}
