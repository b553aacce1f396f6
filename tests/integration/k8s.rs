//! The Kubernetes manifests under `docs/k8s/`: every YAML document parses, and each kind has the
//! fields Istio and the kubelet need for microwaf to run as a waypoint (or for the filter to
//! run in an Envoy waypoint). Cross-references (the Gateway's parameters, the WasmPlugin's
//! target, the mounted configuration) must point at documents that exist.

use std::collections::BTreeSet;
use std::path::PathBuf;

use microwaf_proxy::waypoint::certs::CertsConfig;
use serde::Deserialize;
use serde_yaml_ng::Value;

struct Doc {
    file: String,
    value: Value,
}

impl Doc {
    fn kind(&self) -> &str {
        self.value["kind"].as_str().unwrap_or("")
    }
    fn name(&self) -> &str {
        self.value["metadata"]["name"].as_str().unwrap_or("")
    }
    fn what(&self) -> String {
        format!("{}: {} {}", self.file, self.kind(), self.name())
    }
}

fn docs() -> Vec<Doc> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/k8s");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no manifests in {}", dir.display());
    let mut out = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        for (i, de) in serde_yaml_ng::Deserializer::from_str(&text).enumerate() {
            let value = Value::deserialize(de).unwrap_or_else(|e| panic!("{file} doc {i}: {e}"));
            if !value.is_null() {
                out.push(Doc {
                    file: file.clone(),
                    value,
                });
            }
        }
    }
    out
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

fn seq<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_sequence)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Returns how many pod specs (parameter overlays) it checked.
fn check_gateway(doc: &Doc, all: &[Doc]) -> usize {
    let v = &doc.value;
    assert_eq!(
        str_at(v, &["spec", "gatewayClassName"]),
        Some("istio-waypoint"),
        "{}",
        doc.what()
    );
    let waypoint_for = str_at(v, &["metadata", "labels", "istio.io/waypoint-for"]);
    assert!(
        matches!(waypoint_for, Some("service" | "workload" | "all")),
        "{}: istio.io/waypoint-for label {waypoint_for:?}",
        doc.what()
    );
    let hbone = seq(&v["spec"], "listeners")
        .iter()
        .any(|l| l["port"].as_u64() == Some(15008) && l["protocol"].as_str() == Some("HBONE"));
    assert!(
        hbone,
        "{}: no listener on 15008 with protocol HBONE",
        doc.what()
    );
    if let Some(params) = v["spec"]["infrastructure"].get("parametersRef") {
        assert_eq!(params["kind"].as_str(), Some("ConfigMap"), "{}", doc.what());
        let name = params["name"].as_str().unwrap();
        let cm = all
            .iter()
            .find(|d| d.kind() == "ConfigMap" && d.name() == name)
            .unwrap_or_else(|| panic!("{}: parameters {name} not in docs/k8s", doc.what()));
        let overlay = str_at(&cm.value, &["data", "deployment"])
            .unwrap_or_else(|| panic!("{}: no `deployment` overlay", cm.what()));
        let overlay: Value = serde_yaml_ng::from_str(overlay)
            .unwrap_or_else(|e| panic!("{}: deployment overlay: {e}", cm.what()));
        check_pod(&cm.what(), &overlay["spec"]["template"]["spec"], all);
        return 1;
    }
    0
}

