//! Connector configuration: [`ConfigDef`] declares the keys a connector accepts (type, default, validator,
//! importance, documentation, group), parses raw string properties into typed values, and validates them into
//! the report that Kafka Connect's REST `validate` endpoint returns ([`ConfigInfos`]).
//!
//! A `ConfigDef` is plain data (serde), so it crosses the plugin boundary as JSON once, when a plugin loads.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{ConnectError, Result};

/// Raw connector or task properties, as Kafka Connect passes them: string keys to string values.
pub type Config = BTreeMap<String, String>;

/// The type of a configuration key (Kafka's `ConfigDef.Type`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConfigType {
    /// `true` or `false` (case-insensitive).
    Boolean,
    /// Any string.
    String,
    /// A 32-bit integer.
    Int,
    /// A 16-bit integer.
    Short,
    /// A 64-bit integer.
    Long,
    /// A 64-bit float.
    Double,
    /// A comma-separated list; items are trimmed, an empty string is the empty list.
    List,
    /// A plugin class name or alias.
    Class,
    /// A secret string: masked as `[hidden]` wherever it is shown.
    Password,
}

impl ConfigType {
    /// Kafka's name of the type (`STRING`, `INT`...).
    pub fn name(self) -> &'static str {
        match self {
            ConfigType::Boolean => "BOOLEAN",
            ConfigType::String => "STRING",
            ConfigType::Int => "INT",
            ConfigType::Short => "SHORT",
            ConfigType::Long => "LONG",
            ConfigType::Double => "DOUBLE",
            ConfigType::List => "LIST",
            ConfigType::Class => "CLASS",
            ConfigType::Password => "PASSWORD",
        }
    }
}

/// How important a key is to set, for documentation and UIs.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Importance {
    /// Must usually be set.
    High,
    /// Often set.
    Medium,
    /// Rarely set.
    Low,
}

impl Importance {
    /// Kafka's name (`HIGH`, `MEDIUM`, `LOW`).
    pub fn name(self) -> &'static str {
        match self {
            Importance::High => "HIGH",
            Importance::Medium => "MEDIUM",
            Importance::Low => "LOW",
        }
    }
}

/// The expected width of a value, a hint for UIs.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Width {
    /// No hint.
    #[default]
    None,
    /// A short value.
    Short,
    /// A medium value.
    Medium,
    /// A long value.
    Long,
}

impl Width {
    /// Kafka's name (`NONE`, `SHORT`...).
    pub fn name(self) -> &'static str {
        match self {
            Width::None => "NONE",
            Width::Short => "SHORT",
            Width::Medium => "MEDIUM",
            Width::Long => "LONG",
        }
    }
}

/// A check applied to a parsed value, as Kafka's built-in validators.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Validator {
    /// A number within `[min, max]` (either bound optional): `ConfigDef.Range`.
    Range {
        /// The smallest valid value.
        min: Option<f64>,
        /// The largest valid value.
        max: Option<f64>,
    },
    /// One of the given strings, case-sensitive: `ConfigDef.ValidString`.
    OneOf(Vec<String>),
    /// One of the given strings, ignoring case: `ConfigDef.CaseInsensitiveValidString`.
    CaseInsensitiveOneOf(Vec<String>),
    /// A non-empty string: `ConfigDef.NonEmptyString`.
    NonEmptyString,
    /// A non-empty string without ISO control characters: `NonEmptyStringWithoutControlChars`.
    NonEmptyStringWithoutControlChars,
}

