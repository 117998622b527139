//! The standalone sink path (consumer -> converters -> `put` of the counting sink plugin `.so`) against a raw
//! rdkafka consumer reading the same topic in a group of its own, same broker, same run.
//!
//! Each topic is filled once, before the rounds, with N records whose values are the bytes the connector's value
//! converter reads: plain strings (StringConverter) or JsonConverter envelopes with schemas
//! (`{"schema":{"type":"string",...},"payload":"..."}`), of 100 B and 1 KiB strings. Each side then reads all N
//! records as a new consumer group (auto commit off, `auto.offset.reset=earliest`, as the worker's sink consumer),
//! timed from the start until the last record was read (raw) or the counting sink wrote N into its `count.file`
//! (connect-rs). The raw side takes from each message what a sink task gets (topic, partition, offset, timestamp,
//! key, headers and value), decoding key and value as an application doing the same work would (`str::from_utf8`,
//! or `serde_json` for the JSON envelope); until 2026-12-07 it read the value only. Prints records/s and the
//! process's CPU time (user + system; for connect-rs without the bench thread that polls the count file) per million
//! records of each side over 7 rounds (raw and connect-rs alternating): the best throughput, the median CPU time,
//! and the ratios connect-rs / raw (CPU: of the medians, and of the lowest figures). `BENCH_RECORDS` sets N (a quick
//! check: `BENCH_RECORDS=2000`), `BENCH_ROUNDS` the rounds; a filter argument runs only the cases whose converter
//! label and string size contain it (`scripts/bench --bench sink_path -- String`, `-- "String 100"`).

use connect_bench::{cpu_time, thread_cpu_time};

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use connect_api::{Schema, Value};
use connect_runtime::config::WorkerConfig;
use connect_runtime::plugins::PluginRegistry;
use connect_runtime::storage::FileOffsetStore;
use connect_runtime::worker::converters::new_converter;
use connect_runtime::worker::status::{StatusBoard, TaskId};
use connect_runtime::worker::Worker;
use connect_tests::Broker;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers as _;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::Message;

const STRING_CONVERTER: &str = "org.apache.kafka.connect.storage.StringConverter";
const JSON_CONVERTER: &str = "org.apache.kafka.connect.json.JsonConverter";

/// One measured case: a converter and a string length.
struct Case {
    label: &'static str,
    converter: &'static str,
    size: usize,
}

impl Case {
    /// The converter's settings, as the connector gives them (`value.converter.` removed).
    fn settings(&self) -> BTreeMap<String, String> {
        let mut settings = BTreeMap::new();
        if self.converter == JSON_CONVERTER {
            settings.insert("schemas.enable".to_string(), "true".to_string());
        }
        settings
    }

    /// The bytes the converter writes for a string value of `size` characters, which it reads back on the sink side.
    fn value_bytes(&self) -> Vec<u8> {
        let mut converter = new_converter(self.converter, &self.settings(), false).expect("converter");
        let mut out = Vec::new();
        converter
            .from_connect("bench", Some(&Schema::string()), &Value::from("x".repeat(self.size).as_str()), &mut out)
            .expect("convert");
        out
    }

    /// The connector's converter settings (key and value).
    fn connector_props(&self) -> Vec<(String, String)> {
        let mut props = Vec::new();
        for side in ["key", "value"] {
            props.push((format!("{side}.converter"), self.converter.to_string()));
            for (k, v) in self.settings() {
                props.push((format!("{side}.converter.{k}"), v));
            }
        }
        props
    }
}

/// Writes `n` records of `value` into `topic` and waits until the broker acknowledged them all.
fn fill(broker: &Broker, topic: &str, n: u64, value: &[u8]) {
    let producer: ThreadedProducer<DefaultProducerContext> =
        broker.client_config().set("acks", "all").set("linger.ms", "5").create().expect("producer");
    for _ in 0..n {
        let mut record = BaseRecord::<[u8], [u8]>::to(topic).payload(value);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, back)) => {
                    record = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
    }
    producer.flush(Duration::from_secs(600)).expect("flush");
}

