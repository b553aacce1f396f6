//! Deciding and reporting a message's findings: the verdict (endpoint rules, thresholds and
//! per-token rate limits), the labelled metrics, and the optional JSON finding events.

use std::time::UNIX_EPOCH;

use microwaf_engine::inspect::{decide_attacks_counted, decide_counted, Match, ScanMode, Verdict};
use microwaf_engine::policy::{Action, Endpoint};
use proxy_wasm::hostcalls;

use super::Stream;
use crate::side::Dir;
use crate::vm::Vm;

impl Stream {
    /// The endpoint's verdict for findings, without rate limits (which count what is
    /// delivered, so they are applied once per decision by [`Stream::verdict`]).
    pub(super) fn endpoint_verdict(
        ep: &Endpoint,
        mode: ScanMode,
        matches: &[Match],
        dropped: &[(String, u32)],
    ) -> Verdict {
        let mut verdict = match mode {
            ScanMode::Attacks => Verdict::clean(),
            _ => decide_counted(ep, matches, dropped),
        };
        if mode != ScanMode::Sensitive {
            let attacks = decide_attacks_counted(ep, matches, dropped);
            verdict.raise(attacks.action);
            verdict.categories.extend(attacks.categories);
        }
        verdict
    }

    /// The verdict for findings, with per-token rate limits applied.
    /// `dropped` are matches counted past the scan's keep cap, so thresholds see them.
    pub(super) fn verdict(
        &mut self,
        vm: &Vm,
        dir: Dir,
        mode: ScanMode,
        matches: &[Match],
        dropped: &[(String, u32)],
    ) -> Verdict {
        let ep = self.endpoint(vm);
        let mut verdict = Self::endpoint_verdict(ep, mode, matches, dropped);
        let Some(token) = self.token.clone() else {
            return verdict;
        };
        let now = hostcalls::get_current_time()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as u64);
        let mut exceeded = Vec::new();
        {
            let mut st = vm.state.borrow_mut();
            for (category, n, action) in &verdict.categories {
                if *action >= Action::Alert {
                    if let Some(x) = st.limits.check(&token, category, *n, now) {
                        exceeded.push(x);
                    }
                }
            }
        }
        for x in exceeded {
            verdict.raise_category(&x.category, x.action);
            self.count(
                vm,
                "microwaf_rate_limited",
                &[
                    ("category", &x.category),
                    ("token", &self.labels.token),
                    ("direction", dir.as_str()),
                ],
                1,
            );
        }
        verdict
    }

    pub(super) fn report(&self, vm: &Vm, dir: Dir, matches: &[Match], verdict: &Verdict) {
        let action = verdict.action.to_string();
        for (category, n, _) in &verdict.categories {
            let attack = vm.inspector.policy().is_enabled(category)
                && microwaf_engine::policy::builtin(category)
                    .is_some_and(|b| b.kind == microwaf_engine::policy::CategoryKind::Attack);
            let base = if attack {
                "microwaf_attacks"
            } else {
                "microwaf_matches"
            };
            self.count(
                vm,
                base,
                &[
                    ("category", category),
                    ("source", &self.labels.source),
                    ("destination", &self.labels.destination),
                    ("token", &self.labels.token),
                    ("direction", dir.as_str()),
                ],
                u64::from(*n),
            );
        }
        if verdict.action > Action::Ignore {
            self.count(
                vm,
                "microwaf_actions",
                &[
                    ("action", &action),
                    ("source", &self.labels.source),
                    ("direction", dir.as_str()),
                ],
                1,
            );
        }
        if vm.inspector.policy().visibility().finding_events {
            self.events(vm, dir, matches, verdict);
        }
    }

    /// One JSON log line per reported finding, values rendered per the policy's `report`.
    fn events(&self, vm: &Vm, dir: Dir, matches: &[Match], verdict: &Verdict) {
        let reporter = vm.inspector.policy().value_reporter();
        for m in matches {
            if !verdict.categories.iter().any(|(c, _, _)| *c == m.category) {
                continue;
            }
            let event = serde_json::json!({
                "event": "microwaf_finding",
                "direction": dir.as_str(),
                "category": m.category,
                "path": m.path,
                "value": reporter.render(&m.value),
                "action": verdict.action.to_string(),
                "endpoint": self.labels.endpoint,
                "source": self.labels.source,
                "destination": self.labels.destination,
                "token": self.labels.token,
            });
            log::info!("{event}");
        }
    }
}
