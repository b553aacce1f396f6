use std::io::Write;

use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
use flate2::{Compression, GzBuilder};

use super::{decode_all, ContentDecoder, Encoding};
use crate::formats::testutil::Rng;
use crate::formats::{FormatError, Limits};

fn sample() -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..3000 {
        writeln!(
            v,
            "{{\"id\":{i},\"ssn\":\"078-05-1120\",\"note\":\"row {i}\"}}"
        )
        .unwrap();
    }
    v
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 20);
        w.write_all(data).unwrap();
    }
    out
}

/// Decodes `input` fed in `chunks`; returns output or the first error.
fn decode_chunks(enc: Encoding, chunks: &[&[u8]], limits: &Limits) -> Result<Vec<u8>, FormatError> {
    let mut d = ContentDecoder::new(enc, limits);
    let mut out = Vec::new();
    for c in chunks {
        d.push(c, &mut |p| {
            out.extend_from_slice(p);
            Ok(())
        })?;
    }
    d.finish()?;
    Ok(out)
}

fn assert_roundtrip_all_splits(enc: Encoding, compressed: &[u8], expect: &[u8]) {
    let limits = Limits::default();
    assert_eq!(decode_chunks(enc, &[compressed], &limits).unwrap(), expect);
    for at in (0..=compressed.len()).step_by(compressed.len() / 97 + 1) {
        let got = decode_chunks(enc, &[&compressed[..at], &compressed[at..]], &limits);
        assert_eq!(got.unwrap(), expect, "split at {at}");
    }
    let bytes: Vec<&[u8]> = compressed.chunks(1).collect();
    assert_eq!(decode_chunks(enc, &bytes, &limits).unwrap(), expect);
    let mut rng = Rng(3);
    let mut chunks = Vec::new();
    let mut rest = compressed;
    while !rest.is_empty() {
        let n = 1 + rng.below(rest.len().min(300));
        chunks.push(&rest[..n]);
        rest = &rest[n..];
    }
    assert_eq!(decode_chunks(enc, &chunks, &limits).unwrap(), expect);
}

#[test]
fn gzip_in_every_split() {
    let data = sample();
    assert_roundtrip_all_splits(Encoding::Gzip, &gzip(&data), &data);
}

#[test]
fn gzip_header_fields_and_concatenated_members() {
    let mut e = GzBuilder::new()
        .filename("body.json")
        .comment("c")
        .extra(vec![1, 2, 3])
        .write(Vec::new(), Compression::fast());
    e.write_all(b"first ").unwrap();
    let mut body = e.finish().unwrap();
    body.extend(gzip(b"second"));
    assert_roundtrip_all_splits(Encoding::Gzip, &body, b"first second");
}

#[test]
fn deflate_accepts_zlib_and_raw() {
    let data = sample();
    let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
    z.write_all(&data).unwrap();
    assert_roundtrip_all_splits(Encoding::Deflate, &z.finish().unwrap(), &data);
    let mut r = DeflateEncoder::new(Vec::new(), Compression::default());
    r.write_all(&data).unwrap();
    assert_roundtrip_all_splits(Encoding::Deflate, &r.finish().unwrap(), &data);
}

#[test]
fn brotli_in_every_split() {
    let data = sample();
    assert_roundtrip_all_splits(Encoding::Brotli, &brotli(&data), &data);
}

#[test]
fn bombs_stop_at_the_decoded_limit() {
    let zeros = vec![0u8; 8 << 20];
    let limits = Limits {
        max_decoded_bytes: 256 * 1024,
        ..Limits::default()
    };
    for (enc, body) in [
        (Encoding::Gzip, gzip(&zeros)),
        (Encoding::Brotli, brotli(&zeros)),
    ] {
        let mut d = ContentDecoder::new(enc, &limits);
        let mut seen = 0u64;
        let r = d.push(&body, &mut |p| {
            seen += p.len() as u64;
            Ok(())
        });
        assert_eq!(
            r,
            Err(FormatError::DecodedTooLarge { limit: 256 * 1024 }),
            "{enc:?}"
        );
        assert!(seen <= 256 * 1024, "{enc:?} passed on {seen} bytes");
    }
}

#[test]
fn corrupt_and_truncated_streams_are_errors() {
    let limits = Limits::default();
    for enc in [Encoding::Gzip, Encoding::Deflate, Encoding::Brotli] {
        let r = decode_chunks(
            enc,
            &[b"\x1f\x8b\x08\x00garbage that is not compressed at all"],
            &limits,
        );
        assert!(
            matches!(r, Err(FormatError::Corrupt { .. })),
            "{enc:?}: {r:?}"
        );
    }
    let full = gzip(&sample());
    let r = decode_chunks(Encoding::Gzip, &[&full[..full.len() / 2]], &limits);
    assert_eq!(r, Err(FormatError::Truncated("gzip")));
    let full = brotli(&sample());
    let r = decode_chunks(Encoding::Brotli, &[&full[..full.len() / 2]], &limits);
    assert_eq!(r, Err(FormatError::Truncated("br")));
}

#[test]
fn parses_header_tokens() {
    assert_eq!(Encoding::parse(" GZIP "), Ok(Encoding::Gzip));
    assert_eq!(Encoding::parse("identity"), Ok(Encoding::Identity));
    assert_eq!(Encoding::parse("br"), Ok(Encoding::Brotli));
    assert!(matches!(
        Encoding::parse("zstd"),
        Err(FormatError::UnsupportedEncoding(_))
    ));
}

#[test]
fn decode_all_is_bounded() {
    let mut out = Vec::new();
    let limits = Limits {
        max_decoded_bytes: 10,
        ..Limits::default()
    };
    assert!(decode_all(Encoding::Gzip, &gzip(b"0123456789abc"), &limits, &mut out).is_err());
}
