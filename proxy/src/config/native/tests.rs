use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{self, model::*, ConfigError};

fn configs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/configs")
}

fn parse(text: &str) -> Result<Config, ConfigError> {
    config::parse(text, "native.yaml", &configs_dir())
}

fn error(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn example_file_parses_to_the_expected_ir() {
    let c = config::load(&configs_dir().join("native.yaml")).unwrap();
    assert_eq!(c.admin, Some("127.0.0.1:9901".parse().unwrap()));
    let l = &c.listeners[0];
    assert_eq!(
        (l.name.as_str(), l.address),
        ("main", "0.0.0.0:10000".parse().unwrap())
    );
    let ListenerKind::Http(hcm) = &l.kind else {
        panic!("not http")
    };
    assert_eq!(hcm.codec, Codec::Auto);
    assert_eq!(hcm.limits, Limits::default());
    let f = &hcm.http_filters[0];
    assert_eq!(
        (f.name.as_str(), f.root_id.as_str(), f.vm_id.as_str()),
        ("my_plugin", "my_root_id", "my_vm_id")
    );
    assert_eq!(
        f.plugin_config,
        b"{\"header\": \"x-wasm\", \"value\": \"hello\"}\n"
    );
    assert_eq!(f.code, DataSource::File(configs_dir().join("filter.wasm")));
    let route = &hcm.virtual_hosts[0].routes[0];
    assert_eq!(route.matcher.path, PathMatch::Prefix("/".into()));
    let RouteAction::Cluster(action) = &route.action else {
        panic!("not cluster")
    };
    assert_eq!(action.cluster, "web_service");
    assert_eq!(action.timeout, Some(Duration::from_secs(15)));
    let cl = c.cluster("web_service").unwrap();
    assert_eq!(cl.discovery, Discovery::Static);
    assert_eq!(cl.connect_timeout, Duration::from_millis(250));
    assert_eq!(cl.endpoints[0].to_string(), "127.0.0.1:8080");
}

#[test]
fn yaml_config_objects_are_passed_as_json() {
    let c = parse(
        "listeners:\n- address: 127.0.0.1:0\n  filters:\n  - {name: f, code: filter.wasm, config: {mode: block, n: 2}}\n  routes: [{direct: {status: 200}}]\n",
    )
    .unwrap();
    let plugin = c.plugins().next().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&plugin.plugin_config).unwrap();
    assert_eq!(json, serde_json::json!({"mode": "block", "n": 2}));
    assert_eq!(c.listeners[0].name, "listener_0");
}

#[test]
fn unknown_cluster_names_the_route() {
    let e = error("listeners:\n- address: 127.0.0.1:0\n  routes:\n  - {prefix: /, cluster: nope}\nclusters:\n- {name: a, endpoints: [127.0.0.1:1]}\n");
    assert_eq!(
        e,
        "native.yaml: listeners[0].routes[0].cluster: unknown cluster \"nope\" (defined: a)"
    );
}

#[test]
fn typo_in_field_name_is_rejected_with_path() {
    let e = error(
        "listeners:\n- address: 127.0.0.1:0\n  routes:\n  - {prefx: /, direct: {status: 200}}\n",
    );
    assert!(
        e.starts_with(
            "native.yaml: listeners[0].routes[0].prefx: unknown field `prefx`, expected one of"
        ),
        "{e}"
    );
}

#[test]
fn bad_duration_names_the_field() {
    let e = error("clusters:\n- {name: a, endpoints: [127.0.0.1:1], connect_timeout: 5 seconds}\n");
    assert!(
        e.starts_with("native.yaml: clusters[0].connect_timeout: invalid duration \"5 seconds\""),
        "{e}"
    );
}

#[test]
fn missing_wasm_file_names_the_field() {
    let e = error("listeners:\n- address: 127.0.0.1:0\n  filters: [{name: f, code: missing.wasm}]\n  routes: [{direct: {status: 200}}]\n");
    assert!(
        e.starts_with("native.yaml: listeners[0].filters[0].code: missing.wasm: "),
        "{e}"
    );
}

