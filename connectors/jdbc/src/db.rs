//! Connections and statements on the three sqlx drivers behind one [`Db`] handle: connect with a bounded timeout,
//! run a list of statements in one transaction, run metadata queries (every column read as text), read the
//! database clock. Values to bind are [`SqlValue`]s, typed so that each driver sends the parameter type the column
//! expects (typed NULLs included: PostgreSQL refuses an untyped one in many places).

use std::time::Duration;

use bigdecimal::BigDecimal;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use connect_api::{ConnectError, Result};
use sqlx::mysql::{MySql, MySqlPool, MySqlPoolOptions};
use sqlx::postgres::{PgPool, PgPoolOptions, Postgres};
use sqlx::sqlite::{Sqlite, SqlitePool, SqlitePoolOptions};
use sqlx::{Arguments, Row};

use crate::dialect::Dialect;
use crate::url::Target;

/// A value to bind.
#[derive(Clone, Debug, PartialEq)]
pub enum SqlValue {
    /// A NULL of the given kind.
    Null(Kind),
    /// BOOLEAN.
    Bool(bool),
    /// INT8.
    I8(i8),
    /// INT16.
    I16(i16),
    /// INT32.
    I32(i32),
    /// INT64.
    I64(i64),
    /// FLOAT32.
    F32(f32),
    /// FLOAT64.
    F64(f64),
    /// STRING.
    Text(String),
    /// BYTES.
    Bytes(Vec<u8>),
    /// Decimal.
    Decimal(BigDecimal),
    /// Date.
    Date(NaiveDate),
    /// Time.
    Time(NaiveTime),
    /// A timestamp without zone (already in the database's zone).
    Timestamp(NaiveDateTime),
    /// An instant, for `timestamp with time zone` columns.
    TimestampTz(DateTime<Utc>),
}

/// The type of a NULL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// BOOLEAN.
    Bool,
    /// INT8.
    I8,
    /// INT16.
    I16,
    /// INT32.
    I32,
    /// INT64.
    I64,
    /// FLOAT32.
    F32,
    /// FLOAT64.
    F64,
    /// STRING.
    Text,
    /// BYTES.
    Bytes,
    /// Decimal.
    Decimal,
    /// Date.
    Date,
    /// Time.
    Time,
    /// Timestamp.
    Timestamp,
}

type BindResult = std::result::Result<(), sqlx::error::BoxDynError>;

pub(crate) fn bind_pg(args: &mut sqlx::postgres::PgArguments, v: &SqlValue) -> BindResult {
    match v {
        SqlValue::Null(kind) => match kind {
            Kind::Bool => args.add(None::<bool>),
            Kind::I8 | Kind::I16 => args.add(None::<i16>),
            Kind::I32 => args.add(None::<i32>),
            Kind::I64 => args.add(None::<i64>),
            Kind::F32 => args.add(None::<f32>),
            Kind::F64 => args.add(None::<f64>),
            Kind::Text => args.add(None::<String>),
            Kind::Bytes => args.add(None::<Vec<u8>>),
            Kind::Decimal => args.add(None::<BigDecimal>),
            Kind::Date => args.add(None::<NaiveDate>),
            Kind::Time => args.add(None::<NaiveTime>),
            Kind::Timestamp => args.add(None::<NaiveDateTime>),
        },
        SqlValue::Bool(b) => args.add(*b),
        SqlValue::I8(n) => args.add(*n as i16),
        SqlValue::I16(n) => args.add(*n),
        SqlValue::I32(n) => args.add(*n),
        SqlValue::I64(n) => args.add(*n),
        SqlValue::F32(n) => args.add(*n),
        SqlValue::F64(n) => args.add(*n),
        SqlValue::Text(s) => args.add(s.clone()),
        SqlValue::Bytes(b) => args.add(b.clone()),
        SqlValue::Decimal(d) => args.add(d.clone()),
        SqlValue::Date(d) => args.add(*d),
        SqlValue::Time(t) => args.add(*t),
        SqlValue::Timestamp(t) => args.add(*t),
        SqlValue::TimestampTz(t) => args.add(*t),
    }
}

