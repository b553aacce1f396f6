use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{self, model::*};

fn configs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/configs")
}

pub(super) fn parse(text: &str) -> Result<Config, String> {
    config::parse(text, "envoy.yaml", &configs_dir()).map_err(|e| e.to_string())
}

/// A bootstrap with one cluster `c` and `listener` spliced in as the only listener.
fn with_listener(listener: &str) -> String {
    format!(
        "static_resources:\n  listeners:\n{listener}  clusters:\n  - name: c\n    load_assignment:\n      endpoints:\n      - lb_endpoints:\n        - endpoint: {{address: {{socket_address: {{address: 127.0.0.1, port_value: 1}}}}}}\n"
    )
}

/// An HTTP listener whose HCM has the given extra YAML (indented for the HCM body).
pub(super) fn with_hcm(hcm_extra: &str, routes: &str, filters: &str) -> String {
    with_listener(&format!(
        "  - address: {{socket_address: {{address: 127.0.0.1, port_value: 0}}}}
    filter_chains:
    - filters:
      - name: hcm
        typed_config:
          \"@type\": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: x
{hcm_extra}          route_config:
            virtual_hosts:
            - name: vh
              domains: [\"*\"]
              routes:
{routes}          http_filters:
{filters}          - name: envoy.filters.http.router
"
    ))
}

pub(super) const ROUTE_TO_C: &str = "              - {match: {prefix: /}, route: {cluster: c}}\n";

pub(super) fn hcm_of(c: &Config) -> &HttpConnMgr {
    match &c.listeners[0].kind {
        ListenerKind::Http(h) => h,
        ListenerKind::Tcp(_) => panic!("tcp listener"),
    }
}

#[test]
fn typical_envoy_yaml_equals_its_native_equivalent() {
    let envoy = config::load(&configs_dir().join("envoy.yaml")).unwrap();
    let native = config::load(&configs_dir().join("native.yaml")).unwrap();
    assert_eq!(envoy, native);
    let plugin = &hcm_of(&envoy).http_filters[0];
    assert_eq!(plugin.name, "my_plugin");
    assert_eq!(
        plugin.plugin_config,
        b"{\"header\": \"x-wasm\", \"value\": \"hello\"}\n"
    );
}

#[test]
fn typed_struct_wrapped_wasm_filter() {
    let filters = r#"          - name: envoy.filters.http.wasm
            typed_config:
              "@type": type.googleapis.com/udpa.type.v1.TypedStruct
              type_url: type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              value:
                config:
                  name: p
                  root_id: r
                  configuration: {"@type": type.googleapis.com/google.protobuf.StringValue, value: "cfg"}
                  fail_open: true
                  vm_config:
                    runtime: envoy.wasm.runtime.wasmtime
                    vm_id: v
                    configuration: {"@type": type.googleapis.com/google.protobuf.StringValue, value: "vmcfg"}
                    environment_variables: {key_values: {MODE: strict}}
                    code: {local: {inline_bytes: AGFzbQEAAAA=}}
"#;
    let c = parse(&with_hcm("", ROUTE_TO_C, filters)).unwrap();
    let p = &hcm_of(&c).http_filters[0];
    assert_eq!(
        (p.name.as_str(), p.root_id.as_str(), p.vm_id.as_str()),
        ("p", "r", "v")
    );
    assert_eq!(
        (p.plugin_config.as_slice(), p.vm_config.as_slice()),
        (&b"cfg"[..], &b"vmcfg"[..])
    );
    assert_eq!(p.code, DataSource::Inline(b"\0asm\x01\0\0\0".to_vec()));
    assert_eq!(p.env.get("MODE").map(String::as_str), Some("strict"));
    assert!(p.fail_open);
}

#[test]
fn routes_matchers_retries_and_direct_responses() {
    let routes = r#"              - match:
                  safe_regex: {google_re2: {}, regex: "/v[0-9]+/.*"}
                  headers:
                  - {name: X-Tenant, string_match: {exact: acme}}
                  - {name: x-debug, present_match: true, invert_match: true}
                route:
                  cluster: c
                  timeout: 0s
                  retry_policy: {retry_on: "5xx,connect-failure", num_retries: 3, per_try_timeout: 0.5s}
                metadata: {filter_metadata: {istio: {team: payments}}}
              - match: {path: /health}
                direct_response: {status: 200, body: {inline_string: ok}}
              - match: {prefix: /old}
                route: {cluster: c, prefix_rewrite: /new, timeout: 2s}
"#;
    let c = parse(&with_hcm("          codec_type: HTTP2\n", routes, "")).unwrap();
    let hcm = hcm_of(&c);
    assert_eq!(hcm.codec, Codec::Http2);
    let r = &hcm.virtual_hosts[0].routes;
    assert!(
        matches!(&r[0].matcher.path, PathMatch::Regex(p) if p.is_match("/v1/x") && !p.is_match("/a/v1/x"))
    );
    assert_eq!(r[0].matcher.headers[0].name, "x-tenant");
    assert_eq!(
        r[0].matcher.headers[0].kind,
        HeaderMatch::Exact("acme".into())
    );
    assert!(r[0].matcher.headers[1].invert);
    assert_eq!(
        r[0].metadata["istio"],
        serde_json::json!({"team": "payments"})
    );
    let RouteAction::Cluster(a) = &r[0].action else {
        panic!()
    };
    assert_eq!(a.timeout, None, "0s disables the timeout");
    let retry = a.retry.as_ref().unwrap();
    assert_eq!(
        retry.retry_on,
        vec![RetryOn::FiveXx, RetryOn::ConnectFailure]
    );
    assert_eq!(
        (retry.num_retries, retry.per_try_timeout),
        (3, Some(Duration::from_millis(500)))
    );
    assert_eq!(
        r[1].action,
        RouteAction::Direct(DirectResponse {
            status: 200,
            body: Some("ok".into())
        })
    );
    let RouteAction::Cluster(a) = &r[2].action else {
        panic!()
    };
    assert_eq!(
        (a.prefix_rewrite.as_deref(), a.timeout),
        (Some("/new"), Some(Duration::from_secs(2)))
    );
}

#[test]
fn unsupported_fields_name_their_path() {
    let routes = "              - {match: {prefix: /}, redirect: {path_redirect: /x}}\n";
    let e = parse(&with_hcm("", routes, "")).unwrap_err();
    assert_eq!(e, "envoy.yaml: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].redirect: not supported (changes routing)");
    let e = parse(&with_hcm(
        "          rds: {route_config_name: r}\n",
        ROUTE_TO_C,
        "",
    ))
    .unwrap_err();
    assert!(
        e.ends_with("filters[0].typed_config.rds: not supported (changes request handling)"),
        "{e}"
    );
    let filters = "          - {name: authz, typed_config: {\"@type\": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz}}\n";
    let e = parse(&with_hcm("", ROUTE_TO_C, filters)).unwrap_err();
    assert!(e.contains("http_filters[0]: http filter \"authz\" (envoy.extensions.filters.http.ext_authz.v3.ExtAuthz) not supported; set \"is_optional: true\""), "{e}");
}

#[test]
fn tls_listener_and_upstream() {
    let dir = std::env::temp_dir().join(format!("microwaf-envoy-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["cert.pem", "key.pem", "ca.pem"] {
        std::fs::write(dir.join(f), "placeholder").unwrap();
    }
    let text = r#"static_resources:
  listeners:
  - name: tls
    address: {socket_address: {address: "::1", port_value: 8443}}
    filter_chains:
    - transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
          require_client_certificate: true
          common_tls_context:
            alpn_protocols: [h2, http/1.1]
            tls_certificates: [{certificate_chain: {filename: cert.pem}, private_key: {inline_string: SECRET}}]
            validation_context: {trusted_ca: {filename: ca.pem}}
      filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, stat_prefix: t, cluster: up}
  clusters:
  - name: up
    type: STRICT_DNS
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: {http2_protocol_options: {}}
    transport_socket:
      name: envoy.transport_sockets.tls
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
        sni: backend.internal
        common_tls_context: {validation_context: {trusted_ca: {filename: ca.pem}}}
    circuit_breakers: {thresholds: [{max_connections: 10, max_requests: 20}]}
    load_assignment:
      endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: backend.internal, port_value: 443}}}}]}]