#[test]
fn static_cluster_rejects_hostnames_and_dns_is_inferred() {
    let c = parse("clusters:\n- {name: a, endpoints: [backend.svc:80]}\n").unwrap();
    assert_eq!(c.clusters[0].discovery, Discovery::StrictDns);
    let e = error("clusters:\n- {name: a, discovery: static, endpoints: [backend.svc:80]}\n");
    assert!(
        e.starts_with("native.yaml: clusters[0].endpoints[0]: \"backend.svc\" is not an IP"),
        "{e}"
    );
}

#[test]
fn duplicate_names_and_addresses_are_rejected() {
    let e = error(
        "clusters:\n- {name: a, endpoints: [127.0.0.1:1]}\n- {name: a, endpoints: [127.0.0.1:2]}\n",
    );
    assert_eq!(e, "native.yaml: clusters[1].name: duplicate cluster name \"a\" (first defined at clusters[0].name)");
    let e = error("listeners:\n- {address: 127.0.0.1:80, routes: []}\n- {address: 127.0.0.1:80, routes: []}\n");
    assert!(
        e.starts_with("native.yaml: listeners[1].address: address 127.0.0.1:80 already used"),
        "{e}"
    );
}

#[test]
fn tcp_listener_and_header_matchers() {
    let c = parse(concat!(
        "listeners:\n",
        "- {address: 127.0.0.1:0, protocol: tcp, cluster: a}\n",
        "- address: 127.0.0.1:0\n",
        "  routes:\n",
        "  - regex: /v[0-9]+/.*\n",
        "    headers: [{name: X-Tenant, exact: acme}, {name: x-debug, invert: true}]\n",
        "    cluster: a\n",
        "    retry: {on: [5xx, reset], num_retries: 2, per_try_timeout: 1s}\n",
        "clusters:\n- {name: a, endpoints: [127.0.0.1:1], http2: true}\n",
    ))
    .unwrap();
    assert!(matches!(&c.listeners[0].kind, ListenerKind::Tcp(t) if t.cluster == "a"));
    let ListenerKind::Http(hcm) = &c.listeners[1].kind else {
        panic!()
    };
    let r = &hcm.virtual_hosts[0].routes[0];
    let PathMatch::Regex(p) = &r.matcher.path else {
        panic!()
    };
    assert!(p.is_match("/v2/users") && !p.is_match("/x/v2/"));
    assert_eq!(r.matcher.headers[0].name, "x-tenant");
    assert_eq!(r.matcher.headers[1].kind, HeaderMatch::Present(true));
    assert!(r.matcher.headers[1].invert);
    let RouteAction::Cluster(a) = &r.action else {
        panic!()
    };
    let retry = a.retry.as_ref().unwrap();
    assert_eq!(retry.retry_on, vec![RetryOn::FiveXx, RetryOn::Reset]);
    assert_eq!(retry.per_try_timeout, Some(Duration::from_secs(1)));
}

