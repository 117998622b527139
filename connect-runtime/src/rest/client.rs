//! The HTTP client a worker uses to call other workers (forwarded REST requests, internal task-config and fencing
//! requests): https with the REST API's trust store and, when there is one, its key store as client certificate.
//! Built once at start-up; every caller shares it (and its connection pool).

use std::time::Duration;

use crate::config::{ConfigError, RestConfig};

/// A client for other workers' REST APIs, with a per-request `timeout`.
pub fn http_client(config: &RestConfig, timeout: Duration) -> Result<reqwest::Client, ConfigError> {
    let tls = super::tls::client_config(config.tls.as_ref())?;
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(timeout)
        .build()
        .map_err(|e| ConfigError::new(&config.file, None, format!("cannot build the REST client: {e}")))
}
