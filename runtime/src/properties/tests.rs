use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use microwaf_abi::{pairs, Status};

use super::*;

/// An embedder serving a few attributes of one stream.
struct Stream;

impl PropertySource for Stream {
    fn attribute(&self, name: &str) -> Option<Value> {
        Some(match name {
            "request.path" => Value::Str("/login?x=1".into()),
            "request.headers" => Value::Map(vec![
                ("x-user".into(), Value::Str("alice".into())),
                ("Accept".into(), Value::Str("a".into())),
                ("accept".into(), Value::Str("b".into())),
            ]),
            "source.address" => Value::Str("10.0.0.1:5555".into()),
            "source.port" => Value::Int(5555),
            "connection.mtls" => Value::Bool(true),
            "request.duration" => Value::Duration(Duration::from_micros(1500)),
            "request.time" => Value::Timestamp(UNIX_EPOCH + Duration::from_secs(2)),
            "xds.route_name" => Value::Str("r1".into()),
            "xds.route_metadata" => Value::Map(vec![(
                "filter_metadata".into(),
                Value::Map(vec![("waf".into(), Value::Str("strict".into()))]),
            )]),
            "xds.listener_direction" => Value::Int(1),
            "connection.dns_san_peer_certificate" => Value::List(vec![
                Value::Str("a.example".into()),
                Value::Str("b.example".into()),
            ]),
            _ => return None,
        })
    }
}

fn plugin() -> PluginProperties {
    PluginProperties {
        name: "waf".into(),
        root_id: "waf_root".into(),
        vm_id: "vm1".into(),
    }
}

fn get(path: &str, state: Option<&FilterState>) -> Result<Bytes, Status> {
    let plugin = plugin();
    get_property(
        path.replace('.', "\0").as_bytes(),
        &[&Stream, &plugin],
        state,
    )
}

#[test]
fn values_are_encoded_as_envoy_does() {
    assert_eq!(get("request.path", None).unwrap(), "/login?x=1");
    assert_eq!(get("source.address", None).unwrap(), "10.0.0.1:5555");
    assert_eq!(
        get("source.port", None).unwrap(),
        &5555i64.to_le_bytes()[..]
    );
    assert_eq!(get("connection.mtls", None).unwrap(), &[1u8][..]);
    assert_eq!(
        get("request.duration", None).unwrap(),
        &1_500_000i64.to_le_bytes()[..]
    );
    assert_eq!(
        get("request.time", None).unwrap(),
        &2_000_000_000i64.to_le_bytes()[..]
    );
}

#[test]
fn maps_and_lists_use_the_pairs_encoding() {
    let map = get("xds.route_metadata.filter_metadata", None).unwrap();
    assert_eq!(
        pairs::decode(&map).unwrap(),
        [(&b"waf"[..], &b"strict"[..])]
    );
    let list = get("connection.dns_san_peer_certificate", None).unwrap();
    let decoded = pairs::decode(&list).unwrap();
    assert_eq!(decoded[1], (&b"b.example"[..], &b""[..]));
    // Walking into lists by index, and into nested maps by key.
    assert_eq!(
        get("connection.dns_san_peer_certificate.0", None).unwrap(),
        "a.example"
    );
    assert_eq!(
        get("xds.route_metadata.filter_metadata.waf", None).unwrap(),
        "strict"
    );
    assert_eq!(get("xds.route_metadata.nope", None), Err(Status::NotFound));
    assert_eq!(get("request.path.deeper", None), Err(Status::NotFound));
}

#[test]
fn headers_by_name_case_insensitive_and_joined() {
    assert_eq!(get("request.headers.x-user", None).unwrap(), "alice");
    assert_eq!(get("request.headers.X-User", None).unwrap(), "alice");
    assert_eq!(get("request.headers.accept", None).unwrap(), "a,b");
    assert_eq!(get("request.headers.missing", None), Err(Status::NotFound));
    let all = get("request.headers", None).unwrap();
    assert_eq!(pairs::decode(&all).unwrap().len(), 3);
}

