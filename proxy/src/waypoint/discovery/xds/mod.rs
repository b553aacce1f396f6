//! Workload discovery from the mesh control plane: the delta-xDS stream ztunnel consumes
//! (`DeltaAggregatedResources`, resources of type `istio.workload.Address`).
//!
//! One long-lived gRPC stream: the client subscribes (wildcard) with its node id, the server
//! sends deltas (added/updated and removed resources), the client applies each to its
//! [`state::State`], publishes a new [`Registry`](super::Registry), and ACKs the nonce; a
//! response that does not decode or validate is NACKed with the reason and the old state kept.
//! When the stream breaks the client reconnects with exponential backoff, telling the server
//! what it already holds (`initial_resource_versions`), and keeps serving the last registry in
//! the meantime. The waypoint is ready once the first response was applied.

pub mod connect;
pub mod grpc;
pub mod proto;
pub mod state;

#[cfg(any(test, feature = "test-support"))]
pub mod fake;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::time::Duration;

use prost::Message;

use super::Publisher;
use connect::Target;
use grpc::{encode, GrpcError, Messages};
use proto::{DeltaDiscoveryRequest, DeltaDiscoveryResponse, Node, Status, ADDRESS_TYPE_URL};
use state::State;

/// Why one stream ended (logged, then the client reconnects).
#[derive(Debug, thiserror::Error)]
pub enum XdsError {
    #[error("connecting: {0}")]
    Connect(String),
    #[error("HTTP/2: {0}")]
    Http(String),
    #[error("{0}")]
    Grpc(#[from] GrpcError),
    #[error("undecodable DeltaDiscoveryResponse: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error("token file {file}: {source}")]
    Token {
        file: String,
        source: std::io::Error,
    },
    #[error("the control plane ended the stream")]
    Ended,
    #[error("timed out connecting after {0:?}")]
    Timeout(Duration),
}

/// Reconnect delays: doubling from `MIN_BACKOFF` to `MAX_BACKOFF`, back to the minimum once a
/// stream delivered a response (a control plane restart then costs one short wait).
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(15);

/// gRPC `INVALID_ARGUMENT`, the code a NACK carries.
const INVALID_ARGUMENT: i32 = 3;

/// The client, ready to run.
pub struct XdsClient {
    pub target: Target,
    pub node: Node,
    /// Read at every connection: projected service-account tokens rotate.
    pub token_file: Option<PathBuf>,
    publisher: Publisher,
    state: State,
}

impl XdsClient {
    pub fn new(
        target: Target,
        node: Node,
        token_file: Option<PathBuf>,
        publisher: Publisher,
    ) -> Self {
        XdsClient {
            target,
            node,
            token_file,
            publisher,
            state: State::default(),
        }
    }

    /// Streams forever, reconnecting with backoff.
    pub async fn run(mut self) {
        let mut backoff = MIN_BACKOFF;
        loop {
            let mut applied = false;
            let result = self.stream(&mut applied).await;
            self.publisher.metrics().connected.set(0);
            if applied {
                backoff = MIN_BACKOFF;
            }
            let e = match result {
                Ok(never) => match never {},
                Err(e) => e,
            };
            tracing::warn!(
                "workload discovery from {}: {e}; reconnecting in {backoff:?} ({} resources kept)",
                self.target.authority,
                self.state.len()
            );
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// One stream, until it fails. `applied` is set once a response was applied.
    async fn stream(&mut self, applied: &mut bool) -> Result<std::convert::Infallible, XdsError> {
        let token = match &self.token_file {
            Some(f) => Some(read_token(f)?),
            None => None,
        };
        let first = DeltaDiscoveryRequest {
            node: Some(self.node.clone()),
            type_url: ADDRESS_TYPE_URL.into(),
            initial_resource_versions: self.state.versions(),
            ..Default::default()
        };
        let timeout = self.target.connect_timeout;
        let call = tokio::time::timeout(
            timeout,
            connect::call(&self.target, token.as_deref(), encode(&first)),
        )
        .await
        .map_err(|_| XdsError::Timeout(timeout))??;
        tracing::info!(
            "workload discovery stream open to {}",
            self.target.authority
        );
        self.publisher.metrics().connected.set(1);
        let mut requests = call.requests;
        let mut responses = Messages::new(call.responses);
        loop {
            let Some(bytes) = responses.next().await? else {
                return Err(XdsError::Ended);
            };
            let response = DeltaDiscoveryResponse::decode(bytes)?;
            let reply = self.handle(&response);
            if reply.error_detail.is_none() {
                *applied = true;
            } else {
                self.publisher.metrics().nacks.inc();
            }
            requests
                .send_data(encode(&reply))
                .await
                .map_err(|_| XdsError::Http("request stream closed".into()))?;
        }
    }

    /// Applies one response and returns its ACK, or its NACK when it is rejected.
    fn handle(&mut self, response: &DeltaDiscoveryResponse) -> DeltaDiscoveryRequest {
        let mut reply = DeltaDiscoveryRequest {
            type_url: ADDRESS_TYPE_URL.into(),
            response_nonce: response.nonce.clone(),
            ..Default::default()
        };
        let result = if response.type_url != ADDRESS_TYPE_URL {
            Err(format!("unexpected type_url {:?}", response.type_url))
        } else {
            self.state.apply(response).map_err(|e| e.to_string())
        };
        match result {
            Ok(()) => {
                let registry = self.state.registry();
                tracing::debug!(
                    nonce = %response.nonce,
                    added = response.resources.len(),
                    removed = response.removed_resources.len(),
                    services = registry.by_host.len(),
                    workloads = registry.workloads.len(),
                    "workload discovery update applied"
                );
                self.publisher.publish(registry);
            }
            Err(message) => {
                tracing::warn!(
                    nonce = %response.nonce,
                    "workload discovery update rejected, keeping the previous state: {message}"
                );
                reply.error_detail = Some(Status {
                    code: INVALID_ARGUMENT,
                    message,
                    details: vec![],
                });
            }
        }
        reply
    }
}

fn read_token(file: &std::path::Path) -> Result<String, XdsError> {
    std::fs::read_to_string(file)
        .map(|t| t.trim().to_owned())
        .map_err(|source| XdsError::Token {
            file: file.display().to_string(),
            source,
        })
}
