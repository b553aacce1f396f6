//! Runs one stream through its filters with Envoy's buffering semantics (DESIGN §3):
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
    Reply(LocalReply),
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

    async fn wait(&self, i: usize) -> Result<(), Stop> {
        match self.signals[i].wait().await {
            Signal::Resume => Ok(()),
            Signal::LocalReply(r) => Err(Stop::Reply(r)),
            Signal::Close => Err(Stop::Reset),
        }
    }

    pub async fn request_headers(&self, head: &mut RequestHead, eos: bool) -> Result<(), Stop> {
        for i in self.order(Dir::Request, 0) {
            let st = self.stages.lock()[i].filter.on_request_headers(head, eos);
            self.after(i, st).await?;
        }
        Ok(())
    }

    pub async fn response_headers(&self, head: &mut ResponseHead, eos: bool) -> Result<(), Stop> {
        for i in self.order(Dir::Response, 0) {
            let st = self.stages.lock()[i].filter.on_response_headers(head, eos);
            self.after(i, st).await?;
        }
        Ok(())
    }

    async fn after(&self, i: usize, st: FilterStatus) -> Result<(), Stop> {
        match st {
            FilterStatus::Continue => Ok(()),
            FilterStatus::Pause => self.wait(i).await,
            FilterStatus::LocalReply(r) => Err(Stop::Reply(r)),
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
                    self.wait(i).await?;
                    data = self.stages.lock()[i].buf[dir as usize].split().freeze();
                    from = self.pos(dir, i);
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
            if buf.len() > self.buffer_limit {
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
                FilterStatus::Continue => data = s.buf[dir as usize].split().freeze(),
                FilterStatus::Pause if eos => return Ok(Step::PausedAtEnd(i)),
                FilterStatus::Pause => return Ok(Step::Buffered),
                FilterStatus::LocalReply(r) => return Err(Stop::Reply(r)),
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
            self.after(i, st).await?;
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
