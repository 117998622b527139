//! What source and sink share: the connection keys, the time zone key, reading them, and the `/validate` checks
//! that need the database (URL, reachability with a bounded timeout).

use std::time::Duration;

use chrono_tz::Tz;
use connect_api::config::ConfigValueInfo;
use connect_api::{
    Config, ConfigDef, ConfigKey, ConfigType, ConnectError, Importance, ParsedConfig, Result, Validator,
};

use crate::db::Db;
use crate::url::{self, Target};

/// How long `/validate` waits for the database before reporting it unreachable.
pub const VALIDATE_TIMEOUT: Duration = Duration::from_secs(5);

/// The connection keys of both connectors.
pub fn connection_keys(def: ConfigDef, url_required: bool) -> ConfigDef {
    let url = ConfigKey::new("connection.url", ConfigType::String)
        .importance(Importance::High)
        .group("Database", 1)
        .documentation(
            "JDBC connection URL (jdbc:postgresql://host:port/db, jdbc:mysql://, jdbc:mariadb://, jdbc:sqlite:PATH) \
             or sqlx URL.",
        );
    let url = if url_required { url } else { url.default_value("") };
    def.define(url)
        .define(
            ConfigKey::new("connection.user", ConfigType::String)
                .optional()
                .importance(Importance::High)
                .group("Database", 2)
                .documentation("JDBC connection user."),
        )
        .define(
            ConfigKey::new("connection.password", ConfigType::Password)
                .optional()
                .importance(Importance::High)
                .group("Database", 3)
                .documentation("JDBC connection password."),
        )
        .define(
            ConfigKey::new("connection.attempts", ConfigType::Int)
                .default_value("3")
                .validator(Validator::Range { min: Some(1.0), max: None })
                .importance(Importance::Low)
                .group("Database", 4)
                .documentation("Maximum number of attempts to get a valid connection."),
        )
        .define(
            ConfigKey::new("connection.backoff.ms", ConfigType::Long)
                .default_value("10000")
                .importance(Importance::Low)
                .group("Database", 5)
                .documentation("Backoff time in milliseconds between connection attempts."),
        )
        .define(
            ConfigKey::new("dialect.name", ConfigType::String)
                .default_value("")
                .validator(Validator::OneOf(
                    ["", "PostgreSqlDatabaseDialect", "MySqlDatabaseDialect", "SqliteDatabaseDialect"]
                        .map(String::from)
                        .to_vec(),
                ))
                .importance(Importance::Low)
                .group("Database", 6)
                .documentation("The dialect; by default chosen from the URL."),
        )
        .define(
            ConfigKey::new("db.timezone", ConfigType::String)
                .default_value("UTC")
                .importance(Importance::Medium)
                .documentation("Time zone of timestamp columns without a zone (IANA name, e.g. Europe/Paris)."),
        )
        .define(
            ConfigKey::new("quote.sql.identifiers", ConfigType::String)
                .default_value("always")
                .validator(Validator::CaseInsensitiveOneOf(vec!["always".into(), "never".into()]))
                .importance(Importance::Medium)
                .documentation("Whether to quote table and column names (only 'always' is supported)."),
        )
}

/// The connection settings of a parsed configuration.
#[derive(Clone, Debug)]
pub struct Connection {
    /// Where to connect.
    pub target: Target,
    /// `connection.attempts`.
    pub attempts: u32,
    /// `connection.backoff.ms`.
    pub backoff: Duration,
    /// `db.timezone`.
    pub timezone: Tz,
}

/// Reads the connection keys.
pub fn connection(parsed: &ParsedConfig) -> Result<Connection> {
    let target = url::parse(
        parsed.string("connection.url")?,
        parsed.optional_string("connection.user")?,
        parsed.optional_string("connection.password")?,
    )
    .map_err(|e| ConnectError::config("connection.url", e))?;
    let dialect = parsed.string("dialect.name")?;
    if !dialect.is_empty() && dialect != target.dialect().java_name() {
        return Err(ConnectError::config(
            "dialect.name",
            format!("{dialect} does not match the URL's database ({})", target.dialect().java_name()),
        ));
    }
    if !parsed.string("quote.sql.identifiers")?.eq_ignore_ascii_case("always") {
        return Err(ConnectError::not_supported(
            "quote.sql.identifiers=never is not supported: identifiers are always quoted",
        ));
    }
    Ok(Connection {
        target,
        attempts: parsed.int("connection.attempts")?.max(1) as u32,
        backoff: Duration::from_millis(parsed.long("connection.backoff.ms")?.max(0) as u64),
        timezone: timezone(parsed.string("db.timezone")?)?,
    })
}

/// Parses a time zone name (`UTC`, `Europe/Paris`, ...).
pub fn timezone(name: &str) -> Result<Tz> {
    name.parse::<Tz>().map_err(|_| ConnectError::config("db.timezone", format!("unknown time zone '{name}'")))
}

/// Adds `message` to the errors of `key` in a validation report.
pub fn add_error(report: &mut [ConfigValueInfo], key: &str, message: impl Into<String>) {
    if let Some(entry) = report.iter_mut().find(|e| e.name == key) {
        entry.errors.push(message.into());
    }
}

/// Whether `key` already has errors.
pub fn has_error(report: &[ConfigValueInfo], key: &str) -> bool {
    report.iter().any(|e| e.name == key && !e.errors.is_empty())
}

/// The validation every connector does: the definition's checks, then the URL, then a connection (bounded by
/// [`VALIDATE_TIMEOUT`]). Returns the report, the parsed configuration and the database when reachable.
pub async fn validate_connection(
    def: &ConfigDef,
    config: &Config,
) -> (Vec<ConfigValueInfo>, Option<ParsedConfig>, Option<(Connection, Db)>) {
    let mut report = def.validate(config);
    let parsed = match def.parse(config) {
        Ok(p) => p,
        Err(_) => return (report, None, None),
    };
    let connection = match connection(&parsed) {
        Ok(c) => c,
        Err(e) => {
            let key = if e.message().contains("configuration db.timezone") {
                "db.timezone"
            } else if e.message().contains("configuration dialect.name") {
                "dialect.name"
            } else if e.message().contains("quote.sql.identifiers") {
                "quote.sql.identifiers"
            } else {
                "connection.url"
            };
            add_error(&mut report, key, e.message().to_string());
            return (report, Some(parsed), None);
        }
    };
    match tokio::time::timeout(VALIDATE_TIMEOUT, Db::connect(&connection.target, 1, VALIDATE_TIMEOUT)).await {
        Ok(Ok(db)) => (report, Some(parsed), Some((connection, db))),
        Ok(Err(e)) => {
            add_error(&mut report, "connection.url", e.message().to_string());
            (report, Some(parsed), None)
        }
        Err(_) => {
            add_error(
                &mut report,
                "connection.url",
                format!("cannot connect to the database: no answer within {} s", VALIDATE_TIMEOUT.as_secs()),
            );
            (report, Some(parsed), None)
        }
    }
}
