//! The standalone source path (generator plugin `.so` -> JSON converter -> producer) against a raw rdkafka
//! producer sending the same bytes to the same broker, in the same run.
//!
//! Both producers use the same client settings (acks=all, idempotence on); each side sends N records and is
//! timed from start until the broker acknowledged all of them (the topic's end offset reaches N). Prints
//! records/s and the process's CPU time (user + system) per million records of each side, and the ratios
//! connect-rs / raw rdkafka, for 100 B and 1 KiB strings through three value converters: JsonConverter without
//! schemas (the worker's setting), StringConverter, and JsonConverter with schemas (the envelope
//! `{"schema":{"type":"string",...},"payload":"..."}`), set on the connector; the raw side does the same work as an
//! application would: per record it makes the string and encodes it into the bytes that converter writes (serde_json
//! for JSON). `BENCH_RECORDS` sets N for every case (a quick check: `BENCH_RECORDS=2000`); a filter argument
//! (`-- "JSON with schema 1082"`: label and value size) runs only the matching cases. Then the same source path with a
//! chain of three of Kafka's transformations against none, and that ratio; then the async generator (connect-api's
//! async adapter driving `async fn poll` on the plugin's tokio runtime) against the sync generator, records/s and
//! the process's CPU time per record, and their ratios.

use connect_bench::{cpu_time, wait_for_end};
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
use rdkafka::consumer::BaseConsumer;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

/// One converter of the raw-vs-connect table: its class and settings as set on the connector (none: the worker's
/// JsonConverter without schemas).
struct Converter {
    label: &'static str,
    class: Option<&'static str>,
    schemas: bool,
    encoding: Encoding,
}

impl Converter {
    fn settings(&self) -> BTreeMap<String, String> {
        [("schemas.enable".to_string(), self.schemas.to_string())].into_iter().collect()
    }

    /// The bytes this converter writes for the generator's value of `size` characters.
    fn value_bytes(&self, size: usize) -> Vec<u8> {
        let class = self.class.unwrap_or("org.apache.kafka.connect.json.JsonConverter");
        let mut converter = new_converter(class, &self.settings(), false).expect("converter");
        let mut out = Vec::new();
        converter
            .from_connect("bench", Some(&Schema::string()), &Value::from("x".repeat(size).as_str()), &mut out)
            .expect("convert");
        out
    }

    /// The connector settings that select this converter for keys and values.
    fn connector_props(&self) -> Vec<(String, String)> {
        let Some(class) = self.class else { return Vec::new() };
        let mut props = Vec::new();
        for side in ["key", "value"] {
            props.push((format!("{side}.converter"), class.to_string()));
            for (k, v) in self.settings() {
                props.push((format!("{side}.converter.{k}"), v));
            }
        }
        props
    }
}

/// How the raw side encodes a value, as an application doing the same work would.
#[derive(Clone, Copy)]
enum Encoding {
    /// The text's bytes.
    Text,
    /// A JSON string (serde_json).
    Json,
    /// JsonConverter's envelope with the string schema (serde_json).
    JsonWithSchema,
}

