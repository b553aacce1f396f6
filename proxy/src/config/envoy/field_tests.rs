//! Fields that change routing or security: implemented, or refused with their path.

use std::time::Duration;

use super::tests::{hcm_of, parse, with_hcm, ROUTE_TO_C};
use crate::config::model::*;

const EP: &str =
    "        - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 1}}}\n";

fn with_cluster_extra(extra_ep: &str, cluster_extra: &str) -> String {
    with_hcm("", ROUTE_TO_C, "")
        .replace(EP, &format!("{EP}{extra_ep}"))
        .replace("  - name: c\n", &format!("  - name: c\n{cluster_extra}"))
}

fn route_action(c: &Config) -> &ClusterAction {
    match &hcm_of(c).virtual_hosts[0].routes[0].action {
        RouteAction::Cluster(a) => a,
        RouteAction::Direct(_) => panic!("direct"),
    }
}

#[test]
fn route_timeout_unset_is_15s_and_zero_disables() {
    let c = parse(&with_hcm("", ROUTE_TO_C, "")).unwrap();
    assert_eq!(route_action(&c).timeout, Some(Duration::from_secs(15)));
    let zero = ROUTE_TO_C.replace("cluster: c", "cluster: c, timeout: 0s");
    let c = parse(&with_hcm("", &zero, "")).unwrap();
    assert_eq!(route_action(&c).timeout, None);
}

#[test]
fn unequal_endpoint_weights_are_refused() {
    let weighted = |w: u32| {
        format!("        - endpoint: {{address: {{socket_address: {{address: 127.0.0.2, port_value: 1}}}}}}\n          load_balancing_weight: {w}\n")
    };
    assert!(parse(&with_cluster_extra(&weighted(1), "")).is_ok());
    let e = parse(&with_cluster_extra(&weighted(5), "")).unwrap_err();
    assert_eq!(
        e,
        "envoy.yaml: static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[1].load_balancing_weight: not supported (changes routing: endpoints with different weights)"
    );
}

#[test]
fn dns_lookup_family_is_kept() {
    let c = parse(&with_cluster_extra("", "    dns_lookup_family: V4_ONLY\n")).unwrap();
    assert_eq!(c.clusters[0].dns_lookup_family, DnsLookupFamily::V4Only);
    let c = parse(&with_cluster_extra("", "")).unwrap();
    assert_eq!(c.clusters[0].dns_lookup_family, DnsLookupFamily::All);
}

#[test]
fn client_address_fields_are_refused_unless_they_match_what_we_do() {
    for ok in [
        "          use_remote_address: true\n",
        "          skip_xff_append: false\n",
        "          xff_num_trusted_hops: 0\n",
    ] {
        parse(&with_hcm(ok, ROUTE_TO_C, "")).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    for (bad, field) in [
        (
            "          use_remote_address: false\n",
            "use_remote_address",
        ),
        ("          skip_xff_append: true\n", "skip_xff_append"),
        (
            "          xff_num_trusted_hops: 1\n",
            "xff_num_trusted_hops",
        ),
    ] {
        let e = parse(&with_hcm(bad, ROUTE_TO_C, "")).unwrap_err();
        assert!(
            e.contains(&format!(
                "typed_config.{field}: not supported (affects security"
            )),
            "{e}"
        );
    }
}

#[test]
fn protocol_options_map_onto_hyper_or_are_refused() {
    let extra = "          common_http_protocol_options: {idle_timeout: 2s, max_headers_count: 20}
          http2_protocol_options:
            max_concurrent_streams: 7
            initial_stream_window_size: 65536
            initial_connection_window_size: 1048576
            connection_keepalive: {interval: 10s, timeout: 3s}
";
    let c = parse(&with_hcm(extra, ROUTE_TO_C, "")).unwrap();
    let l = &hcm_of(&c).limits;
    assert_eq!(l.idle_timeout, Some(Duration::from_secs(2)));
    assert_eq!(l.max_headers_count, 20);
    assert_eq!(l.max_concurrent_streams, 7);
    assert_eq!(
        l.http2,
        Http2Options {
            initial_stream_window_size: Some(65536),
            initial_connection_window_size: Some(1048576),
            keepalive_interval: Some(Duration::from_secs(10)),
            keepalive_timeout: Some(Duration::from_secs(3)),
        }
    );
    for (bad, path) in [
        (
            "          http2_protocol_options: {max_outbound_frames: 5}\n",
            "http2_protocol_options.max_outbound_frames",
        ),
        (
            "          http2_protocol_options: {allow_connect: true}\n",
            "http2_protocol_options.allow_connect",
        ),
        (
            "          common_http_protocol_options: {headers_with_underscores_action: REJECT_REQUEST}\n",
            "common_http_protocol_options.headers_with_underscores_action",
        ),
    ] {
        let e = parse(&with_hcm(bad, ROUTE_TO_C, "")).unwrap_err();
        assert!(
            e.contains(&format!("typed_config.{path}: not supported")),
            "{e}"
        );
    }
}
