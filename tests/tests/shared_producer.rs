//! Source tasks with equal producer settings share one producer per worker. What a producer per task gave must
//! hold all the same: each task's records keep their order per partition, each task's acknowledgements and
//! committed offsets are its own, and a task that fails, pauses, restarts or is deleted changes nothing for the
//! others' records.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use connect_tests::broker::{free_port, Consumed};
use connect_tests::*;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;
use serde_json::{json, Value};

const SETTLE: Duration = Duration::from_secs(90);
const GENERATOR: &str = "com.connectrs.test.GeneratorSourceConnector";

fn numbered(topic: &str, tasks: u32, records: i64, extra: &[(&str, &str)]) -> Value {
    let mut config = json!({"connector.class": GENERATOR, "topic": topic, "tasks.max": tasks.to_string(),
                            "numbered": "true", "records": records.to_string(), "batch.size": "200",
                            "value.size": "10",
                            "value.converter": "org.apache.kafka.connect.storage.StringConverter"});
    for (k, v) in extra {
        config[*k] = json!(v);
    }
    config
}

/// Every record of `topic` up to its end offsets now.
fn read_all(broker: &Broker, topic: &str) -> Vec<Consumed> {
    let consumer: BaseConsumer =
        ClientConfig::new().set("bootstrap.servers", broker.bootstrap()).create().expect("consumer");
    let end: i64 = (0..broker.partitions(topic) as i32)
        .map(|p| consumer.fetch_watermarks(topic, p, Duration::from_secs(10)).map(|(_, high)| high).unwrap_or(0))
        .sum();
    broker.consume(topic, end as usize, Duration::from_secs(60))
}

/// The `task:sequence` values of `topic`, per partition in offset order.
fn numbered_values(broker: &Broker, topic: &str) -> BTreeMap<i32, Vec<(String, i64)>> {
    let mut out: BTreeMap<i32, Vec<(String, i64)>> = BTreeMap::new();
    for record in read_all(broker, topic) {
        let (task, seq) = record.value_str().split_once(':').expect("task:sequence");
        out.entry(record.partition).or_default().push((task.to_string(), seq.parse().expect("sequence")));
    }
    out
}

/// The number of librdkafka clients of process `pid` (each has one `rdk:main` thread).
fn kafka_clients(pid: u32) -> usize {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("threads of the worker");
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim() == "rdk:main")
        .count()
}

fn task_states(rest: &Rest, name: &str) -> Vec<String> {
    rest.status(name)
        .and_then(|s| s["tasks"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|t| t["state"].as_str().unwrap_or("").to_string())
        .collect()
}

fn wait_states(rest: &Rest, name: &str, tasks: usize, state: &str) {
    wait_for(&format!("{tasks} tasks of {name} {state}"), SETTLE, || {
        let states = task_states(rest, name);
        (states.len() == tasks && states.iter().all(|s| s == state)).then_some(())
    });
}

#[test]
fn tasks_sharing_a_producer_keep_their_order_offsets_and_fates_apart() {
    let broker = Broker::start();
    broker.create_topic("ordered", 3);
    broker.create_topic("paced", 1);
    broker.create_topic("restarted", 1);
    broker.create_topic("too-large", 1);
    broker.create_topic("own", 1);
    let dir = test_dir();
    let plugins = plugin_dir(dir.path(), &["test_plugin_generator"]);
    let port = free_port();
    let listeners = format!("http://127.0.0.1:{port}");
    let worker = worker_properties(
        dir.path(),
        &broker,
        &plugins,
        &[("listeners", &listeners), ("offset.flush.interval.ms", "200")],
    );
    let mut process = ConnectProcess::standalone(&worker, &[], &dir.path().join("connect.log"));
    let rest = Rest::new(port);
    wait_for("the REST API", SETTLE, || matches!(rest.try_get("/connectors"), Ok((200, _))).then_some(()));

    // Every connector but `own` has the worker's producer settings: their tasks share one producer.
    const RECORDS: i64 = 30_000;
    rest.create_connector("paced", numbered("paced", 2, -1, &[("interval.ms", "50"), ("batch.size", "20")]));
    rest.create_connector("restarted", numbered("restarted", 1, -1, &[("interval.ms", "50"), ("batch.size", "20")]));
    rest.create_connector("own", numbered("own", 1, 5_000, &[("producer.override.linger.ms", "1")]));
    wait_states(&rest, "paced", 2, "RUNNING");
    rest.create_connector("ordered", numbered("ordered", 4, RECORDS, &[("interval.ms", "100")]));
    // A record over the producer's message.max.bytes: refused by the producer, which fails this task alone.
    rest.create_connector(
        "too-large",
        json!({"connector.class": GENERATOR, "topic": "too-large", "value.size": "2000000", "records": "3",
               "batch.size": "1"}),
    );
    wait_states(&rest, "ordered", 4, "RUNNING");
    let clients = kafka_clients(process.pid());
    assert_eq!(clients, 2, "the source tasks of two producer configurations ran {clients} Kafka clients");

    // While `ordered` runs: pause, resume and delete `paced`, restart the task of `restarted`; `too-large` fails.
    wait_states(&rest, "too-large", 1, "FAILED");
    let trace = rest.status("too-large").unwrap()["tasks"][0]["trace"].as_str().unwrap_or("").to_string();
    assert!(trace.contains("too-large"), "the failed task's trace names its topic: {trace}");
    assert_eq!(rest.put("/connectors/paced/pause", &json!(null)).0, 202);
    wait_states(&rest, "paced", 2, "PAUSED");
    std::thread::sleep(Duration::from_secs(1));
    let paused_at = read_all(&broker, "paced").len();
    std::thread::sleep(Duration::from_secs(2));
    let later = read_all(&broker, "paced").len();
    assert_eq!(paused_at, later, "a paused task sent records");
    assert_eq!(rest.put("/connectors/paced/resume", &json!(null)).0, 202);
    wait_states(&rest, "paced", 2, "RUNNING");
    assert_eq!(rest.post("/connectors/restarted/tasks/0/restart", &json!(null)).0, 204);
    assert_eq!(rest.delete("/connectors/paced").0, 204);
    assert_eq!(task_states(&rest, "ordered"), ["RUNNING"; 4], "the other tasks' states changed");

    // Each task of `ordered` wrote each of its records once, in order in every partition.
    let total = 4 * RECORDS as usize;
    let partitions = wait_for("every record of ordered", Duration::from_secs(240), || {
        let values = numbered_values(&broker, "ordered");
        (values.values().map(Vec::len).sum::<usize>() >= total).then_some(values)
    });
    let mut per_task: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (partition, values) in &partitions {
        let mut last: BTreeMap<&str, i64> = BTreeMap::new();
        for (task, seq) in values {
            let previous = last.insert(task, *seq).unwrap_or(0);
            assert!(*seq > previous, "partition {partition}: task {task} wrote {seq} after {previous}");
            per_task.entry(task.clone()).or_default().push(*seq);
        }
    }
    assert_eq!(per_task.len(), 4, "tasks seen: {:?}", per_task.keys());
    for (task, mut seqs) in per_task {
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=RECORDS).collect::<Vec<_>>(), "task {task}: records missing or written twice");
    }

    // Each task committed its own offset, up to its last record.
    wait_for("the offsets of ordered", SETTLE, || {
        let (code, body) = rest.get("/connectors/ordered/offsets");
        assert_eq!(code, 200, "{body}");
        let mut next: Vec<(String, i64)> = body["offsets"]
            .as_array()
            .unwrap_or(&Vec::new())
            .iter()
            .map(|o| {
                (
                    o["partition"]["generator"].as_str().unwrap_or("").to_string(),
                    o["offset"]["next"].as_i64().unwrap_or(0),
                )
            })
            .collect();
        next.sort();
        let expected: Vec<(String, i64)> = (0..4).map(|t| (t.to_string(), RECORDS)).collect();
        (next == expected).then_some(())
    });

    // The connector with its own producer settings ran on its own producer, and the restarted task goes on.
    assert_eq!(broker.consume("own", 5_000, Duration::from_secs(60)).len(), 5_000);
    wait_states(&rest, "restarted", 1, "RUNNING");
    let before = read_all(&broker, "restarted").len();
    wait_for("the restarted task to keep sending", SETTLE, || {
        (read_all(&broker, "restarted").len() > before).then_some(())
    });
    assert!(process.terminate(Duration::from_secs(30)).success(), "{}", process.output());
}

