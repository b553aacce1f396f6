//! The VMs of one plugin. Each [`VmSlot`] holds at most one live VM behind a mutex (a VM runs
//! one callback at a time); a failed VM is dropped — its instance slot goes back to the pooling
//! allocator — and a fresh one is started on demand with exponential backoff.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use parking_lot::{Mutex, MutexGuard};
use wasmtime::InstancePre;

use crate::config::FailPolicy;
use crate::embedder::LocalReply;
use crate::fault::Fault;
use crate::host::{ContextKind, VmState, ROOT_ID};
use crate::mailbox::{Mail, Mailbox};
use crate::plugin::PluginShared;
use crate::vm::{fire, Event, Events, Vm};

/// Backoff after the `n`-th consecutive failure: the first replacement is immediate, then
/// 10 ms doubling up to 10 s, so a module that crashes on every request costs little.
fn backoff(failures: u32) -> Duration {
    if failures <= 1 {
        return Duration::ZERO;
    }
    Duration::from_millis(10u64 << (failures - 2).min(10)).min(Duration::from_secs(10))
}

pub(crate) struct SlotState {
    pub vm: Option<Vm>,
    /// Bumped whenever the VM is replaced; streams of an older generation are failed.
    pub generation: u64,
    failures: u32,
    retry_at: Instant,
    pub next_tick: Option<Instant>,
    /// The plugin was removed: no replacement VMs; a live VM here is draining (its root
    /// context's `on_done` returned false and it has not called `proxy_done` yet).
    retired: bool,
    /// Body data other streams had buffered in a VM that failed, by (generation, context id),
    /// until each stream takes it (fail-open loses no data). Filled only on a failure, so a
    /// stream costs no allocation for it.
    pub rescued: HashMap<(u64, u32), [BytesMut; 2]>,
}

pub(crate) struct VmSlot {
    pub index: usize,
    pub plugin: Arc<PluginShared>,
    pre: InstancePre<VmState>,
    deadline_ticks: u64,
    pub state: Mutex<SlotState>,
    pub mailbox: Arc<Mailbox>,
}

impl VmSlot {
    pub fn new(
        index: usize,
        plugin: Arc<PluginShared>,
        pre: InstancePre<VmState>,
        deadline_ticks: u64,
        vm: Vm,
        mailbox: Arc<Mailbox>,
    ) -> Arc<VmSlot> {
        let slot = Arc::new(VmSlot {
            index,
            plugin,
            pre,
            deadline_ticks,
            state: Mutex::new(SlotState {
                vm: Some(vm),
                generation: 0,
                failures: 0,
                retry_at: Instant::now(),
                next_tick: None,
                retired: false,
                rescued: HashMap::new(),
            }),
            mailbox,
        });
        slot.mailbox.bind(Arc::downgrade(&slot));
        slot
    }

    /// Starts a VM (for the initial load and for replacements).
    pub fn start_vm(
        pre: &InstancePre<VmState>,
        plugin: &Arc<PluginShared>,
        mailbox: &Arc<Mailbox>,
        generation: u64,
        deadline_ticks: u64,
    ) -> Result<Vm, crate::RuntimeError> {
        Vm::start(
            pre,
            plugin.clone(),
            mailbox.clone(),
            generation,
            deadline_ticks,
        )
    }

    /// Instantiates a fresh instance of the module (no callbacks run) and drops it: what a
    /// replacement costs before the guest's own start code.
    pub fn fresh_instance(&self) -> Result<(), crate::RuntimeError> {
        let mailbox = crate::plugin::new_mailbox();
        let state = VmState::new(self.plugin.abi, self.plugin.clone(), mailbox, 0);
        let mut store = wasmtime::Store::new(self.pre.module().engine(), state);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(self.deadline_ticks);
        self.pre
            .instantiate(&mut store)
            .map(|_| ())
            .map_err(|e| crate::RuntimeError::Instantiate {
                plugin: self.plugin.config.name.clone(),
                message: format!("{e:#}"),
            })
    }

