//! The source's keys (Confluent's `JdbcSourceConnectorConfig`).

use std::time::Duration;

use connect_api::{Config, ConfigDef, ConfigKey, ConfigType, ConnectError, Importance, Result, Validator};

use crate::common::{self, Connection};
use crate::source::schema::NumericMapping;

/// `mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The whole table every poll.
    Bulk,
    /// New rows by a strictly increasing column.
    Incrementing,
    /// New and updated rows by timestamp.
    Timestamp,
    /// Both.
    TimestampIncrementing,
}

impl Mode {
    /// Whether the mode reads an incrementing column.
    pub fn incrementing(self) -> bool {
        matches!(self, Mode::Incrementing | Mode::TimestampIncrementing)
    }

    /// Whether the mode reads timestamp columns.
    pub fn timestamp(self) -> bool {
        matches!(self, Mode::Timestamp | Mode::TimestampIncrementing)
    }
}

/// The source settings.
#[derive(Clone, Debug)]
pub struct SourceSettings {
    /// Connection.
    pub connection: Connection,
    /// `mode`.
    pub mode: Mode,
    /// `incrementing.column.name` (empty: auto-detect).
    pub incrementing_column: String,
    /// `timestamp.column.name`.
    pub timestamp_columns: Vec<String>,
    /// `timestamp.initial` (epoch ms; -1: the database's current time).
    pub timestamp_initial: Option<i64>,
    /// `validate.non.null`.
    pub validate_non_null: bool,
    /// `query` / `query.masked`.
    pub query: String,
    /// `query.suffix`.
    pub query_suffix: String,
    /// `poll.interval.ms`.
    pub poll_interval: Duration,
    /// `batch.max.rows`.
    pub batch_max_rows: usize,
    /// `table.poll.interval.ms`.
    pub table_poll_interval: Duration,
    /// `topic.prefix`.
    pub topic_prefix: String,
    /// `numeric.mapping`.
    pub numeric_mapping: NumericMapping,
    /// `timestamp.delay.interval.ms`.
    pub timestamp_delay: Duration,
    /// `table.whitelist`.
    pub whitelist: Vec<String>,
    /// `table.blacklist`.
    pub blacklist: Vec<String>,
    /// `table.include.list` (regexes).
    pub include: Vec<regex::Regex>,
    /// `table.exclude.list` (regexes).
    pub exclude: Vec<regex::Regex>,
    /// `schema.pattern`.
    pub schema_pattern: Option<String>,
    /// `table.types` contains VIEW.
    pub views: bool,
}

fn key(name: &str, t: ConfigType) -> ConfigKey {
    ConfigKey::new(name, t)
}

