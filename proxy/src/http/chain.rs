//! Runs one stream through its filters with Envoy's buffering semantics (docs/abi.md):
//! data streams chunk by chunk unless a filter pauses; a headers pause stops the whole stream
//! until the filter's [`StreamSignal`] says resume; a body pause accumulates, and the next call
//! sees the whole buffer; a local reply stops the chain. Request phases run in configuration
//! order, response phases in reverse (Envoy's encoder order).

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use parking_lot::Mutex;

use super::error::{ErrorKind, ProxyError};
use super::filter::{
    FilterStatus, HttpFilter, LocalReply, LogInfo, RequestHead, ResponseHead, Signal, StreamSignal,
};

/// Why a stream stopped before reaching the upstream or the client.
#[derive(Debug)]
pub enum Stop {
    /// A local reply; `Some(i)` when filter `i` sent it (its own response callbacks already
    /// ran on it, and filters after it never saw the request).
    Reply(LocalReply, Option<usize>),
    Error(ProxyError),
    /// Reset the stream without a response (`proxy_close_stream`).
    Reset,
}

/// Which way the data flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    Request,
    Response,
}

struct Stage {
    filter: Box<dyn HttpFilter>,
    buf: [BytesMut; 2],
    /// Bytes given to the filter since its last `Continue`, per direction (the buffer-limit
    /// check, whoever holds the data).
    held: [usize; 2],
}

/// The filters of one stream, shared by the request pump, the response pump and the log hook.
pub struct Chain {
    stages: Mutex<Vec<Stage>>,
    signals: Vec<Arc<StreamSignal>>,
    buffer_limit: usize,
}

/// Output of pushing one piece of body through the chain.
pub enum BodyOut {
    /// Data (possibly empty) leaving the last filter, and whether it ends the stream.
    Data(Bytes, bool),
    /// A filter buffers; nothing leaves yet.
    Buffered,
}

