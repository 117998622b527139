//! # connect-jdbc
//!
//! Database connectors for connect-rs, built as a plugin library on sqlx (PostgreSQL, MySQL/MariaDB, SQLite):
//!
//! - `io.confluent.connect.jdbc.JdbcSourceConnector` (alias `JdbcSource`): rows into topics, in the modes bulk,
//!   incrementing, timestamp and timestamp+incrementing, with the Java connector's source partitions and offsets;
//! - `io.confluent.connect.jdbc.JdbcSinkConnector` (alias `JdbcSink`): records into tables with insert, upsert
//!   or update, key columns per `pk.mode`, `auto.create`/`auto.evolve`, tombstone deletes; one transaction per put.
//!
//! Configurations written for Confluent's connector work unchanged (`connection.url` takes JDBC URLs). The
//! modules: [`url`] (connection URLs), [`dialect`] (the SQL of each database), [`db`] (connections, statements),
//! [`catalog`] (table metadata), [`convert`] (Connect values <-> SQL values), [`source`] and [`sink`].

pub mod catalog;
pub mod common;
pub mod convert;
pub mod db;
pub mod dialect;
pub mod sink;
pub mod source;
pub mod url;

pub use sink::{JdbcSink, JdbcSinkTask};
pub use source::{JdbcSource, JdbcSourceTask};

connect_api::export_plugins! {
    async_source "io.confluent.connect.jdbc.JdbcSourceConnector" => JdbcSource,
    async_sink "io.confluent.connect.jdbc.JdbcSinkConnector" => JdbcSink,
}

#[cfg(test)]
mod tests;