pub(crate) fn bind_mysql(args: &mut sqlx::mysql::MySqlArguments, v: &SqlValue) -> BindResult {
    match v {
        SqlValue::Null(kind) => match kind {
            Kind::Bool => args.add(None::<bool>),
            Kind::I8 => args.add(None::<i8>),
            Kind::I16 => args.add(None::<i16>),
            Kind::I32 => args.add(None::<i32>),
            Kind::I64 => args.add(None::<i64>),
            Kind::F32 => args.add(None::<f32>),
            Kind::F64 => args.add(None::<f64>),
            Kind::Text => args.add(None::<String>),
            Kind::Bytes => args.add(None::<Vec<u8>>),
            Kind::Decimal => args.add(None::<BigDecimal>),
            Kind::Date => args.add(None::<NaiveDate>),
            Kind::Time => args.add(None::<NaiveTime>),
            Kind::Timestamp => args.add(None::<NaiveDateTime>),
        },
        SqlValue::Bool(b) => args.add(*b),
        SqlValue::I8(n) => args.add(*n),
        SqlValue::I16(n) => args.add(*n),
        SqlValue::I32(n) => args.add(*n),
        SqlValue::I64(n) => args.add(*n),
        SqlValue::F32(n) => args.add(*n),
        SqlValue::F64(n) => args.add(*n),
        SqlValue::Text(s) => args.add(s.clone()),
        SqlValue::Bytes(b) => args.add(b.clone()),
        SqlValue::Decimal(d) => args.add(d.clone()),
        SqlValue::Date(d) => args.add(*d),
        SqlValue::Time(t) => args.add(*t),
        SqlValue::Timestamp(t) => args.add(*t),
        SqlValue::TimestampTz(t) => args.add(t.naive_utc()),
    }
}

/// SQLite stores decimals, dates and times as text (`YYYY-MM-DD`, `HH:MM:SS.fff`, `YYYY-MM-DD HH:MM:SS.fff`),
/// which sorts and compares correctly and is what its date functions read.
pub(crate) fn bind_sqlite<'q>(args: &mut sqlx::sqlite::SqliteArguments<'q>, v: &SqlValue) -> BindResult {
    match v {
        SqlValue::Null(_) => args.add(None::<String>),
        SqlValue::Bool(b) => args.add(*b),
        SqlValue::I8(n) => args.add(*n as i64),
        SqlValue::I16(n) => args.add(*n as i64),
        SqlValue::I32(n) => args.add(*n as i64),
        SqlValue::I64(n) => args.add(*n),
        SqlValue::F32(n) => args.add(*n as f64),
        SqlValue::F64(n) => args.add(*n),
        SqlValue::Text(s) => args.add(s.clone()),
        SqlValue::Bytes(b) => args.add(b.clone()),
        SqlValue::Decimal(d) => args.add(d.normalized().to_string()),
        SqlValue::Date(d) => args.add(d.format("%Y-%m-%d").to_string()),
        SqlValue::Time(t) => args.add(t.format("%H:%M:%S%.3f").to_string()),
        SqlValue::Timestamp(t) => args.add(sqlite_timestamp(t)),
        SqlValue::TimestampTz(t) => args.add(sqlite_timestamp(&t.naive_utc())),
    }
}

/// SQLite's text form of a timestamp, the one `strftime('%Y-%m-%d %H:%M:%f')` gives.
pub fn sqlite_timestamp(t: &NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.3f").to_string()
}

/// One statement with its parameter rows: executed once per row.
#[derive(Clone, Debug)]
pub struct Statement {
    /// The SQL.
    pub sql: String,
    /// The parameters of each execution.
    pub params: Vec<SqlValue>,
}

/// A pool of connections to one database.
#[derive(Clone, Debug)]
pub enum Db {
    /// PostgreSQL.
    Postgres(PgPool),
    /// MySQL or MariaDB.
    MySql(MySqlPool),
    /// SQLite.
    Sqlite(SqlitePool),
}

fn sql_error(what: &str, e: sqlx::Error) -> ConnectError {
    ConnectError::retriable(format!("{what}: {e}"))
}

macro_rules! with_pool {
    ($db:expr, $pool:ident, $bind:ident, $body:expr) => {
        match $db {
            Db::Postgres($pool) => {
                let $bind = bind_pg;
                $body
            }
            Db::MySql($pool) => {
                let $bind = bind_mysql;
                $body
            }
            Db::Sqlite($pool) => {
                let $bind = bind_sqlite;
                $body
            }
        }
    };
}

