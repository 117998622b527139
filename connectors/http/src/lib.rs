//! # connect-http
//!
//! An HTTP sink for connect-rs, built as a plugin library: records from Kafka topics to webhooks and REST APIs, on
//! reqwest with rustls. One implementation runs under the two class names users' configurations name:
//!
//! - `io.aiven.kafka.connect.http.HttpSinkConnector`, with Aiven's keys ([`config::aiven`]);
//! - `io.confluent.connect.http.HttpSinkConnector`, with Confluent's keys ([`config::confluent`]).
//!
//! Both classes have the simple name `HttpSinkConnector`; the worker resolves the aliases `HttpSinkConnector` and
//! `HttpSink` to the first plugin registered with that name, which is Aiven's (exported first below). A
//! configuration with Confluent's keys must name Confluent's class in full; under the alias it is refused with an
//! error that says so.
//!
//! The task never acknowledges a record to Kafka before the HTTP server acknowledged it ([`task`]).

pub mod auth;
pub mod body;
pub mod client;
pub mod config;
pub mod json;
pub mod sender;
pub mod task;

use std::marker::PhantomData;

use connect_api::async_connector::async_trait;
use connect_api::config::ConfigValueInfo;
use connect_api::{AsyncConnector, AsyncSinkConnector, Config, ConfigDef, ConnectorContext, Result};

use config::{KeyErrors, KeySet};
pub use task::HttpSinkTask;

/// Which key set a connector class takes.
pub trait Flavor: Send + Sync + 'static {
    /// The key set.
    const KEY_SET: KeySet;
}

/// Aiven's key set.
pub struct Aiven;

impl Flavor for Aiven {
    const KEY_SET: KeySet = KeySet::Aiven;
}

/// Confluent's key set.
pub struct Confluent;

impl Flavor for Confluent {
    const KEY_SET: KeySet = KeySet::Confluent;
}

/// The HTTP sink connector with the keys of `F`.
pub struct HttpSink<F> {
    config: Config,
    flavor: PhantomData<fn() -> F>,
}

impl<F> Default for HttpSink<F> {
    fn default() -> Self {
        HttpSink { config: Config::new(), flavor: PhantomData }
    }
}

/// `io.aiven.kafka.connect.http.HttpSinkConnector`.
pub type AivenHttpSink = HttpSink<Aiven>;

/// `io.confluent.connect.http.HttpSinkConnector`.
pub type ConfluentHttpSink = HttpSink<Confluent>;

#[async_trait]
impl<F: Flavor> AsyncConnector for HttpSink<F> {
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").into()
    }

    fn config_def(&self) -> ConfigDef {
        F::KEY_SET.config_def()
    }

    async fn start(&mut self, _context: ConnectorContext, config: &Config) -> Result<()> {
        F::KEY_SET.settings(config).map_err(KeyErrors::into_error)?;
        self.config = config.clone();
        Ok(())
    }

    async fn task_configs(&mut self, max_tasks: usize) -> Result<Vec<Config>> {
        // Tasks share the work through the consumer group: each gets the whole configuration.
        Ok(vec![self.config.clone(); max_tasks.max(1)])
    }

    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }

    async fn validate(&self, config: &Config) -> Vec<ConfigValueInfo> {
        F::KEY_SET.validate(config)
    }
}

impl<F: Flavor> AsyncSinkConnector for HttpSink<F> {
    type Task = HttpSinkTask<F>;
}

connect_api::export_plugins! {
    // Aiven's first: the alias HttpSink(Connector) resolves to the first plugin registered with that simple name.
    async_sink "io.aiven.kafka.connect.http.HttpSinkConnector" => AivenHttpSink,
    async_sink "io.confluent.connect.http.HttpSinkConnector" => ConfluentHttpSink,
}

#[cfg(test)]
mod tests;
