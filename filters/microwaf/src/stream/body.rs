//! Body callbacks: moving bytes between the host and the scan, and carrying out the engine's
//! [`decide_body`] decision. What to do is never decided here.
//!
//! Streamed bodies (alert mode, or released at the hold limit) are never paused: each chunk
//! is scanned as it passes (the engine's push parsers keep their state across chunks, so a
//! match cut by a chunk boundary is still found) and the findings are reported at the end.
//! Held bodies stay in the host (Pause) until a decision point: end of stream, or whole gRPC
//! messages; they are scanned as they grow, so no single callback scans the whole body.

use microwaf_engine::inspect::{
    decide_body, over_hold_limit, BodyFacts, Decision, FallbackReason, Match, Outcome, Verdict,
    MAX_MATCHES,
};
use proxy_wasm::hostcalls;
use proxy_wasm::types::Action as Next;

use super::Stream;
use crate::actions::redact_body;
use crate::budget::{host_clock, push_within, Budget, MAX_CARRY, SCAN_BUDGET_NANOS};
use crate::side::{grpc_frames_complete, Dir, Side};
use crate::vm::Vm;

impl Stream {
    /// Body callback for either direction.
    pub(super) fn on_body(&mut self, dir: Dir, size: usize, eos: bool) -> Next {
        let Some(vm) = self.vm.clone() else {
            return Next::Continue;
        };
        let Some(mut side) = self.side(dir).take() else {
            return Next::Continue;
        };
        let next = if side.done {
            Next::Continue
        } else if side.hold {
            self.held_step(&vm, dir, &mut side, size, eos)
        } else {
            self.stream_step(&vm, dir, &mut side, size, eos);
            Next::Continue
        };
        *self.side(dir) = Some(side);
        next
    }

    /// Streaming: scan what the budget allows, carry the rest, forward everything.
    fn stream_step(&mut self, vm: &Vm, dir: Dir, side: &mut Side, size: usize, eos: bool) {
        if side.incomplete.is_none() && size > 0 {
            if let Ok(Some(chunk)) = hostcalls::get_buffer(dir.buffer(), 0, size) {
                side.carry.extend_from_slice(&chunk);
            }
        }
        Self::scan_carry(side);
        if eos {
            self.conclude(vm, dir, side);
        }
    }

    /// Scans the carried bytes within this callback's budget.
    fn scan_carry(side: &mut Side) {
        if side.incomplete.is_some() || side.carry.is_empty() {
            return;
        }
        let budget = Budget::new(host_clock, SCAN_BUDGET_NANOS);
        let encoded = side.encoded();
        let n = push_within(&mut side.scan, &side.carry, encoded, &budget);
        side.carry.drain(..n);
        side.note_scan_error();
        if side.carry.len() > MAX_CARRY {
            side.stop_scanning(FallbackReason::ScanTime);
        }
    }

    /// Holding: scan the new part of the held buffer, then wait, release at the hold limit,
    /// or decide at a decision point.
    fn held_step(&mut self, vm: &Vm, dir: Dir, side: &mut Side, size: usize, eos: bool) -> Next {
        side.largest_chunk = side.largest_chunk.max(size.saturating_sub(side.last_size));
        side.last_size = size;
        if side.incomplete.is_none() && side.scanned < size {
            let unscanned = hostcalls::get_buffer(dir.buffer(), side.scanned, size - side.scanned)
                .ok()
                .flatten()
                .unwrap_or_default();
            let budget = Budget::new(host_clock, SCAN_BUDGET_NANOS);
            let encoded = side.encoded();
            side.scanned += push_within(&mut side.scan, &unscanned, encoded, &budget);
            side.note_scan_error();
        }
        // Whole gRPC messages are a decision point even if their scan is not done (then it is a
        // `scan_time` fallback): waiting for more data could stall a streaming call.
        let whole_messages = side.is_grpc()
            && hostcalls::get_buffer(dir.buffer(), 0, size)
                .ok()
                .flatten()
                .is_some_and(|b| grpc_frames_complete(&b));
        if eos || whole_messages {
            return self.decide_held(vm, dir, side, size, eos);
        }
        let limits = vm.inspector.policy().limits();
        if !over_hold_limit(limits, size as u64, side.largest_chunk as u64) {
            return Next::Pause;
        }
        self.release(vm, dir, side, size)
    }

    /// The body would grow past the hold limit: decide on what was scanned so far.
    fn release(&mut self, vm: &Vm, dir: Dir, side: &mut Side, size: usize) -> Next {
        let ep = self.endpoint(vm);
        let verdict = Self::endpoint_verdict(ep, side.plan.mode, side.scan.matches(), &[]);
        let facts = BodyFacts {
            verdict: &verdict,
            dropped: &[],
            incomplete: Some(FallbackReason::BodyLimit),
            held: true,
            rewritable: false,
        };
        let decision = decide_body(&facts, vm.inspector.policy().limits().fallback);
        self.count_fallback(vm, dir, side, decision);
        if decision.outcome == Outcome::Block {
            side.stop_scanning(FallbackReason::BodyLimit);
            self.finish_and_report(vm, dir, side);
            self.block(vm);
            return Next::Pause;
        }
        // Pass: stream from here on; what is held but not yet scanned is carried.
        side.hold = false;
        if side.incomplete.is_none() && side.scanned < size {
            if let Ok(Some(rest)) =
                hostcalls::get_buffer(dir.buffer(), side.scanned, size - side.scanned)
            {
                side.carry.extend_from_slice(&rest);
            }
        }
        Self::scan_carry(side);
        Next::Continue
    }

