//! JSON-lines access log (one object per stream) to stdout or a file.

use std::io::Write;
use std::net::SocketAddr;
use std::time::SystemTime;

use parking_lot::Mutex;
use serde::Serialize;

/// Where access-log lines go.
pub struct AccessLog {
    sink: Mutex<Box<dyn Write + Send>>,
}

/// One access-log line.
#[derive(Serialize)]
pub struct Entry<'a> {
    #[serde(serialize_with = "rfc3339")]
    pub time: SystemTime,
    pub listener: &'a str,
    pub method: &'a str,
    pub authority: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub duration_ms: f64,
    pub upstream: Option<SocketAddr>,
    pub cluster: Option<&'a str>,
    pub route: Option<&'a str>,
    pub source: SocketAddr,
    pub source_identity: Option<&'a str>,
    pub request_id: &'a str,
    pub response_flags: &'a [&'static str],
    pub reason: &'a str,
    pub filter_actions: &'a [String],
}

impl AccessLog {
    pub fn stdout() -> Self {
        Self::to_writer(Box::new(std::io::stdout()))
    }

    /// Appends to `path`, creating it.
    pub fn file(path: &str) -> std::io::Result<Self> {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Self::to_writer(Box::new(f)))
    }

    pub fn to_writer(w: Box<dyn Write + Send>) -> Self {
        Self {
            sink: Mutex::new(w),
        }
    }

    pub fn write(&self, e: &Entry<'_>) {
        let mut line = match serde_json::to_vec(e) {
            Ok(l) => l,
            Err(err) => {
                tracing::warn!(error = %err, "access log entry not serializable");
                return;
            }
        };
        line.push(b'\n');
        let mut sink = self.sink.lock();
        if let Err(err) = sink.write_all(&line).and_then(|_| sink.flush()) {
            tracing::warn!(error = %err, "access log write failed");
        }
    }
}

fn rfc3339<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, dd) = civil_from_days(days);
    s.serialize_str(&format!(
        "{y:04}-{m:02}-{dd:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    ))
}

/// Days since 1970-01-01 → (year, month, day) (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        assert_eq!(super::civil_from_days(0), (1970, 1, 1));
        assert_eq!(super::civil_from_days(20_454), (2026, 1, 1));
    }
}
