//! One table (or the query) of a source task: its SQL per mode (Confluent's `TimestampIncrementingCriteria`), its
//! source partition and offset maps (exactly the Java connector's), and a running query whose rows stream into a
//! bounded channel, as Java keeps its result set open across polls.
//!
//! Offsets: every record carries the offset to resume after it. In timestamp-only mode a record's offset only
//! moves to its own timestamp when the next row's timestamp is strictly greater (or the result ends), so a restart
//! in the middle of rows with equal timestamps reads them again instead of skipping them.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use connect_api::data::logical::Decimal;
use connect_api::{ConnectError, Result, Schema, SchemaBuilder, SourceMap, SourceRecord, Struct, Value};
use sqlx::{Column, Executor, TypeInfo};
use tokio::sync::mpsc;

use crate::catalog;
use crate::db::{Db, SqlValue};
use crate::dialect::{Dialect, TableId};
use crate::source::config::{Mode, SourceSettings};
use crate::source::schema::{self, DecodedRow, Decoder, SourceColumn};

/// The resume point of a table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Offset {
    /// Last incrementing value.
    pub incrementing: Option<i64>,
    /// Last timestamp.
    pub timestamp: Option<DateTime<Utc>>,
}

impl Offset {
    /// The offset map: `incrementing`, `timestamp` (epoch ms), `timestamp_nanos` (nanos of the second).
    pub fn to_map(self) -> SourceMap {
        let mut map = SourceMap::new();
        if let Some(ts) = self.timestamp {
            map.insert("timestamp", ts.timestamp_millis());
            map.insert("timestamp_nanos", i64::from(ts.timestamp_subsec_nanos()));
        }
        if let Some(inc) = self.incrementing {
            map.insert("incrementing", inc);
        }
        map
    }

    /// Reads an offset map.
    pub fn from_map(map: &SourceMap) -> Offset {
        let long = |k: &str| map.get(k).and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()));
        let timestamp = long("timestamp").and_then(|ms| {
            let seconds = ms.div_euclid(1000);
            let nanos = long("timestamp_nanos").map_or((ms.rem_euclid(1000) * 1_000_000) as u32, |n| n as u32);
            DateTime::<Utc>::from_timestamp(seconds, nanos)
        });
        Offset { incrementing: long("incrementing"), timestamp }
    }
}

/// The source partition of a table (protocol v1) or of the query.
pub fn partition(table: Option<&TableId>, mode: Mode) -> SourceMap {
    match (table, mode) {
        (None, _) => SourceMap::new().with("query", "query"),
        (Some(t), Mode::Bulk) => SourceMap::new().with("table", t.name.as_str()),
        (Some(t), _) => SourceMap::new().with("protocol", "1").with("table", t.fqn()),
    }
}

/// The legacy (v0) partition, read when no v1 offset exists.
pub fn legacy_partition(table: &TableId) -> SourceMap {
    SourceMap::new().with("table", table.name.as_str())
}

/// The SQL of a mode; `base` is `SELECT * FROM t` or the wrapped query.
pub fn build_sql(dialect: Dialect, base: &str, mode: Mode, inc: &str, ts: &[String], suffix: &str) -> String {
    let q = |c: &str| dialect.quote(c);
    let ts_expr = if ts.len() == 1 {
        q(&ts[0])
    } else {
        format!("COALESCE({})", ts.iter().map(|c| q(c)).collect::<Vec<_>>().join(","))
    };
    let p = |n| dialect.placeholder(n);
    let mut sql = match mode {
        Mode::Bulk => base.to_string(),
        Mode::Incrementing => format!("{base} WHERE {i} > {} ORDER BY {i} ASC", p(1), i = q(inc)),
        Mode::Timestamp => format!("{base} WHERE {t} > {} AND {t} < {} ORDER BY {t} ASC", p(1), p(2), t = ts_expr),
        Mode::TimestampIncrementing => format!(
            "{base} WHERE {t} < {} AND (({t} = {} AND {i} > {}) OR {t} > {}) ORDER BY {t},{i} ASC",
            p(1),
            p(2),
            p(3),
            p(4),
            t = ts_expr,
            i = q(inc)
        ),
    };
    if !suffix.is_empty() {
        sql.push(' ');
        sql.push_str(suffix);
    }
    sql
}

