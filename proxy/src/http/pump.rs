//! Moves a body from its source through the filter chain, counting bytes.
//!
//! The caller holds the headers until the chain's first output: a filter that buffers the
//! whole body can still turn it into a 413/500 or a local reply, and a fully buffered body gets
//! an exact `content-length`. [`start`] drives the chain in the caller's task up to that first
//! output, and only a body that is still streaming after it gets a task and a channel: most
//! API bodies arrive whole, and a task plus channel per body cost cross-thread wake-ups on
//! every request (the no-op filter's overhead in the benchmarks). [`spawn`] runs everything in
//! a task, for streams whose body must flow before the first output is known (gRPC requests).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::HeaderMap;
use http_body::Frame;
use http_body_util::channel::{Channel, Sender};
use http_body_util::BodyExt;
use tokio::sync::oneshot;

use super::body::{BoxError, ProxyBody};
use super::chain::{BodyOut, Chain, Dir, Stop};
use super::error::{ErrorKind, ProxyError};
use super::honest::Cut;

/// A body still streaming from a pump task, plus a report of failures after its first output.
pub struct Pumped {
    pub body: Channel<Bytes, BoxError>,
    pub late: oneshot::Receiver<Stop>,
}

/// The body after the chain's first output (see [`start`]).
pub enum Started {
    /// The whole body passed the chain: its data, and trailers if it had any.
    Complete(Bytes, Option<HeaderMap>),
    /// Data left the chain and more follows from a task.
    Streaming(Pumped),
}

/// Drives the chain in this task until its first output; spawns a task for the rest only if
/// the body is not complete by then.
pub async fn start(
    chain: Arc<Chain>,
    dir: Dir,
    src: ProxyBody,
    counter: Arc<AtomicU64>,
) -> Result<Started, Stop> {
    let mut pump = Pump::new(chain, dir, src, counter);
    match pump.next().await {
        Out::Data(d, true) => Ok(Started::Complete(d, None)),
        Out::Data(d, false) => {
            let (mut tx, body) = Channel::new(4);
            let (late_tx, late) = oneshot::channel();
            if !d.is_empty() && tx.try_send(Frame::data(d)).is_err() {
                return Err(Stop::Reset);
            }
            tokio::spawn(pump.finish(tx, late_tx));
            Ok(Started::Streaming(Pumped { body, late }))
        }
        Out::Trailers(d, t) => Ok(Started::Complete(d, Some(t))),
        Out::Failed(e) => Err(Stop::Error(source_failed(dir, e))),
        Out::Done => Err(Stop::Reset),
        Out::Stopped(s) => Err(s),
    }
}

/// A source that failed before anything left the chain: nothing was sent yet, so the client
/// gets a status instead of a silently closed stream.
fn source_failed(dir: Dir, e: BoxError) -> ProxyError {
    match dir {
        Dir::Response => ProxyError::new(
            ErrorKind::UpstreamReset,
            format!("upstream body failed before the response started: {e}"),
        ),
        Dir::Request => ProxyError::new(
            ErrorKind::DownstreamReset,
            format!("request body failed: {e}"),
        ),
    }
}

/// Runs the whole pump in a task; a filter's stop, before or after the first output, goes to
/// `late`.
pub fn spawn(chain: Arc<Chain>, dir: Dir, src: ProxyBody, counter: Arc<AtomicU64>) -> Pumped {
    let (tx, body) = Channel::new(4);
    let (late_tx, late) = oneshot::channel();
    tokio::spawn(Pump::new(chain, dir, src, counter).finish(tx, late_tx));
    Pumped { body, late }
}

/// A body whose end is known: `data` then `trailers`, without a task.
pub fn complete_body(data: Bytes, trailers: Option<HeaderMap>) -> ProxyBody {
    match trailers {
        None => super::body::full(data),
        Some(t) => {
            let (mut tx, body) = Channel::<Bytes, BoxError>::new(2);
            // Capacity 2 holds both frames; the receiver reads them after the sender is gone.
            if !data.is_empty() {
                let _ = tx.try_send(Frame::data(data));
            }
            let _ = tx.try_send(Frame::trailers(t));
            super::body::boxed(body)
        }
    }
}

/// One output of the chain.
enum Out {
    /// Data leaving the chain; `true` when it ends the body.
    Data(Bytes, bool),
    /// The last data and the trailers that end the body.
    Trailers(Bytes, HeaderMap),
    /// The source failed.
    Failed(BoxError),
    /// A filter stopped the stream.
    Stopped(Stop),
    /// The source ended earlier; nothing more comes.
    Done,
}

struct Pump {
    chain: Arc<Chain>,
    dir: Dir,
    src: ProxyBody,
    counter: Arc<AtomicU64>,
    ended: bool,
}

impl Pump {
    fn new(chain: Arc<Chain>, dir: Dir, src: ProxyBody, counter: Arc<AtomicU64>) -> Self {
        Self {
            chain,
            dir,
            src,
            counter,
            ended: false,
        }
    }

    /// The chain's next output, reading the source until a filter lets data go.
    async fn next(&mut self) -> Out {
        loop {
            if self.ended {
                return Out::Done;
            }
            let step = match self.src.frame().await {
                None => {
                    self.ended = true;
                    self.chain.body(self.dir, Bytes::new(), true).await
                }
                Some(Err(e)) => return Out::Failed(e),
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        self.counter.fetch_add(data.len() as u64, Ordering::Relaxed);
                        self.ended = http_body::Body::is_end_stream(&self.src);
                        self.chain.body(self.dir, data, self.ended).await
                    }
                    Err(frame) => match frame.into_trailers() {
                        Ok(mut t) => {
                            self.ended = true;
                            return match self.chain.trailers(self.dir, &mut t).await {
                                Ok(d) => Out::Trailers(d, t),
                                Err(s) => Out::Stopped(s),
                            };
                        }
                        Err(_) => continue,
                    },
                },
            };
            match step {
                Ok(BodyOut::Buffered) => continue,
                Ok(BodyOut::Data(d, eos)) => return Out::Data(d, eos),
                Err(s) => return Out::Stopped(s),
            }
        }
    }

    /// Streams the rest into `tx`; a filter's stop goes to `late`.
    async fn finish(mut self, mut tx: Sender<Bytes, BoxError>, late: oneshot::Sender<Stop>) {
        loop {
            match self.next().await {
                Out::Data(d, eos) => {
                    if !d.is_empty() && tx.send(Frame::data(d)).await.is_err() || eos {
                        return;
                    }
                }
                Out::Trailers(d, t) => {
                    if !d.is_empty() && tx.send(Frame::data(d)).await.is_err() {
                        return;
                    }
                    let _ = tx.send(Frame::trailers(t)).await;
                    return;
                }
                Out::Failed(e) => return tx.abort(e),
                Out::Stopped(s) => {
                    // The cause travels down the body: on the response side nobody awaits
                    // `late` any more, and the access log must still name it.
                    let cut = Cut::from_stop(&s);
                    let _ = late.send(s);
                    return tx.abort(Box::new(cut));
                }
                Out::Done => return,
            }
        }
    }
}
