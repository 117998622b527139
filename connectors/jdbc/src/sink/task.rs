//! The sink task: one `put` is one database transaction. Records are grouped per destination table into batches
//! of one column layout and one operation (write or delete), in record order per table; each batch becomes
//! multi-row INSERT/upsert statements (upserts deduplicated by key, last record wins) or per-row UPDATE/DELETE.
//! Tables are created or altered before the transaction starts (DDL commits implicitly in MySQL).
//!
//! A put that failed in the database is rolled back and retried `max.retries` times (`retry.backoff.ms` apart,
//! as a retriable error: the worker delivers the same records again; table errors are not retried); then, with `errors.tolerance=all`, the records are written one
//! per transaction and those that fail go to `report_errant`; otherwise the task fails.

use std::collections::HashMap;
use std::sync::Arc;

use connect_api::async_connector::async_trait;
use connect_api::{AsyncSinkTask, Config, ConnectError, Result, SinkRecord, SinkTaskContext, TopicPartitionOffset};

use crate::catalog;
use crate::db::{Db, SqlValue, Statement};
use crate::dialect::{Column, Dialect, TableId};
use crate::sink::config::{self, InsertMode, SinkSettings};
use crate::sink::fields::Layout;

/// What a batch does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Write,
    Delete,
}

/// Consecutive records of one table with one layout and one operation.
struct Batch {
    table: TableId,
    layout: Arc<Layout>,
    op: Op,
    /// (record index, key values, non-key values).
    rows: Vec<(usize, Vec<SqlValue>, Vec<SqlValue>)>,
}

/// What the sink knows of a table: its columns (lower-cased names) and whether its unique keys were checked.
#[derive(Default)]
struct TableState {
    columns: Vec<String>,
    checked_keys: Vec<Vec<String>>,
}

/// The JDBC sink task.
#[derive(Default)]
pub struct JdbcSinkTask {
    settings: Option<SinkSettings>,
    context: Option<SinkTaskContext>,
    db: Option<Db>,
    tables: HashMap<TableId, TableState>,
    remaining_retries: u32,
    /// The last layout derived, with the schemas it came from (records of one topic share schemas).
    last_layout: Option<LastLayout>,
}

/// A derived layout and what it was derived from.
struct LastLayout {
    key: Option<connect_api::Schema>,
    value: Option<connect_api::Schema>,
    tombstone: bool,
    layout: Arc<Layout>,
}

/// A record ready to batch: table, layout, operation, key values, non-key values.
type Converted = (TableId, Arc<Layout>, Op, Vec<SqlValue>, Vec<SqlValue>);

impl JdbcSinkTask {
    fn settings(&self) -> &SinkSettings {
        self.settings.as_ref().expect("started")
    }

    fn table_of(&self, topic: &str) -> TableId {
        TableId::parse(&self.settings().table_name_format.replace("${topic}", topic))
    }

    fn layout(&mut self, record: &SinkRecord) -> Result<Arc<Layout>> {
        let tombstone = record.value.is_null();
        if let Some(LastLayout { key: k, value: v, tombstone: t, layout }) = &self.last_layout {
            let same = |a: &Option<connect_api::Schema>, b: Option<&connect_api::Schema>| match (a, b) {
                (Some(a), Some(b)) => a.ptr_eq(b) || a == b,
                (None, None) => true,
                _ => false,
            };
            if *t == tombstone && same(k, record.key_schema()) && same(v, record.value_schema()) {
                return Ok(layout.clone());
            }
        }
        let layout = Arc::new(Layout::of(record, self.settings())?);
        self.last_layout = Some(LastLayout {
            key: record.key_schema().cloned(),
            value: record.value_schema().cloned(),
            tombstone,
            layout: layout.clone(),
        });
        Ok(layout)
    }

