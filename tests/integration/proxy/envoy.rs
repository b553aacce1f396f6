//! An Envoy v3 bootstrap of the usual shape runs unchanged apart from ports and paths.

use super::harness::*;

/// Envoy's front-proxy example shape: one listener, HCM with a virtual host, the router,
/// one STATIC cluster, the admin server.
fn bootstrap(up: std::net::SocketAddr) -> String {
    bootstrap_with_filters(up, "")
}

/// The proxy-wasm SDK examples' filter entry (Wasm typed config, StringValue configuration).
fn wasm_filter(path: &str) -> String {
    format!(
        r#"                  - name: envoy.filters.http.wasm
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
                      config:
                        name: "my_plugin"
                        root_id: "my_root_id"
                        configuration:
                          "@type": "type.googleapis.com/google.protobuf.StringValue"
                          value: |
                            {{"request": "append", "value": "[wasm]"}}
                        vm_config:
                          runtime: "envoy.wasm.runtime.v8"
                          vm_id: "my_vm_id"
                          code:
                            local:
                              filename: "{path}"
"#
    )
}

fn bootstrap_with_filters(up: std::net::SocketAddr, filters: &str) -> String {
    format!(
        r#"
admin:
  address:
    socket_address: {{ address: 127.0.0.1, port_value: 0 }}
static_resources:
  listeners:
    - name: main
      address:
        socket_address: {{ address: 127.0.0.1, port_value: 0 }}
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: ingress_http
                codec_type: AUTO
                route_config:
                  name: local_route
                  virtual_hosts:
                    - name: backend
                      domains: ["*"]
                      routes:
                        - match: {{ prefix: "/static" }}
                          direct_response: {{ status: 200, body: {{ inline_string: "static ok" }} }}
                        - match:
                            prefix: "/"
                            headers:
                              - name: x-canary
                                string_match: {{ exact: "1" }}
                          route: {{ cluster: canary }}
                        - match: {{ prefix: "/" }}
                          route: {{ cluster: service, timeout: 2s }}
                http_filters:
{filters}                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
    - name: service
      connect_timeout: 0.25s
      type: STATIC
      lb_policy: ROUND_ROBIN
      load_assignment:
        cluster_name: service
        endpoints:
          - lb_endpoints:
              - endpoint:
                  address:
                    socket_address: {{ address: {ip}, port_value: {port} }}
    - name: canary
      connect_timeout: 0.25s
      type: STRICT_DNS
      load_assignment:
        cluster_name: canary
        endpoints:
          - lb_endpoints:
              - endpoint:
                  address:
                    socket_address: {{ address: localhost, port_value: {port} }}
"#,
        ip = up.ip(),
        port = up.port()
    )
}

#[tokio::test]
async fn envoy_bootstrap_runs_unchanged() {
    let up = upstream("service").await;
    let app = start(&bootstrap(up)).await;
    let r = send(addr(&app), false, get("svc", "/static", false)).await;
    assert_eq!((r.status, r.text().as_str()), (200, "static ok"));
    let r = send(addr(&app), false, get("svc", "/api", false)).await;
    assert_eq!(r.json()["uri"], "/api");
    // STRICT_DNS resolves `localhost` in the background.
    let mut canary = get("svc", "/api", false);
    canary
        .headers_mut()
        .insert("x-canary", "1".parse().unwrap());
    let mut status = 0;
    for _ in 0..50 {
        let mut req = get("svc", "/api", false);
        *req.headers_mut() = canary.headers().clone();
        status = send(addr(&app), false, req).await.status;
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(status, 200);
    assert!(app.admin_addr().is_some());
}

#[tokio::test]
async fn envoy_bootstrap_with_a_wasm_filter_runs_unchanged() {
    use microwaf_tests::fixtures::{self, Target};
    let path = fixtures::wasm("body", Target::Wasip1);
    let up = upstream("service").await;
    let app = start(&bootstrap_with_filters(
        up,
        &wasm_filter(&path.display().to_string()),
    ))
    .await;
    let req = hyper::Request::post("/api")
        .header("host", "svc")
        .body(http_body_util::Full::new(bytes::Bytes::from_static(
            b"payload",
        )))
        .unwrap();
    let r = send(addr(&app), false, req).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["body"], "payload[wasm]");
}
