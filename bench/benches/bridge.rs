//! HTTP Bridge throughput on one tansu broker, against raw rdkafka on the same broker in the same run.
//!
//! - produce, 1 record per request: `CLIENTS` HTTP clients, each sending its requests one after the other (each
//!   answered once the broker acknowledged the record), against a raw rdkafka producer with the worker's
//!   settings (acks=all, idempotence on) sending the same records pipelined;
//! - produce, 100 records per request: the same with 100 records per request;
//! - consume: one Bridge consumer (binary format, one assigned partition) polling until it has every record,
//!   against a raw rdkafka consumer reading the same partition.
//!
//! Records are 8-byte keys and 100-byte values, binary embedded format. Best of `BRIDGE_BENCH_ROUNDS` rounds
//! (default 3); prints records/s and the ratios Bridge / raw.

use std::time::{Duration, Instant};

use base64::Engine;
use connect_tests::broker::free_port;
use connect_tests::{plugin_dir, wait_for, worker_properties, write_properties, Broker, ConnectProcess};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, FutureProducer, FutureRecord, Producer, ThreadedProducer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use serde_json::{json, Value};

const CLIENTS: usize = 8;
const SINGLE_RECORDS: usize = 8_000;
const BATCH: usize = 100;
const BATCH_RECORDS: usize = 100_000;
const CONSUME_RECORDS: usize = 100_000;
const BINARY: &str = "application/vnd.kafka.binary.v2+json";

fn key(i: usize) -> [u8; 8] {
    (i as u64).to_be_bytes()
}

fn value() -> Vec<u8> {
    vec![b'v'; 100]
}

/// The raw baseline: `count` records to `topic`, pipelined, until all are acknowledged.
fn raw_produce(broker: &Broker, topic: &str, count: usize) -> f64 {
    let producer: ThreadedProducer<DefaultProducerContext> =
        broker.client_config().set("acks", "all").set("enable.idempotence", "true").create().expect("producer");
    let value = value();
    let started = Instant::now();
    for i in 0..count {
        let key = key(i);
        let mut record = BaseRecord::<[u8], [u8]>::to(topic).partition(0).key(&key[..]).payload(&value[..]);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, back)) => {
                    record = back;
                    producer.poll(Duration::from_millis(1));
                }
            }
        }
    }
    producer.flush(Duration::from_secs(600)).expect("flush");
    count as f64 / started.elapsed().as_secs_f64()
}

/// The raw baseline at the Bridge's concurrency: `CLIENTS` senders, each waiting for its record's acknowledgement
/// before sending the next (as each HTTP client waits for its answer).
fn raw_produce_waiting(broker: &Broker, topic: &str, count: usize) -> f64 {
    let producer: FutureProducer =
        broker.client_config().set("acks", "all").set("enable.idempotence", "true").create().expect("producer");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let started = Instant::now();
    runtime.block_on(async {
        let mut senders = Vec::new();
        for c in 0..CLIENTS {
            let producer = producer.clone();
            let topic = topic.to_string();
            senders.push(tokio::spawn(async move {
                let value = value();
                for i in (c..count).step_by(CLIENTS) {
                    let key = key(i);
                    let record = FutureRecord::<[u8], [u8]>::to(&topic).partition(0).key(&key[..]).payload(&value[..]);
                    producer.send(record, Duration::from_secs(60)).await.expect("delivery");
                }
            }));
        }
        for sender in senders {
            sender.await.expect("sender");
        }
    });
    count as f64 / started.elapsed().as_secs_f64()
}

/// `CLIENTS` HTTP clients sending `count` records to `topic` in requests of `per_request` records.
fn bridge_produce(base: &str, topic: &str, count: usize, per_request: usize) -> f64 {
    let b64 = &base64::engine::general_purpose::STANDARD;
    let value = b64.encode(value());
    let requests = count / per_request;
    let started = Instant::now();
    std::thread::scope(|scope| {
        for c in 0..CLIENTS {
            let value = value.clone();
            scope.spawn(move || {
                let http = reqwest::blocking::Client::new();
                for r in (c..requests).step_by(CLIENTS) {
                    let records: Vec<Value> = (0..per_request)
                        .map(|i| json!({"key": b64.encode(key(r * per_request + i)), "value": value, "partition": 0}))
                        .collect();
                    let response = http
                        .post(format!("{base}/topics/{topic}"))
                        .header("content-type", BINARY)
                        .body(json!({ "records": records }).to_string())
                        .send()
                        .expect("produce request");
                    assert_eq!(response.status().as_u16(), 200, "produce answered {:?}", response.text());
                    let body: Value = response.json().expect("produce answer");
                    let offsets = body["offsets"].as_array().expect("offsets");
                    assert!(offsets.iter().all(|o| o["offset"].is_i64()), "a record failed: {body}");
                }
            });
        }
    });
    (requests * per_request) as f64 / started.elapsed().as_secs_f64()
}