/// The waypoint pod: uid 1337, a writable cache volume mounted, the mesh ports, the image.
fn check_pod(what: &str, pod: &Value, all: &[Doc]) {
    let containers = seq(pod, "containers");
    assert!(!containers.is_empty(), "{what}: no containers");
    let pod_uid = pod["securityContext"]["runAsUser"].as_u64();
    let empty_dirs: BTreeSet<&str> = seq(pod, "volumes")
        .iter()
        .filter(|v| v.get("emptyDir").is_some())
        .filter_map(|v| v["name"].as_str())
        .collect();
    let main = &containers[0];
    let uid = main["securityContext"]["runAsUser"].as_u64().or(pod_uid);
    assert_eq!(
        uid,
        Some(1337),
        "{what}: the container must run as uid 1337"
    );
    assert!(
        main["image"]
            .as_str()
            .is_some_and(|i| i.contains("microwaf")),
        "{what}: image"
    );
    let mounts = seq(main, "volumeMounts");
    let cache = mounts.iter().find(|m| {
        m["name"].as_str().is_some_and(|n| empty_dirs.contains(n))
            && m["mountPath"].as_str().is_some_and(|p| p.contains("cache"))
    });
    assert!(cache.is_some(), "{what}: no emptyDir cache volume mounted");
    let ports: BTreeSet<u64> = seq(main, "ports")
        .iter()
        .filter_map(|p| p["containerPort"].as_u64())
        .collect();
    for port in [15008, 15020, 15021] {
        assert!(
            ports.contains(&port),
            "{what}: container port {port} missing"
        );
    }
    // The configuration volume names a ConfigMap that is in docs/k8s and is mounted.
    for vol in seq(pod, "volumes") {
        if let Some(cm) = str_at(vol, &["configMap", "name"]) {
            assert!(
                all.iter()
                    .any(|d| d.kind() == "ConfigMap" && d.name() == cm),
                "{what}: volume ConfigMap {cm} not in docs/k8s"
            );
            let name = vol["name"].as_str().unwrap();
            assert!(
                mounts.iter().any(|m| m["name"].as_str() == Some(name)),
                "{what}: {name}"
            );
        }
    }
}

fn check_wasm_plugin(doc: &Doc, all: &[Doc]) {
    let spec = &doc.value["spec"];
    let url = spec["url"].as_str().unwrap_or("");
    assert!(
        ["oci://", "https://", "http://", "file://"]
            .iter()
            .any(|s| url.starts_with(s)),
        "{}: url {url:?}",
        doc.what()
    );
    let targets = seq(spec, "targetRefs");
    assert!(
        !targets.is_empty() || spec.get("selector").is_some(),
        "{}: needs targetRefs or selector",
        doc.what()
    );
    for t in targets {
        if t["kind"].as_str() == Some("Gateway") {
            let name = t["name"].as_str().unwrap_or("");
            assert!(
                all.iter()
                    .any(|d| d.kind() == "Gateway" && d.name() == name),
                "{}: target Gateway {name} not in docs/k8s",
                doc.what()
            );
        }
    }
    let phase = spec["phase"].as_str();
    assert!(
        matches!(
            phase,
            Some("AUTHN" | "AUTHZ" | "STATS" | "UNSPECIFIED_PHASE")
        ),
        "{}: phase {phase:?}",
        doc.what()
    );
}

/// A ConfigMap holding a microwaf configuration: it parses, has a `waypoint:` section, and
/// its certificate settings load as microwaf's `CertsConfig`.
fn check_config_map(doc: &Doc) -> bool {
    let Some(text) = str_at(&doc.value, &["data", "microwaf.yaml"]) else {
        return false;
    };
    let config: Value = serde_yaml_ng::from_str(text)
        .unwrap_or_else(|e| panic!("{}: microwaf.yaml: {e}", doc.what()));
    let waypoint = config
        .get("waypoint")
        .filter(|w| w.is_mapping())
        .unwrap_or_else(|| panic!("{}: microwaf.yaml has no waypoint section", doc.what()));
    let certs: CertsConfig = serde_yaml_ng::from_value(waypoint["certs"].clone())
        .unwrap_or_else(|e| panic!("{}: waypoint.certs: {e}", doc.what()));
    if let CertsConfig::Ca(ca) = certs {
        let ns = doc.value["metadata"]["namespace"].as_str().unwrap_or("");
        assert!(
            ca.identity.contains(&format!("/ns/{ns}/sa/")),
            "{}: identity {} is not in namespace {ns}",
            doc.what(),
            ca.identity
        );
    }
    load_through_the_real_loader(doc, config);
    true
}

/// Keys whose values are files (or, for `module_cache`, a directory) the pod mounts.
const PATH_KEYS: [&str; 7] = [
    "cert",
    "key",
    "root",
    "token_file",
    "code",
    "file",
    "module_cache",
];

