//! The proxy under test as a child process: `microwaf serve` with a generated configuration,
//! so its CPU time and memory are its own in `/proc`.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use super::hbone::HboneTarget;
use super::load;
use super::waypoint::WaypointSetup;
use super::{FilterSpec, Protocol};

/// How the child is started.
#[derive(Debug, Clone)]
pub struct ChildSpec<'a> {
    /// The `microwaf` executable.
    pub exe: &'a Path,
    pub protocol: Protocol,
    pub upstream: SocketAddr,
    pub filters: &'a [FilterSpec],
    pub workers: usize,
    /// Where the configuration and the child's log go.
    pub dir: &'a Path,
    /// Names the files in `dir`.
    pub name: &'a str,
    /// Run as an ambient waypoint (HBONE in, the filters on the HTTP inside tunnels) instead
    /// of an HTTP listener.
    pub waypoint: Option<&'a WaypointSetup>,
}

#[derive(Debug, thiserror::Error)]
pub enum ChildError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("the proxy ({name}) exited with {status} before it was ready; its log:\n{log}")]
    Exited {
        name: String,
        status: std::process::ExitStatus,
        log: String,
    },
    #[error("the proxy ({name}) was not ready after {secs} s; its log:\n{log}")]
    NotReady {
        name: String,
        secs: u64,
        log: String,
    },
}

fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ChildError {
    let what = what.into();
    move |source| ChildError::Io { what, source }
}

/// A running proxy child. Dropping it kills the child.
pub struct ProxyChild {
    child: Child,
    name: String,
    addr: SocketAddr,
    log: PathBuf,
    /// How the load generator reaches a waypoint child: tunnels to `addr` for `dest`.
    hbone: Option<(HboneTarget, SocketAddr)>,
}

/// A free port on loopback. Another process could take it before the child binds it; the
/// readiness check then fails with the child's "address in use" log instead of hanging.
pub fn free_port() -> std::io::Result<SocketAddr> {
    TcpListener::bind("127.0.0.1:0")?.local_addr()
}

/// The native configuration for one child: one listener, one cluster, the filters in order.
pub fn config_yaml(listen: SocketAddr, spec: &ChildSpec<'_>) -> String {
    let filters: Vec<_> = spec
        .filters
        .iter()
        .enumerate()
        .map(|(i, f)| {
            json!({
                "name": format!("filter{i}"),
                "code": f.path,
                "config": f.config,
            })
        })
        .collect();
    let codec = if spec.protocol.is_h2() {
        "http2"
    } else {
        "http1"
    };
    let doc = json!({
        "listeners": [{
            "name": "bench",
            "address": listen.to_string(),
            "codec": codec,
            "filters": filters,
            "routes": [{"prefix": "/", "cluster": "upstream"}],
        }],
        "clusters": [{
            "name": "upstream",
            "endpoints": [spec.upstream.to_string()],
            "http2": spec.protocol.is_h2(),
        }],
    });
    serde_yaml_ng::to_string(&doc).expect("a JSON value always serializes to YAML")
}