#[test]
fn several_tasks_of_a_killed_worker_lose_nothing() {
    let broker = Broker::start();
    broker.create_topic("crash-many", 2);
    let dir = test_dir();
    let plugins = plugin_dir(dir.path(), &["test_plugin_generator"]);
    let worker = worker_properties(dir.path(), &broker, &plugins, &[("offset.flush.interval.ms", "200")]);
    const TASKS: u32 = 4;
    const RECORDS: i64 = 20_000;
    let source = dir.path().join("source.properties");
    write_properties(
        &source,
        &[
            ("name", "many"),
            ("connector.class", GENERATOR),
            ("topic", "crash-many"),
            ("tasks.max", "4"),
            ("numbered", "true"),
            ("records", "20000"),
            ("batch.size", "100"),
            ("interval.ms", "100"),
            ("value.converter", "org.apache.kafka.connect.storage.StringConverter"),
        ],
    );
    let mut first = ConnectProcess::standalone(&worker, &[&source], &dir.path().join("connect-1.log"));
    wait_for("records part-way", Duration::from_secs(120), || {
        (broker.consume("crash-many", 10_000, Duration::from_secs(2)).len() >= 10_000).then_some(())
    });
    first.kill9();
    let at_crash = read_all(&broker, "crash-many").len();
    assert!(at_crash < (TASKS as usize) * RECORDS as usize, "the worker finished before it was killed");

    let mut second = ConnectProcess::standalone(&worker, &[&source], &dir.path().join("connect-2.log"));
    let deadline = Instant::now() + Duration::from_secs(240);
    let (written, missing) = loop {
        let values = numbered_values(&broker, "crash-many");
        let written: usize = values.values().map(Vec::len).sum();
        let mut seen: BTreeMap<String, std::collections::BTreeSet<i64>> = BTreeMap::new();
        for (task, seq) in values.into_values().flatten() {
            seen.entry(task).or_default().insert(seq);
        }
        let missing: usize = (0..TASKS)
            .map(|t| {
                let seen = seen.get(&t.to_string());
                (1..=RECORDS).filter(|s| !seen.is_some_and(|set| set.contains(s))).count()
            })
            .sum();
        if missing == 0 || Instant::now() > deadline {
            break (written, missing);
        }
        std::thread::sleep(Duration::from_secs(1));
    };
    assert_eq!(missing, 0, "records lost across the crash ({written} written); log:\n{}", second.output());
    assert!(second.terminate(Duration::from_secs(30)).success(), "{}", second.output());
    eprintln!(
        "{at_crash} records at the crash, {written} in the end for {} distinct ({} duplicates)",
        TASKS as i64 * RECORDS,
        written as i64 - TASKS as i64 * RECORDS
    );
}