"#;
    let c = config::parse(text, "tls.yaml", &dir).unwrap();
    let l = &c.listeners[0];
    assert_eq!(l.address, "[::1]:8443".parse().unwrap());
    let tls = l.tls.as_ref().unwrap();
    assert!(tls.require_client_cert);
    assert_eq!(tls.client_ca, Some(DataSource::File(dir.join("ca.pem"))));
    assert_eq!(tls.alpn, vec!["h2", "http/1.1"]);
    let dump = serde_json::to_string(&c).unwrap();
    assert!(
        !dump.contains("SECRET") && dump.contains("[redacted]"),
        "{dump}"
    );
    assert!(matches!(&l.kind, ListenerKind::Tcp(t) if t.cluster == "up"));
    let up = &c.clusters[0];
    assert!(up.http2);
    assert_eq!(up.discovery, Discovery::StrictDns);
    assert_eq!(
        up.tls.as_ref().unwrap().sni.as_deref(),
        Some("backend.internal")
    );
    assert_eq!(
        (
            up.circuit_breakers.max_connections,
            up.circuit_breakers.max_requests
        ),
        (10, 20)
    );
    assert_eq!(up.circuit_breakers.max_pending_requests, 1024);
    // A security field we do not implement is refused, not ignored.
    let e = config::parse(&text.replace("trusted_ca: {filename: ca.pem}}\n      filters", "trusted_ca: {filename: ca.pem}, match_typed_subject_alt_names: [{san_type: URI, matcher: {exact: x}}]}\n      filters"), "tls.yaml", &dir).unwrap_err();
    assert!(
        e.to_string().ends_with(
            "validation_context.match_typed_subject_alt_names: not supported (affects security)"
        ),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bootstrap_extensions_stats_tags_and_node() {
    let text = r#"bootstrap_extensions:
- name: envoy.bootstrap.wasm
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.wasm.v3.WasmService
    singleton: true
    config:
      name: ticker
      vm_config: {runtime: envoy.wasm.runtime.v8, code: {local: {filename: filter.wasm}}}
stats_config:
  stats_tags: [{tag_name: value, regex: "_value=([a-z]+)"}]
node: {id: proxy-1, cluster: edge, metadata: {zone: a}}
admin: {address: {socket_address: {address: 0.0.0.0, port_value: 9901}}}
"#;
    let c = parse(text).unwrap();
    assert_eq!(c.singletons.len(), 1);
    assert!(c.singletons[0].singleton);
    assert_eq!(c.singletons[0].vm_count, Some(1));
    assert_eq!(c.stats_tags[0].tag_name, "value");
    assert_eq!(c.node.id, "proxy-1");
    assert_eq!(c.node.metadata["zone"], "a");
    assert_eq!(c.admin, Some("0.0.0.0:9901".parse().unwrap()));
}

#[test]
fn single_object_lists_as_in_sdk_examples() {
    // The proxy-wasm SDK examples write `listeners:` with one listener object, not a list.
    let text = with_hcm("", ROUTE_TO_C, "")
        .replace("  listeners:\n  - address", "  listeners:\n    address");
    let c = parse(&text).unwrap();
    assert_eq!(c.listeners.len(), 1);
}

#[test]
fn network_wasm_filter_before_tcp_proxy() {
    let listener = r#"  - name: l4
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    metadata: {filter_metadata: {audit: {tier: db}}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.wasm
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm
          config:
            name: audit
            failure_policy: FAIL_OPEN
            configuration: {"@type": type.googleapis.com/google.protobuf.BytesValue, value: aGk=}
            vm_config: {code: {local: {filename: filter.wasm}}}
      - name: envoy.filters.network.tcp_proxy
        typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, stat_prefix: s, cluster: c, idle_timeout: 0s}
"#;
    let c = parse(&with_listener(listener)).unwrap();
    let ListenerKind::Tcp(tcp) = &c.listeners[0].kind else {
        panic!("not tcp")
    };
    assert_eq!(tcp.idle_timeout, None);
    assert_eq!(
        c.listeners[0].metadata["audit"],
        serde_json::json!({"tier": "db"})
    );
    let p = &tcp.network_filters[0];
    assert_eq!(
        (p.name.as_str(), p.plugin_config.as_slice(), p.fail_open),
        ("audit", &b"hi"[..], true)
    );
}

#[test]
fn optional_unknown_http_filters_are_skipped() {
    let filters = "          - {name: cors, is_optional: true, typed_config: {\"@type\": type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors}}\n";
    let c = parse(&with_hcm("", ROUTE_TO_C, filters)).unwrap();
    assert!(hcm_of(&c).http_filters.is_empty());
}

/// Each case: a text substitution in a valid config, and the error it must produce.
#[test]
fn precise_errors() {
    let hcm = with_hcm("", ROUTE_TO_C, "");
    let hcm_path = "static_resources.listeners[0].filter_chains[0].filters[0].typed_config";
    let cases: Vec<(String, String)> = vec![
        (
            hcm.replace("stat_prefix: x\n", "stat_prefix: x\n          codec_type: HTTP3\n"),
            format!("{hcm_path}.codec_type: unsupported value \"HTTP3\" (supported: AUTO, HTTP1, HTTP2)"),
        ),
        (
            hcm.replace("    load_assignment:", "    lb_policy: MAGLEV\n    load_assignment:"),
            "static_resources.clusters[0].lb_policy: unsupported value \"MAGLEV\" (supported: ROUND_ROBIN, LEAST_REQUEST, RANDOM)".into(),
        ),
        (
            hcm.replace("address: 127.0.0.1, port_value: 1", "address: backend.svc, port_value: 1"),
            "static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address: \"backend.svc\" is not an IP address; a STATIC cluster needs IPs (use STRICT_DNS or LOGICAL_DNS for names)".into(),
        ),
        (
            hcm.replace("port_value: 0}}", "port_value: 70000}}"),
            "static_resources.listeners[0].address.socket_address.port_value: port out of range".into(),
        ),
        (
            hcm.replace("{prefix: /}", "{prefix: /, query_parameters: [{name: a}]}"),
            format!("{hcm_path}.route_config.virtual_hosts[0].routes[0].match.query_parameters: not supported (changes routing)"),
        ),
        (
            hcm.replace("{prefix: /}", "{safe_regex: {regex: \"(\"}}"),
            format!("{hcm_path}.route_config.virtual_hosts[0].routes[0].match.safe_regex.regex: invalid regex \"(\": unclosed group"),
        ),
        (
            hcm.replace("          http_filters:\n", "          http_filters:\n          - name: envoy.filters.http.router\n"),
            format!("{hcm_path}.http_filters[0]: the router must be the last http filter"),
        ),
        (
            hcm.replace("    filter_chains:\n    - filters:", "    filter_chains:\n    - filter_chain_match: {server_names: [a.com]}\n      filters:"),
            "static_resources.listeners[0].filter_chains[0].filter_chain_match: not supported (changes routing)".into(),
        ),
        (
            hcm.replace("  clusters:\n  - name: c\n", "  clusters:\n  - name: c\n    type: EDS\n"),
            "static_resources.clusters[0].type: unsupported value \"EDS\" (supported: STATIC, STRICT_DNS, LOGICAL_DNS)".into(),
        ),
        (
            format!("{hcm}  secrets: []\n"),
            "static_resources.secrets: not supported (not part of the supported static subset)".into(),
        ),
        (
            format!("{hcm}dynamic_resources: {{}}\n"),
            "dynamic_resources: not supported (not part of the supported static subset)".into(),
        ),
    ];
    for (text, expected) in cases {
        assert_ne!(text, hcm, "substitution did not apply for {expected}");
        assert_eq!(parse(&text).unwrap_err(), format!("envoy.yaml: {expected}"));
    }
}

#[test]
fn enum_names_are_case_insensitive_as_in_envoy() {
    // The SDK examples write `codec_type: auto`, `type: strict_dns`, `lb_policy: round_robin`.
    let text = with_hcm("          codec_type: auto\n", ROUTE_TO_C, "").replace(
        "  - name: c\n",
        "  - name: c\n    type: strict_dns\n    lb_policy: least_request\n",
    );
    let c = parse(&text).unwrap();
    assert_eq!(hcm_of(&c).codec, Codec::Auto);
    assert_eq!(
        (c.clusters[0].discovery, c.clusters[0].lb),
        (Discovery::StrictDns, LbPolicy::LeastRequest)
    );
}

#[test]
fn json_bootstrap_is_accepted() {
    // Envoy also takes JSON bootstraps; JSON is YAML here.
    let c = parse(r#"{"admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 9901}}}}"#).unwrap();
    assert_eq!(c.admin, Some("127.0.0.1:9901".parse().unwrap()));
}

#[test]
fn yaml_anchors_and_merge_keys() {
    let text = r#"static_resources:
  clusters:
  - &base
    name: a
    connect_timeout: 2s
    load_assignment: {endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 1}}}}]}]}
  - <<: *base
    name: b
"#;
    let c = parse(text).unwrap();
    assert_eq!(c.clusters[1].name, "b");
    assert_eq!(c.clusters[1].connect_timeout, Duration::from_secs(2));
    assert_eq!(c.clusters[1].endpoints, c.clusters[0].endpoints);
}
