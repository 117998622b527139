//! The exporter's Kafka client: the few admin requests it needs (Metadata, ListOffsets, ListGroups,
//! DescribeGroups, OffsetFetch, FindCoordinator), encoded with the `kafka-protocol` crate and sent over tokio
//! connections (plain or TLS, optionally SASL PLAIN / SCRAM), one pipelined connection per broker.
//!
//! It batches nothing by itself and never retries: the collector decides what goes into a request and what a
//! failure means. Every request is counted per API, so a scrape's cost in requests can be shown.

mod connection;
#[cfg(test)]
mod connection_tests;
mod error;
pub mod sasl;
pub mod tls;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, DescribeGroupsRequest, DescribeGroupsResponse,
    FindCoordinatorRequest, FindCoordinatorResponse, ListGroupsRequest, ListGroupsResponse, ListOffsetsRequest,
    ListOffsetsResponse, MetadataRequest, MetadataResponse, OffsetFetchRequest, OffsetFetchResponse,
    SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Message};

pub use connection::Connection;
pub use error::{error_name, KafkaError};

/// A request this client sends, with its response type.
pub trait KafkaRequest: Encodable + HeaderVersion + Message + Send + Sync {
    /// The API key.
    const KEY: ApiKey;
    /// The API's name, for messages and counters.
    const NAME: &'static str;
    /// The response.
    type Response: Decodable + HeaderVersion + Send;
}

macro_rules! kafka_request {
    ($request:ty, $response:ty, $key:expr, $name:literal) => {
        impl KafkaRequest for $request {
            const KEY: ApiKey = $key;
            const NAME: &'static str = $name;
            type Response = $response;
        }
    };
}

kafka_request!(ApiVersionsRequest, ApiVersionsResponse, ApiKey::ApiVersions, "ApiVersions");
kafka_request!(SaslHandshakeRequest, SaslHandshakeResponse, ApiKey::SaslHandshake, "SaslHandshake");
kafka_request!(SaslAuthenticateRequest, SaslAuthenticateResponse, ApiKey::SaslAuthenticate, "SaslAuthenticate");
kafka_request!(MetadataRequest, MetadataResponse, ApiKey::Metadata, "Metadata");
kafka_request!(ListOffsetsRequest, ListOffsetsResponse, ApiKey::ListOffsets, "ListOffsets");
kafka_request!(ListGroupsRequest, ListGroupsResponse, ApiKey::ListGroups, "ListGroups");
kafka_request!(DescribeGroupsRequest, DescribeGroupsResponse, ApiKey::DescribeGroups, "DescribeGroups");
kafka_request!(OffsetFetchRequest, OffsetFetchResponse, ApiKey::OffsetFetch, "OffsetFetch");
kafka_request!(FindCoordinatorRequest, FindCoordinatorResponse, ApiKey::FindCoordinator, "FindCoordinator");

/// The APIs whose requests are counted (`kafka_exporter_kafka_requests_total{api}`).
pub const COUNTED_APIS: [&str; 7] =
    ["Metadata", "ListOffsets", "ListGroups", "DescribeGroups", "OffsetFetch", "FindCoordinator", "ApiVersions"];

/// How the client reaches the cluster.
#[derive(Clone)]
pub struct ClientSettings {
    /// `host:port` of the bootstrap brokers.
    pub bootstrap: Vec<String>,
    /// The client id of every request (kafka_exporter's is `kafka_exporter`).
    pub client_id: String,
    /// How long one request may take, connecting included.
    pub request_timeout: Duration,
    /// TLS, when the cluster needs it.
    pub tls: Option<tls::TlsSettings>,
    /// SASL, when the cluster needs it.
    pub sasl: Option<sasl::SaslSettings>,
}

impl std::fmt::Debug for ClientSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSettings")
            .field("bootstrap", &self.bootstrap)
            .field("client_id", &self.client_id)
            .field("request_timeout", &self.request_timeout)
            .field("tls", &self.tls.is_some())
            .field("sasl", &self.sasl.as_ref().map(|s| s.mechanism))
            .finish()
    }
}

