//! The `microwaf` binary for tests that run it as a user would (`run`, `compile`, `scan`,
//! `bench`, signals). `cargo test -p microwaf-tests` builds the proxy's library for the tests
//! but not its binary, so the first caller builds it once for this build profile (a no-op when
//! it is up to date); every later call returns the same path.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The path of the `microwaf` binary of this test's target dir and profile.
pub fn microwaf() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        // target/<profile>/deps/integration-<hash> → target/<profile>
        let profile_dir = exe
            .parent()
            .and_then(|d| d.parent())
            .expect("target layout");
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build
            .args([
                "build",
                "--quiet",
                "-p",
                "microwaf-proxy",
                "--bin",
                "microwaf",
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if release {
            build.arg("--release");
        }
        let status = build.status().expect("running cargo build");
        assert!(status.success(), "building the microwaf binary failed");
        let bin = profile_dir.join(format!("microwaf{}", std::env::consts::EXE_SUFFIX));
        assert!(bin.exists(), "{} missing after the build", bin.display());
        bin
    })
}