impl Validator {
    fn check(&self, value: &ConfigValue) -> std::result::Result<(), String> {
        match (self, value) {
            (_, ConfigValue::Null) => match self {
                Validator::NonEmptyString | Validator::NonEmptyStringWithoutControlChars => {
                    Err("String must be non-empty".into())
                }
                _ => Ok(()),
            },
            (Validator::Range { min, max }, v) => {
                let n = match v {
                    ConfigValue::Int(n) => *n as f64,
                    ConfigValue::Short(n) => *n as f64,
                    ConfigValue::Long(n) => *n as f64,
                    ConfigValue::Double(n) => *n,
                    _ => return Ok(()),
                };
                if let Some(min) = min {
                    if n < *min {
                        return Err(format!("Value must be at least {}", trim_float(*min)));
                    }
                }
                if let Some(max) = max {
                    if n > *max {
                        return Err(format!("Value must be no more than {}", trim_float(*max)));
                    }
                }
                Ok(())
            }
            (Validator::OneOf(options), v) => {
                let s = v.to_string();
                if options.contains(&s) {
                    Ok(())
                } else {
                    Err(format!("String must be one of: {}", options.join(", ")))
                }
            }
            (Validator::CaseInsensitiveOneOf(options), v) => {
                let s = v.to_string();
                if options.iter().any(|o| o.eq_ignore_ascii_case(&s)) {
                    Ok(())
                } else {
                    Err(format!("String must be one of (case insensitive): {}", options.join(", ")))
                }
            }
            (Validator::NonEmptyString, v) => {
                if v.to_string().is_empty() {
                    Err("String must be non-empty".into())
                } else {
                    Ok(())
                }
            }
            (Validator::NonEmptyStringWithoutControlChars, v) => {
                let s = v.to_string();
                if s.is_empty() {
                    Err("String may not be empty".into())
                } else if s.chars().any(char::is_control) {
                    Err("String may not contain control sequences".into())
                } else {
                    Ok(())
                }
            }
        }
    }
}

fn trim_float(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        v.to_string()
    }
}

/// The definition of one configuration key.
///
/// ```
/// use connect_api::config::{ConfigKey, ConfigType, Importance, Validator};
///
/// let key = ConfigKey::new("batch.size", ConfigType::Int)
///     .default_value("2000")
///     .validator(Validator::Range { min: Some(1.0), max: None })
///     .importance(Importance::Low)
///     .documentation("The maximum number of records returned by one poll.");
/// assert!(!key.is_required());
/// ```
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ConfigKey {
    /// The key name.
    pub name: String,
    /// The value type.
    pub config_type: ConfigType,
    /// The default in string form; `None` with `has_default` false means the key is required.
    pub default_value: Option<String>,
    /// Whether a default exists (possibly null).
    pub has_default: bool,
    /// The validator applied after parsing.
    pub validator: Option<Validator>,
    /// How important the key is.
    pub importance: Importance,
    /// What the key does.
    pub documentation: String,
    /// The group the key belongs to in UIs.
    pub group: Option<String>,
    /// The position in its group.
    pub order_in_group: i32,
    /// The width hint.
    pub width: Width,
    /// The name shown in UIs.
    pub display_name: String,
    /// Keys whose meaning depends on this one.
    pub dependents: Vec<String>,
}

impl ConfigKey {
    /// A required key of `config_type` with medium importance and no documentation.
    pub fn new(name: impl Into<String>, config_type: ConfigType) -> Self {
        let name = name.into();
        ConfigKey {
            display_name: name.clone(),
            name,
            config_type,
            default_value: None,
            has_default: false,
            validator: None,
            importance: Importance::Medium,
            documentation: String::new(),
            group: None,
            order_in_group: -1,
            width: Width::None,
            dependents: Vec::new(),
        }
    }

    /// Gives the key a default (in the same string form a user would write).
    pub fn default_value(mut self, value: impl Into<String>) -> Self {
        self.default_value = Some(value.into());
        self.has_default = true;
        self
    }

    /// Makes the key optional with a null default.
    pub fn optional(mut self) -> Self {
        self.default_value = None;
        self.has_default = true;
        self
    }

    /// Sets the validator.
    pub fn validator(mut self, validator: Validator) -> Self {
        self.validator = Some(validator);
        self
    }

    /// Sets the importance.
    pub fn importance(mut self, importance: Importance) -> Self {
        self.importance = importance;
        self
    }

    /// Sets the documentation.
    pub fn documentation(mut self, doc: impl Into<String>) -> Self {
        self.documentation = doc.into();
        self
    }

    /// Places the key in `group` at position `order`.
    pub fn group(mut self, group: impl Into<String>, order: i32) -> Self {
        self.group = Some(group.into());
        self.order_in_group = order;
        self
    }

    /// Sets the width hint.
    pub fn width(mut self, width: Width) -> Self {
        self.width = width;
        self
    }