    /// Groups the records into batches; records that cannot be converted are returned with their error.
    fn batches(&mut self, records: &[SinkRecord]) -> (Vec<Batch>, Vec<(usize, ConnectError)>) {
        let mut batches: Vec<Batch> = Vec::new();
        let mut open: HashMap<TableId, usize> = HashMap::new();
        let mut errant = Vec::new();
        let batch_size = self.settings().batch_size;
        for (i, record) in records.iter().enumerate() {
            let converted = (|| -> Result<Converted> {
                let op = if record.value.is_null() {
                    if !self.settings().delete_enabled {
                        return Err(ConnectError::data(format!(
                            "Sink connector requires records with a non-null Struct value and non-null Struct \
                             schema, but found record at (topic='{}',partition={},offset={}) with a null value \
                             (set delete.enabled=true to delete rows on tombstones)",
                            record.topic, record.kafka_partition, record.kafka_offset
                        )));
                    }
                    Op::Delete
                } else {
                    Op::Write
                };
                let layout = self.layout(record)?;
                let tz = self.settings().connection.timezone;
                let mut keys = Vec::with_capacity(layout.keys.len());
                layout.key_row(record, tz, &mut keys)?;
                let mut values = Vec::with_capacity(layout.values.len());
                if op == Op::Write {
                    layout.value_row(record, tz, &mut values)?;
                }
                Ok((self.table_of(&record.topic), layout, op, keys, values))
            })();
            let (table, layout, op, keys, values) = match converted {
                Ok(c) => c,
                Err(e) => {
                    errant.push((i, e));
                    continue;
                }
            };
            let reuse = open.get(&table).copied().filter(|&b| {
                let batch = &batches[b];
                batch.op == op
                    && batch.rows.len() < batch_size
                    && (Arc::ptr_eq(&batch.layout, &layout)
                        || (op == Op::Delete && batch.layout.keys == layout.keys)
                        || batch.layout.same_columns(&layout))
            });
            match reuse {
                Some(b) => batches[b].rows.push((i, keys, values)),
                None => {
                    open.insert(table.clone(), batches.len());
                    batches.push(Batch { table, layout, op, rows: vec![(i, keys, values)] });
                }
            }
        }
        (batches, errant)
    }

    /// Creates or alters the tables of `batches` as needed (outside the transaction).
    async fn prepare_tables(&mut self, batches: &[Batch]) -> Result<()> {
        let db = self.db.clone().expect("started");
        let dialect = db.dialect();
        for batch in batches {
            if batch.op == Op::Delete && self.tables.contains_key(&batch.table) {
                continue;
            }
            self.ensure_table(&db, dialect, &batch.table, &batch.layout).await?;
        }
        Ok(())
    }

