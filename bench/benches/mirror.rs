//! MirrorMaker 2 replication throughput between two tansu clusters: `MirrorSourceConnector` (one task, in a
//! `connect distributed` worker whose cluster is the target) against a raw rdkafka consume -> produce loop
//! (one consumer on A, one producer on B, key, value, headers, timestamp and partition carried over) in the same
//! run, on the same brokers.
//!
//! Both copy the same topic of A (N records with headers, 1 partition) into a fresh topic of B with the same
//! producer settings (acks=all, idempotence on). Both are measured the same way from outside: the end offset of
//! the target topic, polled every 50 ms, from the first record seen on B until all N are there (so connector
//! creation and the group's rebalance are not counted; nor is the raw loop's start). Best of `ROUNDS` rounds;
//! prints records/s and the ratio connector / raw.

use std::time::{Duration, Instant};

use connect_tests::mirror::{mirror_config, produce, SOURCE};
use connect_tests::{all_running, plugin_dir, start_cluster, Broker};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

const RECORDS: i64 = 100_000;
const TOPIC: &str = "bench";

/// Runs `work` while watching `topic` on `target` fill up; the rate from the first record seen to the N-th (or,
/// after 300 s, to what arrived by then, printed as such).
fn measure(target: &Broker, topic: &str, work: impl FnOnce() + Send) -> f64 {
    let watcher: BaseConsumer = target.client_config().create().expect("consumer");
    // Every ListOffsets costs tansu a query: ask every 50 ms, and only once the topic exists (asking for a topic
    // that does not exist waits out the whole timeout).
    let count = || {
        let exists = watcher
            .fetch_metadata(Some(topic), Duration::from_secs(5))
            .is_ok_and(|m| m.topics().first().is_some_and(|t| t.error().is_none() && !t.partitions().is_empty()));
        if !exists {
            return 0;
        }
        watcher.fetch_watermarks(topic, 0, Duration::from_secs(5)).map(|(_, high)| high).unwrap_or(0)
    };
    std::thread::scope(|scope| {
        scope.spawn(work);
        let deadline = Instant::now() + Duration::from_secs(300);
        let (first_at, first_count) = loop {
            let n = count();
            if n > 0 {
                break (Instant::now(), n);
            }
            assert!(Instant::now() < deadline, "no record reached {topic}");
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut n = first_count;
        while n < RECORDS && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            n = count();
        }
        if n < RECORDS {
            eprintln!("{topic}: only {n} of {RECORDS} records after 300 s");
        }
        (n - first_count) as f64 / first_at.elapsed().as_secs_f64()
    })
}

/// The raw loop: consume `TOPIC` on A from the beginning, produce every record unchanged to `target` on B.
fn raw_copy(a: &Broker, b: &Broker, target: &str) {
    let consumer: BaseConsumer = a
        .client_config()
        .set("group.id", format!("raw-{target}"))
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(TOPIC, 0, Offset::Beginning).expect("partition");
    consumer.assign(&tpl).expect("assign");
    let producer: ThreadedProducer<DefaultProducerContext> =
        b.client_config().set("acks", "all").set("enable.idempotence", "true").create().expect("producer");
    let mut copied = 0;
    while copied < RECORDS {
        let Some(Ok(message)) = consumer.poll(Duration::from_millis(100)) else { continue };
        let mut record = BaseRecord::<[u8], [u8]>::to(target).partition(message.partition());
        if let Some(key) = message.key() {
            record = record.key(key);
        }
        if let Some(value) = message.payload() {
            record = record.payload(value);
        }
        if let Some(timestamp) = message.timestamp().to_millis() {
            record = record.timestamp(timestamp);
        }
        if let Some(headers) = message.headers() {
            record = record.headers(headers.detach());
        }
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, back)) => {
                    record = back;
                    producer.poll(Duration::from_millis(1));
                }
            }
        }
        copied += 1;
    }
    producer.flush(Duration::from_secs(600)).expect("flush");
}

fn main() {
    // `cargo bench` passes --bench; a filter argument is ignored.
    let (a, b) = (Broker::start(), Broker::start());
    a.create_topic(TOPIC, 1);
    produce(&a, TOPIC, 1, 0, RECORDS as u64);
    let dir = tempfile::tempdir().expect("temp dir");
    let plugins = plugin_dir(dir.path(), &[]);
    let workers = start_cluster(1, Duration::from_secs(90), dir.path(), &b, &plugins, "mm2-bench", &[]);
    let rest = &workers[0].rest;

    // `MM2_BENCH_ROUNDS` rounds (default 3), best of each.
    let rounds: usize = std::env::var("MM2_BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(3);
    let (mut raw_best, mut mirror_best, mut no_syncs_best) = (0f64, 0f64, 0f64);
    for round in 0..rounds {
        let raw_topic = format!("raw-{round}.{TOPIC}");
        b.create_topic(&raw_topic, 1);
        raw_best = raw_best.max(measure(&b, &raw_topic, || raw_copy(&a, &b, &raw_topic)));
        // The connector as configured by default, then without offset syncs (which it writes to A while reading it).
        for (variant, extra) in [("", None), ("n", Some(("emit.offset-syncs.enabled", "false")))] {
            // A new source alias per run: a fresh remote topic and no stored offsets.
            let alias = format!("A{variant}{round}");
            let name = format!("mirror-{variant}{round}");
            let mut settings = vec![("topics", TOPIC), ("tasks.max", "1")];
            settings.extend(extra);
            let config = mirror_config(SOURCE, (&alias, &a), ("B", &b), &settings);
            let remote = format!("{alias}.{TOPIC}");
            let rate = measure(&b, &remote, || rest.create_connector(&name, config));
            let status = rest.status(&name).unwrap_or_default();
            assert!(all_running(&status, 1), "{name} did not run to the end: {status}");
            rest.delete(&format!("/connectors/{name}"));
            eprintln!("round {round}: raw {raw_best:.0}/s, {name} {rate:.0}/s");
            if extra.is_none() {
                mirror_best = mirror_best.max(rate);
            } else {
                no_syncs_best = no_syncs_best.max(rate);
            }
        }
    }
    println!("| records | raw rdkafka consume -> produce (records/s) | MirrorSourceConnector (records/s) | ratio | without offset syncs (records/s) | ratio |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| {RECORDS} | {raw_best:.0} | {mirror_best:.0} | {:.2} | {no_syncs_best:.0} | {:.2} |",
        mirror_best / raw_best,
        no_syncs_best / raw_best
    );
}