    /// Sets the display name.
    pub fn display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = name.into();
        self
    }

    /// Whether the key must be set (it has no default).
    pub fn is_required(&self) -> bool {
        !self.has_default
    }

    /// Parses a raw value (or the default when absent) into a typed value, with Kafka's error messages.
    pub fn parse(&self, raw: Option<&str>) -> std::result::Result<ConfigValue, String> {
        let raw = match raw {
            Some(r) => Some(r),
            None if self.has_default => self.default_value.as_deref(),
            None => {
                return Err(format!("Missing required configuration \"{}\" which has no default value.", self.name))
            }
        };
        let Some(raw) = raw else {
            return Ok(ConfigValue::Null);
        };
        let value = parse_typed(self.config_type, raw)
            .map_err(|why| format!("Invalid value {raw} for configuration {}: {why}", self.name))?;
        if let Some(validator) = &self.validator {
            validator
                .check(&value)
                .map_err(|why| format!("Invalid value {} for configuration {}: {why}", value.masked(), self.name))?;
        }
        Ok(value)
    }
}

fn parse_typed(config_type: ConfigType, raw: &str) -> std::result::Result<ConfigValue, String> {
    let trimmed = raw.trim();
    let not_a = |t: &str| format!("Not a number of type {t}");
    Ok(match config_type {
        ConfigType::Boolean => {
            if trimmed.eq_ignore_ascii_case("true") {
                ConfigValue::Boolean(true)
            } else if trimmed.eq_ignore_ascii_case("false") {
                ConfigValue::Boolean(false)
            } else {
                return Err("Expected value to be either true or false".into());
            }
        }
        ConfigType::String => ConfigValue::String(raw.to_string()),
        ConfigType::Password => ConfigValue::Password(raw.to_string()),
        ConfigType::Class => ConfigValue::Class(trimmed.to_string()),
        ConfigType::Int => ConfigValue::Int(trimmed.parse().map_err(|_| not_a("INT"))?),
        ConfigType::Short => ConfigValue::Short(trimmed.parse().map_err(|_| not_a("SHORT"))?),
        ConfigType::Long => ConfigValue::Long(trimmed.parse().map_err(|_| not_a("LONG"))?),
        ConfigType::Double => ConfigValue::Double(trimmed.parse().map_err(|_| not_a("DOUBLE"))?),
        ConfigType::List => {
            if trimmed.is_empty() {
                ConfigValue::List(Vec::new())
            } else {
                ConfigValue::List(trimmed.split(',').map(|s| s.trim().to_string()).collect())
            }
        }
    })
}

/// A parsed configuration value.
#[derive(Clone, Debug, PartialEq)]
pub enum ConfigValue {
    /// Unset optional key.
    Null,
    /// A `BOOLEAN`.
    Boolean(bool),
    /// A `STRING`.
    String(String),
    /// An `INT`.
    Int(i32),
    /// A `SHORT`.
    Short(i16),
    /// A `LONG`.
    Long(i64),
    /// A `DOUBLE`.
    Double(f64),
    /// A `LIST`.
    List(Vec<String>),
    /// A `CLASS`.
    Class(String),
    /// A `PASSWORD`.
    Password(String),
}

impl ConfigValue {
    /// The value as shown to users: passwords as `[hidden]`.
    pub fn masked(&self) -> String {
        match self {
            ConfigValue::Password(_) => "[hidden]".into(),
            other => other.to_string(),
        }
    }
}

impl fmt::Display for ConfigValue {
    /// The string form Kafka's `ConfigDef.convertToString` gives (lists joined with commas).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigValue::Null => Ok(()),
            ConfigValue::Boolean(v) => write!(f, "{v}"),
            ConfigValue::String(v) | ConfigValue::Class(v) | ConfigValue::Password(v) => f.write_str(v),
            ConfigValue::Int(v) => write!(f, "{v}"),
            ConfigValue::Short(v) => write!(f, "{v}"),
            ConfigValue::Long(v) => write!(f, "{v}"),
            ConfigValue::Double(v) => f.write_str(&crate::data::java_float::format_f64(*v)),
            ConfigValue::List(v) => f.write_str(&v.join(",")),
        }
    }
}