/// Loads the ConfigMap's configuration with microwaf's own loader, so a key that drifts from
/// the schema fails here: the pod's absolute paths are moved under a temporary directory
/// holding placeholder files (the loader checks that files exist, and that a module starts like
/// one, not what they hold).
fn load_through_the_real_loader(doc: &Doc, mut config: Value) {
    fn relocate(v: &mut Value, dir: &std::path::Path) {
        match v {
            Value::Mapping(m) => {
                for (k, v) in m.iter_mut() {
                    let key = k.as_str().unwrap_or("");
                    match v.as_str() {
                        Some(p) if PATH_KEYS.contains(&key) && p.starts_with('/') => {
                            let rel = p.trim_start_matches('/').to_owned();
                            if key != "module_cache" {
                                let file = dir.join(&rel);
                                std::fs::create_dir_all(file.parent().unwrap()).unwrap();
                                let content: &[u8] = if rel.ends_with(".wasm") {
                                    b"\0asm\x01\0\0\0"
                                } else {
                                    b"placeholder"
                                };
                                std::fs::write(&file, content).unwrap();
                            }
                            *v = Value::String(rel);
                        }
                        _ => relocate(v, dir),
                    }
                }
            }
            Value::Sequence(s) => s.iter_mut().for_each(|v| relocate(v, dir)),
            _ => {}
        }
    }
    let dir = std::env::temp_dir().join(format!(
        "microwaf-k8s-{}-{}",
        doc.name(),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    relocate(&mut config, &dir);
    let text = serde_yaml_ng::to_string(&config).unwrap();
    let loaded = microwaf_proxy::config::parse(&text, "microwaf.yaml", &dir)
        .unwrap_or_else(|e| panic!("{}: microwaf.yaml does not load: {e}", doc.what()));
    let w = loaded
        .waypoint
        .as_ref()
        .unwrap_or_else(|| panic!("{}: no waypoint", doc.what()));
    assert!(w.certs.is_some() && w.discovery.is_some(), "{}", doc.what());
    assert!(
        loaded.admin.is_none_or(|a| a.ip().is_loopback()),
        "{}: the admin server must stay on localhost in a waypoint",
        doc.what()
    );
    if config.get("module_cache").is_some() {
        assert!(loaded.module_cache.is_some(), "{}", doc.what());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn k8s_manifests_have_the_fields_each_kind_needs() {
    let all = docs();
    let mut kinds = BTreeSet::new();
    let mut configs = 0;
    let mut pods = 0;
    for doc in &all {
        let v = &doc.value;
        for (field, value) in [
            ("apiVersion", v["apiVersion"].as_str()),
            ("kind", v["kind"].as_str()),
            ("metadata.name", v["metadata"]["name"].as_str()),
        ] {
            assert!(
                value.is_some_and(|s| !s.is_empty()),
                "{}: {field}",
                doc.file
            );
        }
        kinds.insert(doc.kind().to_owned());
        match doc.kind() {
            "Gateway" => pods += check_gateway(doc, &all),
            "Deployment" => {
                check_pod(&doc.what(), &v["spec"]["template"]["spec"], &all);
                pods += 1;
            }
            "Pod" => {
                check_pod(&doc.what(), &v["spec"], &all);
                pods += 1;
            }
            "WasmPlugin" => {
                assert_eq!(
                    v["apiVersion"].as_str(),
                    Some("extensions.istio.io/v1alpha1")
                );
                check_wasm_plugin(doc, &all);
            }
            "ConfigMap" => configs += usize::from(check_config_map(doc)),
            _ => {}
        }
    }
    for kind in ["Gateway", "ConfigMap", "WasmPlugin"] {
        assert!(kinds.contains(kind), "no {kind} in docs/k8s");
    }
    assert!(configs >= 1, "no ConfigMap with a microwaf.yaml");
    assert!(
        pods >= 1,
        "no microwaf pod spec (Deployment or Gateway parameters)"
    );
}