/// A table or query being polled.
pub struct Querier {
    /// The table (none in query mode).
    pub table: Option<TableId>,
    /// Its source partition.
    pub partition: SourceMap,
    topic: String,
    sql: String,
    columns: Vec<(usize, SourceColumn)>,
    schema: Schema,
    inc_index: Option<usize>,
    ts_indexes: Vec<usize>,
    ts_decoder: Decoder,
    /// The offset after the last record handed out.
    pub offset: Offset,
    /// When the next query may start.
    pub next_run: Instant,
    running: Option<mpsc::Receiver<Result<SourceRecord>>>,
}

/// The value of a row's incrementing column.
fn as_incrementing(v: &Value) -> Option<i64> {
    match v {
        Value::Bytes(b) => Decimal::to_unscaled(b).and_then(|n| i64::try_from(n).ok()),
        other => other.as_i64(),
    }
}

impl Querier {
    /// Prepares a querier: reads the table's columns (or describes the query), checks the mode's columns.
    pub async fn new(db: &Db, settings: &SourceSettings, table: Option<TableId>, offset: Offset) -> Result<Querier> {
        let dialect = db.dialect();
        let mode = settings.mode;
        let mapping = settings.numeric_mapping;
        let (base, columns, name) = match &table {
            Some(t) => {
                let infos = catalog::columns(db, t)
                    .await?
                    .ok_or_else(|| ConnectError::new(format!("table {} does not exist", t.fqn())))?;
                let mut inc_name = settings.incrementing_column.clone();
                if mode.incrementing() && inc_name.is_empty() {
                    inc_name = infos.iter().find(|c| c.auto_increment).map(|c| c.name.clone()).ok_or_else(|| {
                        ConnectError::config(
                            "incrementing.column.name",
                            format!("table {} has no auto-increment column: name one", t.fqn()),
                        )
                    })?;
                }
                let mut columns = Vec::new();
                for (i, info) in infos.iter().enumerate() {
                    if let Some(c) = schema::source_column(
                        dialect,
                        &info.name,
                        &info.data_type,
                        info.precision,
                        info.scale,
                        info.nullable,
                        mapping,
                    ) {
                        columns.push((i, c));
                    }
                }
                if settings.validate_non_null {
                    let mut checked: Vec<&str> = settings.timestamp_columns.iter().map(String::as_str).collect();
                    if mode.incrementing() {
                        checked.push(&inc_name);
                    }
                    if !mode.timestamp() {
                        checked.retain(|c| *c == inc_name);
                    }
                    for name in checked {
                        if infos.iter().any(|c| c.name == name && c.nullable) && mode != Mode::Bulk {
                            return Err(ConnectError::config(
                                if name == inc_name { "incrementing.column.name" } else { "timestamp.column.name" },
                                format!(
                                    "column '{name}' of table {} is nullable (set validate.non.null=false to allow it)",
                                    t.fqn()
                                ),
                            ));
                        }
                    }
                }
                (format!("SELECT * FROM {}", dialect.table(t)), (columns, inc_name), Some(t.name.clone()))
            }
            None => {
                let base = if mode == Mode::Bulk {
                    settings.query.clone()
                } else {
                    format!("SELECT * FROM ({}) connect_query", settings.query)
                };
                let described = describe(db, &base).await?;
                let columns = described
                    .into_iter()
                    .enumerate()
                    .filter_map(|(i, (name, type_name))| {
                        schema::source_column(dialect, &name, &type_name, None, None, true, mapping).map(|c| (i, c))
                    })
                    .collect();
                (base, (columns, settings.incrementing_column.clone()), None)
            }
        };
        let (columns, inc_name): (Vec<(usize, SourceColumn)>, String) = columns;
        let find = |n: &str, key: &str| -> Result<usize> {
            columns.iter().position(|(_, c)| c.name == n).ok_or_else(|| {
                ConnectError::config(
                    key,
                    format!(
                        "column '{n}' not found in {}",
                        table.as_ref().map_or_else(|| "the query".to_string(), TableId::fqn)
                    ),
                )
            })
        };
        let inc_index = if mode.incrementing() {
            if inc_name.is_empty() {
                return Err(ConnectError::config("incrementing.column.name", "is required in query mode"));
            }
            Some(find(&inc_name, "incrementing.column.name")?)
        } else {
            None
        };
        let mut ts_indexes = Vec::new();
        if mode.timestamp() {
            for c in &settings.timestamp_columns {
                let i = find(c, "timestamp.column.name")?;
                if !columns[i].1.decoder.is_timestamp() {
                    return Err(ConnectError::config(
                        "timestamp.column.name",
                        format!("column '{c}' is not a timestamp column"),
                    ));
                }
                ts_indexes.push(i);
            }
        }
        let ts_decoder = ts_indexes.first().map_or(Decoder::Timestamp, |&i| columns[i].1.decoder);
        let mut builder = SchemaBuilder::structure();
        if let Some(name) = &name {
            builder = builder.name(name.clone());
        }
        for (_, c) in &columns {
            builder = builder.field(c.name.clone(), c.schema.clone());
        }
        let schema = builder.build()?;
        let topic = match &table {
            Some(t) => format!("{}{}", settings.topic_prefix, t.name),
            None => settings.topic_prefix.clone(),
        };
        let sql = build_sql(dialect, &base, mode, &inc_name, &settings.timestamp_columns, &settings.query_suffix);
        Ok(Querier {
            partition: partition(table.as_ref(), mode),
            table,
            topic,
            sql,
            columns,
            schema,
            inc_index,
            ts_indexes,
            ts_decoder,
            offset,
            next_run: Instant::now(),
            running: None,
        })
    }

