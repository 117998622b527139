//! Reading worker and connector configuration files, with Kafka Connect's key names.
//!
//! Worker configs are Java `.properties` files; connector configs are `.properties` or the JSON that the REST
//! API accepts. Every error names the file and, where there is one, the key.

pub mod bridge;
mod connector;
mod distributed;
pub mod mirror_maker;
pub mod providers;
mod rest;
mod worker;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub(crate) use connector::{add_key_error, first_key_error, missing_key, KeyError};
pub use connector::{
    connector_config_def, load_connector_config, validate_framework_keys, ConnectorConfig, ConnectorType,
};
pub(crate) use distributed::local_host_name;
pub use distributed::{parse_listener, DistributedConfig, InterWorkerConfig, TopicSettings};
pub use rest::{
    jaas_credentials_file, jaas_file_from_opts, BasicAuthSettings, ClientAuth, KeyStore, Listener, PemSource,
    RestConfig, Scheme, TlsSettings,
};
pub use worker::{ConverterSpec, WorkerConfig};

/// A configuration problem, located in a file and, when known, at a key.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// The file that holds the configuration.
    pub file: PathBuf,
    /// The key at fault, if one is.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(file: &Path, key: Option<&str>, message: impl Into<String>) -> Self {
        ConfigError { file: file.to_path_buf(), key: key.map(str::to_string), message: message.into() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(key) => write!(f, "{}: {key}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Reads a Java `.properties` file into a sorted map.
pub fn read_properties(path: &Path) -> Result<BTreeMap<String, String>, ConfigError> {
    let file = std::fs::File::open(path).map_err(|e| ConfigError::new(path, None, format!("cannot open: {e}")))?;
    let map = java_properties::read(std::io::BufReader::new(file)).map_err(|e| {
        let at = e.line_number().map(|n| format!("line {n}: ")).unwrap_or_default();
        ConfigError::new(path, None, format!("malformed properties file: {at}{e}"))
    })?;
    Ok(map.into_iter().collect())
}

/// The entries of `props` whose key starts with `prefix`, with the prefix removed.
pub fn with_prefix(props: &BTreeMap<String, String>, prefix: &str) -> BTreeMap<String, String> {
    props
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(prefix).map(|rest| (rest.to_string(), v.clone())))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}
