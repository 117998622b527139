//! The source connector `io.confluent.connect.jdbc.JdbcSourceConnector`: rows of tables (or of a query) into
//! topics. The connector lists the tables, splits them over the tasks as Java does (contiguous groups, the first
//! ones one larger), and re-lists them every `table.poll.interval.ms`, asking for new task configurations when the
//! list changed.

pub mod config;
pub mod querier;
pub mod schema;
pub mod task;

use std::sync::{Arc, Mutex};

use connect_api::async_connector::{async_trait, spawn};
use connect_api::config::ConfigValueInfo;
use connect_api::{AsyncConnector, AsyncSourceConnector, Config, ConfigDef, ConnectError, ConnectorContext, Result};

use crate::catalog;
use crate::common::{self, add_error, has_error};
use crate::db::Db;
use crate::dialect::TableId;
use config::SourceSettings;
pub use task::JdbcSourceTask;

/// The JDBC source connector.
#[derive(Default)]
pub struct JdbcSource {
    config: Config,
    settings: Option<SourceSettings>,
    tables: Arc<Mutex<Vec<TableId>>>,
    monitor: Option<tokio::task::JoinHandle<()>>,
}

/// Whether `table` is selected by the white/black/include/exclude lists.
pub fn selected(settings: &SourceSettings, table: &TableId) -> bool {
    let named = |list: &[String]| list.iter().any(|n| *n == table.name || *n == table.fqn());
    if !settings.whitelist.is_empty() {
        return named(&settings.whitelist);
    }
    if !settings.blacklist.is_empty() {
        return !named(&settings.blacklist);
    }
    if !settings.include.is_empty() {
        let fqn = table.fqn();
        return settings.include.iter().any(|r| r.is_match(&fqn)) && !settings.exclude.iter().any(|r| r.is_match(&fqn));
    }
    true
}

/// The selected tables of the database.
pub async fn list_tables(db: &Db, settings: &SourceSettings) -> Result<Vec<TableId>> {
    let all = catalog::tables(db, settings.schema_pattern.as_deref(), settings.views).await?;
    Ok(all.into_iter().filter(|t| selected(settings, t)).collect())
}

/// Kafka's `ConnectorUtils.groupPartitions`: `groups` contiguous chunks, the first `n % groups` one larger.
pub fn group<T: Clone>(items: &[T], groups: usize) -> Vec<Vec<T>> {
    let groups = groups.max(1).min(items.len().max(1));
    let (per, extra) = (items.len() / groups, items.len() % groups);
    let mut out = Vec::with_capacity(groups);
    let mut start = 0;
    for g in 0..groups {
        let size = per + usize::from(g < extra);
        out.push(items[start..start + size].to_vec());
        start += size;
    }
    out
}

