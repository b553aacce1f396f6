//! Envoy's `compress` / `uncompress` foreign functions: zlib format (RFC 1950), as zlib's
//! `compress()` / `uncompress()` produce and accept.

use std::io::Write;

use bytes::Bytes;
use flate2::{write::ZlibEncoder, Compression, Decompress, FlushDecompress};
use microwaf_abi::{HostResult, Status};

/// `compress`: the whole input as one zlib stream at the default level.
pub fn compress(input: &[u8]) -> HostResult<Bytes> {
    let mut enc = ZlibEncoder::new(
        Vec::with_capacity(input.len() / 2 + 64),
        Compression::default(),
    );
    enc.write_all(input)
        .map_err(|_| Status::SerializationFailure)?;
    let out = enc.finish().map_err(|_| Status::SerializationFailure)?;
    Ok(out.into())
}

/// `uncompress`: one complete zlib stream. Corrupt or truncated input → `SerializationFailure`
/// (as Envoy). Output beyond `limit` bytes is also `SerializationFailure`: Envoy grows its
/// buffer without bound, which lets a few KiB of input exhaust host memory.
pub fn uncompress(input: &[u8], limit: usize) -> HostResult<Bytes> {
    let fail = Status::SerializationFailure;
    let mut d = Decompress::new(true);
    // Envoy's first estimate, then doubling.
    // Room for one byte past the limit, so output of exactly `limit` bytes can still reach the
    // end of the stream and anything longer is detected.
    let room = limit.saturating_add(1);
    let mut out = Vec::with_capacity(input.len().saturating_mul(2).saturating_add(2).min(room));
    loop {
        if out.len() > limit {
            return Err(fail);
        }
        if out.len() == out.capacity() {
            let grow = out.capacity().max(64).min(room - out.len());
            out.reserve_exact(grow);
        }
        let (before_in, before_out) = (d.total_in(), d.total_out());
        let consumed = usize::try_from(before_in).map_err(|_| fail)?;
        let rest = input.get(consumed..).ok_or(fail)?;
        let status = d
            .decompress_vec(rest, &mut out, FlushDecompress::None)
            .map_err(|_| fail)?;
        if status == flate2::Status::StreamEnd {
            return if out.len() > limit {
                Err(fail)
            } else {
                Ok(out.into())
            };
        }
        // Room left but nothing moved: the stream is truncated.
        // (`Finish` would need the whole output in one call; streaming needs `None`.)
        let stalled = d.total_in() == before_in && d.total_out() == before_out;
        if stalled && out.len() < out.capacity() {
            return Err(fail);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_actually_compresses() {
        let input = b"hello hello hello hello hello hello hello hello".repeat(20);
        let c = compress(&input).unwrap();
        assert!(c.len() < input.len() / 4);
        assert_eq!(c[0], 0x78, "zlib header");
        assert_eq!(uncompress(&c, 1 << 20).unwrap(), input);
        assert_eq!(
            uncompress(&compress(b"").unwrap(), 16).unwrap(),
            Bytes::new()
        );
    }

    #[test]
    fn garbage_and_truncation_are_serialization_failures() {
        let err = Err(Status::SerializationFailure);
        assert_eq!(uncompress(b"definitely not zlib", 1 << 20), err);
        assert_eq!(uncompress(b"", 1 << 20), err);
        let c = compress(&[7u8; 10_000]).unwrap();
        for cut in [1, c.len() / 2, c.len() - 1] {
            assert_eq!(uncompress(&c[..cut], 1 << 20), err, "cut at {cut}");
        }
    }

    #[test]
    fn output_is_bounded() {
        let bomb = compress(&vec![0u8; 4 << 20]).unwrap();
        assert!(bomb.len() < 8 << 10);
        assert_eq!(
            uncompress(&bomb, 1 << 20),
            Err(Status::SerializationFailure)
        );
        assert_eq!(uncompress(&bomb, 4 << 20).unwrap().len(), 4 << 20);
    }
}
