//! Turns a [`Scrape`] into kafka_exporter's series: the same names, HELP texts, labels (plus the `--kafka.labels`
//! constant labels) and value rules, so dashboards and alert rules written for it (Strimzi's) find them; then the
//! series this exporter adds (`kafka_consumergroup_lag_seconds`, scrape duration, errors and request counts).
//!
//! Rendering only reads the scrape: it never talks to Kafka and never fails on odd data.

use std::fmt;

use prometheus_client::collector::Collector as PromCollector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::collect::{Collector, Scrape};

/// A sample value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    /// An integer gauge.
    Int(i64),
    /// A float gauge.
    Float(f64),
    /// A counter.
    Count(u64),
    /// A float counter.
    FloatCount(f64),
}

/// One family: name (without a counter's `_total`), HELP, type and samples.
#[derive(Clone, Debug)]
pub struct Family {
    /// The name.
    pub name: &'static str,
    /// The HELP text.
    pub help: &'static str,
    /// Gauge or counter.
    pub kind: MetricType,
    /// (labels, value).
    pub samples: Vec<(Vec<(String, String)>, Value)>,
}

impl Family {
    /// An empty gauge family.
    pub fn gauge(name: &'static str, help: &'static str) -> Self {
        Family { name, help, kind: MetricType::Gauge, samples: Vec::new() }
    }

    /// An empty counter family.
    pub fn counter(name: &'static str, help: &'static str) -> Self {
        Family { name, help, kind: MetricType::Counter, samples: Vec::new() }
    }

    fn add(&mut self, labels: Vec<(String, String)>, value: Value) {
        self.samples.push((labels, value));
    }
}

/// Labels: the constant ones, then `pairs`.
fn labels(constant: &[(String, String)], pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut all = constant.to_vec();
    all.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    all
}

