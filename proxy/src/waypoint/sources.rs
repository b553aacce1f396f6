//! The certificate and discovery sources a configuration names (`waypoint.certs`,
//! `waypoint.discovery`), started together and owned by the [`Waypoint`](super::Waypoint):
//! their tasks (file watchers, the CA renewal loop, the xDS client) stop when it is dropped,
//! and a reload that changes either setting starts the new source on the *same* certificate
//! store and discovery channel before stopping the old one, so open tunnels and the data
//! plane's handles are untouched.
//!
//! A new source that fails to start leaves the old one running, and the failure is reported
//! where an operator looks: `microwaf_waypoint_reload_failures_total{source}` and a line on
//! the admin `/ready` (which stays 200: traffic is still served), cleared once that source is
//! replaced or the configuration names the running one again.

use std::path::Path;
use std::sync::Arc;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use tokio::task::JoinHandle;

use super::certs::{self, CertStore, CertsConfig};
use super::discovery::{self, Discovery, DiscoveryConfig, Publisher};
use super::server::{MeshSources, WaypointError};
use crate::admin::Readiness;
use crate::config::WaypointConfig;

/// Which source a reload failed to replace.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)] // Label values as exported.
pub enum Source {
    certs,
    discovery,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    source: Source,
}

/// Where reload outcomes are reported: the failure counter and `/ready`'s details.
struct Report {
    failures: Family<SourceLabels, Counter>,
    ready: Readiness,
}

impl Report {
    fn new(registry: &mut prometheus_client::registry::Registry, ready: Readiness) -> Self {
        let failures = Family::default();
        registry
            .sub_registry_with_prefix("microwaf_waypoint")
            .register(
                "reload_failures",
                "Reloads whose new certificate or discovery source failed to start (the previous \
             one kept serving), by source",
                failures.clone(),
            );
        Self { failures, ready }
    }

    /// Records how replacing `source` went; `Ok` also clears an earlier failure.
    fn settle<E: std::fmt::Display>(&self, source: Source, result: Result<(), E>) {
        let component = format!("waypoint {source:?}");
        match result {
            Ok(()) => self.ready.set_detail(&component, None),
            Err(e) => {
                tracing::error!(?source, error = %e, "waypoint source not replaced; keeping the old one");
                self.failures.get_or_create(&SourceLabels { source }).inc();
                let detail = format!("reload failed, the previous source keeps serving: {e}");
                self.ready.set_detail(&component, Some(detail));
            }
        }
    }
}

/// Running sources and the settings they were started from.
pub struct ConfiguredSources {
    certs_cfg: CertsConfig,
    discovery_cfg: DiscoveryConfig,
    certs_task: JoinHandle<()>,
    discovery_task: JoinHandle<()>,
    /// Kept so a restarted discovery source publishes to the channel the data plane reads.
    publisher: Publisher,
    report: Report,
}

/// Paths in [`WaypointConfig`] are absolute (the loader resolved them), so the sources need no
/// base directory of their own.
fn base() -> &'static Path {
    Path::new("")
}

impl ConfiguredSources {
    /// Starts both sources: returns once certificates are loaded (and a discovery file is
    /// read); the xDS client publishes after its first response.
    /// The discovery and reload metrics are registered in `registry`; reload failures are
    /// also reported in `ready`'s details.
    pub async fn start(
        w: &WaypointConfig,
        registry: &mut prometheus_client::registry::Registry,
        ready: Readiness,
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
            report: Report::new(registry, ready),
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
    /// the configuration keeps the running source (the waypoint cannot run without one). Each
    /// source is replaced on its own: one that fails to start keeps the old one running and
    /// is reported (see the module docs).
    pub async fn reconfigure(&mut self, w: &WaypointConfig, store: &Arc<CertStore>) {
        if let Some(c) = &w.certs {
            let result = if *c == self.certs_cfg {
                Ok(())
            } else {
                certs::restart(c, base(), store).await.map(|task| {
                    std::mem::replace(&mut self.certs_task, task).abort();
                    self.certs_cfg = c.clone();
                    tracing::info!("waypoint certificate source replaced");
                })
            };
            self.report.settle(Source::certs, result);
        }
        if let Some(d) = &w.discovery {
            let result = if *d == self.discovery_cfg {
                Ok(())
            } else {
                let started = discovery::start(d, base(), self.publisher.clone()).await;
                started.map(|task| {
                    std::mem::replace(&mut self.discovery_task, task).abort();
                    self.discovery_cfg = d.clone();
                    tracing::info!("waypoint discovery source replaced");
                })
            };
            self.report.settle(Source::discovery, result);
        }
    }
}

impl Drop for ConfiguredSources {
    fn drop(&mut self) {
        self.certs_task.abort();
        self.discovery_task.abort();
    }
}