impl Chain {
    pub fn new(
        filters: Vec<(Box<dyn HttpFilter>, Arc<StreamSignal>)>,
        buffer_limit: usize,
    ) -> Self {
        let signals = filters.iter().map(|(_, s)| s.clone()).collect();
        let stages = filters
            .into_iter()
            .map(|(filter, _)| Stage {
                filter,
                buf: [BytesMut::new(), BytesMut::new()],
                held: [0, 0],
            })
            .collect();
        Self {
            stages: Mutex::new(stages),
            signals,
            buffer_limit,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.signals.is_empty()
    }

    pub fn len(&self) -> usize {
        self.signals.len()
    }

    fn order(&self, dir: Dir, from: usize) -> Vec<usize> {
        let n = self.signals.len();
        match dir {
            Dir::Request => (from..n).collect(),
            Dir::Response => (0..n.saturating_sub(from)).rev().collect(),
        }
    }

    /// Position of filter `i` in `dir` order (to resume after it).
    fn pos(&self, dir: Dir, i: usize) -> usize {
        match dir {
            Dir::Request => i + 1,
            Dir::Response => self.signals.len() - i,
        }
    }

    /// Waits until filter `i` resumes `dir`; resumes of the other direction are stale.
    async fn wait(&self, i: usize, dir: Dir) -> Result<(), Stop> {
        loop {
            match self.signals[i].wait().await {
                Signal::Resume { response } if response == (dir == Dir::Response) => return Ok(()),
                Signal::Resume { .. } => continue,
                Signal::LocalReply(r) => return Err(Stop::Reply(r, Some(i))),
                Signal::Close => return Err(Stop::Reset),
            }
        }
    }

    pub async fn request_headers(&self, head: &mut RequestHead, eos: bool) -> Result<(), Stop> {
        for i in 0..self.signals.len() {
            let st = self.stages.lock()[i].filter.on_request_headers(head, eos);
            if self.after(i, Dir::Request, st).await? {
                self.stages.lock()[i].filter.resumed_request_headers(head);
            }
        }
        Ok(())
    }

    /// Response headers through filters `end-1..=0` (all of them for upstream responses;
    /// those before the replying filter for its local reply).
    pub async fn response_headers(
        &self,
        head: &mut ResponseHead,
        eos: bool,
        end: usize,
    ) -> Result<(), Stop> {
        for i in (0..end).rev() {
            let st = self.stages.lock()[i].filter.on_response_headers(head, eos);
            if self.after(i, Dir::Response, st).await? {
                self.stages.lock()[i].filter.resumed_response_headers(head);
            }
        }
        Ok(())
    }

    /// Acts on a status; `Ok(true)` when the filter paused and was resumed.
    async fn after(&self, i: usize, dir: Dir, st: FilterStatus) -> Result<bool, Stop> {
        match st {
            FilterStatus::Continue => Ok(false),
            FilterStatus::Pause => self.wait(i, dir).await.map(|()| true),
            FilterStatus::LocalReply(r) => Err(Stop::Reply(r, Some(i))),
        }
    }

    /// Pushes body data through every filter, waiting when a filter pauses at end of stream.
    pub async fn body(&self, dir: Dir, data: Bytes, eos: bool) -> Result<BodyOut, Stop> {
        let mut from = 0;
        let mut data = data;
        loop {
            match self.body_from(dir, from, data, eos)? {
                Step::Out(d) => return Ok(BodyOut::Data(d, eos)),
                Step::Buffered => return Ok(BodyOut::Buffered),
                Step::PausedAtEnd(i) => {
                    // Resume re-drives the paused filter with an empty chunk: it hands back
                    // everything it buffered (or pauses again).
                    self.wait(i, dir).await?;
                    data = Bytes::new();
                    from = self.pos(dir, i) - 1;
                }
            }
        }
    }

    fn body_from(&self, dir: Dir, from: usize, data: Bytes, eos: bool) -> Result<Step, Stop> {
        let mut stages = self.stages.lock();
        let mut data = data;
        for i in self.order(dir, from) {
            let s = &mut stages[i];
            let buf = &mut s.buf[dir as usize];
            buf.extend_from_slice(&data);
            s.held[dir as usize] += data.len();
            if s.held[dir as usize] > self.buffer_limit {
                let kind = match dir {
                    Dir::Request => ErrorKind::RequestTooLarge,
                    Dir::Response => ErrorKind::ResponseTooLarge,
                };
                return Err(Stop::Error(ProxyError::new(
                    kind,
                    format!("buffered body over the {} byte limit", self.buffer_limit),
                )));
            }
            let st = match dir {
                Dir::Request => s.filter.on_request_body(buf, eos),
                Dir::Response => s.filter.on_response_body(buf, eos),
            };
            match st {
                FilterStatus::Continue => {
                    s.held[dir as usize] = 0;
                    data = s.buf[dir as usize].split().freeze();
                }
                FilterStatus::Pause if eos => return Ok(Step::PausedAtEnd(i)),
                FilterStatus::Pause => return Ok(Step::Buffered),
                FilterStatus::LocalReply(r) => return Err(Stop::Reply(r, Some(i))),
            }
        }
        Ok(Step::Out(data))
    }

    /// Trailers end the stream: buffered data is flushed ahead of them.
    pub async fn trailers(&self, dir: Dir, trailers: &mut HeaderMap) -> Result<Bytes, Stop> {
        let mut out = BytesMut::new();
        for i in self.order(dir, 0) {
            let st = {
                let mut stages = self.stages.lock();
                let s = &mut stages[i];
                let mut pending = s.buf[dir as usize].split();
                pending.extend_from_slice(&out);
                out = pending;
                match dir {
                    Dir::Request => s.filter.on_request_trailers(trailers),
                    Dir::Response => s.filter.on_response_trailers(trailers),
                }
            };
            self.after(i, dir, st).await?;
        }
        Ok(out.freeze())
    }

    /// Runs every filter's `on_log` and gathers their actions.
    pub fn log(&self, info: &LogInfo) -> Vec<String> {
        let mut stages = self.stages.lock();
        let mut actions = Vec::new();
        for s in stages.iter_mut() {
            s.filter.on_log(info);
            actions.extend(s.filter.actions());
        }
        actions
    }
}

enum Step {
    Out(Bytes),
    Buffered,
    PausedAtEnd(usize),
}
