//! # connect-transforms
//!
//! The single message transformations and predicates that ship with Apache Kafka Connect, under their Java class
//! names (`org.apache.kafka.connect.transforms.InsertField$Value`, ...) and with their configuration keys. The
//! runtime registers them as built-ins; they implement [`connect_api::Transformation`] and
//! [`connect_api::Predicate`] like any plugin's.
//!
//! - [`field`]: transformations of a key's or value's fields and schema (`$Key` / `$Value` variants).
//! - [`record`]: transformations of the whole record (topic, headers, timestamp, filtering) and the predicates.

use connect_api::abi::PluginDescriptor;
use connect_api::ConnectError;

pub mod field;
pub mod record;
mod util;

/// The package of Kafka's transformations.
pub const PACKAGE: &str = "org.apache.kafka.connect.transforms";

/// The descriptors of every built-in transformation and predicate.
pub fn descriptors() -> Vec<Result<PluginDescriptor, ConnectError>> {
    let mut all = field::descriptors();
    all.extend(record::descriptors());
    all
}
