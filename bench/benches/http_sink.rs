//! The HTTP sink (plugin `.so`, Aiven's keys) against a raw rdkafka + reqwest program, in the same run, into the
//! same local HTTP server (the test harness's, counting records only), reading the same records from the broker.
//!
//! connect-rs: a sink task in an in-process worker consumes N records (100-byte string values, produced to the
//! broker beforehand) through the String converter and posts them. Raw: an rdkafka consumer reads the same topic
//! from the beginning and, as the worker's loop, takes what was fetched (up to 500 records), posts it with reqwest
//! in the same batches (Aiven's format: the bare value, or values ended by newlines, the same records per
//! request), one request after the other, each awaited, then reads on.
//! Both are timed by the server, from the arrival of the first request to that of the last (the task's start and
//! its consumer group join are not counted, nor the raw side's set-up). A third figure, reqwest sending the same
//! bodies from memory, is the server's own capacity. Prints records/s for 1 and 500 records per request and the
//! ratio connect-rs / raw, best of 3 rounds.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use connect_runtime::config::WorkerConfig;
use connect_runtime::plugins::PluginRegistry;
use connect_runtime::storage::FileOffsetStore;
use connect_runtime::worker::status::{StatusBoard, TaskId};
use connect_runtime::worker::Worker;
use connect_tests::http_server::HttpServer;
use connect_tests::Broker;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::Message;

const VALUE_SIZE: usize = 100;

fn value(i: u64) -> String {
    let head = format!("record-{i:010}-");
    format!("{head}{}", "x".repeat(VALUE_SIZE - head.len()))
}