/// The declared configuration of a connector (or any plugin): an ordered list of [`ConfigKey`]s.
///
/// ```
/// use connect_api::config::{Config, ConfigDef, ConfigKey, ConfigType, Importance};
///
/// let def = ConfigDef::new()
///     .define(ConfigKey::new("file", ConfigType::String).importance(Importance::High).documentation("Source file."))
///     .define(ConfigKey::new("batch.size", ConfigType::Int).default_value("2000"));
///
/// let mut props = Config::new();
/// props.insert("file".into(), "/tmp/in.txt".into());
/// let parsed = def.parse(&props).unwrap();
/// assert_eq!(parsed.string("file").unwrap(), "/tmp/in.txt");
/// assert_eq!(parsed.int("batch.size").unwrap(), 2000);
///
/// let report = def.validate(&Config::new());
/// assert_eq!(report[0].errors, ["Missing required configuration \"file\" which has no default value."]);
/// ```
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct ConfigDef {
    keys: Vec<ConfigKey>,
}

impl ConfigDef {
    /// No keys.
    pub fn new() -> Self {
        ConfigDef { keys: Vec::new() }
    }

    /// Adds a key; a key with the same name replaces the earlier one.
    pub fn define(mut self, key: ConfigKey) -> Self {
        match self.keys.iter_mut().find(|k| k.name == key.name) {
            Some(existing) => *existing = key,
            None => self.keys.push(key),
        }
        self
    }

    /// Adds every key of `other` that this definition does not have yet.
    pub fn merge_missing(mut self, other: &ConfigDef) -> Self {
        for key in &other.keys {
            if self.key(&key.name).is_none() {
                self.keys.push(key.clone());
            }
        }
        self
    }

    /// The keys in definition order.
    pub fn keys(&self) -> &[ConfigKey] {
        &self.keys
    }

    /// The key called `name`.
    pub fn key(&self, name: &str) -> Option<&ConfigKey> {
        self.keys.iter().find(|k| k.name == name)
    }

    /// The group names in order of first appearance.
    pub fn groups(&self) -> Vec<String> {
        let mut groups: Vec<String> = Vec::new();
        for key in &self.keys {
            if let Some(g) = &key.group {
                if !groups.contains(g) {
                    groups.push(g.clone());
                }
            }
        }
        groups
    }

    /// Parses `props` into typed values; the first invalid or missing key is an error of kind `Config`.
    /// Keys that are not defined are kept as strings, reachable with [`ParsedConfig::raw`].
    pub fn parse(&self, props: &Config) -> Result<ParsedConfig> {
        let mut values = BTreeMap::new();
        for key in &self.keys {
            let value = key
                .parse(props.get(&key.name).map(String::as_str))
                .map_err(|msg| ConnectError::with_kind(crate::ErrorKind::Config, msg))?;
            values.insert(key.name.clone(), value);
        }
        Ok(ParsedConfig { values, raw: props.clone() })
    }

    /// Validates `props` key by key, as Kafka's `ConfigDef.validate`: one report per defined key, in order.
    pub fn validate(&self, props: &Config) -> Vec<ConfigValueInfo> {
        self.keys
            .iter()
            .map(|key| {
                let raw = props.get(&key.name).map(String::as_str);
                let (value, errors) = match key.parse(raw) {
                    Ok(v) => ((!matches!(v, ConfigValue::Null)).then(|| v.masked()), Vec::new()),
                    Err(e) => (
                        raw.map(|r| {
                            if key.config_type == ConfigType::Password {
                                "[hidden]".into()
                            } else {
                                r.to_string()
                            }
                        }),
                        vec![e],
                    ),
                };
                ConfigValueInfo { name: key.name.clone(), value, recommended_values: Vec::new(), errors, visible: true }
            })
            .collect()
    }

    /// A full validation report for plugin `class` in the shape of Kafka Connect's `ConfigInfos`.
    pub fn validation_report(&self, class: &str, props: &Config) -> ConfigInfos {
        ConfigInfos::new(class, self, self.validate(props))
    }
}

/// Typed configuration values produced by [`ConfigDef::parse`].
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedConfig {
    values: BTreeMap<String, ConfigValue>,
    raw: Config,
}

impl ParsedConfig {
    /// The typed value of a defined key.
    pub fn get(&self, key: &str) -> Result<&ConfigValue> {
        self.values.get(key).ok_or_else(|| ConnectError::config(key, "is not a defined configuration key"))
    }

