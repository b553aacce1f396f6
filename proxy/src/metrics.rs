//! Data-plane metrics (ztunnel style): registered once by [`Metrics::new`] with enum label
//! values; the admin server serves the same `Registry`.

use std::fmt::Write as _;
use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::http::body::ProxyBody;
use crate::http::error::{ErrorKind, ProxyError};

#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum CodeClass {
    C1xx,
    C2xx,
    C3xx,
    C4xx,
    C5xx,
}

impl EncodeLabelValue for CodeClass {
    fn encode(&self, enc: &mut LabelValueEncoder) -> std::fmt::Result {
        enc.write_str(match self {
            Self::C1xx => "1xx",
            Self::C2xx => "2xx",
            Self::C3xx => "3xx",
            Self::C4xx => "4xx",
            Self::C5xx => "5xx",
        })
    }
}

impl CodeClass {
    pub fn of(status: u16) -> Self {
        match status {
            0..=199 => Self::C1xx,
            200..=299 => Self::C2xx,
            300..=399 => Self::C3xx,
            400..=499 => Self::C4xx,
            _ => Self::C5xx,
        }
    }
}

#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum FailureReason {
    ConnectFailure,
    Overflow,
    Timeout,
    Reset,
    NoHealthyUpstream,
    Other,
}

impl EncodeLabelValue for FailureReason {
    fn encode(&self, enc: &mut LabelValueEncoder) -> std::fmt::Result {
        enc.write_str(match self {
            Self::ConnectFailure => "connect_failure",
            Self::Overflow => "overflow",
            Self::Timeout => "timeout",
            Self::Reset => "reset",
            Self::NoHealthyUpstream => "no_healthy_upstream",
            Self::Other => "other",
        })
    }
}