impl Db {
    /// Connects (at most `max_connections`), failing after `timeout` when the database cannot be reached.
    pub async fn connect(target: &Target, max_connections: u32, timeout: Duration) -> Result<Db> {
        let fail = |e: sqlx::Error| ConnectError::retriable(format!("cannot connect to the database: {e}"));
        let db = match target {
            Target::Postgres(o) => Db::Postgres(
                PgPoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(timeout)
                    .connect_with(o.clone())
                    .await
                    .map_err(fail)?,
            ),
            Target::MySql(o) => Db::MySql(
                MySqlPoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(timeout)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // Timestamps are exchanged in UTC; ANSI quotes stay off (we quote with backticks).
                            sqlx::query("SET time_zone = '+00:00'").execute(conn).await?;
                            Ok(())
                        })
                    })
                    .connect_with(o.clone())
                    .await
                    .map_err(fail)?,
            ),
            Target::Sqlite(o) => Db::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(timeout)
                    .connect_with(o.clone().busy_timeout(Duration::from_secs(30)))
                    .await
                    .map_err(fail)?,
            ),
        };
        Ok(db)
    }

    /// Connects with `attempts` tries `backoff` apart (`connection.attempts`, `connection.backoff.ms`).
    pub async fn connect_with_retries(target: &Target, attempts: u32, backoff: Duration) -> Result<Db> {
        let mut attempt = 1;
        loop {
            match Db::connect(target, 4, Duration::from_secs(10)).await {
                Ok(db) => return Ok(db),
                Err(e) if attempt >= attempts.max(1) => return Err(e),
                Err(e) => {
                    tracing::warn!("connection attempt {attempt} failed, retrying in {backoff:?}: {}", e.message());
                    attempt += 1;
                    tokio::time::sleep(backoff).await;
                }
            }
        }
    }

    /// The dialect.
    pub fn dialect(&self) -> Dialect {
        match self {
            Db::Postgres(_) => Dialect::Postgres,
            Db::MySql(_) => Dialect::MySql,
            Db::Sqlite(_) => Dialect::Sqlite,
        }
    }

    /// Runs one statement without parameters (DDL), outside any transaction.
    pub async fn execute(&self, sql: &str) -> Result<()> {
        with_pool!(self, pool, _bind, {
            sqlx::query(sql).execute(pool).await.map_err(|e| sql_error(sql, e))?;
        });
        Ok(())
    }

    /// Runs `statements` in one transaction, in order; returns the rows each affected. Rolled back on error.
    pub async fn execute_in_transaction(&self, statements: &[Statement]) -> Result<Vec<u64>> {
        with_pool!(self, pool, bind, {
            let mut tx = pool.begin().await.map_err(|e| sql_error("BEGIN", e))?;
            let mut affected = Vec::with_capacity(statements.len());
            for statement in statements {
                let mut args = Default::default();
                for p in &statement.params {
                    bind(&mut args, p).map_err(|e| ConnectError::data(format!("cannot bind {p:?}: {e}")))?;
                }
                let done = sqlx::query_with(&statement.sql, args)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| sql_error(&abbreviate(&statement.sql), e))?;
                affected.push(done.rows_affected());
            }
            tx.commit().await.map_err(|e| sql_error("COMMIT", e))?;
            Ok(affected)
        })
    }

    /// Runs a metadata query; every column must be text (cast in the SQL; SQLite converts any value itself),
    /// NULLs are `None`.
    pub async fn query_text(&self, sql: &str, params: &[&str]) -> Result<Vec<Vec<Option<String>>>> {
        let sqlite = self.dialect() == Dialect::Sqlite;
        with_pool!(self, pool, _bind, {
            let mut query = sqlx::query(sql);
            for p in params {
                query = query.bind(p.to_string());
            }
            let rows = query.fetch_all(pool).await.map_err(|e| sql_error(&abbreviate(sql), e))?;
            rows.iter()
                .map(|row| {
                    (0..row.len())
                        .map(|i| {
                            if sqlite {
                                row.try_get_unchecked::<Option<String>, _>(i)
                            } else {
                                row.try_get::<Option<String>, _>(i)
                            }
                            .map_err(|e| sql_error(&abbreviate(sql), e))
                        })
                        .collect()
                })
                .collect()
        })
    }

    /// The database's current time as an instant (PostgreSQL `CURRENT_TIMESTAMP`, MySQL `UTC_TIMESTAMP(6)`,
    /// SQLite `strftime('now')`): the one clock the source's time windows use.
    pub async fn now(&self) -> Result<DateTime<Utc>> {
        let sql = self.dialect().now_sql();
        Ok(match self {
            Db::Postgres(pool) => sqlx::query_scalar::<Postgres, DateTime<Utc>>(sql)
                .fetch_one(pool)
                .await
                .map_err(|e| sql_error(sql, e))?,
            Db::MySql(pool) => sqlx::query_scalar::<MySql, NaiveDateTime>(sql)
                .fetch_one(pool)
                .await
                .map_err(|e| sql_error(sql, e))?
                .and_utc(),
            Db::Sqlite(pool) => {
                let text: String =
                    sqlx::query_scalar::<Sqlite, String>(sql).fetch_one(pool).await.map_err(|e| sql_error(sql, e))?;
                NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S%.f")
                    .map_err(|e| ConnectError::new(format!("SQLite time '{text}': {e}")))?
                    .and_utc()
            }
        })
    }

    /// Closes the pool.
    pub async fn close(&self) {
        with_pool!(self, pool, _bind, pool.close().await)
    }
}

/// The first 200 characters of a statement, for error messages.
pub fn abbreviate(sql: &str) -> String {
    if sql.len() <= 200 {
        sql.to_string()
    } else {
        let mut end = 200;
        while !sql.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &sql[..end])
    }
}