/// Raw rdkafka: for each of `n` records, makes the generator's value (a string of `size` characters), encodes it
/// as `encoding` (the bytes the connector's converter writes) and sends it; returns the elapsed and the CPU time.
fn raw(broker: &Broker, topic: &str, n: i64, size: usize, encoding: Encoding, expected: &[u8]) -> (Duration, Duration) {
    let consumer: BaseConsumer = broker.client_config().create().expect("consumer");
    let (start, cpu) = (Instant::now(), cpu_time());
    let producer: ThreadedProducer<DefaultProducerContext> =
        broker.client_config().set("acks", "all").set("enable.idempotence", "true").create().expect("producer");
    let body = "x".repeat(size);
    let mut payload = Vec::with_capacity(size + 100);
    for i in 0..n {
        let text = body.clone();
        payload.clear();
        match encoding {
            Encoding::Text => payload.extend_from_slice(text.as_bytes()),
            Encoding::Json => serde_json::to_writer(&mut payload, &text).expect("JSON"),
            Encoding::JsonWithSchema => {
                payload.extend_from_slice(br#"{"schema":{"type":"string","optional":false},"payload":"#);
                serde_json::to_writer(&mut payload, &text).expect("JSON");
                payload.push(b'}');
            }
        }
        if i == 0 {
            assert_eq!(payload, expected, "the raw side's bytes differ from the converter's");
        }
        let mut record = BaseRecord::<[u8], [u8]>::to(topic).payload(&payload[..]);
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
    wait_for_end(&consumer, topic, n, Duration::from_secs(600));
    (start.elapsed(), cpu_time() - cpu)
}

/// connect-rs: the generator plugin loaded from its `.so`, run as a standalone task.
fn connect(broker: &Broker, plugins: &Path, topic: &str, n: i64, size: usize, chain: &[(&str, &str)]) -> Duration {
    connect_with(broker, plugins, "GeneratorSource", topic, n, size, chain).0
}

/// connect-rs with the given connector settings (converters, transformations); returns the elapsed and the CPU
/// time.
fn connect_with(
    broker: &Broker,
    plugins: &Path,
    class: &str,
    topic: &str,
    n: i64,
    size: usize,
    chain: &[(&str, &str)],
) -> (Duration, Duration) {
    let chain: Vec<(String, String)> = chain.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    connect_props(broker, plugins, class, topic, n, size, &chain)
}

/// connect-rs with generator `class` (sync or async) and `extra` connector settings; returns the elapsed and the
/// CPU time.
fn connect_props(
    broker: &Broker,
    plugins: &Path,
    class: &str,
    topic: &str,
    n: i64,
    size: usize,
    extra: &[(String, String)],
) -> (Duration, Duration) {
    let dir = tempfile::tempdir().expect("temp dir");
    let props: BTreeMap<String, String> = [
        ("bootstrap.servers", broker.bootstrap()),
        ("value.converter.schemas.enable", "false".into()),
        ("key.converter.schemas.enable", "false".into()),
        ("offset.flush.interval.ms", "1000".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let worker_config =
        Arc::new(WorkerConfig::from_props(&dir.path().join("worker.properties"), props).expect("worker config"));
    let offsets = Arc::new(FileOffsetStore::open(&dir.path().join("offsets.json")).expect("offsets"));
    let registry = Arc::new(PluginRegistry::new(vec![plugins.to_path_buf()]));
    let worker = Worker::new(worker_config, registry.clone(), offsets, Arc::new(StatusBoard::new("bench")));
    let plugin = registry.resolve(class).expect("generator plugin");
    let connector: BTreeMap<String, String> = [("name", "bench"), ("connector.class", class)]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain(extra.iter().cloned())
        .collect();
    let task_config: BTreeMap<String, String> = [
        ("topic", topic.to_string()),
        ("records", n.to_string()),
        ("value.size", size.to_string()),
        ("batch.size", "2000".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let consumer: BaseConsumer = broker.client_config().create().expect("consumer");
    let (start, cpu) = (Instant::now(), cpu_time());
    let task = worker
        .start_task(TaskId { connector: "bench".into(), task: 0 }, plugin, &connector, task_config)
        .expect("start task");
    wait_for_end(&consumer, topic, n, Duration::from_secs(600));
    let (elapsed, cpu) = (start.elapsed(), cpu_time() - cpu);
    task.signal_stop();
    task.wait(Duration::from_secs(30));
    (elapsed, cpu)
}

fn main() {
    // `cargo bench` passes --bench; any other argument runs only the converter cases whose label and value size
    // (`"JSON with schema 1082"`) contain it, and skips the transformation and async sections.
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let plugins = connect_tests::plugin_dir(
        tempfile::tempdir().expect("dir").keep().as_path(),
        &["test_plugin_generator", "test_plugin_async"],
    );
    let records: Option<i64> = std::env::var("BENCH_RECORDS").ok().map(|v| v.parse().expect("BENCH_RECORDS"));
    let broker = Broker::start();
    let rounds = 3;
    let converters = [
        Converter { label: "JSON, no schema", class: None, schemas: false, encoding: Encoding::Json },
        Converter {
            label: "String",
            class: Some("org.apache.kafka.connect.storage.StringConverter"),
            schemas: false,
            encoding: Encoding::Text,
        },
        Converter {
            label: "JSON with schema",
            class: Some("org.apache.kafka.connect.json.JsonConverter"),
            schemas: true,
            encoding: Encoding::JsonWithSchema,
        },
    ];
    println!(
        "| converter | value size | records | raw rdkafka (records/s) | connect-rs (records/s) | ratio | \
         CPU s/M records, raw | connect-rs | CPU ratio |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (c, converter) in converters.iter().enumerate() {
        // The JSON string without schema is 2 bytes longer than its text (the quotes): 98 and 1022 make 100 B and
        // 1 KiB on the wire, as in the earlier figures.
        let sizes = if converter.class.is_none() { [98usize, 1022] } else { [100, 1024] };
        for size in sizes {
            let n = records.unwrap_or(if size <= 100 { 200_000 } else { 100_000 });
            let payload = converter.value_bytes(size);
            let name = format!("{} {}", converter.label, payload.len());
            if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
                continue;
            }
            let props = converter.connector_props();
            let (mut raw_best, mut connect_best) = ((Duration::MAX, Duration::MAX), (Duration::MAX, Duration::MAX));
            for round in 0..rounds {
                let raw_topic = format!("raw-{c}-{size}-{round}");
                let connect_topic = format!("connect-{c}-{size}-{round}");
                broker.create_topic(&raw_topic, 1);
                broker.create_topic(&connect_topic, 1);
                let r = raw(&broker, &raw_topic, n, size, converter.encoding, &payload);
                let k = connect_props(&broker, &plugins, "GeneratorSource", &connect_topic, n, size, &props);
                raw_best = (raw_best.0.min(r.0), raw_best.1.min(r.1));
                connect_best = (connect_best.0.min(k.0), connect_best.1.min(k.1));
            }
            let rate = |elapsed: Duration| n as f64 / elapsed.as_secs_f64();
            let per_million = |cpu: Duration| cpu.as_secs_f64() * 1e6 / n as f64;
            println!(
                "| {} | {} B | {n} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} |",
                converter.label,
                payload.len(),
                rate(raw_best.0),
                rate(connect_best.0),
                rate(connect_best.0) / rate(raw_best.0),
                per_million(raw_best.1),
                per_million(connect_best.1),
                per_million(connect_best.1) / per_million(raw_best.1),
            );
        }
    }

    if !filters.is_empty() {
        return;
    }

    // A chain of three transformations that leave the bytes as they are, so both sides write the same records:
    // a topic rewrite to itself, a schema name, and a predicate-guarded header drop that never matches.
    let chain: &[(&str, &str)] = &[
        ("transforms", "route,name,drop"),
        ("transforms.route.type", "org.apache.kafka.connect.transforms.RegexRouter"),
        ("transforms.route.regex", "(.*)"),
        ("transforms.route.replacement", "$1"),
        ("transforms.name.type", "org.apache.kafka.connect.transforms.SetSchemaMetadata$Value"),
        ("transforms.name.schema.name", "com.example.Line"),
        ("transforms.drop.type", "org.apache.kafka.connect.transforms.DropHeaders"),
        ("transforms.drop.names", "trace"),
        ("transforms.drop.predicate", "tomb"),
        ("predicates", "tomb"),
        ("predicates.tomb.type", "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone"),
    ];
    println!();
    println!("| value size | records | no transforms (records/s) | 3 transforms (records/s) | ratio |");
    println!("|---|---|---|---|---|");
    let (size, n) = (98usize, records.unwrap_or(200_000));
    let (mut plain_best, mut chain_best) = (Duration::MAX, Duration::MAX);
    for round in 0..rounds {
        let plain_topic = format!("plain-{round}");
        let chain_topic = format!("chain-{round}");
        broker.create_topic(&plain_topic, 1);
        broker.create_topic(&chain_topic, 1);
        plain_best = plain_best.min(connect(&broker, &plugins, &plain_topic, n, size, &[]));
        chain_best = chain_best.min(connect(&broker, &plugins, &chain_topic, n, size, chain));
    }
    let plain_rate = n as f64 / plain_best.as_secs_f64();
    let chain_rate = n as f64 / chain_best.as_secs_f64();
    println!("| {} B | {n} | {plain_rate:.0} | {chain_rate:.0} | {:.2} |", size + 2, chain_rate / plain_rate);

    // The async adapter: the async generator (`async fn poll`, driven by `block_on` on the plugin's runtime) against
    // the sync one, same records, same run.
    println!();
    println!(
        "| value size | records | sync generator (records/s) | async generator (records/s) | ratio | CPU µs/record sync | async | ratio |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let (mut sync_best, mut async_best) = ((Duration::MAX, Duration::MAX), (Duration::MAX, Duration::MAX));
    for round in 0..rounds {
        let sync_topic = format!("sync-{round}");
        let async_topic = format!("async-{round}");
        broker.create_topic(&sync_topic, 1);
        broker.create_topic(&async_topic, 1);
        let s = connect_with(&broker, &plugins, "GeneratorSource", &sync_topic, n, size, &[]);
        let a = connect_with(&broker, &plugins, "AsyncGeneratorSource", &async_topic, n, size, &[]);
        sync_best = (sync_best.0.min(s.0), sync_best.1.min(s.1));
        async_best = (async_best.0.min(a.0), async_best.1.min(a.1));
    }
    let sync_rate = n as f64 / sync_best.0.as_secs_f64();
    let async_rate = n as f64 / async_best.0.as_secs_f64();
    let per_record = |cpu: Duration| cpu.as_secs_f64() * 1e6 / n as f64;
    println!(
        "| {} B | {n} | {sync_rate:.0} | {async_rate:.0} | {:.2} | {:.2} | {:.2} | {:.2} |",
        size + 2,
        async_rate / sync_rate,
        per_record(sync_best.1),
        per_record(async_best.1),
        per_record(async_best.1) / per_record(sync_best.1)
    );
}
