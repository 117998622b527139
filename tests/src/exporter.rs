//! The Kafka Exporter in tests: a `connect exporter` process on a free port, scrapes parsed as Prometheus text,
//! and the Kafka side a test sets up with rdkafka (records in given partitions, offsets committed by consumer
//! groups), so that every expected value comes from what the test did, never from the exporter's code.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use crate::broker::free_port;
use crate::{Broker, ConnectProcess};

/// One scrape: its status, the time it took and its samples.
#[derive(Debug)]
pub struct Metrics {
    /// The HTTP status.
    pub status: u16,
    /// The raw text.
    pub text: String,
    /// How long the request took.
    pub took: Duration,
    samples: Vec<prometheus_parse::Sample>,
}

impl Metrics {
    fn parse(status: u16, text: String, took: Duration) -> Metrics {
        let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
            .unwrap_or_else(|e| panic!("not the Prometheus text format ({e}):\n{text}"));
        Metrics { status, text, took, samples: scrape.samples }
    }

    /// The samples of `name` whose labels include `labels`, as (labels, value).
    pub fn samples(&self, name: &str, labels: &[(&str, &str)]) -> Vec<(HashMap<String, String>, f64)> {
        self.samples
            .iter()
            .filter(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| {
                let value = match s.value {
                    prometheus_parse::Value::Counter(v)
                    | prometheus_parse::Value::Gauge(v)
                    | prometheus_parse::Value::Untyped(v) => v,
                    _ => f64::NAN,
                };
                let labels = s.labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
                (labels, value)
            })
            .collect()
    }

    /// The value of the one sample of `name` with exactly `labels` (beyond constant labels it may carry none);
    /// `None` when there is no such series. Panics when several match.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let found = self.samples(name, labels);
        assert!(found.len() <= 1, "{name}{labels:?} matches {} series:\n{}", found.len(), self.text);
        found.first().map(|(_, v)| *v)
    }

    /// [`Metrics::value`], panicking with the scrape when the series is missing.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(name, labels).unwrap_or_else(|| panic!("no series {name}{labels:?} in:\n{}", self.text))
    }

    /// Whether a family has any sample.
    pub fn has(&self, name: &str) -> bool {
        self.samples.iter().any(|s| s.metric == name)
    }

    /// The distinct values of label `label` of family `name`.
    pub fn label_values(&self, name: &str, label: &str) -> Vec<String> {
        let mut values: Vec<String> = self
            .samples
            .iter()
            .filter(|s| s.metric == name)
            .filter_map(|s| s.labels.get(label).map(String::from))
            .collect();
        values.sort();
        values.dedup();
        values
    }
}

/// `GET url` with an optional Prometheus timeout header, parsed.
pub fn scrape_url(url: &str, prometheus_timeout: Option<&str>) -> Metrics {
    let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(60)).build().expect("http client");
    let mut request = client.get(url);
    if let Some(timeout) = prometheus_timeout {
        request = request.header("X-Prometheus-Scrape-Timeout-Seconds", timeout);
    }
    let started = Instant::now();
    let response = request.send().unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status().as_u16();
    let text = response.text().expect("metrics body");
    Metrics::parse(status, text, started.elapsed())
}

/// A `connect exporter` process.
pub struct ExporterProcess {
    /// The process.
    pub process: ConnectProcess,
    /// The metrics port.
    pub port: u16,
}

impl ExporterProcess {
    /// Starts `connect exporter --kafka.server=<broker> --web.listen-address=127.0.0.1:<free> --refresh.metadata=1s`
    /// plus `flags`, and waits until it listens.
    pub fn start(dir: &Path, broker: &Broker, flags: &[&str]) -> ExporterProcess {
        let port = free_port();
        let server = format!("--kafka.server={}", broker.bootstrap());
        let listen = format!("--web.listen-address=127.0.0.1:{port}");
        let mut args = vec!["exporter", &server, &listen, "--refresh.metadata=1s"];
        args.extend_from_slice(flags);
        let mut process = ConnectProcess::start(&args, &dir.join(format!("exporter-{port}.log")));
        process.wait_for_output("Listening on HTTP", Duration::from_secs(30));
        ExporterProcess { process, port }
    }

    /// Scrapes `/metrics`.
    pub fn scrape(&self) -> Metrics {
        scrape_url(&format!("http://127.0.0.1:{}/metrics", self.port), None)
    }
}

/// Produces `count` records into `partition` of `topic` and waits for their acknowledgements.
pub fn produce_to(broker: &Broker, topic: &str, partition: i32, count: usize) {
    if count == 0 {
        return;
    }
    // One record per batch: the end offset then moves record by record whatever the storage engine.
    let producer: ThreadedProducer<DefaultProducerContext> =
        broker.client_config().set("acks", "all").set("linger.ms", "0").create().expect("producer");
    for i in 0..count {
        let value = format!("record-{i}");
        producer
            .send(BaseRecord::<(), str>::to(topic).partition(partition).payload(&value))
            .map_err(|(e, _)| e)
            .expect("send");
        producer.flush(Duration::from_secs(30)).expect("flush");
    }
}

/// Commits `offsets` (topic, partition, offset) for `group` as a consumer outside the group's membership would
/// (an assigned consumer, as MirrorMaker or tools commit).
pub fn commit(broker: &Broker, group: &str, offsets: &[(&str, i32, i64)]) {
    let consumer: BaseConsumer =
        broker.client_config().set("group.id", group).set("enable.auto.commit", "false").create().expect("consumer");
    let mut list = TopicPartitionList::new();
    for (topic, partition, offset) in offsets {
        list.add_partition_offset(topic, *partition, Offset::Offset(*offset)).expect("partition");
    }
    consumer.commit(&list, CommitMode::Sync).unwrap_or_else(|e| panic!("commit of {group}: {e}"));
}

/// A consumer that joined `group` subscribed to `topics` and commits nothing; it stays a member while alive.
pub fn member(broker: &Broker, group: &str, topics: &[&str]) -> BaseConsumer {
    let consumer: BaseConsumer = broker
        .client_config()
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", "30000")
        .set("topic.metadata.refresh.interval.ms", "1000")
        .create()
        .expect("consumer");
    consumer.subscribe(topics).expect("subscribe");
    consumer
}

/// Polls `consumer` until it has an assignment (tansu hands them out on a timer).
pub fn wait_assigned(consumer: &BaseConsumer, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while consumer.assignment().map(|a| a.count()).unwrap_or(0) == 0 {
        assert!(Instant::now() < deadline, "no assignment within {timeout:?}");
        let _ = consumer.poll(Duration::from_millis(100));
    }
}
