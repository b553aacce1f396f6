//! The immutable snapshot a connection is served with. Reload builds a new [`State`] and swaps
//! it in; connections accepted earlier keep the one they started with.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::http::filter::HttpFilterFactory;
use crate::http::service::{Clusters, HttpConnManager};
use crate::tcp::TcpProxy;

/// Everything the data plane needs, built from a validated configuration.
#[derive(Default)]
pub struct State {
    pub listeners: HashMap<String, Arc<ListenerState>>,
    pub clusters: Arc<Clusters>,
    /// Every loaded plugin (singletons and filters), kept alive with the state; `/metrics`
    /// reads their filter-defined metrics.
    pub plugins: Vec<Arc<dyn HttpFilterFactory>>,
    /// The waypoint's filters and access log for this generation, when in waypoint mode.
    pub waypoint: Option<Arc<crate::waypoint::WaypointState>>,
}

/// One listener's settings.
pub struct ListenerState {
    pub name: Arc<str>,
    pub address: SocketAddr,
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub kind: ListenerKind,
    /// `metadata.filter_metadata`, served to filters as `xds.listener_metadata`.
    pub metadata: Arc<crate::config::Metadata>,
}

pub enum ListenerKind {
    Http(Arc<HttpConnManager>),
    Tcp(Arc<TcpProxy>),
}
