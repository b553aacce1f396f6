//! Process-wide shared data and queues (scoped by vm_id) and per-plugin metrics.
//!
//! Interim implementation owned by the runtime until the abi helper's `shared/` and `metrics/`
//! modules land; the `Host` methods only see the small API below.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use microwaf_abi::{HostResult, MetricType, Status};
use parking_lot::Mutex;

/// Called when a message is enqueued on a queue: delivers `on_queue_ready` to its owner VM.
pub(crate) type QueueNotify = Arc<dyn Fn(u32) + Send + Sync>;

struct Queue {
    vm_id: Vec<u8>,
    name: Vec<u8>,
    items: VecDeque<Bytes>,
    notify: QueueNotify,
}

/// Shared data and queues of the whole process.
#[derive(Default)]
pub struct SharedStore {
    data: Mutex<HashMap<(Vec<u8>, Vec<u8>), (Bytes, u32)>>,
    queues: Mutex<Vec<Queue>>,
}

impl SharedStore {
    pub fn get(&self, vm_id: &[u8], key: &[u8]) -> HostResult<(Bytes, u32)> {
        let data = self.data.lock();
        data.get(&(vm_id.to_vec(), key.to_vec()))
            .cloned()
            .ok_or(Status::NotFound)
    }

    /// `cas` 0 = unconditional; otherwise it must equal the stored cas.
    pub fn set(&self, vm_id: &[u8], key: &[u8], value: &[u8], cas: u32) -> HostResult<()> {
        let mut data = self.data.lock();
        let entry = data.entry((vm_id.to_vec(), key.to_vec()));
        match entry {
            std::collections::hash_map::Entry::Occupied(mut e) => {
                if cas != 0 && cas != e.get().1 {
                    return Err(Status::CasMismatch);
                }
                let next = e.get().1.wrapping_add(1).max(1);
                *e.get_mut() = (Bytes::copy_from_slice(value), next);
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                if cas != 0 {
                    return Err(Status::CasMismatch);
                }
                e.insert((Bytes::copy_from_slice(value), 1));
            }
        }
        Ok(())
    }

    /// Registers (or re-registers, after a VM replacement) `name` under `vm_id`.
    pub(crate) fn register_queue(&self, vm_id: &[u8], name: &[u8], notify: QueueNotify) -> u32 {
        let mut queues = self.queues.lock();
        if let Some(i) = queues
            .iter()
            .position(|q| q.vm_id == vm_id && q.name == name)
        {
            queues[i].notify = notify;
            return i as u32 + 1;
        }
        queues.push(Queue {
            vm_id: vm_id.to_vec(),
            name: name.to_vec(),
            items: VecDeque::new(),
            notify,
        });
        queues.len() as u32
    }

    pub fn resolve_queue(&self, vm_id: &[u8], name: &[u8]) -> HostResult<u32> {
        let queues = self.queues.lock();
        queues
            .iter()
            .position(|q| q.vm_id == vm_id && q.name == name)
            .map(|i| i as u32 + 1)
            .ok_or(Status::NotFound)
    }

    pub fn enqueue(&self, id: u32, value: &[u8]) -> HostResult<()> {
        let notify = {
            let mut queues = self.queues.lock();
            let q = queues
                .get_mut((id as usize).wrapping_sub(1))
                .ok_or(Status::NotFound)?;
            q.items.push_back(Bytes::copy_from_slice(value));
            q.notify.clone()
        };
        notify(id);
        Ok(())
    }

    pub fn dequeue(&self, id: u32) -> HostResult<Bytes> {
        let mut queues = self.queues.lock();
        let q = queues
            .get_mut((id as usize).wrapping_sub(1))
            .ok_or(Status::NotFound)?;
        q.items.pop_front().ok_or(Status::Empty)
    }
}

struct Metric {
    name: String,
    kind: MetricType,
    value: AtomicI64,
}

/// Metrics of one plugin: the same name defined in every VM is one series.
#[derive(Default)]
pub struct PluginMetrics {
    metrics: Mutex<Vec<Arc<Metric>>>,
}

/// A metric's current value, for the embedder's exporter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricSample {
    pub name: String,
    pub kind: MetricType,
    /// Counter/gauge value; for histograms, the last recorded value.
    pub value: i64,
}

impl PluginMetrics {
    fn id(index: usize, kind: MetricType) -> u32 {
        ((index as u32) << 2) | kind as u32
    }

    pub fn define(&self, kind: MetricType, name: &[u8]) -> HostResult<u32> {
        let name = std::str::from_utf8(name).map_err(|_| Status::BadArgument)?;
        let mut metrics = self.metrics.lock();
        if let Some(i) = metrics
            .iter()
            .position(|m| m.name == name && m.kind == kind)
        {
            return Ok(Self::id(i, kind));
        }
        metrics.push(Arc::new(Metric {
            name: name.to_string(),
            kind,
            value: AtomicI64::new(0),
        }));
        Ok(Self::id(metrics.len() - 1, kind))
    }

    fn get_metric(&self, id: u32) -> HostResult<Arc<Metric>> {
        let metrics = self.metrics.lock();
        let m = metrics.get((id >> 2) as usize).ok_or(Status::NotFound)?;
        if m.kind as u32 != id & 3 {
            return Err(Status::NotFound);
        }
        Ok(m.clone())
    }

    pub fn increment(&self, id: u32, offset: i64) -> HostResult<()> {
        let m = self.get_metric(id)?;
        match m.kind {
            MetricType::Counter if offset <= 0 => Err(Status::BadArgument),
            MetricType::Histogram => Err(Status::BadArgument),
            _ => {
                m.value.fetch_add(offset, Ordering::Relaxed);
                Ok(())
            }
        }
    }

    pub fn record(&self, id: u32, value: u64) -> HostResult<()> {
        let m = self.get_metric(id)?;
        m.value.store(value as i64, Ordering::Relaxed);
        Ok(())
    }

    pub fn get(&self, id: u32) -> HostResult<u64> {
        Ok(self.get_metric(id)?.value.load(Ordering::Relaxed) as u64)
    }

    /// Every metric of the plugin, in definition order.
    pub fn snapshot(&self) -> Vec<MetricSample> {
        self.metrics
            .lock()
            .iter()
            .map(|m| MetricSample {
                name: m.name.clone(),
                kind: m.kind,
                value: m.value.load(Ordering::Relaxed),
            })
            .collect()
    }
}