    /// Makes sure the slot has a live VM if the backoff allows; returns whether it has one.
    pub fn ensure_vm(&self, st: &mut SlotState) -> bool {
        if st.vm.is_some() {
            return true;
        }
        if st.retired || Instant::now() < st.retry_at {
            return false;
        }
        let generation = st.generation + 1;
        match Self::start_vm(
            &self.pre,
            &self.plugin,
            &self.mailbox,
            generation,
            self.deadline_ticks,
        ) {
            Ok(vm) => {
                st.vm = Some(vm);
                st.generation = generation;
                st.next_tick = None;
                self.plugin.counters.replacement();
                tracing::info!(plugin = %self.plugin.config.name, vm = self.index, "replacement VM started");
                true
            }
            Err(e) => {
                self.plugin.counters.start_failure();
                st.failures += 1;
                st.retry_at = Instant::now() + backoff(st.failures);
                tracing::error!(plugin = %self.plugin.config.name, vm = self.index, error = %e, "replacement VM failed to start");
                false
            }
        }
    }

    /// Discards the VM after a fault in `context`: counts and logs it, and collects the wake-ups
    /// of every other stream that was paused in it (fail-open resumes, fail-closed replies 503).
    pub fn fail(&self, st: &mut SlotState, fault: &Fault, context: u32) -> Events {
        let cfg = &self.plugin.config;
        self.plugin.counters.trap(fault.kind);
        tracing::error!(
            plugin = %cfg.name, vm = self.index, context, kind = %fault.kind,
            "plugin VM failed: {}", fault.message
        );
        self.plugin.embedder.log(
            &cfg.name,
            context,
            microwaf_abi::LogLevel::Error,
            &format!("VM failed ({}): {}", fault.kind, fault.message),
        );
        let mut events = Events::new();
        let generation = st.generation;
        if let Some(mut vm) = st.vm.take() {
            for (id, c) in vm.state().contexts.iter_mut() {
                if *id == context || c.kind == ContextKind::Root {
                    continue;
                }
                if c.bodies.iter().any(|b| !b.is_empty()) {
                    let bodies = [c.bodies[0].split(), c.bodies[1].split()];
                    st.rescued.insert((generation, *id), bodies);
                }
                let Some(target) = c.events.clone() else {
                    continue;
                };
                match cfg.fail_policy {
                    FailPolicy::FailOpen => {
                        events.push((target.clone(), Event::Resume(first_stream(c.kind, 0))));
                        events.push((target, Event::Resume(first_stream(c.kind, 1))));
                    }
                    FailPolicy::FailClosed => {
                        events.push((
                            target,
                            Event::LocalReply(LocalReply::unavailable("wasm_fail_closed")),
                        ));
                    }
                }
            }
        }
        st.failures += 1;
        st.retry_at = Instant::now() + backoff(st.failures);
        events
    }

    /// A callback finished normally: the VM is healthy, reset the backoff; if the root context
    /// called `proxy_done` to end a deferred deletion, `on_delete` runs now and the VM goes.
    pub fn healthy(st: &mut SlotState) {
        st.failures = 0;
        let Some(vm) = st.vm.as_mut() else { return };
        if !std::mem::take(&mut vm.state().delete_requested) {
            return;
        }
        vm.state().enter(ROOT_ID);
        // The VM is discarded either way: a trap in `on_delete` changes nothing.
        let _ = vm.call(|e| e.delete.as_ref(), ROOT_ID);
        st.vm = None;
        st.retired = true;
    }

    /// The plugin is being removed (Envoy's `startShutdown`): the root context's `on_done`;
    /// true → `on_delete` and the VM goes; false → the VM keeps running (ticks, callouts,
    /// queues) until it calls `proxy_done`. Returns whether the VM is still draining.
    pub fn shutdown(&self) -> bool {
        let mut st = self.state.lock();
        st.retired = true;
        let Some(vm) = st.vm.as_mut() else {
            return false;
        };
        vm.state().enter(ROOT_ID);
        let events = match vm.call(|e| e.done.as_ref(), ROOT_ID) {
            Ok(Some(0)) => {
                vm.state().done_pending = true;
                Events::new()
            }
            Ok(_) => {
                vm.state().enter(ROOT_ID);
                let _ = vm.call(|e| e.delete.as_ref(), ROOT_ID);
                st.vm = None;
                Events::new()
            }
            Err(fault) => self.fail(&mut st, &fault, ROOT_ID),
        };
        drop(st);
        fire(events);
        self.pump();
        self.is_draining()
    }