    /// The raw string value of any key, defined or not.
    pub fn raw(&self, key: &str) -> Option<&str> {
        self.raw.get(key).map(String::as_str)
    }

    /// All raw properties.
    pub fn originals(&self) -> &Config {
        &self.raw
    }

    fn typed<'a, T>(&'a self, key: &str, pick: impl Fn(&'a ConfigValue) -> Option<T>, ty: &str) -> Result<T> {
        let value = self.get(key)?;
        pick(value).ok_or_else(|| ConnectError::config(key, format!("is not set or not of type {ty}")))
    }

    /// A `STRING`, `CLASS` or `PASSWORD` value; an error when null.
    pub fn string(&self, key: &str) -> Result<&str> {
        self.typed(
            key,
            |v| match v {
                ConfigValue::String(s) | ConfigValue::Class(s) | ConfigValue::Password(s) => Some(s.as_str()),
                _ => None,
            },
            "STRING",
        )
    }

    /// A `STRING` value that may be null.
    pub fn optional_string(&self, key: &str) -> Result<Option<&str>> {
        match self.get(key)? {
            ConfigValue::Null => Ok(None),
            _ => self.string(key).map(Some),
        }
    }

    /// An `INT` value.
    pub fn int(&self, key: &str) -> Result<i32> {
        self.typed(
            key,
            |v| {
                if let ConfigValue::Int(n) = v {
                    Some(*n)
                } else {
                    None
                }
            },
            "INT",
        )
    }

    /// A `LONG` value.
    pub fn long(&self, key: &str) -> Result<i64> {
        self.typed(
            key,
            |v| {
                if let ConfigValue::Long(n) = v {
                    Some(*n)
                } else {
                    None
                }
            },
            "LONG",
        )
    }

    /// A `DOUBLE` value.
    pub fn double(&self, key: &str) -> Result<f64> {
        self.typed(
            key,
            |v| {
                if let ConfigValue::Double(n) = v {
                    Some(*n)
                } else {
                    None
                }
            },
            "DOUBLE",
        )
    }

    /// A `BOOLEAN` value.
    pub fn boolean(&self, key: &str) -> Result<bool> {
        self.typed(
            key,
            |v| {
                if let ConfigValue::Boolean(b) = v {
                    Some(*b)
                } else {
                    None
                }
            },
            "BOOLEAN",
        )
    }

    /// A `LIST` value (empty when null).
    pub fn list(&self, key: &str) -> Result<&[String]> {
        match self.get(key)? {
            ConfigValue::Null => Ok(&[]),
            ConfigValue::List(items) => Ok(items),
            _ => Err(ConnectError::config(key, "is not of type LIST")),
        }
    }
}

/// The definition part of a validation entry (Kafka Connect's `ConfigKeyInfo`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ConfigKeyInfo {
    /// Key name.
    pub name: String,
    /// Type name (`STRING`, `INT`...).
    #[serde(rename = "type")]
    pub config_type: String,
    /// Whether the key has no default.
    pub required: bool,
    /// The default in string form.
    pub default_value: Option<String>,
    /// `HIGH`, `MEDIUM` or `LOW`.
    pub importance: String,
    /// Documentation.
    pub documentation: String,
    /// Group.
    pub group: Option<String>,
    /// Position in the group.
    pub order: i32,
    /// Width hint (`NONE`, `SHORT`...).
    pub width: String,
    /// Display name.
    pub display_name: String,
    /// Dependent keys.
    pub dependents: Vec<String>,
}

impl From<&ConfigKey> for ConfigKeyInfo {
    fn from(key: &ConfigKey) -> Self {
        ConfigKeyInfo {
            name: key.name.clone(),
            config_type: key.config_type.name().to_string(),
            required: key.is_required(),
            default_value: key.default_value.clone(),
            importance: key.importance.name().to_string(),
            documentation: key.documentation.clone(),
            group: key.group.clone(),
            order: key.order_in_group,
            width: key.width.name().to_string(),
            display_name: key.display_name.clone(),
            dependents: key.dependents.clone(),
        }
    }
}

/// The value part of a validation entry (Kafka Connect's `ConfigValueInfo`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ConfigValueInfo {
    /// Key name.
    pub name: String,
    /// The value as given or defaulted, passwords masked.
    pub value: Option<String>,
    /// Suggested values.
    pub recommended_values: Vec<String>,
    /// Error messages; empty when valid.
    pub errors: Vec<String>,
    /// Whether the key is relevant given the other values.
    pub visible: bool,
}

