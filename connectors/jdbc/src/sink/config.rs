//! The sink's keys (Confluent's `JdbcSinkConfig`) and their combined checks: `pk.mode` against `insert.mode`,
//! `delete.enabled` and `pk.fields`, each error under its key.

use std::time::Duration;

use connect_api::{Config, ConfigDef, ConfigKey, ConfigType, ConnectError, Importance, Result, Validator};

use crate::common::{self, Connection};

/// `insert.mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsertMode {
    /// Plain INSERT.
    Insert,
    /// The dialect's upsert.
    Upsert,
    /// UPDATE by key.
    Update,
}

/// `pk.mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PkMode {
    /// No key columns.
    None,
    /// `__connect_topic`, `__connect_partition`, `__connect_offset`.
    Kafka,
    /// From the record key.
    RecordKey,
    /// From the record value.
    RecordValue,
}

/// The sink settings.
#[derive(Clone, Debug)]
pub struct SinkSettings {
    /// Connection.
    pub connection: Connection,
    /// `insert.mode`.
    pub insert_mode: InsertMode,
    /// `pk.mode`.
    pub pk_mode: PkMode,
    /// `pk.fields`.
    pub pk_fields: Vec<String>,
    /// `fields.whitelist` (empty: all).
    pub fields_whitelist: Vec<String>,
    /// `table.name.format`.
    pub table_name_format: String,
    /// `auto.create`.
    pub auto_create: bool,
    /// `auto.evolve`.
    pub auto_evolve: bool,
    /// `delete.enabled`.
    pub delete_enabled: bool,
    /// `batch.size`.
    pub batch_size: usize,
    /// `max.retries`.
    pub max_retries: u32,
    /// `retry.backoff.ms`.
    pub retry_backoff: Duration,
    /// `errors.tolerance=all`: errant records go to `report_errant`.
    pub tolerate_errors: bool,
}

fn enum_key(name: &str, default: &str, values: &[&str], doc: &str) -> ConfigKey {
    ConfigKey::new(name, ConfigType::String)
        .default_value(default)
        .validator(Validator::CaseInsensitiveOneOf(values.iter().map(|v| v.to_string()).collect()))
        .documentation(doc)
}

/// The sink's configuration definition.
pub fn config_def() -> ConfigDef {
    let def = common::connection_keys(ConfigDef::new(), true);
    def.define(
        enum_key("insert.mode", "insert", &["insert", "upsert", "update"], "The insertion mode.")
            .importance(Importance::High)
            .group("Writes", 1),
    )
    .define(
        ConfigKey::new("batch.size", ConfigType::Int)
            .default_value("3000")
            .validator(Validator::Range { min: Some(0.0), max: None })
            .importance(Importance::Medium)
            .group("Writes", 2)
            .documentation("Records per batched statement, per table."),
    )
    .define(
        ConfigKey::new("delete.enabled", ConfigType::Boolean)
            .default_value("false")
            .importance(Importance::Medium)
            .group("Writes", 3)
            .documentation("Whether tombstones delete the row of their key (requires pk.mode=record_key)."),
    )
    .define(
        ConfigKey::new("table.name.format", ConfigType::String)
            .default_value("${topic}")
            .importance(Importance::Medium)
            .group("Data Mapping", 1)
            .documentation("Destination table name; ${topic} is replaced by the record's topic."),
    )
    .define(
        enum_key("pk.mode", "none", &["none", "kafka", "record_key", "record_value"], "The primary key mode.")
            .importance(Importance::High)
            .group("Data Mapping", 2),
    )
    .define(
        ConfigKey::new("pk.fields", ConfigType::List)
            .default_value("")
            .importance(Importance::Medium)
            .group("Data Mapping", 3)
            .documentation("Primary key field names; meaning depends on pk.mode."),
    )
    .define(
        ConfigKey::new("fields.whitelist", ConfigType::List)
            .default_value("")
            .importance(Importance::Medium)
            .group("Data Mapping", 4)
            .documentation("Value fields written as non-key columns; empty: all."),
    )
    .define(
        ConfigKey::new("auto.create", ConfigType::Boolean)
            .default_value("false")
            .importance(Importance::Medium)
            .group("DDL Support", 1)
            .documentation("CREATE the destination table from the record schema when it is missing."),
    )
    .define(
        ConfigKey::new("auto.evolve", ConfigType::Boolean)
            .default_value("false")
            .importance(Importance::Medium)
            .group("DDL Support", 2)
            .documentation("ALTER the destination table to add the columns of new fields."),
    )
    .define(
        ConfigKey::new("max.retries", ConfigType::Int)
            .default_value("10")
            .validator(Validator::Range { min: Some(0.0), max: None })
            .importance(Importance::Medium)
            .group("Retries", 1)
            .documentation("Retries of a failed put before the task fails (or errant records are reported)."),
    )
    .define(
        ConfigKey::new("retry.backoff.ms", ConfigType::Int)
            .default_value("3000")
            .validator(Validator::Range { min: Some(0.0), max: None })
            .importance(Importance::Medium)
            .group("Retries", 2)
            .documentation("Wait before a failed put is retried."),
    )
    .define(
        ConfigKey::new("table.types", ConfigType::List)
            .default_value("TABLE")
            .importance(Importance::Low)
            .documentation("Kinds of existing objects the sink may write to (TABLE, VIEW)."),
    )
}