/// Requests sent, per API.
#[derive(Debug, Default)]
pub struct RequestCounts {
    counts: [AtomicU64; COUNTED_APIS.len()],
}

impl RequestCounts {
    fn add(&self, api: &str) {
        if let Some(i) = COUNTED_APIS.iter().position(|a| *a == api) {
            self.counts[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// (API name, requests sent so far).
    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        COUNTED_APIS.iter().zip(&self.counts).map(|(api, n)| (*api, n.load(Ordering::Relaxed))).collect()
    }

    /// Requests of every API sent so far.
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|n| n.load(Ordering::Relaxed)).sum()
    }
}

/// One slot per broker address: the open connection, if any. Connecting holds the slot's lock, so concurrent
/// callers for the same broker share one connection attempt.
type Slot = Arc<tokio::sync::Mutex<Option<Arc<Connection>>>>;

/// The client: settings, the open connections and the request counts.
pub struct KafkaClient {
    settings: ClientSettings,
    slots: Mutex<HashMap<String, Slot>>,
    counts: RequestCounts,
}

impl KafkaClient {
    /// A client that connects lazily.
    pub fn new(settings: ClientSettings) -> Self {
        KafkaClient { settings, slots: Mutex::new(HashMap::new()), counts: RequestCounts::default() }
    }

    /// The settings.
    pub fn settings(&self) -> &ClientSettings {
        &self.settings
    }

    /// Requests sent so far.
    pub fn counts(&self) -> &RequestCounts {
        &self.counts
    }

    /// The open connection to `addr`, connecting (and authenticating) when there is none or it broke.
    pub async fn broker(&self, addr: &str) -> Result<Arc<Connection>, KafkaError> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            slots.entry(addr.to_string()).or_default().clone()
        };
        let mut slot = slot.lock().await;
        if let Some(conn) = slot.as_ref().filter(|c| c.is_usable()) {
            return Ok(conn.clone());
        }
        *slot = None;
        self.counts.add("ApiVersions");
        let conn = Arc::new(Connection::open(addr, &self.settings).await?);
        *slot = Some(conn.clone());
        Ok(conn)
    }

    /// Sends `request` to `conn` at `version`, counting it; a timeout or broken stream closes the connection so
    /// that the next request reconnects.
    pub async fn send<R: KafkaRequest>(
        &self,
        conn: &Connection,
        request: &R,
        version: i16,
    ) -> Result<R::Response, KafkaError> {
        self.counts.add(R::NAME);
        conn.send(request, version, self.settings.request_timeout).await
    }

    /// Connects to `addr` and sends `request` built for the highest version in `min..=max` the broker supports.
    pub async fn request<R: KafkaRequest>(
        &self,
        addr: &str,
        min: i16,
        max: i16,
        build: impl FnOnce(i16) -> R,
    ) -> Result<R::Response, KafkaError> {
        let conn = self.broker(addr).await?;
        let version = conn.version::<R>(min, max)?;
        let request = build(version);
        self.send(&conn, &request, version).await
    }

    /// Drops every connection (they close once their last request is answered).
    pub fn close(&self) {
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// `host` of a `host:port` address (IPv6 literals without brackets).
pub fn host_of(addr: &str) -> &str {
    let host = match addr.rfind(':') {
        Some(i) if !addr[..i].is_empty() => &addr[..i],
        _ => addr,
    };
    host.trim_start_matches('[').trim_end_matches(']')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_addresses() {
        assert_eq!(host_of("kafka:9092"), "kafka");
        assert_eq!(host_of("[::1]:9092"), "::1");
        assert_eq!(host_of("10.0.0.1:9093"), "10.0.0.1");
        assert_eq!(host_of("kafka"), "kafka");
    }

    #[test]
    fn counts_per_api() {
        let counts = RequestCounts::default();
        counts.add("ListOffsets");
        counts.add("ListOffsets");
        counts.add("OffsetFetch");
        counts.add("SaslHandshake");
        assert_eq!(counts.total(), 3);
        assert!(counts.snapshot().contains(&("ListOffsets", 2)));
    }
}
