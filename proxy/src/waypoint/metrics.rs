//! Tunnel metrics (ztunnel style: registered once by [`TunnelMetrics::new`], enum label values):
//! inbound tunnels opened, active and rejected by reason; outbound HBONE connections and
//! streams. Per-request metrics with the source principal live with the HTTP metrics
//! (`istio_requests_total`, see [`crate::metrics`]).

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Why an inbound CONNECT stream got no tunnel.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum RejectReason {
    NotConnect,
    BadAuthority,
    NotReady,
    UnknownDestination,
}

impl RejectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotConnect => "not_connect",
            Self::BadAuthority => "bad_authority",
            Self::NotReady => "discovery_not_ready",
            Self::UnknownDestination => "unknown_destination",
        }
    }
}

impl EncodeLabelValue for RejectReason {
    fn encode(&self, enc: &mut LabelValueEncoder) -> std::fmt::Result {
        std::fmt::Write::write_str(enc, self.as_str())
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RejectLabels {
    pub reason: RejectReason,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabels {
    pub reporter: &'static str,
    pub source_principal: String,
}

/// Every tunnel metric.
pub struct TunnelMetrics {
    pub inbound_opened: Family<SourceLabels, Counter>,
    pub inbound_active: Gauge,
    pub inbound_rejected: Family<RejectLabels, Counter>,
    pub inbound_tls_failures: Counter,
    pub outbound_connections: Counter,
    pub outbound_connections_active: Gauge,
    pub outbound_streams: Counter,
    pub outbound_streams_active: Gauge,
    /// Istio's TCP names for the same tunnels.
    pub tcp: super::istio_tcp::IstioTcp,
}

impl TunnelMetrics {
    pub fn new(registry: &mut Registry) -> Self {
        let m = Self {
            inbound_opened: Family::default(),
            inbound_active: Gauge::default(),
            inbound_rejected: Family::default(),
            inbound_tls_failures: Counter::default(),
            outbound_connections: Counter::default(),
            outbound_connections_active: Gauge::default(),
            outbound_streams: Counter::default(),
            outbound_streams_active: Gauge::default(),
            tcp: super::istio_tcp::IstioTcp::new(registry),
        };
        let r = registry.sub_registry_with_prefix("microwaf_waypoint");
        r.register(
            "inbound_tunnels",
            "Inbound HBONE tunnels (CONNECT streams) opened, by source principal",
            m.inbound_opened.clone(),
        );
        r.register(
            "inbound_tunnels_active",
            "Inbound HBONE tunnels open now",
            m.inbound_active.clone(),
        );
        r.register(
            "inbound_tunnels_rejected",
            "Inbound CONNECT streams refused, by reason",
            m.inbound_rejected.clone(),
        );
        r.register(
            "inbound_tls_failures",
            "Inbound HBONE connections whose TLS handshake failed",
            m.inbound_tls_failures.clone(),
        );
        r.register(
            "outbound_connections",
            "Outbound HBONE (mTLS HTTP/2) connections opened",
            m.outbound_connections.clone(),
        );
        r.register(
            "outbound_connections_active",
            "Outbound HBONE connections open now",
            m.outbound_connections_active.clone(),
        );
        r.register(
            "outbound_streams",
            "Outbound HBONE CONNECT streams opened",
            m.outbound_streams.clone(),
        );
        r.register(
            "outbound_streams_active",
            "Outbound HBONE CONNECT streams open now",
            m.outbound_streams_active.clone(),
        );
        m
    }

    /// A registry of its own (tests).
    pub fn standalone() -> Self {
        Self::new(&mut Registry::default())
    }

    pub fn rejected(&self, reason: RejectReason) {
        self.inbound_rejected
            .get_or_create(&RejectLabels { reason })
            .inc();
    }
}

/// Decrements a gauge on drop (active tunnels, connections, streams).
pub struct Active(Gauge);

impl Active {
    pub fn new(g: &Gauge) -> Self {
        g.inc();
        Self(g.clone())
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.0.dec();
    }
}