/// What the raw consumer takes from each message: every field a sink task gets, as an application doing the same
/// work would (the topic borrowed from the message, the key, value and header values decoded).
#[allow(dead_code)] // the fields are only read through `black_box`
struct Received<'a> {
    topic: &'a str,
    partition: i32,
    offset: i64,
    timestamp: Option<i64>,
    key: Option<String>,
    headers: Vec<(String, Option<String>)>,
    value: Option<String>,
}

/// Bytes as the string they carry: `str::from_utf8` into a `String`, or `serde_json` for a JSON envelope, taking its
/// payload string.
fn decode(bytes: &[u8], json: bool) -> String {
    if json {
        let envelope: serde_json::Value = serde_json::from_slice(bytes).expect("JSON value");
        envelope["payload"].as_str().expect("string payload").to_owned()
    } else {
        std::str::from_utf8(bytes).expect("UTF-8 value").to_owned()
    }
}

/// Raw rdkafka: a consumer in a new group reads the whole topic and takes every message's fields as an application
/// doing the same work would ([`Received`]); returns the elapsed and the CPU time.
#[inline(never)] // a frame of its own, for profilers
fn raw(broker: &Broker, topic: &str, group: &str, n: u64, json: bool) -> (Duration, Duration) {
    let (start, cpu) = (Instant::now(), cpu_time());
    let consumer: BaseConsumer = broker
        .client_config()
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let deadline = Instant::now() + Duration::from_secs(600);
    let (mut read, mut bytes) = (0u64, 0usize);
    while read < n {
        assert!(Instant::now() < deadline, "raw consumer read {read} of {n} records of {topic}");
        if let Some(message) = consumer.poll(Duration::from_millis(100)) {
            let message = message.expect("consume");
            let record = Received {
                topic: message.topic(),
                partition: message.partition(),
                offset: message.offset(),
                timestamp: message.timestamp().to_millis(),
                key: message.key().map(|k| decode(k, json)),
                headers: message
                    .headers()
                    .map(|h| h.iter().map(|h| (h.key.to_owned(), h.value.map(|v| decode(v, json)))).collect())
                    .unwrap_or_default(),
                value: message.payload().map(|v| decode(v, json)),
            };
            bytes += std::hint::black_box(&record).value.as_ref().map_or(0, String::len);
            read += 1;
        }
    }
    let result = (start.elapsed(), cpu_time() - cpu);
    std::hint::black_box(bytes);
    result
}

/// The elapsed and CPU times of one side's rounds.
#[derive(Default)]
struct Rounds {
    elapsed: Vec<Duration>,
    cpu: Vec<Duration>,
}

impl Rounds {
    fn add(&mut self, (elapsed, cpu): (Duration, Duration)) {
        self.elapsed.push(elapsed);
        self.cpu.push(cpu);
    }

    fn best_elapsed(&self) -> Duration {
        self.elapsed.iter().copied().min().unwrap_or_default()
    }

    fn lowest_cpu(&self) -> Duration {
        self.cpu.iter().copied().min().unwrap_or_default()
    }

    /// The middle CPU time (the mean of the two middle ones for an even count).
    fn median_cpu(&self) -> Duration {
        let mut cpu = self.cpu.clone();
        cpu.sort();
        match cpu.len() {
            0 => Duration::ZERO,
            n if n % 2 == 1 => cpu[n / 2],
            n => (cpu[n / 2 - 1] + cpu[n / 2]) / 2,
        }
    }
}

/// The running total the counting sink wrote (0 before its first write).
fn count(file: &Path) -> u64 {
    std::fs::read_to_string(file).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
}

