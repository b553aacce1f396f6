use bytes::Bytes;
use microwaf_abi::Status;

use super::*;
use crate::properties::{get_property, set_property};

/// Envoy's `DeclarePropertyArguments` for a string property with the given read-only flag and
/// `DownstreamRequest` span (the bytes the conformance fixture sends).
fn declare_args(name: &str, readonly: bool) -> Vec<u8> {
    let mut out = vec![0x0a, name.len() as u8];
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(&[0x10, u8::from(readonly), 0x18, 0x01, 0x28, 0x01]);
    out
}

fn call(
    f: &ForeignFunctions,
    name: &str,
    args: &[u8],
    declared: &mut DeclaredProperties,
    state: Option<&mut FilterState>,
) -> HostResult<Bytes> {
    let cx = ForeignCall {
        declared,
        filter_state: state,
    };
    f.call(name.as_bytes(), args, cx)
}

#[test]
fn compress_uncompress_and_unknown_names() {
    let f = ForeignFunctions::default();
    let mut d = DeclaredProperties::default();
    let payload = b"hello hello hello hello hello hello hello hello";
    let c = call(&f, "compress", payload, &mut d, None).unwrap();
    assert!(c.len() < payload.len());
    assert_eq!(
        call(&f, "uncompress", &c, &mut d, None).unwrap(),
        &payload[..]
    );
    assert_eq!(
        call(&f, "uncompress", b"definitely not zlib", &mut d, None),
        Err(Status::SerializationFailure)
    );
    assert_eq!(
        call(&f, "no_such_function", b"", &mut d, None),
        Err(Status::NotFound)
    );
}

#[test]
fn uncompress_respects_the_configured_limit() {
    let f = ForeignFunctions {
        max_uncompressed: 1000,
    };
    let mut d = DeclaredProperties::default();
    let c = compress(&[1u8; 1001]).unwrap();
    assert_eq!(
        call(&f, "uncompress", &c, &mut d, None),
        Err(Status::SerializationFailure)
    );
    let c = compress(&[1u8; 1000]).unwrap();
    assert_eq!(
        call(&f, "uncompress", &c, &mut d, None).unwrap().len(),
        1000
    );
}

#[test]
fn declare_property_then_set_and_read_back() {
    let f = ForeignFunctions::default();
    let mut d = DeclaredProperties::default();
    let mut state = FilterState::default();
    let args = declare_args("fixture_declared", true);
    assert_eq!(
        call(&f, "declare_property", &args, &mut d, None),
        Ok(Bytes::new())
    );
    let proto = d.get(b"fixture_declared").unwrap();
    assert!(proto.readonly);
    assert_eq!(
        (proto.kind, proto.span),
        (WasmType::String, LifeSpan::DownstreamRequest)
    );
    // Declaring twice, or garbage, is BadArgument.
    assert_eq!(
        call(&f, "declare_property", &args, &mut d, None),
        Err(Status::BadArgument)
    );
    let garbage = call(&f, "declare_property", b"\xff\xff\xff", &mut d, None);
    assert_eq!(garbage, Err(Status::BadArgument));

    set_property(b"fixture_declared", b"declared-value", Some(&mut state), &d).unwrap();
    let again = set_property(b"fixture_declared", b"other", Some(&mut state), &d);
    assert_eq!(again, Err(Status::BadArgument), "read-only");
    let back = get_property(b"fixture_declared", &[], Some(&state)).unwrap();
    assert_eq!(back, "declared-value");
}

#[test]
fn set_envoy_filter_state_is_readable_as_filter_state() {
    let f = ForeignFunctions::default();
    let mut d = DeclaredProperties::default();
    let mut state = FilterState::default();
    // path = "envoy.tcp_proxy.cluster", value = "backend.local", span = 1
    let path = b"envoy.tcp_proxy.cluster";
    let mut args = vec![0x0a, path.len() as u8];
    args.extend_from_slice(path);
    args.extend_from_slice(&[0x12, 13]);
    args.extend_from_slice(b"backend.local");
    args.extend_from_slice(&[0x18, 0x01]);
    let ok = call(
        &f,
        "set_envoy_filter_state",
        &args,
        &mut d,
        Some(&mut state),
    );
    assert_eq!(ok, Ok(Bytes::new()));
    let key = [&b"filter_state\0"[..], path].concat();
    assert_eq!(
        get_property(&key, &[], Some(&state)).unwrap(),
        "backend.local"
    );
    // No stream (root context): NotFound; malformed or path-less arguments: BadArgument.
    let root = call(&f, "set_envoy_filter_state", &args, &mut d, None);
    assert_eq!(root, Err(Status::NotFound));
    let no_path = call(
        &f,
        "set_envoy_filter_state",
        &[0x12, 1, b'x'],
        &mut d,
        Some(&mut state),
    );
    assert_eq!(no_path, Err(Status::BadArgument));
    let bad = call(
        &f,
        "set_envoy_filter_state",
        b"\x0a\x09",
        &mut d,
        Some(&mut state),
    );
    assert_eq!(bad, Err(Status::BadArgument));
}

#[test]
fn set_envoy_filter_state_rejects_a_key_without_an_envoy_factory() {
    let f = ForeignFunctions::default();
    let mut d = DeclaredProperties::default();
    let mut state = FilterState::default();
    // An unknown key, and one Envoy acts on but microwaf would not: refused, not stored.
    for path in [
        &b"fixture.unknown_key"[..],
        b"envoy.network.upstream_server_name",
    ] {
        let mut args = vec![0x0a, path.len() as u8];
        args.extend_from_slice(path);
        args.extend_from_slice(&[0x12, 1, b'v']);
        let r = call(
            &f,
            "set_envoy_filter_state",
            &args,
            &mut d,
            Some(&mut state),
        );
        assert_eq!(r, Err(Status::NotFound));
        let key = [&b"filter_state\0"[..], path].concat();
        assert!(get_property(&key, &[], Some(&state)).is_err(), "not stored");
    }
}
