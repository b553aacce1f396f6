//! The certificate and discovery sources a configuration names (`waypoint.certs`,
//! `waypoint.discovery`), started together and owned by the [`Waypoint`](super::Waypoint):
//! their tasks (file watchers, the CA renewal loop, the xDS client) stop when it is dropped,
//! and a reload that changes either setting starts the new source on the *same* certificate
//! store and discovery channel before stopping the old one, so open tunnels and the data
//! plane's handles are untouched.

use std::path::Path;
use std::sync::Arc;

use tokio::task::JoinHandle;

use super::certs::{self, CertStore, CertsConfig};
use super::discovery::{self, Discovery, DiscoveryConfig, Publisher};
use super::server::{MeshSources, WaypointError};
use crate::config::WaypointConfig;

/// Running sources and the settings they were started from.
pub struct ConfiguredSources {
    certs_cfg: CertsConfig,
    discovery_cfg: DiscoveryConfig,
    certs_task: JoinHandle<()>,
    discovery_task: JoinHandle<()>,
    /// Kept so a restarted discovery source publishes to the channel the data plane reads.
    publisher: Publisher,
}

/// Paths in [`WaypointConfig`] are absolute (the loader resolved them), so the sources need no
/// base directory of their own.
fn base() -> &'static Path {
    Path::new("")
}

impl ConfiguredSources {
    /// Starts both sources: returns once certificates are loaded (and a discovery file is
    /// read); the xDS client publishes after its first response.
    /// The discovery metrics are registered in `registry`.
    pub async fn start(
        w: &WaypointConfig,
        registry: &mut prometheus_client::registry::Registry,
    ) -> Result<(MeshSources, Self), WaypointError> {
        let certs_cfg = w.certs.clone().ok_or(WaypointError::NoCerts)?;
        let discovery_cfg = w.discovery.clone().ok_or(WaypointError::NoDiscovery)?;
        let (store, certs_task) = certs::start(&certs_cfg, base()).await?;
        let (publisher, discovery) = Discovery::channel();
        publisher.metrics().register(registry);
        let discovery_task = match discovery::start(&discovery_cfg, base(), publisher.clone()).await
        {
            Ok(t) => t,
            Err(e) => {
                certs_task.abort();
                return Err(e.into());
            }
        };
        let running = Self {
            certs_cfg,
            discovery_cfg,
            certs_task,
            discovery_task,
            publisher,
        };
        Ok((
            MeshSources {
                certs: store,
                discovery,
            },
            running,
        ))
    }

    /// Follows a reloaded configuration: a changed source is started anew (on `store` and the
    /// existing discovery channel) and only then the old one stopped. A setting removed from
    /// the configuration keeps the running source (the waypoint cannot run without one). On
    /// error the old sources keep running.
    pub async fn reconfigure(
        &mut self,
        w: &WaypointConfig,
        store: &Arc<CertStore>,
    ) -> Result<(), WaypointError> {
        if let Some(c) = w.certs.as_ref().filter(|c| **c != self.certs_cfg) {
            let task = certs::restart(c, base(), store).await?;
            std::mem::replace(&mut self.certs_task, task).abort();
            self.certs_cfg = c.clone();
            tracing::info!("waypoint certificate source replaced");
        }
        if let Some(d) = w.discovery.as_ref().filter(|d| **d != self.discovery_cfg) {
            let task = discovery::start(d, base(), self.publisher.clone()).await?;
            std::mem::replace(&mut self.discovery_task, task).abort();
            self.discovery_cfg = d.clone();
            tracing::info!("waypoint discovery source replaced");
        }
        Ok(())
    }
}

impl Drop for ConfiguredSources {
    fn drop(&mut self) {
        self.certs_task.abort();
        self.discovery_task.abort();
    }
}
