//! Transformations of the whole record (topic, headers, timestamp, filtering) and Kafka's predicates, under
//! their Java class names: DropHeaders, Filter, HeaderFrom, InsertHeader, RegexRouter, TimestampConverter,
//! TimestampRouter; TopicNameMatches, HasHeaderKey, RecordIsTombstone.

use connect_api::abi::{predicate_descriptor, transformation_descriptor, PluginDescriptor};
use connect_api::ConnectError;

mod common;
mod datefmt;
mod drop_headers;
mod filter;
mod header_from;
mod insert_header;
mod javaregex;
mod predicates;
mod regex_router;
mod timestamp_converter;
mod timestamp_router;
mod values;

pub use drop_headers::DropHeaders;
pub use filter::Filter;
pub use header_from::{HeaderFromKey, HeaderFromValue};
pub use insert_header::InsertHeader;
pub use predicates::{HasHeaderKey, RecordIsTombstone, TopicNameMatches};
pub use regex_router::RegexRouter;
pub use timestamp_converter::{TimestampConverterKey, TimestampConverterValue};
pub use timestamp_router::TimestampRouter;

/// The package of Kafka's predicates.
const PREDICATES: &str = "org.apache.kafka.connect.transforms.predicates";

/// The descriptors of this module's transformations and predicates, one per Java class name.
pub fn descriptors() -> Vec<Result<PluginDescriptor, ConnectError>> {
    let t = |name: &str| format!("{}.{name}", crate::PACKAGE);
    let p = |name: &str| format!("{PREDICATES}.{name}");
    vec![
        transformation_descriptor::<DropHeaders>(&t("DropHeaders")),
        transformation_descriptor::<Filter>(&t("Filter")),
        transformation_descriptor::<HeaderFromKey>(&t("HeaderFrom$Key")),
        transformation_descriptor::<HeaderFromValue>(&t("HeaderFrom$Value")),
        transformation_descriptor::<InsertHeader>(&t("InsertHeader")),
        transformation_descriptor::<RegexRouter>(&t("RegexRouter")),
        transformation_descriptor::<TimestampConverterKey>(&t("TimestampConverter$Key")),
        transformation_descriptor::<TimestampConverterValue>(&t("TimestampConverter$Value")),
        transformation_descriptor::<TimestampRouter>(&t("TimestampRouter")),
        predicate_descriptor::<TopicNameMatches>(&p("TopicNameMatches")),
        predicate_descriptor::<HasHeaderKey>(&p("HasHeaderKey")),
        predicate_descriptor::<RecordIsTombstone>(&p("RecordIsTombstone")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_descriptor_per_class() {
        let all: Vec<PluginDescriptor> = descriptors().into_iter().map(|d| d.unwrap()).collect();
        let classes: Vec<&str> = all.iter().map(|d| d.class.as_str()).collect();
        assert_eq!(
            classes,
            [
                "org.apache.kafka.connect.transforms.DropHeaders",
                "org.apache.kafka.connect.transforms.Filter",
                "org.apache.kafka.connect.transforms.HeaderFrom$Key",
                "org.apache.kafka.connect.transforms.HeaderFrom$Value",
                "org.apache.kafka.connect.transforms.InsertHeader",
                "org.apache.kafka.connect.transforms.RegexRouter",
                "org.apache.kafka.connect.transforms.TimestampConverter$Key",
                "org.apache.kafka.connect.transforms.TimestampConverter$Value",
                "org.apache.kafka.connect.transforms.TimestampRouter",
                "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
                "org.apache.kafka.connect.transforms.predicates.HasHeaderKey",
                "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
            ]
        );
        assert!(all[0].config_def.contains("\"names\""));
    }
}
