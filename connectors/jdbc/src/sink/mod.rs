//! The sink connector `io.confluent.connect.jdbc.JdbcSinkConnector`: records of Kafka topics into tables.

pub mod config;
pub mod fields;
pub mod task;

use connect_api::async_connector::async_trait;
use connect_api::config::ConfigValueInfo;
use connect_api::{AsyncConnector, AsyncSinkConnector, Config, ConfigDef, ConnectorContext, Result};

use crate::catalog;
use crate::common::{self, add_error, has_error};
use crate::dialect::TableId;
pub use task::JdbcSinkTask;

/// The JDBC sink connector.
#[derive(Default)]
pub struct JdbcSink {
    config: Config,
}

#[async_trait]
impl AsyncConnector for JdbcSink {
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").into()
    }

    fn config_def(&self) -> ConfigDef {
        config::config_def()
    }

    async fn start(&mut self, _context: ConnectorContext, config: &Config) -> Result<()> {
        config::settings(config).map_err(config::into_error)?;
        self.config = config.clone();
        Ok(())
    }

    async fn task_configs(&mut self, max_tasks: usize) -> Result<Vec<Config>> {
        // Tasks share the topics' partitions through the consumer group: each gets the whole configuration.
        Ok(vec![self.config.clone(); max_tasks.max(1)])
    }

    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }

    /// The definition's checks, the URL, a connection within 5 s, the key-mode combinations, and (without
    /// `auto.create`) that the tables of the listed topics exist.
    async fn validate(&self, config: &Config) -> Vec<ConfigValueInfo> {
        let def = config::config_def();
        let (mut report, parsed, connected) = common::validate_connection(&def, config).await;
        if parsed.is_none() {
            return report;
        }
        if let Err(errors) = config::settings(config) {
            for (key, message) in errors {
                if !has_error(&report, key) {
                    add_error(&mut report, key, message);
                }
            }
        }
        if let (Some((_, db)), Ok(settings)) = (connected, config::settings(config)) {
            if !settings.auto_create {
                let topics = config.get("topics").map(String::as_str).unwrap_or("");
                for topic in topics.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                    let table = TableId::parse(&settings.table_name_format.replace("${topic}", topic));
                    match catalog::columns(&db, &table).await {
                        Ok(Some(_)) => {}
                        Ok(None) => add_error(
                            &mut report,
                            "auto.create",
                            format!("table {} (topic {topic}) does not exist and auto.create=false", table.fqn()),
                        ),
                        Err(e) => add_error(&mut report, "connection.url", e.message().to_string()),
                    }
                }
            }
            db.close().await;
        }
        report
    }
}

impl AsyncSinkConnector for JdbcSink {
    type Task = JdbcSinkTask;
}
