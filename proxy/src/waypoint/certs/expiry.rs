//! The "certificate expires" log lines: a warning once the current leaf is within 10 % of its
//! lifetime of expiry, an error once it has expired (peers then refuse every new tunnel).
//! Each is logged when the state is entered and again every hour while it lasts, so a pod
//! log shows it without one line per poll.

use std::time::{Duration, Instant, SystemTime};

use super::leaf::fmt_time;
use super::MeshCerts;

/// How often a standing warning or error is repeated.
const REPEAT: Duration = Duration::from_secs(3600);

/// How close the current leaf is to its expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Fine,
    /// Within 10 % of its lifetime of `notAfter`.
    Soon,
    Expired,
}

/// Classifies a set at `now`.
pub fn expiry(certs: &MeshCerts, now: SystemTime) -> Expiry {
    let Ok(left) = certs.not_after.duration_since(now) else {
        return Expiry::Expired;
    };
    let lifetime = certs
        .not_before()
        .and_then(|nb| certs.not_after.duration_since(nb).ok())
        .unwrap_or_default();
    if left <= lifetime / 10 {
        Expiry::Soon
    } else {
        Expiry::Fine
    }
}

/// Remembers what was last logged, for which leaf.
#[derive(Default)]
pub(crate) struct ExpiryLog {
    last: Option<(SystemTime, Expiry, Instant)>,
}

impl ExpiryLog {
    /// Logs if the state of `certs` changed, or an hour passed in a bad state.
    pub fn check(&mut self, certs: &MeshCerts, source: &str) -> Expiry {
        let state = expiry(certs, SystemTime::now());
        let repeat = match self.last {
            Some((leaf, prev, at)) if leaf == certs.not_after && prev == state => {
                at.elapsed() >= REPEAT
            }
            _ => true,
        };
        if repeat {
            let when = fmt_time(certs.not_after);
            match state {
                Expiry::Fine => {}
                Expiry::Soon => tracing::warn!(
                    "waypoint certificate for {} expires at {when}, within 10% of its lifetime; \
                     {source} has not renewed it",
                    certs.id
                ),
                Expiry::Expired => tracing::error!(
                    "waypoint certificate for {} expired at {when}; peers refuse new tunnels \
                     until {source} provides a valid one",
                    certs.id
                ),
            }
            self.last = Some((certs.not_after, state, Instant::now()));
        }
        state
    }
}
