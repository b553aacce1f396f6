//! Reload triggering: file changes, SIGHUP and manual triggers publish configurations that
//! load; broken ones are dropped while the old one stays current.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use microwaf_proxy::config::watch::{ConfigWatcher, WatchOptions};
use microwaf_proxy::config::{self, Config};
use tokio::sync::watch;

/// A fresh directory holding `filter.wasm` and a `config.yaml` with admin on `admin_port`.
fn workspace(name: &str, admin_port: u16) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("microwaf-reload-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    std::fs::copy(configs.join("filter.wasm"), dir.join("filter.wasm")).unwrap();
    write_config(&dir, admin_port);
    dir
}

fn write_config(dir: &Path, admin_port: u16) {
    let native =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/native.yaml"))
            .unwrap();
    let text = native.replace(
        "admin: 127.0.0.1:9901",
        &format!("admin: 127.0.0.1:{admin_port}"),
    );
    std::fs::write(dir.join("config.yaml"), text).unwrap();
}

fn start(dir: &Path, options: WatchOptions) -> (ConfigWatcher, watch::Receiver<Arc<Config>>) {
    let path = dir.join("config.yaml");
    let initial = Arc::new(config::load(&path).unwrap());
    let watcher = ConfigWatcher::spawn(&path, initial, options).unwrap();
    let rx = watcher.subscribe();
    (watcher, rx)
}

fn polling() -> WatchOptions {
    WatchOptions {
        poll: Some(Duration::from_millis(20)),
        sighup: false,
    }
}

async fn next(rx: &mut watch::Receiver<Arc<Config>>) -> Arc<Config> {
    tokio::time::timeout(Duration::from_secs(10), rx.changed())
        .await
        .expect("no reload published")
        .unwrap();
    rx.borrow_and_update().clone()
}

fn admin_port(c: &Config) -> u16 {
    c.admin.unwrap().port()
}

#[tokio::test]
async fn file_change_publishes_the_new_config() {
    let dir = workspace("change", 9901);
    let (_watcher, mut rx) = start(&dir, polling());
    assert_eq!(admin_port(&rx.borrow_and_update()), 9901);
    write_config(&dir, 9902);
    assert_eq!(admin_port(&*next(&mut rx).await), 9902);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn broken_config_is_skipped_and_the_old_one_stays() {
    let dir = workspace("broken", 9901);
    let (_watcher, mut rx) = start(&dir, polling());
    rx.borrow_and_update();
    std::fs::write(dir.join("config.yaml"), "listeners: [ {\n").unwrap();
    // Long enough for many polls of the broken file; nothing may be published.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!rx.has_changed().unwrap(), "a broken config was published");
    assert_eq!(admin_port(&rx.borrow()), 9901);
    write_config(&dir, 9903);
    assert_eq!(admin_port(&*next(&mut rx).await), 9903);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn manual_trigger_reloads_unchanged_file() {
    let dir = workspace("trigger", 9901);
    let options = WatchOptions {
        poll: None,
        sighup: false,
    };
    let (watcher, mut rx) = start(&dir, options);
    rx.borrow_and_update();
    watcher.trigger();
    assert_eq!(admin_port(&*next(&mut rx).await), 9901);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn sighup_reloads() {
    let dir = workspace("sighup", 9901);
    let options = WatchOptions {
        poll: None,
        sighup: true,
    };
    let (_watcher, mut rx) = start(&dir, options);
    rx.borrow_and_update();
    // Without polling, only the signal can bring the new content in.
    write_config(&dir, 9904);
    let status = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(admin_port(&*next(&mut rx).await), 9904);
    std::fs::remove_dir_all(&dir).unwrap();
}