/// The raw baseline of consumption: every record of partition 0 of `topic`.
fn raw_consume(broker: &Broker, topic: &str, count: usize) -> f64 {
    let consumer: BaseConsumer = broker.client_config().set("group.id", "raw-bench").create().expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning).expect("partition");
    consumer.assign(&tpl).expect("assign");
    let started = Instant::now();
    let mut seen = 0;
    while seen < count {
        if let Some(Ok(_)) = consumer.poll(Duration::from_millis(100)) {
            seen += 1;
        }
    }
    count as f64 / started.elapsed().as_secs_f64()
}

/// A Bridge consumer reading every record of partition 0 of `topic`.
fn bridge_consume(base: &str, topic: &str, count: usize, round: usize) -> f64 {
    let http = reqwest::blocking::Client::new();
    let group = format!("bridge-bench-{round}");
    let created: Value = http
        .post(format!("{base}/consumers/{group}"))
        .header("content-type", "application/vnd.kafka.v2+json")
        .body(json!({"name": "c", "format": "binary", "auto.offset.reset": "earliest"}).to_string())
        .send()
        .expect("create consumer")
        .json()
        .expect("created");
    let instance = created["base_uri"].as_str().expect("base_uri").to_string();
    let assigned = http
        .post(format!("{instance}/assignments"))
        .header("content-type", "application/vnd.kafka.v2+json")
        .body(json!({"partitions": [{"topic": topic, "partition": 0}]}).to_string())
        .send()
        .expect("assign");
    assert_eq!(assigned.status().as_u16(), 204);
    let started = Instant::now();
    let mut seen = 0;
    while seen < count {
        let records: Vec<Value> = http
            .get(format!("{instance}/records?timeout=1000"))
            .header("accept", BINARY)
            .send()
            .expect("poll")
            .json()
            .expect("records");
        seen += records.len();
    }
    let rate = count as f64 / started.elapsed().as_secs_f64();
    http.delete(&instance).send().expect("delete consumer");
    rate
}

fn main() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let plugins = plugin_dir(dir.path(), &[]);
    let worker = worker_properties(dir.path(), &broker, &plugins, &[]);
    let port = free_port().to_string();
    let bootstrap = broker.bootstrap();
    let bridge = dir.path().join("bridge.properties");
    let bytes = "org.apache.kafka.connect.converters.ByteArrayConverter";
    write_properties(
        &bridge,
        &[
            ("name", "bridge"),
            ("connector.class", "HttpBridgeConnector"),
            ("key.converter", bytes),
            ("value.converter", bytes),
            ("header.converter", bytes),
            ("kafka.bootstrap.servers", &bootstrap),
            ("http.host", "127.0.0.1"),
            ("http.port", &port),
        ],
    );
    let _process = ConnectProcess::standalone(&worker, &[&bridge], &dir.path().join("connect.log"));
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::blocking::Client::new();
    wait_for("the Bridge to answer", Duration::from_secs(60), || {
        http.get(format!("{base}/healthy")).send().ok().filter(|r| r.status().is_success())
    });

    let rounds: usize = std::env::var("BRIDGE_BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(3);
    let mut best = [0f64; 7];
    for round in 0..rounds {
        let topics: Vec<String> = ["raw1", "http1", "raw100", "http100", "consume", "rawwait"]
            .iter()
            .map(|t| format!("{t}-{round}"))
            .collect();
        for topic in &topics {
            broker.create_topic(topic, 1);
        }
        let rates = [
            raw_produce(&broker, &topics[0], SINGLE_RECORDS),
            bridge_produce(&base, &topics[1], SINGLE_RECORDS, 1),
            raw_produce(&broker, &topics[2], BATCH_RECORDS),
            bridge_produce(&base, &topics[3], BATCH_RECORDS, BATCH),
            {
                raw_produce(&broker, &topics[4], CONSUME_RECORDS);
                raw_consume(&broker, &topics[4], CONSUME_RECORDS)
            },
            bridge_consume(&base, &topics[4], CONSUME_RECORDS, round),
            raw_produce_waiting(&broker, &topics[5], SINGLE_RECORDS),
        ];
        eprintln!("round {round}: {rates:.0?}");
        for (best, rate) in best.iter_mut().zip(rates) {
            *best = best.max(rate);
        }
    }
    println!("| path | raw rdkafka (records/s) | HTTP Bridge (records/s) | ratio |");
    println!("|---|---|---|---|");
    for (i, label) in [
        format!("produce, 1 record per request ({CLIENTS} clients)"),
        format!("produce, {BATCH} records per request ({CLIENTS} clients)"),
        "consume (one consumer, binary)".to_string(),
    ]
    .iter()
    .enumerate()
    {
        let (raw, bridge) = (best[2 * i], best[2 * i + 1]);
        println!("| {label} | {raw:.0} | {bridge:.0} | {:.2} |", bridge / raw);
    }
    let (raw, bridge) = (best[6], best[1]);
    println!(
        "| produce, 1 record per request, against raw with {CLIENTS} senders each waiting for its ack | {raw:.0} | {bridge:.0} | {:.2} |",
        bridge / raw
    );
}
