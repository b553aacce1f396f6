//! CPU time and memory of a process, from Linux `/proc`.
//!
//! CPU is `utime + stime` of `/proc/<pid>/stat` (all threads, in clock ticks — 10 ms on common
//! kernels, so a 10 s window at one busy core is resolved to 0.1 %). Peak memory is `VmHWM`
//! from `/proc/<pid>/status`, which `clear_refs` resets so a measurement sees the peak of its
//! own window rather than start-up's (compiling wasm peaks higher than serving).

use std::io;
use std::time::Duration;

/// CPU time (user + system) consumed so far by process `pid`.
pub fn cpu_time(pid: u32) -> io::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_cpu(&stat, clock_ticks_per_sec())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unexpected /proc/<pid>/stat"))
}

fn parse_cpu(stat: &str, ticks: u64) -> Option<Duration> {
    // `comm` (field 2) may contain spaces and parentheses: fields restart after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After comm: state is field 3, utime field 14, stime field 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_secs_f64(
        (utime + stime) as f64 / ticks as f64,
    ))
}

fn clock_ticks_per_sec() -> u64 {
    // SAFETY: sysconf only reads a configuration value; it has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

/// Resident memory of a process, in KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// `VmRSS`: resident now.
    pub rss_kib: u64,
    /// `VmHWM`: the peak since start or the last [`reset_peak`].
    pub peak_kib: u64,
}

pub fn memory(pid: u32) -> io::Result<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_memory(&status)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no VmRSS/VmHWM in status"))
}

fn parse_memory(status: &str) -> Option<Memory> {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    };
    Some(Memory {
        rss_kib: field("VmRSS:")?,
        peak_kib: field("VmHWM:")?,
    })
}

/// Resets `VmHWM` to the current RSS (Linux ≥ 4.0). Fails without permission on the process.
pub fn reset_peak(pid: u32) -> io::Result<()> {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5")
}

/// Cores and CPU model of this machine, for reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Machine {
    pub cores: usize,
    pub cpu_model: String,
    pub kernel: String,
}

impl Machine {
    pub fn read() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|v| v.split_once(':'))
            .map(|(_, m)| m.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".into());
        Self {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            kernel,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_awkward_command_names() {
        let stat = "4242 (my (odd) proc) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 \
                    3 0 100 1000000 500 18446744073709551615";
        assert_eq!(parse_cpu(stat, 100), Some(Duration::from_secs(3)));
    }

    #[test]
    fn parses_status_memory() {
        let status =
            "Name:\tmicrowaf\nVmPeak:\t  100 kB\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n";
        assert_eq!(
            parse_memory(status),
            Some(Memory {
                rss_kib: 10240,
                peak_kib: 20480
            })
        );
    }

    #[test]
    fn reads_this_process() {
        let pid = std::process::id();
        let m = memory(pid).unwrap();
        assert!(m.rss_kib > 0 && m.peak_kib >= m.rss_kib);
        // Burn a little CPU so the reading is not trivially zero on any tick size.
        let t = std::time::Instant::now();
        let mut x = 0u64;
        while t.elapsed() < Duration::from_millis(50) {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        std::hint::black_box(x);
        assert!(cpu_time(pid).unwrap() > Duration::ZERO);
        reset_peak(pid).unwrap();
        let after = memory(pid).unwrap();
        assert!(after.peak_kib >= after.rss_kib);
    }
}