    async fn ensure_table(&mut self, db: &Db, dialect: Dialect, table: &TableId, layout: &Layout) -> Result<()> {
        let settings = self.settings().clone();
        if !self.tables.contains_key(table) {
            match catalog::columns(db, table).await? {
                Some(columns) => {
                    let columns = columns.into_iter().map(|c| c.name.to_lowercase()).collect();
                    self.tables.insert(table.clone(), TableState { columns, checked_keys: Vec::new() });
                }
                None if settings.auto_create => {
                    let sql = dialect
                        .create_table(table, &layout.keys, &layout.values)
                        .map_err(|e| ConnectError::data(format!("cannot create table {}: {e}", table.fqn())))?;
                    tracing::info!("creating table {}: {sql}", table.fqn());
                    if let Err(e) = db.execute(&sql).await {
                        // Another task may have created it meanwhile.
                        if catalog::columns(db, table).await?.is_none() {
                            return Err(e);
                        }
                    }
                    let columns = catalog::columns(db, table)
                        .await?
                        .ok_or_else(|| ConnectError::new(format!("table {} missing after CREATE", table.fqn())))?;
                    let keys = layout.keys.iter().map(|k| k.name.clone()).collect();
                    let columns = columns.into_iter().map(|c| c.name.to_lowercase()).collect();
                    self.tables.insert(table.clone(), TableState { columns, checked_keys: vec![keys] });
                }
                None => {
                    return Err(ConnectError::data(format!(
                        "Table {} is missing and auto-creation is disabled (set auto.create=true)",
                        table.fqn()
                    )))
                }
            }
        }
        let state = self.tables.get(table).expect("just inserted");
        let missing: Vec<Column> = layout
            .keys
            .iter()
            .chain(&layout.values)
            .filter(|c| !state.columns.contains(&c.name.to_lowercase()))
            .cloned()
            .collect();
        if !missing.is_empty() {
            let names: Vec<&str> = missing.iter().map(|c| c.name.as_str()).collect();
            if !settings.auto_evolve {
                return Err(ConnectError::data(format!(
                    "Table {} is missing fields {names:?} and auto-evolution is disabled (set auto.evolve=true)",
                    table.fqn()
                )));
            }
            if missing.iter().any(|m| layout.keys.contains(m)) {
                return Err(ConnectError::data(format!(
                    "Table {} is missing key columns {names:?}: primary keys cannot be added by auto.evolve",
                    table.fqn()
                )));
            }
            for sql in dialect.alter_table(table, &missing).map_err(ConnectError::data)? {
                tracing::info!("altering table {}: {sql}", table.fqn());
                db.execute(&sql).await?;
            }
            let columns = catalog::columns(db, table).await?.unwrap_or_default();
            let state = self.tables.get_mut(table).expect("known");
            state.columns = columns.into_iter().map(|c| c.name.to_lowercase()).collect();
        }
        if settings.insert_mode == InsertMode::Upsert && !layout.keys.is_empty() {
            let wanted: Vec<String> = layout.keys.iter().map(|k| k.name.clone()).collect();
            let state = self.tables.get(table).expect("known");
            if !state.checked_keys.contains(&wanted) {
                let unique = catalog::unique_keys(db, table).await?;
                let mut sorted_wanted: Vec<String> = wanted.iter().map(|w| w.to_lowercase()).collect();
                sorted_wanted.sort();
                let found = unique.iter().any(|key| {
                    let mut k: Vec<String> = key.iter().map(|c| c.to_lowercase()).collect();
                    k.sort();
                    k == sorted_wanted
                });
                if !found {
                    return Err(ConnectError::data(format!(
                        "insert.mode=upsert needs a primary key or unique index on exactly ({}) of table {}, \
                         which has none (unique keys: {unique:?}); add one or use insert.mode=insert",
                        wanted.join(", "),
                        table.fqn()
                    )));
                }
                self.tables.get_mut(table).expect("known").checked_keys.push(wanted);
            }
        }
        Ok(())
    }

    /// The statements of `batches`.
    fn statements(&self, batches: &[Batch]) -> Vec<Statement> {
        let dialect = self.db.as_ref().expect("started").dialect();
        let mode = self.settings().insert_mode;
        let mut out = Vec::new();
        for batch in batches {
            let (keys, values) = (&batch.layout.keys, &batch.layout.values);
            match (batch.op, mode) {
                (Op::Delete, _) => {
                    let sql = dialect.delete(&batch.table, keys);
                    for (_, k, _) in &batch.rows {
                        out.push(Statement { sql: sql.clone(), params: k.clone() });
                    }
                }
                (Op::Write, InsertMode::Update) => {
                    let sql = dialect.update(&batch.table, keys, values);
                    for (_, k, v) in &batch.rows {
                        out.push(Statement { sql: sql.clone(), params: v.iter().chain(k).cloned().collect() });
                    }
                }
                (Op::Write, InsertMode::Insert | InsertMode::Upsert) => {
                    let upsert = mode == InsertMode::Upsert;
                    // Upserts of one key in one statement: the last record wins (PostgreSQL refuses a statement
                    // that touches one row twice).
                    let rows: Vec<&(usize, Vec<SqlValue>, Vec<SqlValue>)> = if upsert {
                        let mut last: HashMap<String, usize> = HashMap::new();
                        for (n, (_, k, _)) in batch.rows.iter().enumerate() {
                            last.insert(format!("{k:?}"), n);
                        }
                        batch
                            .rows
                            .iter()
                            .enumerate()
                            .filter(|(n, (_, k, _))| last[&format!("{k:?}")] == *n)
                            .map(|(_, r)| r)
                            .collect()
                    } else {
                        batch.rows.iter().collect()
                    };
                    let width = (keys.len() + values.len()).max(1);
                    let per_statement = (dialect.max_params() / width).max(1);
                    for chunk in rows.chunks(per_statement) {
                        let sql = if upsert {
                            dialect.upsert(&batch.table, keys, values, chunk.len())
                        } else {
                            dialect.insert(&batch.table, keys, values, chunk.len())
                        };
                        let mut params = Vec::with_capacity(chunk.len() * width);
                        for (_, k, v) in chunk {
                            params.extend(k.iter().cloned());
                            params.extend(v.iter().cloned());
                        }
                        out.push(Statement { sql, params });
                    }
                }
            }
        }
        out
    }

