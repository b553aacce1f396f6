//! `envoy.extensions.wasm.v3.PluginConfig` → [`WasmPlugin`]: the `config` of the HTTP and
//! network wasm filters and of `envoy.bootstrap.wasm` services.

use std::collections::BTreeMap;

use super::typed::type_name;
use super::value::{base64_bytes, At, Fields, Obj};
use crate::config::error::{FieldError, FieldResult};
use crate::config::files::Resolver;
use crate::config::model::WasmPlugin;

/// Envoy runtime names; we run every module on Wasmtime whatever the file asked for.
const RUNTIMES: [&str; 5] = [
    "envoy.wasm.runtime.v8",
    "envoy.wasm.runtime.wasmtime",
    "envoy.wasm.runtime.wamr",
    "envoy.wasm.runtime.wavm",
    "envoy.wasm.runtime.null",
];

/// The wasm filter message (`envoy.extensions.filters.{http,network}.wasm.v3.Wasm`):
/// `{config: PluginConfig}`.
pub fn filter(msg: &Obj, files: &Resolver) -> FieldResult<WasmPlugin> {
    msg.fields(&Fields {
        known: &["config"],
        cosmetic: &[],
        ignored: &[],
        effect: "changes plugin behaviour",
    })?;
    plugin(&msg.req("config")?, files, false)
}

/// Parses a `PluginConfig` at `at`.
pub fn plugin(at: &At, files: &Resolver, singleton: bool) -> FieldResult<WasmPlugin> {
    let o = at.obj()?;
    o.fields(&Fields {
        known: &[
            "name",
            "root_id",
            "configuration",
            "vm_config",
            "fail_open",
            "failure_policy",
        ],
        cosmetic: &[],
        ignored: &[],
        effect: "changes plugin behaviour",
    })?;
    let vm = o.req("vm_config")?.obj()?;
    vm.fields(&Fields {
        known: &[
            "vm_id",
            "runtime",
            "code",
            "configuration",
            "environment_variables",
        ],
        cosmetic: &["allow_precompiled", "nack_on_code_cache_miss"],
        ignored: &[],
        effect: "changes plugin behaviour",
    })?;
    if let Some(rt) = vm.get("runtime") {
        let name = rt.str()?;
        if !name.is_empty() && !RUNTIMES.contains(&name) {
            return Err(rt.err(format!(
                "unknown wasm runtime {name:?} (expected one of {})",
                RUNTIMES.join(", ")
            )));
        }
    }
    let code = vm.req("code")?.obj()?;
    code.fields(&Fields {
        known: &["local"],
        cosmetic: &[],
        ignored: &[],
        effect: "only local code is supported",
    })?;
    let local = code.req("local")?;
    let code = local.data_source(files)?;
    crate::config::module::source(&code, local.path(), &o.string("name")?)?;
    let fail_open = match (o.get("fail_open"), o.get("failure_policy")) {
        (Some(f), None) => f.bool()?,
        (None, Some(p)) => p.one_of(&[
            ("FAIL_CLOSED", false),
            ("FAIL_OPEN", true),
            ("FAIL_RELOAD", false),
            ("UNSPECIFIED", false),
        ])?,
        (None, None) => false,
        (Some(_), Some(_)) => return Err(o.err("give `fail_open` or `failure_policy`, not both")),
    };
    Ok(WasmPlugin {
        name: o.string("name")?,
        root_id: o.string("root_id")?,
        vm_id: vm.string("vm_id")?,
        vm_config: vm
            .get("configuration")
            .map(|c| any_bytes(&c))
            .transpose()?
            .unwrap_or_default(),
        plugin_config: o
            .get("configuration")
            .map(|c| any_bytes(&c))
            .transpose()?
            .unwrap_or_default(),
        code,
        env: vm
            .get("environment_variables")
            .map(|e| env(&e))
            .transpose()?
            .unwrap_or_default(),
        fail_open,
        vm_count: singleton.then_some(1),
        singleton,
    })
}

/// The bytes a plugin sees for an `Any` configuration, as Envoy hands them over:
/// `StringValue` → the string, `BytesValue` → the bytes. Anything else (e.g. a
/// `google.protobuf.Struct`) is passed as its JSON text, where Envoy would pass serialized
/// protobuf; an empty `{}` is empty.
fn any_bytes(at: &At) -> FieldResult<Vec<u8>> {
    let o = at.obj()?;
    let Some(url) = o.get("@type") else {
        if o.map.is_empty() {
            return Ok(Vec::new());
        }
        return Err(at.err(
            "configuration needs an `@type` (e.g. type.googleapis.com/google.protobuf.StringValue)",
        ));
    };
    match type_name(url.str()?) {
        "google.protobuf.StringValue" => Ok(o
            .get("value")
            .map(|v| v.str())
            .transpose()?
            .unwrap_or_default()
            .as_bytes()
            .to_vec()),
        "google.protobuf.BytesValue" => o
            .get("value")
            .map(|v| base64_bytes(&v))
            .transpose()
            .map(Option::unwrap_or_default),
        "google.protobuf.Struct" => Ok(o
            .get("value")
            .map(|v| v.v.to_string())
            .unwrap_or_else(|| "{}".into())
            .into_bytes()),
        other => Err(url.err(format!(
            "unsupported configuration type {other:?} (use google.protobuf.StringValue)"
        ))),
    }
}

/// `EnvironmentVariables`: `key_values` as given, `host_env_keys` copied from our environment.
fn env(at: &At) -> FieldResult<BTreeMap<String, String>> {
    let o = at.obj()?;
    o.fields(&Fields {
        known: &["key_values", "host_env_keys"],
        cosmetic: &[],
        ignored: &[],
        effect: "changes plugin behaviour",
    })?;
    let mut out = BTreeMap::new();
    if let Some(kv) = o.get("key_values") {
        for (k, v) in kv.obj()?.map {
            let value = v.as_str().ok_or_else(|| {
                FieldError::new(format!("{}.{k}", kv.path()), "expected a string")
            })?;
            out.insert(k.clone(), value.to_owned());
        }
    }
    if let Some(keys) = o.get("host_env_keys") {
        for key in keys.list()? {
            let name = key.str()?;
            if let Ok(value) = std::env::var(name) {
                out.insert(name.to_owned(), value);
            }
        }
    }
    Ok(out)
}
