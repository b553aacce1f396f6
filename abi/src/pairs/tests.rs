use super::*;

fn sample() -> Vec<(&'static str, &'static str)> {
    vec![
        (":path", "/a"),
        ("x-empty", ""),
        ("", "v"),
        ("set-cookie", "a=1"),
    ]
}

#[test]
fn round_trips_including_empty_keys_and_values() {
    let enc = encode(&sample()).unwrap();
    assert_eq!(enc.len(), encoded_len(&sample()));
    let dec = decode(&enc).unwrap();
    let expect: Vec<PairRef<'_>> = sample()
        .iter()
        .map(|(k, v)| (k.as_bytes(), v.as_bytes()))
        .collect();
    assert_eq!(dec, expect);
}

#[test]
fn matches_the_documented_wire_layout() {
    let enc = encode(&[("ab", "c")]).unwrap();
    assert_eq!(
        enc,
        [1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, b'a', b'b', 0, b'c', 0]
    );
    assert_eq!(encode::<&str, &str>(&[]).unwrap(), [0, 0, 0, 0]);
}

#[test]
fn empty_input_is_an_empty_map_like_envoy() {
    assert_eq!(decode(&[]).unwrap(), vec![]);
    assert_eq!(decode(&[0, 0, 0, 0]).unwrap(), vec![]);
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    let enc = encode(&sample()).unwrap();
    for cut in 1..enc.len() {
        let err = decode(&enc[..cut]).unwrap_err();
        assert_eq!(err.status(), Status::BadArgument, "cut at {cut}: {err}");
    }
}

#[test]
fn hostile_count_is_rejected_before_allocating() {
    let mut buf = u32::MAX.to_le_bytes().to_vec();
    buf.extend_from_slice(&[0; 8]);
    assert_eq!(decode(&buf), Err(PairsError::TooManyPairs(u32::MAX)));

    // Within the count cap but the size table does not fit.
    let buf = 1000u32.to_le_bytes();
    assert!(matches!(
        decode(&buf),
        Err(PairsError::Truncated {
            what: "size table",
            ..
        })
    ));
}

#[test]
fn hostile_lengths_cannot_overread() {
    let mut buf = 1u32.to_le_bytes().to_vec();
    buf.extend_from_slice(&u32::MAX.to_le_bytes());
    buf.extend_from_slice(&u32::MAX.to_le_bytes());
    buf.extend_from_slice(b"k\0v\0");
    assert!(matches!(
        decode(&buf),
        Err(PairsError::Truncated { what: "key", .. })
    ));
}

#[test]
fn missing_terminator_and_trailing_bytes_are_errors() {
    let mut enc = encode(&[("k", "v")]).unwrap();
    let nul = enc.len() - 3; // the byte after the key
    enc[nul] = b'!';
    assert_eq!(
        decode(&enc),
        Err(PairsError::MissingNul {
            index: 0,
            what: "key"
        })
    );

    let mut enc = encode(&[("k", "v")]).unwrap();
    enc.push(7);
    assert_eq!(decode(&enc), Err(PairsError::TrailingBytes(1)));
}

#[test]
fn caps_on_size_and_count() {
    let big = vec![0u8; MAX_PAIRS_BYTES + 1];
    assert_eq!(decode(&big), Err(PairsError::TooLarge(MAX_PAIRS_BYTES + 1)));

    let many: Vec<(String, String)> = (0..=MAX_PAIRS_COUNT)
        .map(|i| (i.to_string(), String::new()))
        .collect();
    let enc = encode(&many).unwrap();
    assert_eq!(
        decode(&enc),
        Err(PairsError::TooManyPairs(MAX_PAIRS_COUNT as u32 + 1))
    );
    assert_eq!(decode(&encode(&many[1..]).unwrap()).unwrap().len(), 1024);
}