    async fn write(&mut self, batches: &[Batch]) -> Result<()> {
        self.prepare_tables(batches).await?;
        let statements = self.statements(batches);
        let db = self.db.clone().expect("started");
        db.execute_in_transaction(&statements).await?;
        Ok(())
    }

    /// Writes each record in its own transaction; reports those that fail.
    async fn write_one_by_one(&mut self, records: &[SinkRecord], batches: Vec<Batch>) -> Result<()> {
        let context = self.context.clone().expect("started");
        for batch in batches {
            for row in batch.rows {
                let index = row.0;
                let single =
                    Batch { table: batch.table.clone(), layout: batch.layout.clone(), op: batch.op, rows: vec![row] };
                if let Err(e) = self.write(std::slice::from_ref(&single)).await {
                    context.report_errant(records[index].clone(), e)?;
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl AsyncSinkTask for JdbcSinkTask {
    async fn start(&mut self, context: SinkTaskContext, config: &Config) -> Result<()> {
        let settings = config::settings(config).map_err(config::into_error)?;
        let c = &settings.connection;
        self.db = Some(Db::connect_with_retries(&c.target, c.attempts, c.backoff).await?);
        self.remaining_retries = settings.max_retries;
        self.settings = Some(settings);
        self.context = Some(context);
        Ok(())
    }

    async fn put(&mut self, records: Vec<SinkRecord>) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let (batches, errant) = self.batches(&records);
        let tolerate = self.settings().tolerate_errors;
        if let Some((index, error)) = errant.first() {
            if !tolerate {
                return Err(ConnectError::data(error.message().to_string()).context(format!(
                    "record at (topic='{}',partition={},offset={})",
                    records[*index].topic, records[*index].kafka_partition, records[*index].kafka_offset
                )));
            }
        }
        let context = self.context.clone().expect("started");
        for (index, error) in errant {
            context.report_errant(records[index].clone(), error)?;
        }
        match self.write(&batches).await {
            Ok(()) => {
                self.remaining_retries = self.settings().max_retries;
                Ok(())
            }
            Err(e) => {
                // The cached table metadata may be what is wrong (a table dropped or altered behind our back).
                self.tables.clear();
                // Only database errors are worth retrying; a record the table cannot take (missing table or
                // columns without auto.create/auto.evolve, no unique key for upserts) fails the same way again.
                if e.is_retriable() && self.remaining_retries > 0 {
                    self.remaining_retries -= 1;
                    tracing::warn!(
                        "write of {} records failed, {} retries left: {}",
                        records.len(),
                        self.remaining_retries,
                        e.message()
                    );
                    context.timeout(self.settings().retry_backoff.as_millis() as i64);
                    return Err(ConnectError::retriable(e.message().to_string()));
                }
                if tolerate {
                    tracing::warn!("write failed after all retries, writing records one by one: {}", e.message());
                    self.remaining_retries = self.settings().max_retries;
                    return self.write_one_by_one(&records, batches).await;
                }
                Err(ConnectError::new(format!(
                    "write of {} records failed after {} retries: {}",
                    records.len(),
                    self.settings().max_retries,
                    e.message()
                )))
            }
        }
    }

    async fn flush(&mut self, _offsets: &[TopicPartitionOffset]) -> Result<()> {
        // Every put committed its transaction.
        Ok(())
    }

    async fn stop(&mut self) -> Result<()> {
        if let Some(db) = self.db.take() {
            db.close().await;
        }
        Ok(())
    }
}
