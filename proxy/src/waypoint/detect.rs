//! Protocol detection on a tunneled stream: HTTP (HTTP/2 prior knowledge or an HTTP/1.x
//! request line) goes to the HTTP stack and its filters, anything else to the TCP proxy.
//!
//! Like Envoy's HTTP inspector, detection reads the first bytes and hands them back in front
//! of the stream ([`Prefixed`]), so the chosen stack sees the connection from its first byte.
//! A client that sends nothing (a server-first protocol) is TCP after the detection timeout
//! (`waypoint.protocol_detection_timeout`, default [`DETECT_TIMEOUT`]); a port whose protocol
//! discovery declares skips detection ([`AppProtocol`](super::discovery::AppProtocol)).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

/// How long to wait for the client's first bytes before treating the stream as opaque TCP,
/// unless configured otherwise.
pub const DETECT_TIMEOUT: Duration = Duration::from_secs(1);

/// The longest request line we wait for before calling the stream TCP.
const MAX_LINE: usize = 8 * 1024;

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// What the first bytes say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Http1,
    Http2,
    Tcp,
}

enum Verdict {
    Is(Protocol),
    NeedMore,
}

fn classify(buf: &[u8]) -> Verdict {
    use Protocol::*;
    let n = buf.len().min(H2_PREFACE.len());
    if buf[..n] == H2_PREFACE[..n] {
        return if buf.len() >= H2_PREFACE.len() {
            Verdict::Is(Http2)
        } else {
            Verdict::NeedMore
        };
    }
    // An HTTP/1.x request line: `TOKEN SP target SP HTTP/1.x CRLF`.
    let method_len = buf.iter().take_while(|b| b.is_ascii_uppercase()).count();
    match buf.get(method_len) {
        None if method_len <= 20 => return Verdict::NeedMore,
        Some(b' ') if (1..=20).contains(&method_len) => {}
        _ => return Verdict::Is(Tcp),
    }
    match buf.iter().position(|b| *b == b'\n') {
        Some(end) => {
            let line = buf[..end].strip_suffix(b"\r").unwrap_or(&buf[..end]);
            if line.ends_with(b" HTTP/1.1") || line.ends_with(b" HTTP/1.0") {
                Verdict::Is(Http1)
            } else {
                Verdict::Is(Tcp)
            }
        }
        None if buf.len() < MAX_LINE => Verdict::NeedMore,
        None => Verdict::Is(Tcp),
    }
}

/// Reads until the protocol is known, for at most `timeout` (then TCP); returns it with the
/// stream, first bytes put back.
pub async fn sniff<I>(mut io: I, timeout: Duration) -> (Protocol, Prefixed<I>)
where
    I: AsyncRead + Unpin,
{
    let mut buf = BytesMut::with_capacity(1024);
    let read = async {
        loop {
            match io.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return Protocol::Tcp,
                Ok(_) => {}
            }
            if let Verdict::Is(p) = classify(&buf) {
                return p;
            }
        }
    };
    let proto = tokio::time::timeout(timeout, read)
        .await
        .unwrap_or(Protocol::Tcp);
    (proto, Prefixed { prefix: buf, io })
}

/// A stream with bytes already read from it put back in front.
pub struct Prefixed<I> {
    prefix: BytesMut,
    io: I,
}

impl<I> Prefixed<I> {
    /// A stream nothing was read from (its protocol was declared, not sniffed).
    pub fn unread(io: I) -> Self {
        Prefixed {
            prefix: BytesMut::new(),
            io,
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Prefixed<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            buf.put_slice(&self.prefix[..n]);
            self.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Prefixed<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(b: &[u8]) -> Option<Protocol> {
        match classify(b) {
            Verdict::Is(p) => Some(p),
            Verdict::NeedMore => None,
        }
    }

    #[test]
    fn classifies_first_bytes() {
        assert_eq!(verdict(H2_PREFACE), Some(Protocol::Http2));
        assert_eq!(verdict(b"PRI * HTTP/2"), None);
        assert_eq!(verdict(b"GET / HTTP/1.1\r\n"), Some(Protocol::Http1));
        assert_eq!(verdict(b"POST /x?y HTTP/1.0\n"), Some(Protocol::Http1));
        assert_eq!(verdict(b"GET /partial"), None);
        assert_eq!(verdict(b"GE"), None);
        assert_eq!(verdict(b"\x16\x03\x01"), Some(Protocol::Tcp));
        assert_eq!(verdict(b"hello world\n"), Some(Protocol::Tcp));
        assert_eq!(verdict(b"HELLO there\n"), Some(Protocol::Tcp));
        assert_eq!(verdict(&[b'A'; 30]), Some(Protocol::Tcp));
    }

    #[tokio::test]
    async fn sniffed_bytes_are_replayed() {
        let (mut a, b) = tokio::io::duplex(1024);
        tokio::io::AsyncWriteExt::write_all(&mut a, b"ping\npong")
            .await
            .unwrap();
        drop(a);
        let (p, mut s) = sniff(b, DETECT_TIMEOUT).await;
        assert_eq!(p, Protocol::Tcp);
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        assert_eq!(out, b"ping\npong");
    }
}