/// The Kafka series of one collection.
pub fn kafka_families(scrape: &Scrape, collector: &Collector) -> Vec<Family> {
    let constant = &collector.config().labels;
    let mut brokers = Family::gauge("kafka_brokers", "Number of Brokers in the Kafka Cluster.");
    let mut broker_info = Family::gauge("kafka_broker_info", "Information about the Kafka Broker.");
    let mut partitions = Family::gauge("kafka_topic_partitions", "Number of partitions for this Topic");
    let mut current =
        Family::gauge("kafka_topic_partition_current_offset", "Current Offset of a Broker at Topic/Partition");
    let mut oldest =
        Family::gauge("kafka_topic_partition_oldest_offset", "Oldest Offset of a Broker at Topic/Partition");
    let mut leader = Family::gauge("kafka_topic_partition_leader", "Leader Broker ID of this Topic/Partition");
    let mut replicas = Family::gauge("kafka_topic_partition_replicas", "Number of Replicas for this Topic/Partition");
    let mut isr =
        Family::gauge("kafka_topic_partition_in_sync_replica", "Number of In-Sync Replicas for this Topic/Partition");
    let mut preferred = Family::gauge(
        "kafka_topic_partition_leader_is_preferred",
        "1 if Topic/Partition is using the Preferred Broker",
    );
    let mut under =
        Family::gauge("kafka_topic_partition_under_replicated_partition", "1 if Topic/Partition is under Replicated");
    let mut members = Family::gauge("kafka_consumergroup_members", "Amount of members in a consumer group");
    let mut group_offset =
        Family::gauge("kafka_consumergroup_current_offset", "Current Offset of a ConsumerGroup at Topic/Partition");
    let mut group_offset_sum = Family::gauge(
        "kafka_consumergroup_current_offset_sum",
        "Current Offset of a ConsumerGroup at Topic for all partitions",
    );
    let mut lag =
        Family::gauge("kafka_consumergroup_lag", "Current Approximate Lag of a ConsumerGroup at Topic/Partition");
    let mut lag_sum = Family::gauge(
        "kafka_consumergroup_lag_sum",
        "Current Approximate Lag of a ConsumerGroup at Topic for all partitions",
    );
    let mut lag_seconds = Family::gauge(
        "kafka_consumergroup_lag_seconds",
        "Approximate time in seconds since the log end offset of the Topic/Partition was at the ConsumerGroup's \
         committed offset, estimated from end offsets sampled at each scrape",
    );

    if let Some(meta) = &scrape.metadata {
        brokers.add(constant.clone(), Value::Int(meta.brokers.len() as i64));
        for (id, address) in &meta.brokers {
            broker_info.add(labels(constant, &[("id", &id.to_string()), ("address", address)]), Value::Int(1));
        }
        for topic in &scrape.topics {
            let Some(infos) = meta.partitions(topic) else { continue };
            partitions.add(labels(constant, &[("topic", topic)]), Value::Int(infos.len() as i64));
            for info in infos {
                let id = info.id.to_string();
                let at = labels(constant, &[("topic", topic), ("partition", &id)]);
                let key = (topic.clone(), info.id);
                if info.leader >= 0 {
                    leader.add(at.clone(), Value::Int(info.leader.into()));
                }
                if let Some(offset) = scrape.latest.get(&key) {
                    current.add(at.clone(), Value::Int(*offset));
                }
                if let Some(offset) = scrape.oldest.get(&key) {
                    oldest.add(at.clone(), Value::Int(*offset));
                }
                replicas.add(at.clone(), Value::Int(info.replicas.len() as i64));
                isr.add(at.clone(), Value::Int(info.isr.len() as i64));
                let is_preferred = info.leader >= 0 && info.replicas.first() == Some(&info.leader);
                preferred.add(at.clone(), Value::Int(is_preferred.into()));
                under.add(at, Value::Int((info.isr.len() < info.replicas.len()).into()));
            }
        }
    }

    for (group, data) in &scrape.groups {
        if let Some(n) = data.members {
            members.add(labels(constant, &[("consumergroup", group)]), Value::Int(n as i64));
        }
        for (topic, committed) in data.offsets.iter().flatten() {
            let mut offset_sum = 0i64;
            let mut lags = 0i64;
            for (partition, offset) in committed {
                let id = partition.to_string();
                let at = labels(constant, &[("consumergroup", group), ("topic", topic), ("partition", &id)]);
                // kafka_exporter adds -1 (no commit) into the sum too.
                offset_sum += offset;
                group_offset.add(at.clone(), Value::Int(*offset));
                if let Some(end) = scrape.end_offset(topic, *partition) {
                    let value = if *offset == -1 {
                        -1
                    } else {
                        // The end offset is read before the committed ones, so a group can only be ahead of it by
                        // what it consumed meanwhile: caught up, lag 0.
                        let value = (end - offset).max(0);
                        lags += value;
                        value
                    };
                    lag.add(at.clone(), Value::Int(value));
                }
                if let Some(seconds) = scrape.lag_seconds.get(&(group.clone(), topic.clone(), *partition)) {
                    lag_seconds.add(at, Value::Float(*seconds));
                }
            }
            let at = labels(constant, &[("consumergroup", group), ("topic", topic)]);
            group_offset_sum.add(at.clone(), Value::Int(offset_sum));
            lag_sum.add(at, Value::Int(lags));
        }
    }

    let mut duration = Family::gauge(
        "kafka_exporter_scrape_duration_seconds",
        "How long the last collection of Kafka metrics took, in seconds.",
    );
    duration.add(constant.clone(), Value::Float(scrape.duration.as_secs_f64()));
    let mut errors = Family::counter(
        "kafka_exporter_scrape_errors",
        "Collections that answered with incomplete data, by reason: deadline (the scrape timeout came first) or \
         kafka (a Kafka request failed).",
    );
    let counts = collector.errors();
    for (reason, count) in [("deadline", &counts.deadline), ("kafka", &counts.kafka)] {
        errors.add(
            labels(constant, &[("reason", reason)]),
            Value::Count(count.load(std::sync::atomic::Ordering::Relaxed)),
        );
    }
    let mut requests = Family::counter("kafka_exporter_kafka_requests", "Kafka requests sent by the exporter, by API.");
    for (api, count) in collector.client().counts().snapshot() {
        requests.add(labels(constant, &[("api", api)]), Value::Count(count));
    }

    vec![
        brokers,
        broker_info,
        partitions,
        current,
        oldest,
        leader,
        replicas,
        isr,
        preferred,
        under,
        members,
        group_offset,
        group_offset_sum,
        lag,
        lag_sum,
        lag_seconds,
        duration,
        errors,
        requests,
    ]
}

/// The `Content-Type` of the metrics: the Prometheus text format, as client_golang serves it.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The families in the Prometheus text format ([`CONTENT_TYPE`]); texts of distinct families can be concatenated.
pub fn encode(families: Vec<Family>) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Families(families)));
    let mut text = String::with_capacity(16 * 1024);
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, &registry);
    text
}

struct Families(Vec<Family>);

impl fmt::Debug for Families {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Families({})", self.0.len())
    }
}

impl PromCollector for Families {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        for family in &self.0 {
            if family.samples.is_empty() {
                continue;
            }
            let mut metric = encoder.encode_descriptor(family.name, family.help, None, family.kind)?;
            for (labels, value) in &family.samples {
                let mut sample = metric.encode_family(labels)?;
                match value {
                    Value::Int(v) => sample.encode_gauge(v)?,
                    Value::Float(v) => sample.encode_gauge(v)?,
                    Value::Count(v) => sample.encode_counter::<NoLabelSet, _, u64>(v, None)?,
                    Value::FloatCount(v) => sample.encode_counter::<NoLabelSet, _, u64>(v, None)?,
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};
    use std::sync::Arc;

    use super::*;
    use crate::collect::GroupData;
    use crate::config::ExporterConfig;
    use crate::metadata::{Metadata, PartitionInfo};

    fn collector() -> Collector {
        let props = connect_api::Config::from([
            ("kafka.server".to_string(), "127.0.0.1:9".to_string()),
            ("kafka.labels".to_string(), "cluster=c1".to_string()),
        ]);
        Collector::new(Arc::new(ExporterConfig::parse(&props).unwrap()))
    }

    fn value(families: &[Family], name: &str, labels: &[(&str, &str)]) -> Option<Value> {
        let family = families.iter().find(|f| f.name == name)?;
        family
            .samples
            .iter()
            .find(|(l, _)| labels.iter().all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v)))
            .map(|(_, v)| *v)
    }