    /// Whether a query is running.
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Starts the query from the current offset.
    pub async fn start(&mut self, db: &Db, settings: &SourceSettings) -> Result<()> {
        let tz = settings.connection.timezone;
        let dialect = db.dialect();
        let mut params = Vec::new();
        let mode = settings.mode;
        let begin = self.offset.timestamp.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        let inc = self.offset.incrementing.unwrap_or(-1);
        if mode.timestamp() {
            let now = db.now().await?;
            let end = now - chrono::Duration::from_std(settings.timestamp_delay).unwrap_or_default();
            let ts = |t: DateTime<Utc>| ts_param(dialect, self.ts_decoder, t, tz);
            tracing::debug!("querying {} for timestamps in ({begin}, {end})", self.topic);
            if mode == Mode::Timestamp {
                params = vec![ts(begin), ts(end)];
            } else {
                params = vec![ts(end), ts(begin), SqlValue::I64(inc), ts(begin)];
            }
        } else if mode == Mode::Incrementing {
            params = vec![SqlValue::I64(inc)];
        }
        let (tx, rx) = mpsc::channel(settings.batch_max_rows.max(1));
        let emitter = Emitter {
            tx,
            mode,
            partition: self.partition.clone(),
            topic: self.topic.clone(),
            schema: self.schema.clone(),
            columns: self.columns.clone(),
            inc_index: self.inc_index,
            ts_indexes: self.ts_indexes.clone(),
            committable: self.offset,
            pending: None,
        };
        let sql = self.sql.clone();
        let db = db.clone();
        let columns = self.columns.clone();
        connect_api::async_connector::spawn(async move {
            let mut emitter = emitter;
            let result = stream(&db, &sql, &params, &columns, tz, &mut emitter).await;
            match result {
                Ok(()) => emitter.finish().await,
                Err(e) => {
                    let _ = emitter.tx.send(Err(e)).await;
                }
            }
        });
        self.running = Some(rx);
        Ok(())
    }

