//! Which consumer groups a cluster has, and whether a group is active there.
//!
//! On a plaintext cluster a ListGroups request (v4, which reports each group's state) goes to every broker, as
//! Java's `Admin.listConsumerGroups` does. librdkafka's group listing adds a DescribeGroups per group, which some
//! Kafka-compatible brokers fail (tansu 0.6.0 drops the connection, and librdkafka then waits out its whole
//! timeout, once a group is stored in its sqlite engine); it is used only for clusters behind TLS or SASL, which
//! the bare client does not speak.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use connect_api::{Config, ConnectError, Result};
use kafka_protocol::messages::{
    ApiKey, ListGroupsRequest, ListGroupsResponse, MetadataRequest, MetadataResponse, RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, StrBytes};
use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::clients::{self, Cluster, Role};

/// A consumer group as listed by a cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedGroup {
    /// The group id.
    pub name: String,
    /// "consumer" for consumer groups, "connect" for Connect workers, empty for groups that only commit offsets.
    pub protocol_type: String,
    /// The state when the cluster told it ("Empty", "Stable", "Dead", ...); none when it did not.
    pub state: Option<String>,
}

/// Lists groups of one cluster.
pub struct GroupLister {
    client: BaseConsumer,
    plaintext_bootstrap: Option<String>,
    timeout: Duration,
    label: String,
}

impl GroupLister {
    /// A lister of `cluster`'s groups.
    pub fn new(originals: &Config, cluster: Cluster, timeout: Duration) -> Result<GroupLister> {
        let settings = clients::client_settings(originals, cluster, Role::Admin);
        let plaintext = settings.get("security.protocol").is_none_or(|p| p.eq_ignore_ascii_case("plaintext"));
        let client = clients::client_config(originals, cluster, Role::Admin)?
            .create()
            .map_err(|e| clients::creation_error(cluster, Role::Admin, e))?;
        Ok(GroupLister {
            client,
            plaintext_bootstrap: plaintext.then(|| settings.get("bootstrap.servers").cloned()).flatten(),
            timeout,
            label: clients::describe(originals, cluster),
        })
    }

    /// Every group of the cluster (`group` set: only that one, if it exists).
    pub fn list(&self, group: Option<&str>) -> Result<Vec<ListedGroup>> {
        if let Some(bootstrap) = &self.plaintext_bootstrap {
            let groups = list_groups(bootstrap, self.timeout).map_err(|e| self.error(e))?;
            return Ok(groups.into_iter().filter(|g| group.is_none_or(|name| g.name == name)).collect());
        }
        let list = self.client.client().fetch_group_list(group, self.timeout).map_err(|e| self.error(e))?;
        Ok(list
            .groups()
            .iter()
            .filter(|g| g.state() != "Dead" || group.is_some())
            .map(|g| ListedGroup {
                name: g.name().to_string(),
                protocol_type: g.protocol_type().to_string(),
                state: Some(g.state().to_string()),
            })
            .collect())
    }

    fn error(&self, error: impl std::fmt::Display) -> ConnectError {
        ConnectError::retriable(format!("cannot list the consumer groups of the {}: {error}", self.label))
    }
}

/// Lists the groups of every broker of the cluster at `bootstrap` with ListGroups v4.
fn list_groups(bootstrap: &str, timeout: Duration) -> std::result::Result<Vec<ListedGroup>, String> {
    let mut last_error = String::from("no bootstrap server");
    for server in bootstrap.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let brokers = match Connection::open(server, timeout).and_then(|mut c| c.brokers()) {
            Ok(brokers) => brokers,
            Err(e) => {
                last_error = format!("{server}: {e}");
                continue;
            }
        };
        let mut groups = Vec::new();
        for broker in brokers {
            let mut connection = Connection::open(&broker, timeout).map_err(|e| format!("{broker}: {e}"))?;
            groups.extend(connection.groups().map_err(|e| format!("{broker}: {e}"))?);
        }
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        groups.dedup_by(|a, b| a.name == b.name);
        return Ok(groups);
    }
    Err(last_error)
}

struct Connection {
    stream: TcpStream,
    correlation: i32,
}

impl Connection {
    fn open(server: &str, timeout: Duration) -> std::result::Result<Connection, String> {
        let address = server
            .trim_start_matches("PLAINTEXT://")
            .to_socket_addrs()
            .map_err(|e| e.to_string())?
            .next()
            .ok_or("no address")?;
        let stream = TcpStream::connect_timeout(&address, timeout).map_err(|e| e.to_string())?;
        stream.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
        stream.set_write_timeout(Some(timeout)).map_err(|e| e.to_string())?;
        Ok(Connection { stream, correlation: 0 })
    }

    fn call<Q: Encodable + HeaderVersion, S: Decodable + HeaderVersion>(
        &mut self,
        key: ApiKey,
        version: i16,
        request: &Q,
    ) -> std::result::Result<S, String> {
        self.correlation += 1;
        let header = RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(StrBytes::from_static_str("connect-rs-mirror")));
        let mut frame = BytesMut::new();
        frame.put_i32(0);
        header.encode(&mut frame, Q::header_version(version)).map_err(|e| e.to_string())?;
        request.encode(&mut frame, version).map_err(|e| e.to_string())?;
        let size = (frame.len() - 4) as i32;
        frame[..4].copy_from_slice(&size.to_be_bytes());
        self.stream.write_all(&frame).map_err(|e| e.to_string())?;

        let mut size = [0u8; 4];
        self.stream.read_exact(&mut size).map_err(|e| e.to_string())?;
        let size = i32::from_be_bytes(size);
        if !(0..=100 * 1024 * 1024).contains(&size) {
            return Err(format!("bad response size {size}"));
        }
        let mut body = vec![0u8; size as usize];
        self.stream.read_exact(&mut body).map_err(|e| e.to_string())?;
        let mut body = Bytes::from(body);
        let header = ResponseHeader::decode(&mut body, S::header_version(version)).map_err(|e| e.to_string())?;
        if header.correlation_id != self.correlation {
            return Err("response out of order".into());
        }
        let response = S::decode(&mut body, version).map_err(|e| e.to_string())?;
        let _ = body.remaining();
        Ok(response)
    }

    fn brokers(&mut self) -> std::result::Result<Vec<String>, String> {
        let request = MetadataRequest::default().with_topics(Some(Vec::new()));
        let response: MetadataResponse = self.call(ApiKey::Metadata, 1, &request)?;
        Ok(response.brokers.iter().map(|b| format!("{}:{}", b.host.as_str(), b.port)).collect())
    }

    fn groups(&mut self) -> std::result::Result<Vec<ListedGroup>, String> {
        let response: ListGroupsResponse = self.call(ApiKey::ListGroups, 4, &ListGroupsRequest::default())?;
        if response.error_code != 0 {
            return Err(format!("ListGroups error code {}", response.error_code));
        }
        Ok(response
            .groups
            .iter()
            .map(|g| ListedGroup {
                name: g.group_id.as_str().to_string(),
                protocol_type: g.protocol_type.as_str().to_string(),
                // Brokers that do not track it say "unknown".
                state: Some(g.group_state.as_str().to_string()).filter(|s| !s.is_empty() && s != "unknown"),
            })
            .collect())
    }
}