    #[test]
    fn kafka_exporter_s_value_rules() {
        let partition = |id, leader, replicas: Vec<i32>, isr: Vec<i32>| PartitionInfo { id, leader, replicas, isr };
        let meta = Metadata {
            brokers: BTreeMap::from([(1, "a:9092".to_string()), (2, "b:9092".to_string())]),
            topics: BTreeMap::from([(
                "t".to_string(),
                vec![
                    partition(0, 2, vec![1, 2], vec![2]),
                    partition(1, -1, vec![1], vec![]),
                    partition(2, 1, vec![1], vec![1]),
                ],
            )]),
            fetched: std::time::Instant::now(),
        };
        let key = |p| ("t".to_string(), p);
        let scrape = Scrape {
            metadata: Some(Arc::new(meta)),
            topics: vec!["t".to_string()],
            latest: HashMap::from([(key(0), 10), (key(2), 5)]),
            oldest: HashMap::from([(key(0), 2), (key(2), 0)]),
            groups: BTreeMap::from([(
                "g".to_string(),
                GroupData {
                    members: Some(2),
                    // p0 behind, p1 without end offset, p2 ahead of the snapshot (committed during the scrape).
                    offsets: Some(BTreeMap::from([("t".to_string(), vec![(0, 4), (1, -1), (2, 7)])])),
                },
            )]),
            lag_seconds: HashMap::from([(("g".to_string(), "t".to_string(), 0), 1.5)]),
            ..Scrape::default()
        };
        let families = kafka_families(&scrape, &collector());
        let v = |name: &str, labels: &[(&str, &str)]| value(&families, name, labels);
        let at = |p: &'static str| [("topic", "t"), ("partition", p)];
        assert_eq!(v("kafka_brokers", &[("cluster", "c1")]), Some(Value::Int(2)));
        assert_eq!(v("kafka_topic_partitions", &[("topic", "t")]), Some(Value::Int(3)));
        assert_eq!(v("kafka_topic_partition_leader", &at("0")), Some(Value::Int(2)));
        assert_eq!(v("kafka_topic_partition_leader", &at("1")), None, "no leader, no series");
        assert_eq!(v("kafka_topic_partition_leader_is_preferred", &at("0")), Some(Value::Int(0)));
        assert_eq!(v("kafka_topic_partition_leader_is_preferred", &at("1")), Some(Value::Int(0)));
        assert_eq!(v("kafka_topic_partition_leader_is_preferred", &at("2")), Some(Value::Int(1)));
        assert_eq!(v("kafka_topic_partition_under_replicated_partition", &at("0")), Some(Value::Int(1)));
        assert_eq!(v("kafka_topic_partition_under_replicated_partition", &at("2")), Some(Value::Int(0)));
        assert_eq!(v("kafka_topic_partition_current_offset", &at("1")), None);
        assert_eq!(v("kafka_topic_partition_oldest_offset", &at("0")), Some(Value::Int(2)));

        let g = |p: &'static str| [("consumergroup", "g"), ("topic", "t"), ("partition", p)];
        assert_eq!(v("kafka_consumergroup_members", &[("consumergroup", "g")]), Some(Value::Int(2)));
        assert_eq!(v("kafka_consumergroup_lag", &g("0")), Some(Value::Int(6)));
        assert_eq!(v("kafka_consumergroup_lag", &g("1")), None, "no end offset, no lag");
        assert_eq!(v("kafka_consumergroup_current_offset", &g("1")), Some(Value::Int(-1)));
        assert_eq!(v("kafka_consumergroup_lag", &g("2")), Some(Value::Int(0)), "never negative");
        let sums = [("consumergroup", "g"), ("topic", "t")];
        assert_eq!(v("kafka_consumergroup_current_offset_sum", &sums), Some(Value::Int(4 - 1 + 7)));
        assert_eq!(v("kafka_consumergroup_lag_sum", &sums), Some(Value::Int(6)));
        assert_eq!(v("kafka_consumergroup_lag_seconds", &g("0")), Some(Value::Float(1.5)));

        // Every family carries the constant labels.
        for family in families.iter().filter(|f| !f.samples.is_empty()) {
            assert!(
                family.samples.iter().all(|(l, _)| l.contains(&("cluster".into(), "c1".into()))),
                "{}",
                family.name
            );
        }
        let text = encode(families);
        assert!(text.contains("# HELP kafka_topic_partitions Number of partitions for this Topic\n"), "{text}");
        assert!(text.contains("kafka_exporter_scrape_errors_total{cluster=\"c1\",reason=\"deadline\"} 0"), "{text}");
    }
}