    /// Takes up to `max` records; `None` when the query is finished (or failed: the error is returned).
    pub async fn next_batch(&mut self, max: usize, wait: Duration) -> Result<Option<Vec<SourceRecord>>> {
        let Some(rx) = self.running.as_mut() else { return Ok(None) };
        let mut out = Vec::new();
        let first = match tokio::time::timeout(wait, rx.recv()).await {
            Ok(Some(first)) => first,
            Ok(None) => {
                self.running = None;
                return Ok(None);
            }
            Err(_) => return Ok(Some(out)),
        };
        fn push(r: Result<SourceRecord>, out: &mut Vec<SourceRecord>) -> Result<()> {
            out.push(r?);
            Ok(())
        }
        if let Err(e) = push(first, &mut out) {
            self.running = None;
            return Err(e);
        }
        while out.len() < max {
            match rx.try_recv() {
                Ok(r) => {
                    if let Err(e) = push(r, &mut out) {
                        self.running = None;
                        if out.is_empty() {
                            return Err(e);
                        }
                        tracing::warn!("query of {} failed: {}", self.topic, e.message());
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        if let Some(last) = out.last() {
            if self.inc_index.is_some() || !self.ts_indexes.is_empty() {
                self.offset = Offset::from_map(&last.source_offset);
            }
        }
        Ok(Some(out))
    }

    /// Drops a running query.
    pub fn reset(&mut self) {
        self.running = None;
    }
}

/// The bind value of a timestamp bound for a column of `decoder`.
pub fn ts_param(dialect: Dialect, decoder: Decoder, t: DateTime<Utc>, tz: Tz) -> SqlValue {
    match (dialect, decoder) {
        (Dialect::Postgres, Decoder::TimestampTz) => SqlValue::TimestampTz(t),
        (Dialect::MySql, Decoder::TimestampTz) => SqlValue::Timestamp(t.naive_utc()),
        _ => SqlValue::Timestamp(t.with_timezone(&tz).naive_local()),
    }
}

async fn describe(db: &Db, sql: &str) -> Result<Vec<(String, String)>> {
    let fail = |e: sqlx::Error| ConnectError::config("query", format!("cannot prepare the query: {e}"));
    Ok(match db {
        Db::Postgres(pool) => pool
            .describe(sql)
            .await
            .map_err(fail)?
            .columns()
            .iter()
            .map(|c| (c.name().to_string(), c.type_info().name().to_string()))
            .collect(),
        Db::MySql(pool) => pool
            .describe(sql)
            .await
            .map_err(fail)?
            .columns()
            .iter()
            .map(|c| (c.name().to_string(), c.type_info().name().to_string()))
            .collect(),
        Db::Sqlite(pool) => pool
            .describe(sql)
            .await
            .map_err(fail)?
            .columns()
            .iter()
            .map(|c| (c.name().to_string(), c.type_info().name().to_string()))
            .collect(),
    })
}

/// Turns rows into records with their offsets and sends them.
struct Emitter {
    tx: mpsc::Sender<Result<SourceRecord>>,
    mode: Mode,
    partition: SourceMap,
    topic: String,
    schema: Schema,
    columns: Vec<(usize, SourceColumn)>,
    inc_index: Option<usize>,
    ts_indexes: Vec<usize>,
    /// The offset of the last record sent.
    committable: Offset,
    /// Timestamp mode: the row waiting for the next one (its own offset, its value).
    pending: Option<(Offset, Struct)>,
}

impl Emitter {
    fn row_offset(&self, row: &DecodedRow) -> Offset {
        let mut offset = self.committable;
        if let Some(i) = self.inc_index {
            if let Some(v) = as_incrementing(&row.values[i]) {
                offset.incrementing = Some(v);
            }
        }
        if let Some(ts) = self.ts_indexes.iter().find_map(|&i| row.instants[i]) {
            offset.timestamp = Some(ts);
        }
        offset
    }

    fn value(&self, row: DecodedRow) -> Result<Struct> {
        let mut s = Struct::new(self.schema.clone())?;
        for ((_, c), v) in self.columns.iter().zip(row.values) {
            s.put(&c.name, v)?;
        }
        Ok(s)
    }

    async fn send(&mut self, offset: Offset, value: Struct) -> bool {
        self.committable = offset;
        let map = if self.mode == Mode::Bulk { SourceMap::new() } else { offset.to_map() };
        let record = SourceRecord::new(
            self.partition.clone(),
            map,
            self.topic.clone(),
            Some(self.schema.clone()),
            Value::Struct(value),
        );
        self.tx.send(Ok(record)).await.is_ok()
    }

    /// Handles one row; false when the receiver is gone.
    async fn row(&mut self, row: DecodedRow) -> Result<bool> {
        let offset = self.row_offset(&row);
        let value = self.value(row)?;
        if self.mode != Mode::Timestamp {
            return Ok(self.send(offset, value).await);
        }
        let Some((pending_offset, pending_value)) = self.pending.take() else {
            self.pending = Some((offset, value));
            return Ok(true);
        };
        // Only a strictly greater next timestamp makes the pending row's own timestamp safe to resume from.
        let resume = if offset.timestamp > pending_offset.timestamp { pending_offset } else { self.committable };
        self.pending = Some((offset, value));
        Ok(self.send(resume, pending_value).await)
    }

    async fn finish(mut self) {
        if let Some((offset, value)) = self.pending.take() {
            self.send(offset, value).await;
        }
    }
}

macro_rules! stream_rows {
    ($pool:expr, $args:expr, $sql:expr, $decode:path, $columns:expr, $tz:expr, $emitter:expr) => {{
        use futures_util::TryStreamExt;
        let mut rows = sqlx::query_with($sql, $args).fetch($pool);
        while let Some(row) =
            rows.try_next().await.map_err(|e| ConnectError::retriable(format!("query failed: {e}")))?
        {
            let decoded = $decode(&row, $columns, $tz)?;
            if !$emitter.row(decoded).await? {
                break;
            }
        }
        Ok(())
    }};
}

async fn stream(
    db: &Db,
    sql: &str,
    params: &[SqlValue],
    columns: &[(usize, SourceColumn)],
    tz: Tz,
    emitter: &mut Emitter,
) -> Result<()> {
    let bind_error = |e| ConnectError::data(format!("cannot bind a parameter: {e}"));
    match db {
        Db::Postgres(pool) => {
            let mut args = sqlx::postgres::PgArguments::default();
            for p in params {
                crate::db::bind_pg(&mut args, p).map_err(bind_error)?;
            }
            stream_rows!(pool, args, sql, schema::decode_pg, columns, tz, emitter)
        }
        Db::MySql(pool) => {
            let mut args = sqlx::mysql::MySqlArguments::default();
            for p in params {
                crate::db::bind_mysql(&mut args, p).map_err(bind_error)?;
            }
            stream_rows!(pool, args, sql, schema::decode_mysql, columns, tz, emitter)
        }
        Db::Sqlite(pool) => {
            let mut args = sqlx::sqlite::SqliteArguments::default();
            for p in params {
                crate::db::bind_sqlite(&mut args, p).map_err(bind_error)?;
            }
            stream_rows!(pool, args, sql, schema::decode_sqlite, columns, tz, emitter)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_per_mode_and_dialect() {
        let base = "SELECT * FROM \"public\".\"t\"";
        let pg = Dialect::Postgres;
        assert_eq!(build_sql(pg, base, Mode::Bulk, "", &[], ""), base);
        assert_eq!(
            build_sql(pg, base, Mode::Incrementing, "id", &[], ""),
            "SELECT * FROM \"public\".\"t\" WHERE \"id\" > $1 ORDER BY \"id\" ASC"
        );
        assert_eq!(
            build_sql(pg, base, Mode::Timestamp, "", &["u".into()], "LIMIT 5"),
            "SELECT * FROM \"public\".\"t\" WHERE \"u\" > $1 AND \"u\" < $2 ORDER BY \"u\" ASC LIMIT 5"
        );
        assert_eq!(
            build_sql(
                Dialect::MySql,
                "SELECT * FROM `t`",
                Mode::TimestampIncrementing,
                "id",
                &["a".into(), "b".into()],
                ""
            ),
            "SELECT * FROM `t` WHERE COALESCE(`a`,`b`) < ? AND ((COALESCE(`a`,`b`) = ? AND `id` > ?) OR \
             COALESCE(`a`,`b`) > ?) ORDER BY COALESCE(`a`,`b`),`id` ASC"
        );
    }

    #[test]
    fn offsets_and_partitions_are_the_java_maps() {
        let t = TableId { schema: Some("public".into()), name: "orders".into() };
        let p = partition(Some(&t), Mode::Incrementing);
        assert_eq!(p.get("protocol").and_then(|v| v.as_str()), Some("1"));
        assert_eq!(p.get("table").and_then(|v| v.as_str()), Some("public.orders"));
        assert_eq!(partition(None, Mode::Incrementing).get("query").and_then(|v| v.as_str()), Some("query"));
        assert_eq!(partition(Some(&t), Mode::Bulk).get("table").and_then(|v| v.as_str()), Some("orders"));
        let ts = DateTime::<Utc>::from_timestamp(1_700_000_000, 123_456_789).unwrap();
        let o = Offset { incrementing: Some(42), timestamp: Some(ts) };
        let m = o.to_map();
        assert_eq!(m.get("timestamp").and_then(Value::as_i64), Some(1_700_000_000_123));
        assert_eq!(m.get("timestamp_nanos").and_then(Value::as_i64), Some(123_456_789));
        assert_eq!(m.get("incrementing").and_then(Value::as_i64), Some(42));
        assert_eq!(Offset::from_map(&m), o);
        let inc_only = Offset { incrementing: Some(7), timestamp: None }.to_map();
        assert_eq!(inc_only.len(), 1);
    }
}
