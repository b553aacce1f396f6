//! The field numbers against the published `.proto` files: messages are assembled by hand,
//! field by field, with the protobuf wire rules (not with prost), then decoded.

use prost::Message;

use super::*;

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A varint field.
fn vi(tag: u32, v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    varint(u64::from(tag) << 3, &mut out);
    varint(v, &mut out);
    out
}

/// A length-delimited field (string, bytes, message, map entry).
fn ld(tag: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    varint((u64::from(tag) << 3) | 2, &mut out);
    varint(payload.len() as u64, &mut out);
    out.extend_from_slice(payload);
    out
}

fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

#[test]
fn workload_fields() {
    let port = cat(&[vi(1, 80), vi(2, 9080)]);
    let port_list = ld(1, &port);
    let entry = cat(&[ld(1, b"shop/reviews"), ld(2, &port_list)]);
    let workload = cat(&[
        ld(20, b"uid-1"),
        ld(1, b"pod"),
        ld(2, b"shop"),
        ld(3, &[10, 0, 0, 7]),
        ld(3, &[0xfd; 16]),
        ld(4, b"net"),
        vi(5, 1),
        ld(6, b"cluster.local"),
        ld(7, b"reviews-sa"),
        vi(17, 1),
        ld(22, &entry),
        // Fields the waypoint does not read (canonical_name, node) are skipped.
        ld(10, b"reviews"),
        ld(9, b"node-1"),
    ]);
    let address = Address::decode(ld(1, &workload).as_slice()).unwrap();
    let Some(address::Type::Workload(w)) = address.r#type else {
        panic!("a workload")
    };
    assert_eq!((w.uid.as_str(), w.name.as_str()), ("uid-1", "pod"));
    assert_eq!(w.namespace, "shop");
    assert_eq!(w.addresses, vec![vec![10, 0, 0, 7], vec![0xfd; 16]]);
    assert_eq!(w.network, "net");
    assert_eq!(w.tunnel_protocol, TunnelProtocol::Hbone as i32);
    assert_eq!(w.trust_domain, "cluster.local");
    assert_eq!(w.service_account, "reviews-sa");
    assert_eq!(w.status, WorkloadStatus::Unhealthy as i32);
    let ports = &w.services["shop/reviews"].ports;
    assert_eq!((ports[0].service_port, ports[0].target_port), (80, 9080));
}

#[test]
fn service_fields() {
    let net_addr = cat(&[ld(1, b"net"), ld(2, &[10, 96, 0, 10])]);
    let service = cat(&[
        ld(1, b"reviews"),
        ld(2, b"shop"),
        ld(3, b"reviews.shop.svc.cluster.local"),
        ld(4, &net_addr),
        ld(5, &cat(&[vi(1, 80), vi(2, 9080)])),
    ]);
    let address = Address::decode(ld(2, &service).as_slice()).unwrap();
    let Some(address::Type::Service(s)) = address.r#type else {
        panic!("a service")
    };
    assert_eq!((s.name.as_str(), s.namespace.as_str()), ("reviews", "shop"));
    assert_eq!(s.hostname, "reviews.shop.svc.cluster.local");
    assert_eq!(s.addresses[0].network, "net");
    assert_eq!(s.addresses[0].address, [10, 96, 0, 10]);
    assert_eq!(
        (s.ports[0].service_port, s.ports[0].target_port),
        (80, 9080)
    );
}

#[test]
fn delta_response_fields() {
    let any = cat(&[ld(1, ADDRESS_TYPE_URL.as_bytes()), ld(2, b"\x0a\x00")]);
    let resource = cat(&[ld(1, b"v7"), ld(2, &any), ld(3, b"uid-1"), ld(4, b"alias")]);
    let response = cat(&[
        ld(1, b"sys"),
        ld(2, &resource),
        ld(4, ADDRESS_TYPE_URL.as_bytes()),
        ld(5, b"nonce-1"),
        ld(6, b"gone"),
    ]);
    let r = DeltaDiscoveryResponse::decode(response.as_slice()).unwrap();
    assert_eq!(r.system_version_info, "sys");
    assert_eq!(r.type_url, ADDRESS_TYPE_URL);
    assert_eq!(r.nonce, "nonce-1");
    assert_eq!(r.removed_resources, ["gone"]);
    let res = &r.resources[0];
    assert_eq!((res.version.as_str(), res.name.as_str()), ("v7", "uid-1"));
    assert_eq!(res.aliases, ["alias"]);
    let any = res.resource.as_ref().unwrap();
    assert_eq!(any.type_url, ADDRESS_TYPE_URL);
    assert_eq!(any.value, b"\x0a\x00");
}

#[test]
fn delta_request_fields() {
    let node = cat(&[ld(1, b"node-id"), ld(2, b"cluster"), ld(6, b"microwaf")]);
    let status = cat(&[vi(1, 3), ld(2, b"bad resource")]);
    let request = cat(&[
        ld(1, &node),
        ld(2, ADDRESS_TYPE_URL.as_bytes()),
        ld(3, b"sub"),
        ld(4, b"unsub"),
        ld(5, &cat(&[ld(1, b"uid-1"), ld(2, b"v7")])),
        ld(6, b"nonce-1"),
        ld(7, &status),
    ]);
    let decoded = DeltaDiscoveryRequest::decode(request.as_slice()).unwrap();
    let n = decoded.node.as_ref().unwrap();
    assert_eq!(
        (
            n.id.as_str(),
            n.cluster.as_str(),
            n.user_agent_name.as_str()
        ),
        ("node-id", "cluster", "microwaf")
    );
    assert_eq!(decoded.type_url, ADDRESS_TYPE_URL);
    assert_eq!(decoded.resource_names_subscribe, ["sub"]);
    assert_eq!(decoded.resource_names_unsubscribe, ["unsub"]);
    assert_eq!(decoded.initial_resource_versions["uid-1"], "v7");
    assert_eq!(decoded.response_nonce, "nonce-1");
    let e = decoded.error_detail.as_ref().unwrap();
    assert_eq!((e.code, e.message.as_str()), (3, "bad resource"));
    // And what we send decodes back to the same (encoding uses the same tags).
    let again = DeltaDiscoveryRequest::decode(decoded.encode_to_vec().as_slice()).unwrap();
    assert_eq!(again, decoded);
}