    /// A decision point of a held body: the whole body (`eos`) or whole gRPC messages.
    fn decide_held(&mut self, vm: &Vm, dir: Dir, side: &mut Side, size: usize, eos: bool) -> Next {
        if side.incomplete.is_none() && side.scanned < size {
            side.stop_scanning(FallbackReason::ScanTime);
        }
        if eos {
            Self::finish_scan(side);
        }
        let (matches, dropped, verdict) = self.report_found(vm, dir, side);
        let fallback = vm.inspector.policy().limits().fallback;
        let mut facts = BodyFacts {
            verdict: &verdict,
            dropped: &dropped,
            incomplete: side.incomplete,
            held: true,
            rewritable: true,
        };
        let mut decision = decide_body(&facts, fallback);
        let mut redacted = None;
        if decision.outcome == Outcome::Redact {
            let body = hostcalls::get_buffer(dir.buffer(), 0, size)
                .ok()
                .flatten()
                .unwrap_or_default();
            let masks = verdict.masks_for(&matches);
            let limits = vm.inspector.limits();
            let format = side.scan.format().clone();
            match redact_body(&body, &format, side.encoding, &masks, side.base, limits) {
                Ok(r) => redacted = Some(r),
                Err(e) => {
                    log::warn!("microwaf: {e}");
                    facts.rewritable = false;
                    decision = decide_body(&facts, fallback);
                }
            }
        }
        self.count_fallback(vm, dir, side, decision);
        if decision.fallback == Some(FallbackReason::MatchLimit) {
            log::warn!("microwaf: too many matches to redact ({MAX_MATCHES} kept)");
        }
        match decision.outcome {
            Outcome::Block => {
                side.done = true;
                self.block(vm);
                return Next::Pause;
            }
            Outcome::Redact => {
                if let Some(r) = redacted {
                    let _ = hostcalls::set_buffer(dir.buffer(), 0, size, &r);
                }
            }
            Outcome::Pass => {}
        }
        if side.incomplete.is_some() {
            // The scan lost track of the body: later messages cannot be inspected coherently,
            // so they stream (the fallback was counted).
            side.hold = false;
        }
        side.base += size as u64;
        side.scanned = 0;
        side.last_size = 0;
        Next::Continue
    }

    /// Counts a decision's fallback, once per body.
    fn count_fallback(&self, vm: &Vm, dir: Dir, side: &mut Side, decision: Decision) {
        if let Some(reason) = decision.fallback {
            if !side.fell_back {
                side.fell_back = true;
                log::warn!(
                    "microwaf: {} body fallback: {}",
                    dir.as_str(),
                    reason.as_str()
                );
                self.count(vm, "microwaf_fallbacks", &[("reason", reason.as_str())], 1);
            }
        }
    }

    /// Ends the scan and reports the findings of a streamed body.
    pub(super) fn conclude(&mut self, vm: &Vm, dir: Dir, side: &mut Side) {
        if side.done {
            return;
        }
        Self::scan_carry(side);
        if side.incomplete.is_none() && !side.carry.is_empty() {
            side.stop_scanning(FallbackReason::ScanTime);
        }
        self.finish_and_report(vm, dir, side);
        // A streamed body can only pass; the decision still names an incomplete scan.
        let verdict = Verdict::clean();
        let facts = BodyFacts {
            verdict: &verdict,
            dropped: &[],
            incomplete: side.incomplete,
            held: false,
            rewritable: false,
        };
        let decision = decide_body(&facts, vm.inspector.policy().limits().fallback);
        self.count_fallback(vm, dir, side, decision);
    }

    /// Finishes the scan (if it is still coherent) and reports everything found.
    fn finish_and_report(&mut self, vm: &Vm, dir: Dir, side: &mut Side) {
        Self::finish_scan(side);
        self.report_found(vm, dir, side);
    }

    /// Ends the body's scan: the parser's end (only while the scan is coherent), then done.
    fn finish_scan(side: &mut Side) {
        if side.incomplete.is_none() {
            side.scan.finish();
            side.note_scan_error();
        }
        side.done = true;
    }

    /// Takes what the scan found so far, decides its verdict and reports it.
    fn report_found(
        &mut self,
        vm: &Vm,
        dir: Dir,
        side: &mut Side,
    ) -> (Vec<Match>, Vec<(String, u32)>, Verdict) {
        let matches = side.scan.take_matches();
        let dropped = side.scan.take_dropped();
        let verdict = self.verdict(vm, dir, side.plan.mode, &matches, &dropped);
        self.report(vm, dir, &matches, &verdict);
        (matches, dropped, verdict)
    }
}
