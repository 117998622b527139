//! Finding the group coordinator: FindCoordinator (key type "group") asked of the bootstrap servers in turn, then a
//! connection to the broker it names. Used by `join` and by the heartbeat task, each with its own connection.

use std::time::{Duration, Instant};

use kafka_protocol::messages::{FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::wire::Connection;
use super::{GroupConfig, GroupError};

/// The time left for one request: the request timeout, cut to what is left before `deadline`.
pub(crate) fn budget(request_timeout: Duration, deadline: Instant) -> Duration {
    request_timeout.min(deadline.saturating_duration_since(Instant::now()))
}

/// `host:port` of a bootstrap entry, without a `PLAINTEXT://`-style scheme.
pub(crate) fn bootstrap_addr(entry: &str) -> &str {
    let entry = entry.trim();
    entry.split_once("://").map(|(_, rest)| rest).unwrap_or(entry)
}

/// `host:port`, with brackets around an IPv6 literal.
pub(crate) fn host_port(host: &str, port: i32) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The coordinator named in a FindCoordinator response: the `coordinators` entry for the group from v4 on, the
/// top-level fields before.
pub(crate) fn coordinator_of(
    response: &FindCoordinatorResponse,
    version: i16,
    group: &str,
) -> Result<String, GroupError> {
    let (error_code, message, host, port) = if version >= 4 {
        let entry = response
            .coordinators
            .iter()
            .find(|c| c.key.as_str() == group)
            .or_else(|| response.coordinators.first())
            .ok_or_else(|| GroupError::Broker {
                api: "FindCoordinator",
                group: group.to_string(),
                error: ResponseError::CoordinatorNotAvailable,
                message: Some("the response names no coordinator".into()),
            })?;
        (entry.error_code, entry.error_message.as_ref(), entry.host.as_str(), entry.port)
    } else {
        (response.error_code, response.error_message.as_ref(), response.host.as_str(), response.port)
    };
    if let Some(error) = ResponseError::try_from_code(error_code) {
        return Err(GroupError::Broker {
            api: "FindCoordinator",
            group: group.to_string(),
            error,
            message: message.map(|m| m.to_string()),
        });
    }
    if host.is_empty() || !(0..=65535).contains(&port) {
        return Err(GroupError::Broker {
            api: "FindCoordinator",
            group: group.to_string(),
            error: ResponseError::CoordinatorNotAvailable,
            message: Some(format!("unusable coordinator address {host:?}:{port}")),
        });
    }
    Ok(host_port(host, port))
}

/// Asks one broker for the group's coordinator and connects to it (reusing the connection when the broker is the
/// coordinator).
async fn ask(config: &GroupConfig, bootstrap: &str, deadline: Instant) -> Result<Connection, GroupError> {
    let mut conn = Connection::open(bootstrap, &config.client_id, budget(config.request_timeout, deadline)).await?;
    let version = conn.version_for::<FindCoordinatorRequest>(0)?;
    let group = StrBytes::from_string(config.group_id.clone());
    let request = if version >= 4 {
        FindCoordinatorRequest::default().with_key_type(0).with_coordinator_keys(vec![group])
    } else {
        FindCoordinatorRequest::default().with_key(group)
    };
    let response = conn.send(&request, version, budget(config.request_timeout, deadline)).await?;
    let addr = coordinator_of(&response, version, &config.group_id)?;
    tracing::debug!("group {} has coordinator {addr} (asked {bootstrap})", config.group_id);
    if addr == conn.addr() {
        return Ok(conn);
    }
    drop(conn);
    Connection::open(&addr, &config.client_id, budget(config.request_timeout, deadline)).await
}

/// Finds the coordinator, trying each bootstrap server once starting at `*next`, and returns a connection to it.
pub(crate) async fn find_coordinator(
    config: &GroupConfig,
    next: &mut usize,
    deadline: Instant,
) -> Result<Connection, GroupError> {
    let servers: Vec<&str> = config.bootstrap.iter().map(|s| bootstrap_addr(s)).filter(|s| !s.is_empty()).collect();
    if servers.is_empty() {
        return Err(GroupError::NoBootstrapServers { group: config.group_id.clone() });
    }
    let mut last = None;
    for _ in 0..servers.len() {
        let server = servers[*next % servers.len()];
        *next = next.wrapping_add(1);
        match ask(config, server, deadline).await {
            Ok(conn) => return Ok(conn),
            Err(err) if err.is_retriable() => {
                tracing::debug!("finding the coordinator of group {} via {server} failed: {err}", config.group_id);
                last = Some(err);
            }
            Err(err) => return Err(err),
        }
        if Instant::now() >= deadline {
            break;
        }
    }
    Err(last.unwrap_or_else(|| GroupError::NoBootstrapServers { group: config.group_id.clone() }))
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::find_coordinator_response::Coordinator;
    use kafka_protocol::messages::BrokerId;

    use super::*;

    #[test]
    fn bootstrap_entries_lose_their_scheme() {
        assert_eq!(bootstrap_addr(" PLAINTEXT://broker:9092 "), "broker:9092");
        assert_eq!(bootstrap_addr("127.0.0.1:9092"), "127.0.0.1:9092");
        assert_eq!(host_port("::1", 9092), "[::1]:9092");
        assert_eq!(host_port("broker", 9092), "broker:9092");
    }

    #[test]
    fn coordinator_comes_from_the_array_from_v4_and_the_fields_before() {
        let old = FindCoordinatorResponse::default()
            .with_node_id(BrokerId(1))
            .with_host(StrBytes::from_static_str("b1"))
            .with_port(9092);
        assert_eq!(coordinator_of(&old, 3, "g").unwrap(), "b1:9092");

        let new = FindCoordinatorResponse::default().with_coordinators(vec![
            Coordinator::default().with_key(StrBytes::from_static_str("other")).with_error_code(15),
            Coordinator::default()
                .with_key(StrBytes::from_static_str("g"))
                .with_host(StrBytes::from_static_str("b2"))
                .with_port(9093),
        ]);
        assert_eq!(coordinator_of(&new, 6, "g").unwrap(), "b2:9093");

        let unavailable = FindCoordinatorResponse::default().with_coordinators(vec![Coordinator::default()
            .with_key(StrBytes::from_static_str("g"))
            .with_error_code(ResponseError::CoordinatorNotAvailable.code())]);
        let err = coordinator_of(&unavailable, 4, "g").unwrap_err();
        assert_eq!(err.broker_error(), Some(ResponseError::CoordinatorNotAvailable));
        assert!(err.is_retriable());

        let empty = FindCoordinatorResponse::default();
        assert!(coordinator_of(&empty, 4, "g").unwrap_err().is_retriable());
        assert!(coordinator_of(&empty, 2, "g").unwrap_err().is_retriable());
    }
}