impl ProxyChild {
    /// Writes the configuration and starts `exe serve`; see [`ProxyChild::wait_ready`].
    pub fn start(spec: &ChildSpec<'_>) -> Result<Self, ChildError> {
        let addr = free_port().map_err(io_err("picking a port"))?;
        let config = spec.dir.join(format!("{}.yaml", spec.name));
        let yaml = match spec.waypoint {
            Some(w) => w.config_yaml(addr, spec.filters),
            None => config_yaml(addr, spec),
        };
        // A module cache, as a deployment has: every round after the first loads the filters
        // precompiled, so the proxy measured never holds a compiler's pages.
        let cache =
            serde_yaml_ng::to_string(&json!({ "module_cache": spec.dir.join("module-cache") }))
                .expect("a JSON value always serializes to YAML");
        let yaml = format!("{cache}{yaml}");
        std::fs::write(&config, yaml).map_err(io_err(format!("writing {}", config.display())))?;
        let log = spec.dir.join(format!("{}.log", spec.name));
        let out =
            std::fs::File::create(&log).map_err(io_err(format!("creating {}", log.display())))?;
        let err = out
            .try_clone()
            .map_err(io_err("duplicating the log file"))?;
        let child = Command::new(spec.exe)
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .arg("--workers")
            .arg(spec.workers.max(1).to_string())
            // Warnings only: per-request logging would be measured as proxy cost.
            .env("MICROWAF_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(io_err(format!("starting {} serve", spec.exe.display())))?;
        Ok(Self {
            child,
            name: spec.name.to_string(),
            addr,
            log,
            hbone: spec.waypoint.map(|w| (w.target(addr), w.vip())),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address the load generator's requests name (the VIP behind a waypoint, else the
    /// listener) and the tunnels that carry them, if any.
    pub fn load_target(&self) -> (SocketAddr, Option<&HboneTarget>) {
        match &self.hbone {
            Some((t, dest)) => (*dest, Some(t)),
            None => (self.addr, None),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The child's log so far (its last 4 KiB).
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let start = text.len().saturating_sub(4096);
        let start = (start..text.len())
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        text[start..].to_string()
    }

    /// Waits until a request through the proxy gets an HTTP response (any status: a blocking
    /// filter may answer 403), the child exits, or `timeout` passes.
    pub async fn wait_ready(
        &mut self,
        protocol: Protocol,
        timeout: Duration,
    ) -> Result<(), ChildError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self
                .child
                .try_wait()
                .map_err(io_err("waiting for the proxy"))?
            {
                return Err(ChildError::Exited {
                    name: self.name.clone(),
                    status,
                    log: self.log_tail(),
                });
            }
            let (addr, hbone) = self.load_target();
            // A waypoint answers CONNECT with 503 until its discovery has synced.
            if load::probe(addr, protocol, hbone).await.is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(ChildError::NotReady {
                    name: self.name.clone(),
                    secs: timeout.as_secs(),
                    log: self.log_tail(),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`.
    pub fn stop(mut self, grace: Duration) {
        self.terminate(grace);
    }

    fn terminate(&mut self, grace: Duration) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: kill(2) with a pid we spawned and have not reaped (try_wait said it is
            // running), so the pid cannot have been reused.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ProxyChild {
    fn drop(&mut self) {
        self.terminate(Duration::from_secs(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_config_loads_as_native() {
        let dir = std::env::temp_dir().join(format!("microwaf-bench-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let wasm = dir.join("f.wasm");
        std::fs::write(&wasm, b"\0asm\x01\0\0\0").unwrap();
        let filters = [FilterSpec {
            path: wasm.clone(),
            config: "{\"mode\": \"alert\"}\nwith: 'quotes'".into(),
        }];
        let spec = ChildSpec {
            exe: Path::new("microwaf"),
            protocol: Protocol::Grpc,
            upstream: "127.0.0.1:9".parse().unwrap(),
            filters: &filters,
            workers: 1,
            dir: &dir,
            name: "t",
            waypoint: None,
        };
        let yaml = config_yaml("127.0.0.1:8".parse().unwrap(), &spec);
        let cfg = crate::config::parse(&yaml, "t.yaml", &dir).unwrap();
        let dump = serde_json::to_value(&cfg).unwrap();
        let listener = &dump["listeners"][0];
        assert_eq!(listener["address"], "127.0.0.1:8");
        let http = &listener["kind"]["http"];
        assert_eq!(http["codec"], "http2");
        assert_eq!(
            http["http_filters"][0]["plugin_config"], "{\"mode\": \"alert\"}\nwith: 'quotes'",
            "plugin configuration passed verbatim"
        );
        let cluster = &dump["clusters"][0];
        assert_eq!(cluster["endpoints"][0]["port"], 9);
        assert_eq!(cluster["http2"], true);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
