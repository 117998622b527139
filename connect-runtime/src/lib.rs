//! # connect-runtime
//!
//! The connect-rs worker: loads connector plugins, runs their tasks on the Kafka data path, and keeps their
//! offsets and statuses. The `connect` binary (`main.rs`) only parses arguments and calls [`cli`].
//!
//! - [`plugins`]: discovery in `plugin.path`, loading `.so` files, the registry of built-ins and plugins;
//! - [`worker`]: task threads, the source and sink loops, converters, statuses;
//! - [`herder`]: what runs (standalone now; distributed later);
//! - [`storage`]: offset stores;
//! - [`metrics`]: Prometheus metrics, named as Kafka Connect's are under Strimzi's JMX exporter rules;
//! - [`config`]: worker and connector configuration files;
//! - `alloc`: the process's allocator (jemalloc with a small thread cache), for every binary linking this crate.

#[cfg(not(test))]
pub mod alloc;
pub mod cli;
pub mod config;
pub mod group;
pub mod herder;
pub mod logging;
pub mod metrics;
pub mod plugins;
pub mod rest;
pub mod storage;
pub mod worker;
