//! # connect-file
//!
//! Kafka Connect's file connectors as a connect-rs plugin library: `FileStreamSourceConnector` reads lines
//! from a file into a topic, `FileStreamSinkConnector` writes record values from topics into a file. The
//! reference example of a plugin: plain Rust against connect-api, exported with `export_plugins!`.

mod sink;
mod source;

pub use sink::{FileStreamSinkConnector, FileStreamSinkTask};
pub use source::{FileStreamSourceConnector, FileStreamSourceTask};

connect_api::export_plugins! {
    source "org.apache.kafka.connect.file.FileStreamSourceConnector" => FileStreamSourceConnector,
    sink "org.apache.kafka.connect.file.FileStreamSinkConnector" => FileStreamSinkConnector,
}