    /// Retired but with a live VM: a root context that deferred its deletion.
    pub fn is_draining(&self) -> bool {
        let st = self.state.lock();
        st.retired && st.vm.is_some()
    }

    /// Delivers queued mail while the lock is free; re-checks after unlocking (see `mailbox`).
    pub fn pump(&self) {
        if self.mailbox.is_empty() {
            return;
        }
        loop {
            let Some(mut st) = self.state.try_lock() else {
                return;
            };
            let events = self.deliver_mail(&mut st);
            drop(st);
            fire(events);
            if self.mailbox.is_empty() {
                return;
            }
        }
    }

    fn deliver_mail(&self, st: &mut MutexGuard<'_, SlotState>) -> Events {
        let mut events = Events::new();
        while let Some(mail) = self.mailbox.take() {
            let generation = st.generation;
            let Some(vm) = st.vm.as_mut() else { continue };
            let result = match mail {
                Mail::Callout { generation: g, .. } if g != generation => continue,
                Mail::Callout {
                    token,
                    grpc,
                    response,
                    ..
                } => crate::callout::deliver(vm, token, grpc, response),
                Mail::GrpcStream { generation: g, .. } if g != generation => continue,
                Mail::GrpcStream { token, event, .. } => {
                    crate::callout::deliver_stream(vm, token, event)
                }
                Mail::QueueReady { qid } => {
                    vm.state().enter(ROOT_ID);
                    vm.call(|e| e.queue_ready.as_ref(), (ROOT_ID, qid))
                        .map(|_| ())
                }
                Mail::Foreign { function_id, data } => {
                    let len = data.len() as u32;
                    let s = vm.state();
                    s.call_data = Some(data);
                    s.enter(ROOT_ID);
                    let args = (ROOT_ID, function_id, len);
                    let r = vm.call(|e| e.foreign_function.as_ref(), args).map(|_| ());
                    vm.state().call_data = None;
                    r
                }
            };
            match result.and_then(|()| vm.take_events(None)) {
                Ok(mut e) => {
                    events.append(&mut e);
                    Self::healthy(st);
                }
                Err(fault) => {
                    let mut e = self.fail(st, &fault, ROOT_ID);
                    events.append(&mut e);
                }
            }
        }
        events
    }

    /// Fires `on_tick` if due; returns when the next tick is due.
    pub fn tick(&self, now: Instant) -> Option<Instant> {
        let next = self.tick_locked(now);
        // Mail posted while the lock was held here is ours to deliver.
        self.pump();
        next
    }

    fn tick_locked(&self, now: Instant) -> Option<Instant> {
        let mut st = self.state.lock();
        if !self.ensure_vm(&mut st) {
            return Some(st.retry_at);
        }
        let period = st.vm.as_mut()?.state().tick_period?;
        let due = *st.next_tick.get_or_insert(now + period);
        if now < due {
            return Some(due);
        }
        let vm = st.vm.as_mut()?;
        vm.state().enter(ROOT_ID);
        let result = vm
            .call(|e| e.tick.as_ref(), ROOT_ID)
            .and_then(|_| vm.take_events(None));
        let events = match result {
            Ok(e) => {
                Self::healthy(&mut st);
                e
            }
            Err(fault) => self.fail(&mut st, &fault, ROOT_ID),
        };
        let next = st
            .vm
            .as_mut()
            .and_then(|vm| vm.state().tick_period)
            .map(|p| now + p);
        st.next_tick = next;
        drop(st);
        fire(events);
        next
    }
}

fn first_stream(kind: ContextKind, dir: usize) -> microwaf_abi::StreamType {
    use microwaf_abi::StreamType::*;
    match (kind, dir) {
        (ContextKind::Network, 0) => Downstream,
        (ContextKind::Network, _) => Upstream,
        (_, 0) => Request,
        _ => Response,
    }
}
