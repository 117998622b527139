//! What can go wrong talking to a broker; every variant names the broker (and the API when there is one).

use std::time::Duration;

/// A failed request or connection.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    /// The TCP connection could not be made.
    #[error("cannot connect to {broker}: {source}")]
    Connect { broker: String, source: std::io::Error },
    /// The TLS handshake failed.
    #[error("TLS with {broker} failed: {message}")]
    Tls { broker: String, message: String },
    /// SASL authentication failed.
    #[error("SASL authentication with {broker} failed: {message}")]
    Sasl { broker: String, message: String },
    /// No answer in time.
    #[error("{broker} did not answer {api} within {timeout:?}")]
    Timeout { broker: String, api: &'static str, timeout: Duration },
    /// The connection broke.
    #[error("connection to {broker} lost: {message}")]
    Io { broker: String, message: String },
    /// The broker does not offer the API in a version this client can use.
    #[error("{broker} does not support {api} in versions {needed} (it offers {offered})")]
    Unsupported { broker: String, api: &'static str, needed: String, offered: String },
    /// A request could not be encoded or a response decoded.
    #[error("{api} v{version} with {broker}: {message}")]
    Codec { broker: String, api: &'static str, version: i16, message: String },
    /// The broker answered with an error code for the whole request.
    #[error("{api} to {broker} failed: {message}")]
    Broker { broker: String, api: &'static str, code: i16, message: String },
    /// None of the brokers tried answered.
    #[error("no broker answered ({tried}): {last}")]
    NoBroker { tried: String, last: Box<KafkaError> },
}

impl KafkaError {
    /// The error with `broker` filled in where it was not known yet (encoding happens before sending).
    pub(crate) fn at(self, addr: &str) -> Self {
        match self {
            KafkaError::Codec { broker, api, version, message } if broker.is_empty() => {
                KafkaError::Codec { broker: addr.to_string(), api, version, message }
            }
            other => other,
        }
    }

    /// Whether the broker lacks the API (a property of the cluster, not a passing failure).
    pub fn is_unsupported(&self) -> bool {
        matches!(self, KafkaError::Unsupported { .. })
    }
}

/// The name and message of a Kafka error code.
pub fn error_name(code: i16) -> String {
    match kafka_protocol::ResponseError::try_from_code(code) {
        Some(error) => format!("{error:?} ({code})"),
        None => format!("error code {code}"),
    }
}