#[test]
fn legacy_names_serve_their_xds_equivalent() {
    assert_eq!(get("route_name", None).unwrap(), "r1");
    assert_eq!(get("xds.route_name", None).unwrap(), "r1");
    assert_eq!(
        get("listener_direction", None).unwrap(),
        &1i64.to_le_bytes()[..]
    );
    assert_eq!(
        get("route_metadata.filter_metadata.waf", None).unwrap(),
        "strict"
    );
    for name in LEGACY_NAMES {
        let xds = format!("xds.{name}");
        assert!(
            ATTRIBUTES.iter().any(|(a, _)| *a == xds),
            "{xds} documented"
        );
    }
}

#[test]
fn plugin_properties_and_unknown_names() {
    assert_eq!(get("plugin_root_id", None).unwrap(), "waf_root");
    assert_eq!(get("plugin_vm_id", None).unwrap(), "vm1");
    assert_eq!(get("plugin_name", None).unwrap(), "waf");
    assert_eq!(get("cluster_name", None), Err(Status::NotFound));
    assert_eq!(get("request", None), Err(Status::NotFound));
    assert_eq!(get("no_such_thing", None), Err(Status::NotFound));
    assert_eq!(get_property(b"", &[&Stream], None), Err(Status::NotFound));
}

#[test]
fn trailing_nul_from_sdks_is_ignored() {
    let got = get_property(b"request\0path\0", &[&Stream], None).unwrap();
    assert_eq!(got, "/login?x=1");
}

#[test]
fn set_property_is_readable_back_and_respects_read_only_declarations() {
    let mut state = FilterState::default();
    let mut declared = DeclaredProperties::default();
    assert_eq!(
        set_property(b"x", b"1", None, &declared),
        Err(Status::NotFound),
        "no filter state in the root context"
    );
    set_property(b"fixture_set", b"v1", Some(&mut state), &declared).unwrap();
    set_property(b"fixture_set\0", b"v2", Some(&mut state), &declared).unwrap();
    assert_eq!(get("fixture_set", Some(&state)).unwrap(), "v2");

    let ro = PropertyPrototype {
        readonly: true,
        kind: WasmType::String,
        ..PropertyPrototype::default()
    };
    declared.declare(b"frozen", ro.clone()).unwrap();
    assert_eq!(declared.declare(b"frozen", ro), Err(Status::BadArgument));
    set_property(b"frozen", b"once", Some(&mut state), &declared).unwrap();
    assert_eq!(
        set_property(b"frozen", b"twice", Some(&mut state), &declared),
        Err(Status::BadArgument)
    );
    assert_eq!(get("frozen", Some(&state)).unwrap(), "once");
    // Known attribute names are never shadowed by filter state.
    set_property(b"plugin_name", b"evil", Some(&mut state), &declared).unwrap();
    assert_eq!(get("plugin_name", Some(&state)).unwrap(), "waf");
}

#[test]
fn filter_state_keys_are_readable_by_exact_key() {
    let mut state = FilterState::default();
    let proto = PropertyPrototype::default();
    state
        .set(b"envoy.tcp_proxy.cluster", b"backend", proto)
        .unwrap();
    assert_eq!(
        get_property(b"filter_state\0envoy.tcp_proxy.cluster", &[], Some(&state)).unwrap(),
        "backend"
    );
    assert_eq!(
        get("filter_state.missing", Some(&state)),
        Err(Status::NotFound)
    );
}

#[test]
fn encoding_saturates_instead_of_wrapping() {
    let before_epoch = UNIX_EPOCH - Duration::from_secs(1);
    let enc = encode(&Value::Timestamp(before_epoch)).unwrap();
    assert_eq!(enc, &(-1_000_000_000i64).to_le_bytes()[..]);
    let enc = encode(&Value::Duration(Duration::MAX)).unwrap();
    assert_eq!(enc, &i64::MAX.to_le_bytes()[..]);
    assert_eq!(encode(&Value::Uint(u64::MAX)).unwrap(), &[0xff; 8][..]);
    assert_eq!(
        encode(&Value::Double(1.5)).unwrap(),
        &1.5f64.to_le_bytes()[..]
    );
}