/// The source's configuration definition.
pub fn config_def() -> ConfigDef {
    let def = common::connection_keys(ConfigDef::new(), false);
    let list = |name: &str, doc: &str| key(name, ConfigType::List).default_value("").documentation(doc);
    def.define(list("table.whitelist", "Tables to copy (names or schema-qualified names)."))
        .define(list("table.blacklist", "Tables not to copy."))
        .define(list("table.include.list", "Regexes of fully-qualified table names to copy."))
        .define(list("table.exclude.list", "Regexes of fully-qualified table names not to copy."))
        .define(key("catalog.pattern", ConfigType::String).optional().documentation("Catalog filter (ignored)."))
        .define(key("schema.pattern", ConfigType::String).optional().documentation("Schema filter (PostgreSQL)."))
        .define(key("table.types", ConfigType::List).default_value("TABLE").documentation("TABLE and/or VIEW."))
        .define(
            key("mode", ConfigType::String)
                .default_value("")
                .validator(Validator::OneOf(
                    ["", "bulk", "timestamp", "incrementing", "timestamp+incrementing"].map(String::from).to_vec(),
                ))
                .importance(Importance::High)
                .documentation("bulk, incrementing, timestamp or timestamp+incrementing."),
        )
        .define(
            key("incrementing.column.name", ConfigType::String)
                .default_value("")
                .documentation("Strictly increasing column; empty: the auto-increment column."),
        )
        .define(list("timestamp.column.name", "Timestamp columns; several: COALESCE of them."))
        .define(
            key("timestamp.initial", ConfigType::Long)
                .optional()
                .documentation("Epoch ms to start timestamp modes from without an offset; -1: now."),
        )
        .define(
            key("validate.non.null", ConfigType::Boolean)
                .default_value("true")
                .documentation("Refuse nullable incrementing/timestamp columns."),
        )
        .define(key("query", ConfigType::String).default_value("").documentation("A SELECT to run instead of tables."))
        .define(key("query.masked", ConfigType::Password).default_value("").documentation("As query, hidden."))
        .define(key("query.suffix", ConfigType::String).default_value("").documentation("Appended to the SQL."))
        .define(
            key("poll.interval.ms", ConfigType::Int)
                .default_value("5000")
                .validator(Validator::Range { min: Some(1.0), max: None })
                .importance(Importance::High)
                .documentation("Minimum interval between queries of one table."),
        )
        .define(
            key("batch.max.rows", ConfigType::Int)
                .default_value("1000")
                .validator(Validator::Range { min: Some(1.0), max: None })
                .documentation("Maximum rows per poll."),
        )
        .define(
            key("table.poll.interval.ms", ConfigType::Long)
                .default_value("60000")
                .documentation("Interval of the table list refresh (new and dropped tables)."),
        )
        .define(
            key("topic.prefix", ConfigType::String)
                .importance(Importance::High)
                .documentation("Topic = prefix + table name; in query mode, the prefix itself."),
        )
        .define(
            key("numeric.mapping", ConfigType::String)
                .optional()
                .validator(Validator::CaseInsensitiveOneOf(
                    ["none", "precision_only", "best_fit", "best_fit_eager_double"].map(String::from).to_vec(),
                ))
                .documentation("none, precision_only, best_fit, best_fit_eager_double."),
        )
        .define(
            key("numeric.precision.mapping", ConfigType::Boolean)
                .default_value("false")
                .documentation("Deprecated: precision_only."),
        )
        .define(
            key("timestamp.delay.interval.ms", ConfigType::Long)
                .default_value("0")
                .validator(Validator::Range { min: Some(0.0), max: None })
                .documentation("Rows are read only once the database clock is this far past their timestamp."),
        )
        .define(
            key("timestamp.granularity", ConfigType::String)
                .default_value("connect_logical")
                .documentation("Only connect_logical is supported."),
        )
        .define(
            key("transaction.isolation.mode", ConfigType::String)
                .default_value("DEFAULT")
                .documentation("Only DEFAULT is supported."),
        )
}

