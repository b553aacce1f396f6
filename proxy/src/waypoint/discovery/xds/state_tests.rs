use super::super::fake::{service, workload};
use super::super::proto::{Any, Resource};
use super::*;

const REVIEWS: &str = "shop/reviews.shop.svc.cluster.local";

fn resource(name: &str, version: &str, address: Address) -> Resource {
    Resource {
        version: version.into(),
        resource: Some(Any {
            type_url: ADDRESS_TYPE_URL.into(),
            value: address.encode_to_vec(),
        }),
        name: name.into(),
        aliases: vec![],
    }
}

fn delta(resources: Vec<Resource>, removed: &[&str]) -> DeltaDiscoveryResponse {
    DeltaDiscoveryResponse {
        resources,
        type_url: ADDRESS_TYPE_URL.into(),
        nonce: "n".into(),
        removed_resources: removed.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn mesh() -> State {
    let mut s = State::default();
    s.apply(&delta(
        vec![
            resource(
                REVIEWS,
                "1",
                service(
                    "shop",
                    "reviews.shop.svc.cluster.local",
                    "10.96.0.10",
                    &[(80, 9080), (81, 0)],
                ),
            ),
            // Overrides port 80's target; port 81 has no target anywhere: not an endpoint.
            resource(
                "pod-b",
                "1",
                workload("pod-b", "10.0.0.8", false, &[(REVIEWS, &[(80, 8080)])]),
            ),
            resource(
                "pod-a",
                "1",
                workload("pod-a", "10.0.0.7", true, &[(REVIEWS, &[])]),
            ),
            resource("pod-c", "1", workload("pod-c", "10.0.0.9", true, &[])),
        ],
        &[],
    ))
    .unwrap();
    s
}

#[test]
fn services_get_the_pods_that_name_them_with_their_ports() {
    let r = mesh().registry();
    let d = r.resolve("10.96.0.10:80").unwrap();
    assert_eq!(d.name, "reviews.shop.svc.cluster.local");
    assert_eq!(
        d.endpoints,
        vec![
            Endpoint {
                addr: "10.0.0.7:9080".parse().unwrap(),
                hbone: true
            },
            Endpoint {
                addr: "10.0.0.8:8080".parse().unwrap(),
                hbone: false
            },
        ]
    );
    assert!(Arc::ptr_eq(
        &d,
        &r.resolve("reviews.shop.svc.cluster.local:80").unwrap()
    ));
    assert!(r.resolve("10.96.0.10:81").unwrap().endpoints.is_empty());
    // Every pod, in a service or not, is addressable directly.
    assert_eq!(r.workloads.len(), 3);
    assert!(r.workloads[&"10.0.0.9".parse::<IpAddr>().unwrap()]);
    assert!(!r.workloads[&"10.0.0.8".parse::<IpAddr>().unwrap()]);
}

#[test]
fn removals_and_unhealthy_pods_leave_the_endpoints() {
    let mut s = mesh();
    let mut sick = workload("pod-a", "10.0.0.7", true, &[(REVIEWS, &[])]);
    if let Some(address::Type::Workload(w)) = &mut sick.r#type {
        w.status = WorkloadStatus::Unhealthy as i32;
    }
    s.apply(&delta(vec![resource("pod-a", "2", sick)], &["pod-b"]))
        .unwrap();
    let r = s.registry();
    assert!(r.resolve("10.96.0.10:80").unwrap().endpoints.is_empty());
    assert!(r.resolve("10.0.0.8:80").is_none());
    s.apply(&delta(vec![], &[REVIEWS])).unwrap();
    assert!(s.registry().resolve("10.96.0.10:80").is_none());
    assert_eq!(s.versions().get("pod-a").map(String::as_str), Some("2"));
}

#[test]
fn a_bad_resource_rejects_the_whole_response() {
    let mut s = mesh();
    let before = s.versions();
    let mut bad_ip = workload("pod-d", "10.0.0.10", true, &[]);
    if let Some(address::Type::Workload(w)) = &mut bad_ip.r#type {
        w.addresses = vec![vec![10, 0, 0]];
    }
    let good = resource("pod-e", "1", workload("pod-e", "10.0.0.11", true, &[]));
    let err = s
        .apply(&delta(
            vec![good.clone(), resource("pod-d", "1", bad_ip)],
            &["pod-a"],
        ))
        .unwrap_err();
    assert_eq!(err.name, "pod-d");
    assert!(err.reason.contains("3 bytes"), "{err}");
    let mut garbage = good.clone();
    garbage.name = "pod-f".into();
    garbage.resource = Some(Any {
        type_url: ADDRESS_TYPE_URL.into(),
        value: vec![0x0a, 0xff, 0xff],
    });
    assert!(s.apply(&delta(vec![good.clone(), garbage], &[])).is_err());
    let mut wrong_type = good;
    wrong_type.resource.as_mut().unwrap().type_url = "type.googleapis.com/other".into();
    assert!(s.apply(&delta(vec![wrong_type], &[])).is_err());
    assert_eq!(s.versions(), before, "nothing applied");
    assert!(s.registry().resolve("10.0.0.7:1").is_some());
}

#[test]
fn a_declared_port_protocol_reaches_the_destination() {
    let mut svc = service(
        "shop",
        "db.shop.svc.cluster.local",
        "10.96.0.20",
        &[(3306, 3306), (80, 80)],
    );
    if let Some(address::Type::Service(s)) = &mut svc.r#type {
        s.ports[0].app_protocol = super::super::proto::AppProtocol::Tcp as i32;
        // A value from a newer control plane decodes and is sniffed, not NACKed.
        s.ports[1].app_protocol = 42;
    }
    let mut s = State::default();
    s.apply(&delta(vec![resource("shop/db", "1", svc)], &[]))
        .unwrap();
    let r = s.registry();
    assert_eq!(
        r.resolve("10.96.0.20:3306").unwrap().app_protocol,
        AppProtocol::Tcp
    );
    assert_eq!(
        r.resolve("10.96.0.20:80").unwrap().app_protocol,
        AppProtocol::Unknown
    );
}