impl From<ErrorKind> for FailureReason {
    fn from(k: ErrorKind) -> Self {
        match k {
            ErrorKind::ConnectFailure => Self::ConnectFailure,
            ErrorKind::Overflow => Self::Overflow,
            ErrorKind::Timeout => Self::Timeout,
            ErrorKind::UpstreamReset => Self::Reset,
            ErrorKind::NoHealthyUpstream | ErrorKind::NoCluster => Self::NoHealthyUpstream,
            _ => Self::Other,
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ListenerLabels {
    pub listener: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DownstreamLabels {
    pub listener: String,
    pub code_class: CodeClass,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClusterLabels {
    pub cluster: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamLabels {
    pub cluster: String,
    pub code_class: CodeClass,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FailureLabels {
    pub cluster: String,
    pub reason: FailureReason,
}

/// A response cut after its headers went out, by listener and the cause's response flag.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TruncatedLabels {
    pub listener: String,
    pub cause: &'static str,
}

/// Istio's standard request labels (the subset a waypoint knows without workload metadata).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IstioRequestLabels {
    pub reporter: &'static str,
    pub source_principal: String,
    pub destination_service: String,
    pub response_code: u16,
}

/// Every data-plane metric.
pub struct Metrics {
    pub downstream_rq: Family<DownstreamLabels, Counter>,
    pub downstream_rq_duration: Family<ListenerLabels, Histogram>,
    /// Responses that could not be delivered whole (stream reset / connection closed).
    pub downstream_rq_truncated: Family<TruncatedLabels, Counter>,
    pub downstream_cx_total: Family<ListenerLabels, Counter>,
    pub downstream_cx_active: Family<ListenerLabels, Gauge>,
    pub upstream_rq: Family<UpstreamLabels, Counter>,
    pub upstream_rq_failures: Family<FailureLabels, Counter>,
    pub upstream_rq_duration: Family<ClusterLabels, Histogram>,
    /// `istio_requests_total`, reported for HTTP inside waypoint tunnels.
    pub istio_requests: Family<IstioRequestLabels, Counter>,
}

fn latency_buckets() -> Histogram {
    Histogram::new([
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ])
}

impl Metrics {
    pub fn new(registry: &mut Registry) -> Self {
        let m = Self {
            downstream_rq: Family::default(),
            downstream_rq_duration: Family::new_with_constructor(latency_buckets),
            downstream_rq_truncated: Family::default(),
            downstream_cx_total: Family::default(),
            downstream_cx_active: Family::default(),
            upstream_rq: Family::default(),
            upstream_rq_failures: Family::default(),
            upstream_rq_duration: Family::new_with_constructor(latency_buckets),
            istio_requests: Family::default(),
        };
        // Mesh dashboards query Istio's name as is, without our prefix.
        registry.register(
            "istio_requests",
            "Requests through the waypoint, Istio's standard metric",
            m.istio_requests.clone(),
        );
        let r = registry.sub_registry_with_prefix("microwaf");
        r.register(
            "downstream_rq",
            "Downstream requests by status class",
            m.downstream_rq.clone(),
        );
        r.register(
            "downstream_rq_duration_seconds",
            "Downstream request duration",
            m.downstream_rq_duration.clone(),
        );
        r.register(
            "downstream_rq_truncated",
            "Responses cut after their headers were sent (stream reset or connection closed), by cause flag",
            m.downstream_rq_truncated.clone(),
        );
        r.register(
            "downstream_cx",
            "Downstream connections accepted",
            m.downstream_cx_total.clone(),
        );
        r.register(
            "downstream_cx_active",
            "Open downstream connections",
            m.downstream_cx_active.clone(),
        );
        r.register(
            "upstream_rq",
            "Upstream responses by status class",
            m.upstream_rq.clone(),
        );
        r.register(
            "upstream_rq_failures",
            "Upstream requests that got no response, by reason",
            m.upstream_rq_failures.clone(),
        );
        r.register(
            "upstream_rq_duration_seconds",
            "Time to upstream response headers",
            m.upstream_rq_duration.clone(),
        );
        m
    }

    /// A registry of its own (tests, embedders without an admin server).
    pub fn standalone() -> Self {
        Self::new(&mut Registry::default())
    }

    pub fn downstream_request(&self, listener: &str, status: u16, took: Duration) {
        self.downstream_rq
            .get_or_create(&DownstreamLabels {
                listener: listener.into(),
                code_class: CodeClass::of(status),
            })
            .inc();
        self.downstream_rq_duration
            .get_or_create(&ListenerLabels {
                listener: listener.into(),
            })
            .observe(took.as_secs_f64());
    }

    pub fn response_truncated(&self, listener: &str, cause: &'static str) {
        self.downstream_rq_truncated
            .get_or_create(&TruncatedLabels {
                listener: listener.into(),
                cause,
            })
            .inc();
    }

    pub fn upstream_request(
        &self,
        cluster: &str,
        res: &Result<(http::Response<ProxyBody>, std::net::SocketAddr), ProxyError>,
        took: Duration,
    ) {
        match res {
            Ok((r, _)) => {
                self.upstream_rq
                    .get_or_create(&UpstreamLabels {
                        cluster: cluster.into(),
                        code_class: CodeClass::of(r.status().as_u16()),
                    })
                    .inc();
                self.upstream_rq_duration
                    .get_or_create(&ClusterLabels {
                        cluster: cluster.into(),
                    })
                    .observe(took.as_secs_f64());
            }
            Err(e) => self.upstream_failure(cluster, e.kind),
        }
    }

    pub fn upstream_failure(&self, cluster: &str, kind: ErrorKind) {
        self.upstream_rq_failures
            .get_or_create(&FailureLabels {
                cluster: cluster.into(),
                reason: kind.into(),
            })
            .inc();
    }

    /// One request inside a waypoint tunnel, labelled the way Istio's telemetry does.
    pub fn mesh_request(&self, source_principal: &str, destination_service: &str, status: u16) {
        self.istio_requests
            .get_or_create(&IstioRequestLabels {
                reporter: "waypoint",
                source_principal: source_principal.into(),
                destination_service: destination_service.into(),
                response_code: status,
            })
            .inc();
    }

    /// Counts a connection until the guard drops.
    pub fn connection(&self, listener: &str) -> ConnGuard {
        let l = ListenerLabels {
            listener: listener.into(),
        };
        self.downstream_cx_total.get_or_create(&l).inc();
        let g = self.downstream_cx_active.get_or_create(&l).clone();
        g.inc();
        ConnGuard(g)
    }
}

/// Decrements the active-connection gauge on drop.
pub struct ConnGuard(Gauge);

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}
