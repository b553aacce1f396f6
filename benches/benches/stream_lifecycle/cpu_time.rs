//! Criterion measurement: CPU time of the benchmarking thread instead of wall time.
//!
//! The added cost of a filter is a difference of a few hundred nanoseconds between two
//! variants. On a machine shared with other work, wall time counts every preemption of the
//! bench thread into whichever variant happened to run, and two runs of the same binary
//! differed by 2× (noop 3.9 vs 7.0 µs). The thread's own CPU time leaves preemptions out, so
//! the variants of one run, and runs of two binaries, are comparable.

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use std::time::Duration;

/// `CLOCK_THREAD_CPUTIME_ID`, reported like wall time (criterion's duration formatting).
pub struct CpuTime;

fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer for the call's duration.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "CLOCK_THREAD_CPUTIME_ID is available on Linux");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

impl Measurement for CpuTime {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        thread_cpu()
    }

    fn end(&self, start: Duration) -> Duration {
        thread_cpu().saturating_sub(start)
    }

    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }

    fn zero(&self) -> Duration {
        Duration::ZERO
    }

    fn to_f64(&self, v: &Duration) -> f64 {
        v.as_nanos() as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        static WALL: WallTime = WallTime;
        WALL.formatter()
    }
}