#[test]
fn tls_settings_are_checked() {
    let dir = std::env::temp_dir().join(format!("microwaf-native-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["c.pem", "k.pem", "ca.pem"] {
        std::fs::write(dir.join(f), "placeholder").unwrap();
    }
    let run = |tls: &str| {
        let text = format!("listeners:\n- address: 127.0.0.1:0\n  tls: {tls}\n  routes: [{{direct: {{status: 200}}}}]\n");
        config::parse(&text, "native.yaml", &dir).map_err(|e| e.to_string())
    };
    let c = run("{cert: c.pem, key: k.pem, client_ca: ca.pem, require_client_cert: true}").unwrap();
    let tls = c.listeners[0].tls.as_ref().unwrap();
    assert_eq!(tls.key, Secret(DataSource::File(dir.join("k.pem"))));
    assert!(tls.require_client_cert);
    assert_eq!(
        run("{cert: c.pem, key: k.pem, require_client_cert: true}").unwrap_err(),
        "native.yaml: listeners[0].tls.require_client_cert: requires `client_ca` to verify client certificates against"
    );
    assert!(run("{cert: c.pem}")
        .unwrap_err()
        .starts_with("native.yaml: listeners[0].tls: missing field `key`"));
    let up = "clusters:\n- {name: a, endpoints: [127.0.0.1:1], tls: {cert: c.pem}}\n";
    assert_eq!(
        config::parse(up, "native.yaml", &dir)
            .unwrap_err()
            .to_string(),
        "native.yaml: clusters[0].tls: `cert` and `key` go together"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn http_only_settings_on_tcp_listeners_are_rejected() {
    let e = error("listeners:\n- {address: 127.0.0.1:0, protocol: tcp, cluster: a, limits: {idle_timeout: 1s}}\nclusters:\n- {name: a, endpoints: [127.0.0.1:1]}\n");
    assert_eq!(
        e,
        "native.yaml: listeners[0].limits: only for http listeners"
    );
}

#[test]
fn module_cache_is_a_directory_relative_to_the_file() {
    assert_eq!(parse("{}").unwrap().module_cache, None);
    let c = parse("module_cache: cache/wasm").unwrap();
    assert_eq!(c.module_cache, Some(configs_dir().join("cache/wasm")));
    assert!(error("module_cache: ''").contains("module_cache"));
}

#[test]
fn waypoint_section_defaults_and_errors() {
    let c = parse("waypoint: {}").unwrap();
    let w = c.waypoint.unwrap();
    assert_eq!(w.address, "0.0.0.0:15008".parse().unwrap());
    assert_eq!(w.trust_domain, "cluster.local");
    assert_eq!(w.hbone_port, 15008);
    assert_eq!(w.health, "0.0.0.0:15021".parse().unwrap());
    assert_eq!(w.metrics, "0.0.0.0:15020".parse().unwrap());
    assert_eq!(w.protocol_detection_timeout, Duration::from_secs(1));
    assert!(w.certs.is_none() && w.discovery.is_none() && w.http_filters.is_empty());
    let c = parse(
        "waypoint:\n  address: 127.0.0.1:0\n  trust_domain: mesh.example\n  http_filters:\n    - {name: f, code: filter.wasm}\n  discovery: {file: native.yaml}\n",
    )
    .unwrap();
    let w = c.waypoint.as_ref().unwrap();
    assert_eq!(w.trust_domain, "mesh.example");
    assert_eq!(w.http_filters[0].name, "f");
    assert_eq!(
        c.plugins().count(),
        1,
        "waypoint filters count for readiness"
    );
    assert!(matches!(
        &w.discovery,
        Some(crate::waypoint::discovery::DiscoveryConfig::File(p)) if p.is_absolute()
    ));
    let w = parse("waypoint: {protocol_detection_timeout: 250ms}").unwrap();
    assert_eq!(
        w.waypoint.unwrap().protocol_detection_timeout,
        Duration::from_millis(250)
    );
    let e = error("waypoint: {protocol_detection_timeout: 0s}");
    assert!(e.contains("waypoint.protocol_detection_timeout"), "{e}");
    let e = error("waypoint: {trust_domain: Bad/Domain}");
    assert!(e.contains("waypoint.trust_domain"), "{e}");
    let e = error("waypoint: {certs: {cert: nope.pem, key: k, root: r}}");
    assert!(e.contains("waypoint.certs.cert"), "{e}");
    let e = error("waypoint: {certs: {ca: {address: 'https://x:1', token_file: t, identity: i}}}");
    assert!(e.contains("waypoint.certs"), "{e}");
    let e = error("waypoint: {discovery: {xds: {address: 'http://x:1', token_file: nope}}}");
    assert!(e.contains("waypoint.discovery.xds.token_file"), "{e}");
    let e = error("waypoint: {discovery: {xds: {adress: 'http://x:1'}}}");
    assert!(
        e.contains("waypoint.discovery.xds") && e.contains("adress"),
        "{e}"
    );
    let e = error("waypoint: {adress: 1.2.3.4:5}");
    assert!(e.contains("adress"), "{e}");
}
