//! The module cache: hits after the first load; corrupt, truncated or foreign files are
//! detected, recompiled and replaced.

use microwaf_runtime::{
    load_precompiled, precompile_to, CacheOutcome, ModuleCache, Runtime, RuntimeConfig,
};
use microwaf_tests::fixtures::{self, Target};

#[test]
fn corrupt_truncated_and_garbage_cache_files_are_recompiled() {
    let dir = std::env::temp_dir().join(format!("microwaf-cache-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let rt = Runtime::new(RuntimeConfig {
        cache_dir: Some(dir.clone()),
        max_instances: 8,
        ..Default::default()
    })
    .unwrap();
    let wasm = std::fs::read(fixtures::wasm("noop", Target::Unknown)).unwrap();
    assert_eq!(rt.precompile("noop", &wasm).unwrap().1, CacheOutcome::Miss);
    assert_eq!(rt.precompile("noop", &wasm).unwrap().1, CacheOutcome::Hit);
    let cache = ModuleCache::new(Some(dir.clone()));
    let path = cache.path_for(rt.wasmtime_engine(), &wasm).unwrap();
    let good = std::fs::read(&path).unwrap();
    let mut flipped = good.clone();
    flipped[good.len() / 2] ^= 0x40;
    let damaged: [Vec<u8>; 4] = [
        good[..good.len() / 2].to_vec(),
        flipped,
        b"not a module at all".to_vec(),
        Vec::new(),
    ];
    for bad in damaged {
        std::fs::write(&path, &bad).unwrap();
        let (module, outcome) = rt.precompile("noop", &wasm).unwrap();
        assert_eq!(outcome, CacheOutcome::Replaced);
        assert!(module
            .exports()
            .any(|e| e.name() == "proxy_abi_version_0_2_1"));
        assert_eq!(
            std::fs::read(&path).unwrap(),
            good,
            "file replaced with a valid artifact"
        );
        assert_eq!(rt.precompile("noop", &wasm).unwrap().1, CacheOutcome::Hit);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_valid_artifact_of_an_incompatible_engine_is_recompiled_and_replaced() {
    let dir = std::env::temp_dir().join(format!("microwaf-stale-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let rt = Runtime::new(RuntimeConfig {
        cache_dir: Some(dir.clone()),
        max_instances: 8,
        ..Default::default()
    })
    .unwrap();
    let wasm = std::fs::read(fixtures::wasm("noop", Target::Unknown)).unwrap();
    let path = ModuleCache::new(Some(dir.clone()))
        .path_for(rt.wasmtime_engine(), &wasm)
        .unwrap();
    // An engine without epoch interruption compiles code the runtime's engine must not run.
    let mut other_cfg = wasmtime::Config::new();
    other_cfg.epoch_interruption(false);
    let other = wasmtime::Engine::new(&other_cfg).unwrap();
    // A well-formed file (our trailer, intact) at exactly the path the runtime will read.
    precompile_to(&other, &wasm, &path).unwrap();
    assert!(
        load_precompiled(&other, &path).is_some(),
        "valid for the engine that wrote it"
    );
    assert!(
        load_precompiled(rt.wasmtime_engine(), &path).is_none(),
        "stale for ours"
    );
    let stale = std::fs::read(&path).unwrap();

    let (module, outcome) = rt.precompile("noop", &wasm).unwrap();
    assert_eq!(outcome, CacheOutcome::Replaced);
    assert!(module
        .exports()
        .any(|e| e.name() == "proxy_abi_version_0_2_1"));
    assert_ne!(std::fs::read(&path).unwrap(), stale, "file rewritten");
    assert!(load_precompiled(rt.wasmtime_engine(), &path).is_some());
    assert_eq!(rt.precompile("noop", &wasm).unwrap().1, CacheOutcome::Hit);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn invalid_wasm_and_non_proxy_wasm_are_clear_errors() {
    let rt = super::harness::runtime();
    let emb = super::harness::FakeEmbedder::new();
    let cfg = microwaf_runtime::PluginConfig::new(
        "garbage",
        microwaf_runtime::WasmSource::Bytes(b"\0asm garbage".to_vec().into()),
    );
    let err = rt.load_plugin(cfg, emb.clone()).err().unwrap().to_string();
    assert!(
        err.contains("garbage") && err.contains("compile failed"),
        "{err}"
    );
    let cfg = microwaf_runtime::PluginConfig::new(
        "missing",
        microwaf_runtime::WasmSource::Path("does/not/exist.wasm".into()),
    );
    let err = rt.load_plugin(cfg, emb).err().unwrap().to_string();
    assert!(
        err.contains("missing") && err.contains("cannot read"),
        "{err}"
    );
}
