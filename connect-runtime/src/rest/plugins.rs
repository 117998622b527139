//! `/connector-plugins`: what this worker can run (its own plugins, not the cluster's), their configuration
//! definitions, and validation of a connector configuration against them.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use connect_api::abi::PluginKind;
use connect_api::config::{ConfigKeyInfo, ConfigType};
use connect_api::{ConfigDef, ConfigKey};
use serde::Serialize;

use super::error::RestError;
use super::{config_strings, parse_body, AppState};
use crate::config::connector_config_def;
use crate::herder::validation::{validate, InvalidConnector};
use crate::worker::converters::{BYTE_ARRAY_CONVERTER, JSON_CONVERTER, SIMPLE_HEADER_CONVERTER, STRING_CONVERTER};

/// `PluginInfo`.
#[derive(Serialize)]
struct PluginInfo {
    class: String,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
}

/// The converters built into the worker: (class, is a header converter too, definition).
fn converters() -> Vec<(&'static str, &'static [&'static str], ConfigDef)> {
    let converter_type = || {
        ConfigKey::new("converter.type", ConfigType::String)
            .optional()
            .documentation("How this converter will be used: key, value or header.")
    };
    let json = ConfigDef::new()
        .define(converter_type())
        .define(
            ConfigKey::new("schemas.enable", ConfigType::Boolean)
                .default_value("true")
                .documentation("Include schemas within each of the serialized values and keys."),
        )
        .define(
            ConfigKey::new("schemas.cache.size", ConfigType::Int)
                .default_value("1000")
                .documentation("The maximum number of schemas that can be cached in this converter instance."),
        )
        .define(
            ConfigKey::new("decimal.format", ConfigType::String)
                .default_value("BASE64")
                .documentation("How DECIMAL values are serialized: BASE64 or NUMERIC."),
        )
        .define(
            ConfigKey::new("replace.null.with.default", ConfigType::Boolean)
                .default_value("true")
                .documentation("Whether null fields with a default are serialized as that default."),
        );
    let string = ConfigDef::new().define(converter_type()).define(
        ConfigKey::new("converter.encoding", ConfigType::String)
            .default_value("UTF8")
            .documentation("The name of the Java character set to use for encoding strings as byte arrays."),
    );
    vec![
        (JSON_CONVERTER, &["converter", "header_converter"], json),
        (STRING_CONVERTER, &["converter", "header_converter"], string),
        (BYTE_ARRAY_CONVERTER, &["converter", "header_converter"], ConfigDef::new().define(converter_type())),
        (SIMPLE_HEADER_CONVERTER, &["header_converter"], ConfigDef::new().define(converter_type())),
    ]
}

fn kind_name(kind: PluginKind) -> &'static str {
    match kind {
        PluginKind::Source => "source",
        PluginKind::Sink => "sink",
    }
}

/// `GET /connector-plugins[?connectorsOnly=false]`.
pub(super) async fn list(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Response, RestError> {
    let connectors_only =
        super::query_value(raw.as_deref(), "connectorsOnly").map(|v| !v.eq_ignore_ascii_case("false")).unwrap_or(true);
    let mut out: Vec<PluginInfo> = state
        .ctx
        .registry
        .plugins()
        .iter()
        .map(|p| PluginInfo {
            class: p.class().to_string(),
            kind: kind_name(p.kind()),
            version: Some(p.version().to_string()).filter(|v| !v.is_empty() && v != "undefined"),
        })
        .collect();
    out.sort_by(|a, b| a.class.cmp(&b.class));
    if !connectors_only {
        let mut transforms: Vec<PluginInfo> = state
            .ctx
            .registry
            .transforms()
            .iter()
            .map(|p| PluginInfo {
                class: p.class().to_string(),
                kind: p.plugin_type().as_str(),
                version: Some(p.version().to_string()).filter(|v| !v.is_empty()),
            })
            .collect();
        transforms.sort_by(|a, b| a.class.cmp(&b.class));
        out.extend(transforms);
        for (class, kinds, _) in converters() {
            for kind in kinds {
                out.push(PluginInfo {
                    class: class.to_string(),
                    kind,
                    version: Some(env!("CARGO_PKG_VERSION").to_string()),
                });
            }
        }
    }
    Ok(Json(out).into_response())
}

/// `GET /connector-plugins/{plugin}/config`: a connector's keys (framework keys merged in, the connector's own
/// definitions winning) or a converter's.
pub(super) async fn config(State(state): State<AppState>, Path(plugin): Path<String>) -> Result<Response, RestError> {
    let unknown = || RestError::not_found(format!("Unknown plugin {plugin}."));
    let transform = state.ctx.registry.transforms().into_iter().find(|p| p.matches(&plugin));
    let def = if let Some(found) = state.ctx.registry.find(&plugin) {
        found.config_def().clone().merge_missing(&connector_config_def(found.kind()))
    } else if let Some(found) = transform {
        found.config_def().clone()
    } else {
        let simple = |class: &str| class.rsplit('.').next().unwrap_or(class).to_string();
        converters()
            .into_iter()
            .find(|(class, _, _)| *class == plugin || simple(class) == plugin)
            .map(|(_, _, def)| def)
            .ok_or_else(unknown)?
    };
    let keys: Vec<ConfigKeyInfo> = def.keys().iter().map(ConfigKeyInfo::from).collect();
    Ok(Json(keys).into_response())
}

/// The class name without its package and a trailing `Connector`, lower-cased: how Kafka Connect compares the
/// path's plugin type with `connector.class`.
fn plugin_type_name(class: &str) -> String {
    let simple = class.trim().rsplit('.').next().unwrap_or(class);
    simple.strip_suffix("Connector").unwrap_or(simple).to_ascii_lowercase()
}

/// `PUT /connector-plugins/{type}/config/validate`: the validation report; errors are inside a 200 body.
pub(super) async fn validate_config(
    State(state): State<AppState>,
    Path(plugin): Path<String>,
    body: Bytes,
) -> Result<Response, RestError> {
    let map: BTreeMap<String, serde_json::Value> = parse_body(&body)?;
    let config = config_strings(map)?;
    let Some(class) = config.get("connector.class").filter(|c| !c.trim().is_empty()) else {
        return Err(RestError::bad_request(format!(
            "Connector config {} contains no connector type",
            serde_json::to_string(&config).unwrap_or_default()
        )));
    };
    if plugin_type_name(class) != plugin_type_name(&plugin) && !class.trim().ends_with(plugin.trim()) {
        return Err(RestError::bad_request(format!(
            "Included connector type {class} does not match request type {plugin}"
        )));
    }
    let registry = state.ctx.registry.clone();
    // Validation calls the connector's own code: a blocking thread, never the runtime's.
    let result = tokio::task::spawn_blocking(move || validate(&registry, &config))
        .await
        .map_err(|e| RestError::internal(format!("validation failed: {e}")))?;
    match result {
        Ok((_, report)) => Ok(Json(report).into_response()),
        Err(InvalidConnector::UnknownClass(err)) => Err(RestError::bad_request(err.to_string())),
        Err(err) => Err(RestError::bad_request(err.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_types_compare_without_package_and_suffix() {
        assert_eq!(plugin_type_name("org.apache.kafka.connect.file.FileStreamSourceConnector"), "filestreamsource");
        assert_eq!(plugin_type_name("FileStreamSource"), "filestreamsource");
        assert_ne!(plugin_type_name("FileStreamSinkConnector"), plugin_type_name("FileStreamSource"));
    }
}