/// connect-rs: the counting sink plugin as one standalone task reading the topic; returns the elapsed and the CPU
/// time.
#[inline(never)] // a frame of its own, for profilers
fn connect(broker: &Broker, plugins: &Path, case: &Case, topic: &str, name: &str, n: u64) -> (Duration, Duration) {
    let dir = tempfile::tempdir().expect("temp dir");
    let props: BTreeMap<String, String> = [("bootstrap.servers".to_string(), broker.bootstrap())].into_iter().collect();
    let worker_config =
        Arc::new(WorkerConfig::from_props(&dir.path().join("worker.properties"), props).expect("worker config"));
    let offsets = Arc::new(FileOffsetStore::open(&dir.path().join("offsets.json")).expect("offsets"));
    let registry = Arc::new(PluginRegistry::new(vec![plugins.to_path_buf()]));
    let worker = Worker::new(worker_config, registry.clone(), offsets, Arc::new(StatusBoard::new("bench")));
    let plugin = registry.resolve("CountingSink").expect("counting sink plugin");
    let count_file = dir.path().join("count");
    let mut connector: BTreeMap<String, String> = [
        ("name", name),
        ("connector.class", "CountingSink"),
        ("topics", topic),
        ("count.file", count_file.to_str().expect("UTF-8 path")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    connector.extend(case.connector_props());
    let task_config = connector.clone();
    // The bench thread's own polling of the count file is not the worker's work: its CPU is left out.
    let (start, cpu, own) = (Instant::now(), cpu_time(), thread_cpu_time());
    let task = worker
        .start_task(TaskId { connector: name.into(), task: 0 }, plugin, &connector, task_config)
        .expect("start task");
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let counted = count(&count_file);
        if counted >= n {
            break;
        }
        assert!(Instant::now() < deadline, "the counting sink counted {counted} of {n} records of {topic}");
        std::thread::sleep(Duration::from_millis(5));
    }
    let result = (start.elapsed(), (cpu_time() - cpu).saturating_sub(thread_cpu_time() - own));
    task.signal_stop();
    task.wait(Duration::from_secs(30));
    result
}

fn main() {
    // `cargo bench` passes --bench; any other argument filters the cases by their label and string size.
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let records: Option<u64> = std::env::var("BENCH_RECORDS").ok().map(|v| v.parse().expect("BENCH_RECORDS"));
    let plugins =
        connect_tests::plugin_dir(tempfile::tempdir().expect("dir").keep().as_path(), &["test_plugin_generator"]);
    let broker = Broker::start();
    let rounds: usize = std::env::var("BENCH_ROUNDS").ok().map(|v| v.parse().expect("BENCH_ROUNDS")).unwrap_or(7);
    let cases = [
        Case { label: "String", converter: STRING_CONVERTER, size: 100 },
        Case { label: "String", converter: STRING_CONVERTER, size: 1024 },
        Case { label: "JSON with schema", converter: JSON_CONVERTER, size: 100 },
        Case { label: "JSON with schema", converter: JSON_CONVERTER, size: 1024 },
    ];
    println!(
        "| converter | string | bytes/record | records | raw rdkafka (records/s) | connect-rs (records/s) | ratio | \
         CPU s/M records (median), raw | connect-rs | CPU ratio (median) | CPU ratio (lowest) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (i, case) in cases.iter().enumerate() {
        let name = format!("{} {}", case.label, case.size);
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let n = records.unwrap_or(if case.size <= 100 { 200_000 } else { 100_000 });
        let value = case.value_bytes();
        let topic = format!("sink-{i}");
        broker.create_topic(&topic, 1);
        fill(&broker, &topic, n, &value);
        let (mut raw_runs, mut connect_runs) = (Rounds::default(), Rounds::default());
        for round in 0..rounds {
            raw_runs.add(raw(&broker, &topic, &format!("raw-{i}-{round}"), n, case.converter == JSON_CONVERTER));
            connect_runs.add(connect(&broker, &plugins, case, &topic, &format!("sink-{i}-{round}"), n));
        }
        let rate = |elapsed: Duration| n as f64 / elapsed.as_secs_f64();
        let per_million = |cpu: Duration| cpu.as_secs_f64() * 1e6 / n as f64;
        println!(
            "| {} | {} B | {} | {n} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            case.label,
            case.size,
            value.len(),
            rate(raw_runs.best_elapsed()),
            rate(connect_runs.best_elapsed()),
            rate(connect_runs.best_elapsed()) / rate(raw_runs.best_elapsed()),
            per_million(raw_runs.median_cpu()),
            per_million(connect_runs.median_cpu()),
            per_million(connect_runs.median_cpu()) / per_million(raw_runs.median_cpu()),
            per_million(connect_runs.lowest_cpu()) / per_million(raw_runs.lowest_cpu()),
        );
    }
}