fn wait_for_records(server: &HttpServer, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(900);
    while server.counts().1 < n {
        assert!(Instant::now() < deadline, "the server got {} of {n} records", server.counts().1);
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Aiven's body for a batch: the bare value alone, else each value ended by a newline.
fn body<'a>(values: impl Iterator<Item = &'a [u8]>, batch: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(batch * (VALUE_SIZE + 1));
    for v in values {
        body.extend_from_slice(v);
        if batch > 1 {
            body.push(b'\n');
        }
    }
    body
}

async fn post(client: &reqwest::Client, url: &str, body: Vec<u8>) {
    let response = client.post(url).body(body).send().await.expect("send");
    assert!(response.status().is_success());
    response.bytes().await.expect("answer");
}

/// reqwest alone: the same bodies from memory, one request after the other (the server's capacity).
fn from_memory(runtime: &tokio::runtime::Runtime, server: &HttpServer, n: u64, batch: usize) -> Duration {
    let url = server.url("/bench");
    let values: Vec<String> = (0..n).map(value).collect();
    let client = reqwest::Client::new();
    runtime.block_on(async {
        for chunk in values.chunks(batch) {
            post(&client, &url, body(chunk.iter().map(|v| v.as_bytes()), batch)).await;
        }
    });
    wait_for_records(server, n);
    server.counted_span()
}

/// Raw rdkafka + reqwest: take what the consumer has fetched (up to 500 records, as the worker's poll), post it
/// in batches one request after the other, awaiting each, then read on.
fn raw(
    runtime: &tokio::runtime::Runtime,
    broker: &Broker,
    server: &HttpServer,
    topic: &str,
    n: u64,
    batch: usize,
) -> Duration {
    let url = server.url("/bench");
    let client = reqwest::Client::new();
    let consumer: BaseConsumer = broker
        .client_config()
        .set("group.id", format!("raw-{topic}"))
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut partitions = TopicPartitionList::new();
    partitions.add_partition_offset(topic, 0, Offset::Beginning).expect("partition");
    consumer.assign(&partitions).expect("assign");
    let mut sent = 0;
    while sent < n {
        let mut polled: Vec<Vec<u8>> = Vec::with_capacity(500);
        let mut timeout = Duration::from_millis(200);
        while polled.len() < 500 {
            match consumer.poll(timeout) {
                Some(Ok(message)) => polled.push(message.payload().unwrap_or_default().to_vec()),
                Some(Err(err)) => panic!("raw consumer: {err}"),
                None => break,
            }
            timeout = Duration::ZERO;
        }
        sent += polled.len() as u64;
        runtime.block_on(async {
            for chunk in polled.chunks(batch) {
                post(&client, &url, body(chunk.iter().map(Vec::as_slice), batch)).await;
            }
        });
    }
    wait_for_records(server, n);
    server.counted_span()
}

/// connect-rs: the HTTP sink task in an in-process worker.
fn connect(
    broker: &Broker,
    registry: &Arc<PluginRegistry>,
    server: &HttpServer,
    topic: &str,
    n: u64,
    batch: usize,
) -> Duration {
    let dir = tempfile::tempdir().expect("temp dir");
    let props: BTreeMap<String, String> = [
        ("bootstrap.servers", broker.bootstrap()),
        ("offset.flush.interval.ms", "1000".into()),
        ("consumer.max.poll.records", "500".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let worker_config =
        Arc::new(WorkerConfig::from_props(&dir.path().join("worker.properties"), props).expect("worker config"));
    let offsets = Arc::new(FileOffsetStore::open(&dir.path().join("offsets.json")).expect("offsets"));
    let worker = Worker::new(worker_config, registry.clone(), offsets, Arc::new(StatusBoard::new("bench")));
    let class = "io.aiven.kafka.connect.http.HttpSinkConnector";
    let plugin = registry.resolve(class).expect("HTTP sink plugin");
    let batching = batch > 1;
    let connector: BTreeMap<String, String> = [
        ("name", format!("bench-{topic}")),
        ("connector.class", class.to_string()),
        ("topics", topic.to_string()),
        ("key.converter", "org.apache.kafka.connect.storage.StringConverter".into()),
        ("value.converter", "org.apache.kafka.connect.storage.StringConverter".into()),
        ("http.url", server.url("/bench")),
        ("http.authorization.type", "none".into()),
        ("batching.enabled", batching.to_string()),
        ("batch.max.size", batch.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let task = worker
        .start_task(TaskId { connector: format!("bench-{topic}"), task: 0 }, plugin, &connector, connector.clone())
        .expect("start task");
    wait_for_records(server, n);
    task.signal_stop();
    task.wait(Duration::from_secs(30));
    server.counted_span()
}

fn produce(broker: &Broker, topic: &str, n: u64) {
    broker.create_topic(topic, 1);
    let values: Vec<String> = (0..n).map(value).collect();
    for chunk in values.chunks(10_000) {
        let records: Vec<(Option<&[u8]>, &[u8])> = chunk.iter().map(|v| (None, v.as_bytes())).collect();
        broker.produce(topic, &records);
    }
}

fn rate(n: u64, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64()
}

fn main() {
    // `cargo bench` passes --bench; a filter argument is ignored.
    let plugins = connect_tests::plugin_dir(tempfile::tempdir().expect("dir").keep().as_path(), &["connect_http"]);
    let registry = Arc::new(PluginRegistry::new(vec![plugins]));
    let broker = Broker::start();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let rounds = 3;
    println!(
        "| records per request | records | raw rdkafka + reqwest (records/s) | connect-rs (records/s) | ratio | \
         reqwest from memory (records/s) |"
    );
    println!("|---|---|---|---|---|---|");
    for (batch, n) in [(1usize, 20_000u64), (500, 300_000)] {
        let (mut memory_best, mut raw_best, mut connect_best) = (Duration::MAX, Duration::MAX, Duration::MAX);
        for round in 0..rounds {
            let topic = format!("http-{batch}-{round}");
            produce(&broker, &topic, n);
            raw_best = raw_best.min(raw(&runtime, &broker, &HttpServer::start_counting(), &topic, n, batch));
            connect_best =
                connect_best.min(connect(&broker, &registry, &HttpServer::start_counting(), &topic, n, batch));
            // Last: right after a produce the broker is still busy writing and takes CPU from everyone.
            memory_best = memory_best.min(from_memory(&runtime, &HttpServer::start_counting(), n, batch));
        }
        let (memory_rate, raw_rate, connect_rate) = (rate(n, memory_best), rate(n, raw_best), rate(n, connect_best));
        println!(
            "| {batch} | {n} | {raw_rate:.0} | {connect_rate:.0} | {:.2} | {memory_rate:.0} |",
            connect_rate / raw_rate
        );
    }
}
