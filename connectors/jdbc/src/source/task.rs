//! The source task: polls its tables (or the query) in turn. A table is queried again at the earliest
//! `poll.interval.ms` after its previous query finished; a running query hands out at most `batch.max.rows` per
//! poll. The offset of a table is restored from the offset store (protocol v1 partition first, then the legacy
//! v0 one), else from `timestamp.initial`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use chrono::DateTime;
use connect_api::async_connector::async_trait;
use connect_api::{AsyncSourceTask, Config, ConnectError, Result, SourceRecord, SourceTaskContext};

use crate::db::Db;
use crate::dialect::TableId;
use crate::source::config::{self, Mode, SourceSettings};
use crate::source::querier::{legacy_partition, partition, Offset, Querier};

/// How long one poll waits for rows of a running query before returning nothing (lets stops through).
const POLL_WAIT: Duration = Duration::from_secs(1);

/// The JDBC source task.
#[derive(Default)]
pub struct JdbcSourceTask {
    settings: Option<SourceSettings>,
    db: Option<Db>,
    queriers: VecDeque<Querier>,
}

/// The tables of a task configuration (`tables`: comma-separated fully-qualified names).
pub fn task_tables(config: &Config) -> Vec<TableId> {
    config
        .get("tables")
        .map(|t| t.split(',').map(str::trim).filter(|t| !t.is_empty()).map(TableId::parse).collect())
        .unwrap_or_default()
}

#[async_trait]
impl AsyncSourceTask for JdbcSourceTask {
    async fn start(&mut self, context: SourceTaskContext, config: &Config) -> Result<()> {
        let settings = config::settings(config)?;
        let c = &settings.connection;
        let db = Db::connect_with_retries(&c.target, c.attempts, c.backoff).await?;
        let targets: Vec<Option<TableId>> = if !settings.query.is_empty() {
            vec![None]
        } else if config.get("tables.fetched").map(String::as_str) == Some("false") {
            Vec::new()
        } else {
            task_tables(config).into_iter().map(Some).collect()
        };
        for table in targets {
            let stored = if settings.mode == Mode::Bulk {
                None
            } else {
                context
                    .offset(&partition(table.as_ref(), settings.mode))
                    .or_else(|| table.as_ref().and_then(|t| context.offset(&legacy_partition(t))))
            };
            let offset = match stored {
                Some(map) => Offset::from_map(&map),
                None => match settings.timestamp_initial {
                    Some(-1) => Offset { incrementing: None, timestamp: Some(db.now().await?) },
                    Some(ms) => Offset { incrementing: None, timestamp: DateTime::from_timestamp_millis(ms) },
                    None => Offset::default(),
                },
            };
            let name = table.as_ref().map_or_else(|| "query".to_string(), TableId::fqn);
            tracing::info!("{name}: starting from offset {offset:?}");
            let querier = Querier::new(&db, &settings, table, offset)
                .await
                .map_err(|e| ConnectError::with_kind(e.kind(), format!("{name}: {}", e.message())))?;
            self.queriers.push_back(querier);
        }
        self.db = Some(db);
        self.settings = Some(settings);
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        let settings = self.settings.clone().expect("started");
        let db = self.db.clone().expect("started");
        loop {
            let Some(front) = self.queriers.front_mut() else {
                // No table assigned: idle until the connector reconfigures the tasks.
                tokio::time::sleep(settings.poll_interval.min(POLL_WAIT)).await;
                return Ok(Vec::new());
            };
            if !front.is_running() {
                let now = Instant::now();
                if front.next_run > now {
                    tokio::time::sleep((front.next_run - now).min(POLL_WAIT)).await;
                    if front.next_run > Instant::now() {
                        return Ok(Vec::new());
                    }
                }
                if let Err(e) = front.start(&db, &settings).await {
                    tracing::warn!("query of {:?} failed to start, retrying: {}", front.partition, e.message());
                    front.next_run = Instant::now() + settings.poll_interval;
                    self.queriers.rotate_left(1);
                    return Ok(Vec::new());
                }
            }
            match front.next_batch(settings.batch_max_rows, POLL_WAIT).await {
                Ok(Some(batch)) => return Ok(batch),
                Ok(None) => {
                    front.next_run = Instant::now() + settings.poll_interval;
                    self.queriers.rotate_left(1);
                }
                Err(e) => {
                    // The next query resumes after the last record handed out.
                    tracing::warn!("query of {:?} failed, retrying: {}", front.partition, e.message());
                    front.reset();
                    front.next_run = Instant::now() + settings.poll_interval;
                    self.queriers.rotate_left(1);
                    return Ok(Vec::new());
                }
            }
        }
    }

    async fn stop(&mut self) -> Result<()> {
        for q in &mut self.queriers {
            q.reset();
        }
        if let Some(db) = self.db.take() {
            db.close().await;
        }
        Ok(())
    }
}
