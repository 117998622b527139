//! Herders decide what runs: they turn connector configurations into running connectors and tasks.
//!
//! The standalone herder runs everything given on the command line in one process; the distributed herder
//! (later) shares the work among the workers of a group. Both validate configurations the same way
//! ([`validation`]).

pub mod api;
pub mod distributed;
pub(crate) mod offsets;
pub mod standalone;
pub mod validation;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use connect_api::abi::ConnectorContextApi;
use connect_api::ConnectError;

use crate::worker::status::{State, StatusBoard, StatusKey};

/// `config` with a REST `PATCH` applied (a `None` value removes the key) and `name` kept, as Kafka Connect's
/// `ConnectUtils.patchConfig`.
pub(crate) fn patched(
    mut config: connect_api::Config,
    patch: std::collections::BTreeMap<String, Option<String>>,
    name: &str,
) -> connect_api::Config {
    for (key, value) in patch {
        match value {
            Some(value) => config.insert(key, value),
            None => config.remove(&key),
        };
    }
    config.insert("name".to_string(), name.to_string());
    config
}

/// What a connector may ask of the runtime: a task reconfiguration (a flag the herder polls) or a failure.
pub(crate) struct HostConnectorContext {
    name: String,
    reconfigure: Arc<AtomicBool>,
    status: Arc<StatusBoard>,
}

impl HostConnectorContext {
    pub(crate) fn new(name: &str, reconfigure: Arc<AtomicBool>, status: Arc<StatusBoard>) -> Self {
        HostConnectorContext { name: name.to_string(), reconfigure, status }
    }
}

impl ConnectorContextApi for HostConnectorContext {
    fn request_task_reconfiguration(&self) {
        self.reconfigure.store(true, Ordering::Release);
    }

    fn raise_error(&self, error: ConnectError) {
        self.status.set(StatusKey::Connector(self.name.clone()), State::Failed, Some(error.status_trace()));
    }
}
