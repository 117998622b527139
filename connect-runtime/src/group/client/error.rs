//! What can go wrong while talking to the group coordinator. Every broker answer that cannot be used becomes one of
//! these; nothing here panics on a broker's bytes.

use std::time::Duration;

use kafka_protocol::ResponseError;

/// A failure of the group membership client.
#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    /// No bootstrap server was configured.
    #[error("no bootstrap servers configured for group {group}")]
    NoBootstrapServers { group: String },
    /// Connecting to, writing to or reading from a broker failed (including a closed connection).
    #[error("connection to broker {broker} failed: {source}")]
    Io {
        broker: String,
        #[source]
        source: std::io::Error,
    },
    /// A broker did not answer a request in time.
    #[error("{api} request to broker {broker} got no answer within {timeout:?}")]
    Timeout { broker: String, api: &'static str, timeout: Duration },
    /// A request could not be encoded (a bug, or a field the negotiated version cannot carry).
    #[error("cannot encode a {api} v{version} request: {message}")]
    Encode { api: &'static str, version: i16, message: String },
    /// A broker's answer could not be decoded.
    #[error("cannot decode the {api} v{version} response of broker {broker}: {message}")]
    Decode { broker: String, api: &'static str, version: i16, message: String },
    /// A broker sent a frame whose size is negative or absurdly large.
    #[error("broker {broker} sent a frame of {size} bytes")]
    BadFrame { broker: String, size: i64 },
    /// A response carried another correlation id than the request (the connection is out of step).
    #[error("broker {broker} answered correlation id {got}, expected {expected}")]
    CorrelationMismatch { broker: String, expected: i32, got: i32 },
    /// The broker does not support a version of an API this client can use.
    #[error("broker {broker} supports {api} versions {broker_versions}, this client needs {needed}")]
    UnsupportedVersion { broker: String, api: &'static str, broker_versions: String, needed: String },
    /// The broker answered a request with an error code.
    #[error("{api} for group {group} failed: {error} (error code {})", .error.code())]
    Broker { api: &'static str, group: String, error: ResponseError, message: Option<String> },
    /// The coordinator chose a protocol this member did not offer, or none.
    #[error("group {group}: the coordinator chose protocol {chosen:?}, which this member did not offer")]
    UnexpectedProtocol { group: String, chosen: Option<String> },
    /// The leader's assignment callback failed.
    #[error("group {group}: computing the assignment as leader of generation {generation} failed: {message}")]
    Assignment { group: String, generation: i32, message: String },
    /// `join` was called without any protocol.
    #[error("group {group}: join needs at least one protocol")]
    NoProtocols { group: String },
    /// The deadline passed before the join completed.
    #[error("joining group {group} did not complete before the deadline; last error: {last}")]
    DeadlineExceeded { group: String, last: String },
}

impl GroupError {
    /// Whether trying again later may succeed (the broker or network may recover); false for errors that repeat
    /// until the configuration, the broker or this code changes.
    pub fn is_retriable(&self) -> bool {
        match self {
            GroupError::Io { .. }
            | GroupError::Timeout { .. }
            | GroupError::CorrelationMismatch { .. }
            | GroupError::BadFrame { .. }
            | GroupError::DeadlineExceeded { .. }
            | GroupError::Assignment { .. } => true,
            GroupError::Broker { error, .. } => is_retriable_group_error(*error),
            GroupError::NoBootstrapServers { .. }
            | GroupError::Encode { .. }
            | GroupError::Decode { .. }
            | GroupError::UnsupportedVersion { .. }
            | GroupError::UnexpectedProtocol { .. }
            | GroupError::NoProtocols { .. } => false,
        }
    }

    /// The broker error code, when the broker answered with one.
    pub fn broker_error(&self) -> Option<ResponseError> {
        match self {
            GroupError::Broker { error, .. } => Some(*error),
            _ => None,
        }
    }

    /// Whether the connection this error came from can no longer be used.
    pub(crate) fn breaks_connection(&self) -> bool {
        matches!(
            self,
            GroupError::Io { .. }
                | GroupError::Timeout { .. }
                | GroupError::Decode { .. }
                | GroupError::BadFrame { .. }
                | GroupError::CorrelationMismatch { .. }
        )
    }
}

/// Group errors a member recovers from by rejoining or finding the coordinator again, besides the ones Kafka itself
/// marks retriable.
fn is_retriable_group_error(error: ResponseError) -> bool {
    matches!(
        error,
        ResponseError::RebalanceInProgress
            | ResponseError::UnknownMemberId
            | ResponseError::IllegalGeneration
            | ResponseError::MemberIdRequired
            | ResponseError::NotCoordinator
            | ResponseError::CoordinatorNotAvailable
            | ResponseError::CoordinatorLoadInProgress
    ) || error.is_retriable()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_errors_that_rejoining_fixes_are_retriable() {
        let broker = |error| GroupError::Broker { api: "JoinGroup", group: "g".into(), error, message: None };
        assert!(broker(ResponseError::RebalanceInProgress).is_retriable());
        assert!(broker(ResponseError::UnknownMemberId).is_retriable());
        assert!(broker(ResponseError::NotCoordinator).is_retriable());
        assert!(!broker(ResponseError::InconsistentGroupProtocol).is_retriable());
        assert!(!broker(ResponseError::GroupAuthorizationFailed).is_retriable());
        let unsupported = GroupError::UnsupportedVersion {
            broker: "b:1".into(),
            api: "JoinGroup",
            broker_versions: "0..3".into(),
            needed: "4..9".into(),
        };
        assert!(!unsupported.is_retriable());
        assert!(unsupported.to_string().contains("JoinGroup"));
    }
}