/// One validated key (Kafka Connect's `ConfigInfo`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ConfigInfo {
    /// The key's definition.
    pub definition: ConfigKeyInfo,
    /// The key's value and errors.
    pub value: ConfigValueInfo,
}

/// A validation report, exactly the body of `PUT /connector-plugins/{type}/config/validate`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ConfigInfos {
    /// The connector class.
    pub name: String,
    /// The number of errors over all keys.
    pub error_count: usize,
    /// The groups in order.
    pub groups: Vec<String>,
    /// One entry per key.
    pub configs: Vec<ConfigInfo>,
}

impl ConfigInfos {
    /// A report from per-key results; keys without a definition in `def` get a generic STRING definition.
    pub fn new(class: &str, def: &ConfigDef, values: Vec<ConfigValueInfo>) -> Self {
        let configs: Vec<ConfigInfo> = values
            .into_iter()
            .map(|value| {
                let definition = match def.key(&value.name) {
                    Some(key) => ConfigKeyInfo::from(key),
                    None => ConfigKeyInfo::from(&ConfigKey::new(value.name.clone(), ConfigType::String).optional()),
                };
                ConfigInfo { definition, value }
            })
            .collect();
        ConfigInfos {
            name: class.to_string(),
            error_count: configs.iter().map(|c| c.value.errors.len()).sum(),
            groups: def.groups(),
            configs,
        }
    }

    /// Every error as `key: message`, for logs and CLI messages.
    pub fn error_messages(&self) -> Vec<String> {
        self.configs.iter().flat_map(|c| c.value.errors.iter().map(move |e| format!("{}: {e}", c.value.name))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Config {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn parse_errors_use_kafka_messages() {
        let def = ConfigDef::new()
            .define(ConfigKey::new("n", ConfigType::Int).validator(Validator::Range { min: Some(1.0), max: None }));
        let err = def.parse(&props(&[("n", "abc")])).unwrap_err();
        assert_eq!(err.message(), "Invalid value abc for configuration n: Not a number of type INT");
        let err = def.parse(&props(&[("n", "0")])).unwrap_err();
        assert_eq!(err.message(), "Invalid value 0 for configuration n: Value must be at least 1");
        assert_eq!(def.parse(&props(&[("n", " 5 ")])).unwrap().int("n").unwrap(), 5);
    }

    #[test]
    fn lists_booleans_and_one_of() {
        let def = ConfigDef::new()
            .define(ConfigKey::new("l", ConfigType::List).default_value(""))
            .define(ConfigKey::new("b", ConfigType::Boolean).default_value("false"))
            .define(
                ConfigKey::new("m", ConfigType::String)
                    .default_value("none")
                    .validator(Validator::OneOf(vec!["none".into(), "all".into()])),
            );
        let parsed = def.parse(&props(&[("l", "a, b ,c"), ("b", "TRUE")])).unwrap();
        assert_eq!(parsed.list("l").unwrap(), ["a", "b", "c"]);
        assert!(parsed.boolean("b").unwrap());
        let err = def.parse(&props(&[("m", "some")])).unwrap_err();
        assert_eq!(err.message(), "Invalid value some for configuration m: String must be one of: none, all");
    }

    #[test]
    fn validation_report_masks_passwords_and_counts_errors() {
        let def = ConfigDef::new()
            .define(ConfigKey::new("secret", ConfigType::Password).group("Auth", 1))
            .define(ConfigKey::new("port", ConfigType::Int).group("Net", 1));
        let report = def.validation_report("X", &props(&[("secret", "hunter2"), ("port", "x")]));
        assert_eq!(report.error_count, 1);
        assert_eq!(report.groups, ["Auth", "Net"]);
        assert_eq!(report.configs[0].value.value.as_deref(), Some("[hidden]"));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["configs"][1]["definition"]["type"], "INT");
        assert_eq!(json["configs"][1]["definition"]["required"], true);
        assert_eq!(
            json["configs"][1]["value"]["errors"][0],
            "Invalid value x for configuration port: Not a number of type INT"
        );
    }
}
