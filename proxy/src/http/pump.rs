//! Moves a body from its source through the filter chain into a channel body, counting bytes.
//!
//! The first thing the pump does (emit data, emit the end, or fail) is reported on `first`, so
//! the caller can hold the headers until then: a filter that buffers the whole body can still
//! turn it into a 413/500 or a local reply, and a fully buffered body gets an exact
//! `content-length`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body::Frame;
use http_body_util::channel::{Channel, Sender};
use http_body_util::BodyExt;
use tokio::sync::oneshot;

use super::body::{BoxError, ProxyBody};
use super::chain::{BodyOut, Chain, Dir, Stop};

/// What the pump did first.
pub enum First {
    /// Data left the chain; `Some(len)` when that was the whole body.
    Started {
        complete: Option<u64>,
    },
    Stopped(Stop),
}

/// The receiving half: a body, plus a report of failures after the first output.
pub struct Pumped {
    pub body: Channel<Bytes, BoxError>,
    pub first: oneshot::Receiver<First>,
    pub late: oneshot::Receiver<Stop>,
}

/// Spawns the pump task.
pub fn spawn(chain: Arc<Chain>, dir: Dir, src: ProxyBody, counter: Arc<AtomicU64>) -> Pumped {
    let (tx, body) = Channel::new(4);
    let (first_tx, first) = oneshot::channel();
    let (late_tx, late) = oneshot::channel();
    tokio::spawn(run(chain, dir, src, counter, tx, first_tx, late_tx));
    Pumped { body, first, late }
}

async fn run(
    chain: Arc<Chain>,
    dir: Dir,
    mut src: ProxyBody,
    counter: Arc<AtomicU64>,
    mut tx: Sender<Bytes, BoxError>,
    first_tx: oneshot::Sender<First>,
    late_tx: oneshot::Sender<Stop>,
) {
    let mut first_tx = Some(first_tx);
    let mut ended = false;
    let mut total = 0u64;
    loop {
        let frame = if ended { None } else { src.frame().await };
        let step = match frame {
            None if ended => return,
            None => {
                ended = true;
                chain.body(dir, Bytes::new(), true).await.map(Out::Body)
            }
            Some(Err(e)) => {
                tx.abort(e);
                if let Some(f) = first_tx.take() {
                    let _ = f.send(First::Stopped(Stop::Reset));
                }
                return;
            }
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    counter.fetch_add(data.len() as u64, Ordering::Relaxed);
                    ended = http_body::Body::is_end_stream(&src);
                    chain.body(dir, data, ended).await.map(Out::Body)
                }
                Err(frame) => match frame.into_trailers() {
                    Ok(mut t) => {
                        ended = true;
                        match chain.trailers(dir, &mut t).await {
                            Ok(d) => Ok(Out::Trailers(d, t)),
                            Err(s) => Err(s),
                        }
                    }
                    Err(_) => continue,
                },
            },
        };
        match step {
            Err(stop) => {
                let abort: BoxError = format!("filter stopped the {dir:?} stream").into();
                match first_tx.take() {
                    Some(f) => {
                        let _ = f.send(First::Stopped(stop));
                    }
                    None => {
                        let _ = late_tx.send(stop);
                    }
                }
                tx.abort(abort);
                return;
            }
            Ok(Out::Body(BodyOut::Buffered)) => {}
            Ok(Out::Body(BodyOut::Data(d, eos))) => {
                total += d.len() as u64;
                if let Some(f) = first_tx.take() {
                    let complete = eos.then_some(total);
                    let _ = f.send(First::Started { complete });
                }
                if !d.is_empty() && tx.send(Frame::data(d)).await.is_err() {
                    return;
                }
                if eos {
                    return;
                }
            }
            Ok(Out::Trailers(d, t)) => {
                if let Some(f) = first_tx.take() {
                    let _ = f.send(First::Started { complete: None });
                }
                if !d.is_empty() && tx.send(Frame::data(d)).await.is_err() {
                    return;
                }
                let _ = tx.send(Frame::trailers(t)).await;
                return;
            }
        }
    }
}

enum Out {
    Body(BodyOut),
    Trailers(Bytes, http::HeaderMap),
}