/// Reads the source settings; errors name their key.
pub fn settings(config: &Config) -> Result<SourceSettings> {
    let parsed = config_def().parse(config)?;
    let mode = match parsed.string("mode")? {
        "bulk" => Mode::Bulk,
        "incrementing" => Mode::Incrementing,
        "timestamp" => Mode::Timestamp,
        "timestamp+incrementing" => Mode::TimestampIncrementing,
        _ => {
            return Err(ConnectError::config(
                "mode",
                "must be set: bulk, incrementing, timestamp or timestamp+incrementing",
            ))
        }
    };
    let query = match parsed.string("query")? {
        "" => parsed.string("query.masked")?.to_string(),
        q => q.to_string(),
    };
    let timestamp_columns = parsed.list("timestamp.column.name")?.to_vec();
    if mode.timestamp() && timestamp_columns.is_empty() {
        return Err(ConnectError::config(
            "timestamp.column.name",
            format!("is required in mode {}", parsed.string("mode")?),
        ));
    }
    let numeric_mapping = match parsed.optional_string("numeric.mapping")?.map(str::to_ascii_lowercase).as_deref() {
        Some("precision_only") => NumericMapping::PrecisionOnly,
        Some("best_fit") => NumericMapping::BestFit,
        Some("best_fit_eager_double") => NumericMapping::BestFitEagerDouble,
        Some(_) => NumericMapping::None,
        None if parsed.boolean("numeric.precision.mapping")? => NumericMapping::PrecisionOnly,
        None => NumericMapping::None,
    };
    let regexes = |k: &str| -> Result<Vec<regex::Regex>> {
        parsed
            .list(k)?
            .iter()
            .map(|r| regex::Regex::new(&format!("^(?:{r})$")).map_err(|e| ConnectError::config(k, e)))
            .collect()
    };
    let whitelist = parsed.list("table.whitelist")?.to_vec();
    let blacklist = parsed.list("table.blacklist")?.to_vec();
    let include = regexes("table.include.list")?;
    let exclude = regexes("table.exclude.list")?;
    if !whitelist.is_empty() && !blacklist.is_empty() {
        return Err(ConnectError::config("table.whitelist", "table.whitelist and table.blacklist are exclusive"));
    }
    if !include.is_empty() && (!whitelist.is_empty() || !blacklist.is_empty()) {
        return Err(ConnectError::config(
            "table.include.list",
            "table.include.list cannot be combined with table.whitelist or table.blacklist",
        ));
    }
    if !exclude.is_empty() && include.is_empty() {
        return Err(ConnectError::config("table.exclude.list", "requires table.include.list"));
    }
    let topic_prefix = parsed.string("topic.prefix")?.to_string();
    if !query.is_empty() && topic_prefix.is_empty() {
        return Err(ConnectError::config("topic.prefix", "is the topic in query mode and must not be empty"));
    }
    if topic_prefix.chars().any(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
        return Err(ConnectError::config("topic.prefix", "may only contain [A-Za-z0-9._-]"));
    }
    if parsed.string("timestamp.granularity")? != "connect_logical" {
        return Err(ConnectError::not_supported("timestamp.granularity: only connect_logical is supported"));
    }
    if !parsed.string("transaction.isolation.mode")?.eq_ignore_ascii_case("DEFAULT") {
        return Err(ConnectError::not_supported("transaction.isolation.mode: only DEFAULT is supported"));
    }
    Ok(SourceSettings {
        connection: common::connection(&parsed)?,
        mode,
        incrementing_column: parsed.string("incrementing.column.name")?.to_string(),
        timestamp_columns,
        timestamp_initial: match parsed.get("timestamp.initial")? {
            connect_api::config::ConfigValue::Long(v) => Some(*v),
            _ => None,
        },
        validate_non_null: parsed.boolean("validate.non.null")?,
        query,
        query_suffix: parsed.string("query.suffix")?.to_string(),
        poll_interval: Duration::from_millis(parsed.int("poll.interval.ms")?.max(1) as u64),
        batch_max_rows: parsed.int("batch.max.rows")?.max(1) as usize,
        table_poll_interval: Duration::from_millis(parsed.long("table.poll.interval.ms")?.max(100) as u64),
        topic_prefix,
        numeric_mapping,
        timestamp_delay: Duration::from_millis(parsed.long("timestamp.delay.interval.ms")?.max(0) as u64),
        whitelist,
        blacklist,
        include,
        exclude,
        schema_pattern: parsed.optional_string("schema.pattern")?.filter(|s| !s.is_empty()).map(String::from),
        views: parsed.list("table.types")?.iter().any(|t| t.eq_ignore_ascii_case("VIEW")),
    })
}

/// The key an error message is about (`Invalid value .. for configuration KEY: ..`, `.. "KEY" ..`).
pub fn error_key(message: &str) -> String {
    let def = config_def();
    let mut names: Vec<&str> = def.keys().iter().map(|k| k.name.as_str()).collect();
    // Longest first: `query.suffix` before `query`.
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    names
        .iter()
        .find(|n| message.contains(&format!("configuration {n}:")) || message.contains(&format!("\"{n}\"")))
        .or_else(|| names.iter().find(|n| message.contains(*n)))
        .map_or_else(|| "connection.url".to_string(), |n| n.to_string())
}