#[async_trait]
impl AsyncConnector for JdbcSource {
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").into()
    }

    fn config_def(&self) -> ConfigDef {
        config::config_def()
    }

    async fn start(&mut self, context: ConnectorContext, config: &Config) -> Result<()> {
        let settings = config::settings(config)?;
        self.config = config.clone();
        if settings.query.is_empty() {
            let c = &settings.connection;
            let db = Db::connect_with_retries(&c.target, c.attempts, c.backoff).await?;
            let tables = list_tables(&db, &settings).await?;
            tracing::info!("tables to copy: {:?}", tables.iter().map(TableId::fqn).collect::<Vec<_>>());
            *self.tables.lock().expect("not poisoned") = tables;
            let shared = self.tables.clone();
            let interval = settings.table_poll_interval;
            let monitor_settings = settings.clone();
            self.monitor = Some(spawn(async move {
                loop {
                    tokio::time::sleep(interval).await;
                    match list_tables(&db, &monitor_settings).await {
                        Ok(now) => {
                            let changed = {
                                let mut known = shared.lock().expect("not poisoned");
                                let changed = *known != now;
                                if changed {
                                    tracing::info!(
                                        "the tables changed: {:?}",
                                        now.iter().map(TableId::fqn).collect::<Vec<_>>()
                                    );
                                    *known = now;
                                }
                                changed
                            };
                            if changed {
                                context.request_task_reconfiguration();
                            }
                        }
                        Err(e) => tracing::warn!("cannot list the tables: {}", e.message()),
                    }
                }
            }));
        }
        self.settings = Some(settings);
        Ok(())
    }

    async fn task_configs(&mut self, max_tasks: usize) -> Result<Vec<Config>> {
        let settings = self.settings.as_ref().ok_or_else(|| ConnectError::new("the connector is not started"))?;
        if !settings.query.is_empty() {
            let mut config = self.config.clone();
            config.insert("tables".into(), String::new());
            config.insert("tables.fetched".into(), "true".into());
            return Ok(vec![config]);
        }
        let tables = self.tables.lock().expect("not poisoned").clone();
        if tables.is_empty() {
            tracing::warn!("no table to copy: one idle task");
        }
        Ok(group(&tables, max_tasks)
            .into_iter()
            .map(|chunk| {
                let mut config = self.config.clone();
                config.insert("tables".into(), chunk.iter().map(TableId::fqn).collect::<Vec<_>>().join(","));
                config.insert("tables.fetched".into(), "true".into());
                config
            })
            .collect())
    }

    async fn stop(&mut self) -> Result<()> {
        if let Some(monitor) = self.monitor.take() {
            monitor.abort();
        }
        Ok(())
    }

    /// The definition's checks, the mode's keys, the URL, a connection within 5 s, then for each selected table
    /// (or the query) that its incrementing and timestamp columns exist (and are NOT NULL with
    /// `validate.non.null`); whitelisted tables that do not exist are errors of `table.whitelist`.
    async fn validate(&self, config: &Config) -> Vec<ConfigValueInfo> {
        let def = config::config_def();
        let (mut report, parsed, connected) = common::validate_connection(&def, config).await;
        if parsed.is_none() {
            return report;
        }
        let settings = match config::settings(config) {
            Ok(s) => s,
            Err(e) => {
                let key = config::error_key(e.message());
                if !has_error(&report, &key) {
                    add_error(&mut report, &key, e.message().to_string());
                }
                return report;
            }
        };
        let Some((_, db)) = connected else { return report };
        let targets: Vec<Option<TableId>> = if !settings.query.is_empty() {
            vec![None]
        } else {
            match list_tables(&db, &settings).await {
                Ok(tables) => {
                    for name in &settings.whitelist {
                        if !tables.iter().any(|t| t.name == *name || t.fqn() == *name) {
                            add_error(&mut report, "table.whitelist", format!("table '{name}' does not exist"));
                        }
                    }
                    tables.into_iter().take(50).map(Some).collect()
                }
                Err(e) => {
                    add_error(&mut report, "connection.url", e.message().to_string());
                    Vec::new()
                }
            }
        };
        for table in targets {
            if let Err(e) = querier::Querier::new(&db, &settings, table, Default::default()).await {
                let key = config::error_key(e.message());
                let key =
                    if key == "connection.url" && settings.query.is_empty() { "table.whitelist".into() } else { key };
                add_error(&mut report, &key, e.message().to_string());
            }
        }
        db.close().await;
        report
    }
}

impl AsyncSourceConnector for JdbcSource {
    type Task = JdbcSourceTask;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_grouped_like_kafka() {
        let t: Vec<u32> = (1..=5).collect();
        assert_eq!(group(&t, 2), vec![vec![1, 2, 3], vec![4, 5]]);
        assert_eq!(group(&t, 3), vec![vec![1, 2], vec![3, 4], vec![5]]);
        assert_eq!(group(&t, 10).len(), 5);
        assert_eq!(group::<u32>(&[], 4), vec![Vec::<u32>::new()]);
    }
}
