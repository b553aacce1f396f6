//! Where the wasm runtime keeps precompiled modules. Every load of the binary goes through the
//! module cache (`serve`, `demo`, reloads, the waypoint, `run`): the configured `module_cache`
//! directory, else the user's cache directory.
//!
//! Why always: a module loaded from the cache is mapped from its file (its code pages are
//! file-backed and shared with the page cache), while compiling it costs Cranelift's scratch
//! heap. Measured 2026-12-07, MicroWAF module, `serve --workers 2`: 99 MB peak RSS when
//! compiling, 25 MB from the cache, for the same 25 MB steady state.

use std::path::{Path, PathBuf};

/// The directory to use: `configured` if given, else [`default_dir`].
pub fn resolve(configured: Option<&Path>) -> Option<PathBuf> {
    configured.map(Path::to_path_buf).or_else(default_dir)
}

/// `$XDG_CACHE_HOME/microwaf/modules`, else `$HOME/.cache/microwaf/modules`, if it can be
/// created and written. `None` (every module compiled in memory, with a warning) when neither
/// is set or usable, e.g. a read-only home in a container: a default must not fail a start the
/// configuration did not ask for. A configured directory is not probed: the runtime reports a
/// broken one as the configuration error it is.
pub fn default_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            let home = std::env::var_os("HOME").filter(|v| !v.is_empty())?;
            Some(PathBuf::from(home).join(".cache"))
        });
    let Some(base) = base else {
        tracing::warn!(
            "no module_cache configured and no HOME: wasm modules are compiled at every load"
        );
        return None;
    };
    let dir = base.join("microwaf").join("modules");
    match probe(&dir) {
        Ok(()) => Some(dir),
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "default module cache unusable: wasm modules are compiled at every load");
            None
        }
    }
}

/// Creates `dir` and a file in it, then removes the file.
fn probe(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let file = dir.join(format!(".probe-{}", std::process::id()));
    std::fs::write(&file, b"")?;
    std::fs::remove_file(&file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_directory_wins_and_is_not_created() {
        let dir = std::env::temp_dir().join(format!("microwaf-mc-{}/nested", std::process::id()));
        assert_eq!(resolve(Some(&dir)), Some(dir.clone()));
        assert!(!dir.exists());
    }

    #[test]
    fn an_unusable_directory_fails_the_probe() {
        let file = std::env::temp_dir().join(format!("microwaf-mc-file-{}", std::process::id()));
        std::fs::write(&file, b"x").unwrap();
        assert!(probe(&file.join("modules")).is_err());
        std::fs::remove_file(&file).unwrap();
    }
}