/// Errors of a configuration, each under the key it concerns.
pub type KeyErrors = Vec<(&'static str, String)>;

/// Reads and cross-checks the sink settings.
pub fn settings(config: &Config) -> std::result::Result<SinkSettings, KeyErrors> {
    let parsed = config_def().parse(config).map_err(|e| vec![("connection.url", e.message().to_string())])?;
    let get = || -> Result<SinkSettings> {
        let lower = |key: &str| -> Result<String> { Ok(parsed.string(key)?.to_ascii_lowercase()) };
        Ok(SinkSettings {
            connection: common::connection(&parsed)?,
            insert_mode: match lower("insert.mode")?.as_str() {
                "upsert" => InsertMode::Upsert,
                "update" => InsertMode::Update,
                _ => InsertMode::Insert,
            },
            pk_mode: match lower("pk.mode")?.as_str() {
                "kafka" => PkMode::Kafka,
                "record_key" => PkMode::RecordKey,
                "record_value" => PkMode::RecordValue,
                _ => PkMode::None,
            },
            pk_fields: parsed.list("pk.fields")?.to_vec(),
            fields_whitelist: parsed.list("fields.whitelist")?.to_vec(),
            table_name_format: parsed.string("table.name.format")?.to_string(),
            auto_create: parsed.boolean("auto.create")?,
            auto_evolve: parsed.boolean("auto.evolve")?,
            delete_enabled: parsed.boolean("delete.enabled")?,
            batch_size: parsed.int("batch.size")?.max(1) as usize,
            max_retries: parsed.int("max.retries")?.max(0) as u32,
            retry_backoff: Duration::from_millis(parsed.int("retry.backoff.ms")?.max(0) as u64),
            tolerate_errors: config.get("errors.tolerance").is_some_and(|t| t.trim().eq_ignore_ascii_case("all")),
        })
    };
    let settings = get().map_err(|e| {
        let message = e.message().to_string();
        let key = ["db.timezone", "dialect.name", "quote.sql.identifiers"]
            .into_iter()
            .find(|k| message.contains(k))
            .unwrap_or("connection.url");
        vec![(key, message)]
    })?;
    let errors = cross_check(&settings);
    if errors.is_empty() {
        Ok(settings)
    } else {
        Err(errors)
    }
}

/// The combinations the connector refuses.
pub fn cross_check(s: &SinkSettings) -> KeyErrors {
    let mut errors = Vec::new();
    if s.pk_mode == PkMode::None && s.insert_mode != InsertMode::Insert {
        let mode = if s.insert_mode == InsertMode::Upsert { "upsert" } else { "update" };
        errors.push((
            "insert.mode",
            format!("insert.mode={mode} requires key columns: set pk.mode to kafka, record_key or record_value"),
        ));
    }
    if s.delete_enabled && s.pk_mode != PkMode::RecordKey {
        errors.push(("delete.enabled", "Primary key mode must be 'record_key' when delete support is enabled".into()));
    }
    if s.pk_mode == PkMode::Kafka && !s.pk_fields.is_empty() && s.pk_fields.len() != 3 {
        errors.push((
            "pk.fields",
            format!(
                "pk.mode=kafka takes exactly 3 names (topic, partition, offset columns) or none, got {}",
                s.pk_fields.len()
            ),
        ));
    }
    if s.pk_mode == PkMode::None && !s.pk_fields.is_empty() {
        errors.push(("pk.fields", "pk.fields is set but pk.mode=none uses no key columns".into()));
    }
    if !s.table_name_format.contains("${topic}") && s.table_name_format.trim().is_empty() {
        errors.push(("table.name.format", "must not be empty".into()));
    }
    errors
}

/// The first error as one configuration error.
pub fn into_error(errors: KeyErrors) -> ConnectError {
    match errors.into_iter().next() {
        Some((_, message)) if message.starts_with("Invalid value") => {
            ConnectError::with_kind(connect_api::ErrorKind::Config, message)
        }
        Some((key, message)) => ConnectError::config(key, message),
        None => ConnectError::new("invalid configuration"),
    }
}
