//! Validating a connector configuration: the framework keys plus the connector's own rules, merged into one
//! report in the shape of Kafka Connect's `ConfigInfos` (the REST `validate` body).

use std::sync::{mpsc, Arc};
use std::time::Duration;

use connect_api::config::{ConfigInfos, ConfigValueInfo};
use connect_api::Config;

use crate::config::{connector_config_def, validate_framework_keys};
use crate::plugins::{Plugin, PluginRegistry};

/// How long a connector's own `validate` may take; past it the validation fails and the call is left behind, so
/// a connector that blocks in `validate` cannot hold up the herder.
const VALIDATE_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a connector configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum InvalidConnector {
    /// `connector.class` is missing.
    #[error("connector.class: Missing required configuration \"connector.class\" which has no default value.")]
    MissingClass,
    /// No plugin matches `connector.class`.
    #[error("connector.class: {0}")]
    UnknownClass(#[from] crate::plugins::UnknownPlugin),
    /// The connector could not be instantiated to validate its configuration.
    #[error("connector.class: cannot instantiate {class}: {message}")]
    Instantiation {
        /// The class.
        class: String,
        /// Why.
        message: String,
    },
    /// Keys are invalid.
    #[error("Connector configuration is invalid and contains the following {} error(s):\n{}", .0.error_count, .0.error_messages().join("\n"))]
    Invalid(ConfigInfos),
}

/// Validates `props` and returns the connector's plugin with the full report (which may hold errors).
pub fn validate(registry: &PluginRegistry, props: &Config) -> Result<(Arc<Plugin>, ConfigInfos), InvalidConnector> {
    let class = props
        .get("connector.class")
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
        .ok_or(InvalidConnector::MissingClass)?;
    let plugin = registry.resolve(class)?;
    let own = validate_own(&plugin, props)
        .map_err(|message| InvalidConnector::Instantiation { class: plugin.class().to_string(), message })?;
    let mut framework = validate_framework_keys(plugin.kind(), props, registry.override_policy());
    check_converters(props, &mut framework);
    framework.extend(crate::worker::transforms::validate(props, registry));
    // The connector's own definition wins over the framework's on a clash, as in Kafka Connect.
    let mut values: Vec<ConfigValueInfo> =
        framework.into_iter().filter(|f| !own.iter().any(|o| o.name == f.name)).collect();
    values.extend(own);
    let def = plugin.config_def().clone().merge_missing(&connector_config_def(plugin.kind()));
    let report = ConfigInfos::new(plugin.class(), &def, values);
    Ok((plugin, report))
}

/// The connector's own validation, on a thread of its own, waited for up to [`VALIDATE_TIMEOUT`].
fn validate_own(plugin: &Plugin, props: &Config) -> Result<Vec<ConfigValueInfo>, String> {
    let connector = plugin.new_connector().map_err(|e| e.to_string())?;
    let (tx, rx) = mpsc::channel();
    let props = props.clone();
    std::thread::Builder::new()
        .name(format!("validate-{}", plugin.class()))
        .spawn(move || {
            let _ = tx.send(connector.validate(&props));
        })
        .map_err(|e| format!("cannot start a thread to validate: {e}"))?;
    match rx.recv_timeout(VALIDATE_TIMEOUT) {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => {
            tracing::error!(
                "the validation of {} did not answer within {VALIDATE_TIMEOUT:?}; left behind",
                plugin.class()
            );
            Err(format!("its validate did not answer within {} s", VALIDATE_TIMEOUT.as_secs()))
        }
    }
}

/// Per-connector converters must be ones the worker has, with valid settings: built once here, so a bad class or
/// setting is reported at validation rather than when a task starts.
fn check_converters(props: &Config, values: &mut [ConfigValueInfo]) {
    use crate::worker::converters::{new_converter, new_header_converter};
    for key in ["key.converter", "value.converter", "header.converter"] {
        let Some(class) = props.get(key).map(|c| c.trim()).filter(|c| !c.is_empty()) else { continue };
        let settings = crate::config::with_prefix(props, &format!("{key}."));
        let built = if key == "header.converter" {
            new_header_converter(class, &settings).map(drop)
        } else {
            new_converter(class, &settings, key == "key.converter").map(drop)
        };
        if let (Err(err), Some(info)) = (built, values.iter_mut().find(|v| v.name == key)) {
            info.errors.push(err.message().to_string());
        }
    }
}

/// Validates `props` and refuses a configuration with errors.
pub fn require_valid(registry: &PluginRegistry, props: &Config) -> Result<Arc<Plugin>, InvalidConnector> {
    let (plugin, report) = validate(registry, props)?;
    if report.error_count > 0 {
        return Err(InvalidConnector::Invalid(report));
    }
    Ok(plugin)
}

/// `config` as the REST API shows it: values of `PASSWORD` keys of the connector's definition replaced by
/// `[hidden]`, unless they are config-provider placeholders (which hold no secret and must survive a
/// GET-then-PUT round trip).
pub fn masked(registry: &PluginRegistry, connector_config: &Config, config: &Config) -> Config {
    let Some(plugin) = connector_config.get("connector.class").and_then(|class| registry.find(class)) else {
        return config.clone();
    };
    let def = plugin.config_def();
    config
        .iter()
        .map(|(key, value)| {
            let secret = def.key(key).is_some_and(|k| k.config_type == connect_api::config::ConfigType::Password);
            if secret && !crate::config::providers::is_placeholder_only(value) {
                (key.clone(), "[hidden]".to_string())
            } else {
                (key.clone(), value.clone())
            }
        })
        .collect()
}

impl From<InvalidConnector> for super::api::HerderError {
    /// Kafka Connect's 400 for an invalid configuration on create or update (`AbstractHerder.maybeAddConfigErrors`).
    fn from(err: InvalidConnector) -> Self {
        let message = match err {
            InvalidConnector::Invalid(report) => format!(
                "Connector configuration is invalid and contains the following {} error(s):\n{}\nYou can also find the \
                 above list of errors at the endpoint `/connector-plugins/{{connectorType}}/config/validate`",
                report.error_count,
                report.error_messages().join("\n")
            ),
            other => other.to_string(),
        };
        super::api::HerderError::BadRequest(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str) -> ConfigValueInfo {
        ConfigValueInfo {
            name: name.to_string(),
            value: None,
            recommended_values: Vec::new(),
            errors: Vec::new(),
            visible: true,
        }
    }

    #[test]
    fn converters_are_built_at_validation() {
        let props: Config = [
            ("key.converter", "StringConverter"),
            ("value.converter", "org.apache.kafka.connect.json.JsonConverter"),
            ("value.converter.schemas.enable", "maybe"),
            ("header.converter", "io.confluent.connect.avro.AvroConverter"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let mut values = vec![info("key.converter"), info("value.converter"), info("header.converter")];
        check_converters(&props, &mut values);
        assert!(values[0].errors.is_empty(), "{:?}", values[0]);
        assert!(values[1].errors[0].contains("schemas.enable"), "{:?}", values[1]);
        assert!(values[2].errors[0].contains("not supported"), "{:?}", values[2]);
    }
}
