//! MirrorMaker 2's dedicated mode end to end: `connect mirror-maker mm2.properties` processes replicating between
//! two real tansu clusters, as a user runs Kafka's `connect-mirror-maker.sh`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use connect_tests::*;
use serde_json::Value;

const START: Duration = Duration::from_secs(120);
const REPLICATE: Duration = Duration::from_secs(180);

/// A MirrorMaker 2 file for clusters A and B with A->B enabled, short timings, and `extra` lines after it.
fn mm2_properties(dir: &Path, a: &Broker, b: &Broker, extra: &[(&str, &str)]) -> PathBuf {
    let path = dir.join("mm2.properties");
    let mut pairs: Vec<(String, String)> = [
        ("clusters", "A, B".to_string()),
        ("A.bootstrap.servers", a.bootstrap()),
        ("B.bootstrap.servers", b.bootstrap()),
        ("A->B.enabled", "true".into()),
        ("A->B.topics", "orders.*".into()),
        ("tasks.max", "2".into()),
        ("refresh.topics.interval.seconds", "2".into()),
        ("emit.heartbeats.interval.seconds", "1".into()),
        ("replication.factor", "1".into()),
        ("heartbeats.topic.replication.factor", "1".into()),
        ("checkpoints.topic.replication.factor", "1".into()),
        ("offset-syncs.topic.replication.factor", "1".into()),
        ("config.storage.replication.factor", "1".into()),
        ("offset.storage.replication.factor", "1".into()),
        ("status.storage.replication.factor", "1".into()),
        // Several processes on one host share this file: each listens on a free port.
        ("listeners", "http://127.0.0.1:0".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    // Worker settings of the herders, which run on the target cluster of their flow (`B.` for A->B). Kafka also
    // hands a cluster's settings to the connectors as `source.cluster.*` / `target.cluster.*`, and the MirrorMaker
    // connectors currently give those to librdkafka, which refuses keys it does not know (such as
    // `offset.flush.interval.ms`): only settings librdkafka accepts (or the connectors skip) are set per cluster.
    for cluster in ["A", "B"] {
        for (key, value) in
            [("session.timeout.ms", "30000"), ("heartbeat.interval.ms", "1000"), ("default.api.timeout.ms", "15000")]
        {
            pairs.push((format!("{cluster}.{key}"), value.to_string()));
        }
    }
    // Top-level `task*` keys go to every flow's worker, not to the connectors.
    pairs.push(("task.shutdown.graceful.timeout.ms".to_string(), "3000".to_string()));
    pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    write_properties(&path, &pairs);
    path
}

fn mirror_maker(dir: &Path, file: &Path, name: &str, args: &[&str]) -> ConnectProcess {
    let file = file.display().to_string();
    let mut all = vec!["mirror-maker", file.as_str()];
    all.extend_from_slice(args);
    ConnectProcess::start(&all, &dir.join(format!("{name}.log")))
}

/// The latest value of every key of a compacted topic, read to its end.
fn latest_by_key(broker: &Broker, topic: &str) -> BTreeMap<String, Value> {
    let mut latest = BTreeMap::new();
    for record in broker.consume(topic, usize::MAX, Duration::from_secs(3)) {
        let key = String::from_utf8_lossy(record.key.as_deref().unwrap_or_default()).to_string();
        let value = record.value.as_deref().and_then(|v| serde_json::from_slice(v).ok()).unwrap_or(Value::Null);
        latest.insert(key, value);
    }
    latest
}

/// The workers (by id) that report RUNNING connectors or tasks in a status topic.
fn running_workers(broker: &Broker, status_topic: &str) -> BTreeSet<String> {
    latest_by_key(broker, status_topic)
        .into_iter()
        .filter(|(key, value)| key.starts_with("status-") && value["state"] == "RUNNING")
        .filter_map(|(_, value)| value["worker_id"].as_str().map(str::to_string))
        .collect()
}

fn records(prefix: &str, n: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    (0..n).map(|i| (format!("key-{i}").into_bytes(), format!("{prefix}-{i:04}").into_bytes())).collect()
}

fn produce(broker: &Broker, topic: &str, records: &[(Vec<u8>, Vec<u8>)]) {
    let borrowed: Vec<(Option<&[u8]>, &[u8])> =
        records.iter().map(|(k, v)| (Some(k.as_slice()), v.as_slice())).collect();
    broker.produce(topic, &borrowed);
}

/// Waits until every value of `expected` is in `topic` (duplicates, which at-least-once delivery allows, aside).
fn wait_replicated<'a>(
    broker: &Broker,
    topic: &str,
    expected: impl IntoIterator<Item = &'a (Vec<u8>, Vec<u8>)>,
    what: &str,
) {
    let expected: BTreeSet<Vec<u8>> = expected.into_iter().map(|(_, v)| v.clone()).collect();
    wait_for(what, REPLICATE, || {
        let got: BTreeSet<Vec<u8>> =
            broker.consume(topic, usize::MAX, Duration::from_secs(2)).into_iter().filter_map(|r| r.value).collect();
        expected.is_subset(&got).then_some(())
    });
}

#[test]
fn two_processes_with_one_file_replicate_a_to_b_and_share_the_work() {
    let (a, b) = (Broker::start(), Broker::start());
    a.create_topic("orders", 2);
    let dir = test_dir();
    let file = mm2_properties(dir.path(), &a, &b, &[]);
    let first_batch = records("first", 100);
    produce(&a, "orders", &first_batch);

    let mut first = mirror_maker(dir.path(), &file, "mm2-1", &[]);
    first.wait_for_output("Kafka MirrorMaker started", START);

    // Records produced on A arrive in A.orders on B, keys and values unchanged, with A's partition count.
    wait_for("A.orders on B", REPLICATE, || (b.partitions("A.orders") == 2).then_some(()));
    let replicated = b.consume("A.orders", 100, REPLICATE);
    assert_eq!(replicated.len(), 100, "replicated so far: {replicated:?}\n{}", first.output());
    let expected: BTreeMap<Vec<u8>, Vec<u8>> = first_batch.iter().cloned().collect();
    for record in &replicated {
        let key = record.key.clone().expect("a key");
        assert_eq!(record.value.as_ref(), expected.get(&key), "record {key:?}");
    }
    // The herders use Kafka's internal topics: A->B's on B, and B->A's (heartbeats only) on A.
    for topic in ["mm2-configs.A.internal", "mm2-offsets.A.internal", "mm2-status.A.internal"] {
        assert!(b.partitions(topic) > 0, "{topic} on B");
    }
    assert!(a.partitions("mm2-configs.B.internal") > 0, "mm2-configs.B.internal on A");
    // B->A is not enabled: its heartbeat connector emits into A, as in Kafka, and nothing else of B arrives there.
    assert!(!a.consume("heartbeats", 1, REPLICATE).is_empty(), "no heartbeats on A\n{}", first.output());
    wait_for("heartbeats of A->B on B", REPLICATE, || (b.partitions("heartbeats") > 0).then_some(()));
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(a.partitions("B.heartbeats"), 0, "the disabled flow B->A replicated B's heartbeats");

    // A second process with the same file joins the same groups and takes a share of the work.
    let mut second = mirror_maker(dir.path(), &file, "mm2-2", &[]);
    second.wait_for_output("Kafka MirrorMaker started", START);
    let workers = wait_for("both processes to run part of A->B", REPLICATE, || {
        let workers = running_workers(&b, "mm2-status.A.internal");
        (workers.len() >= 2).then_some(workers)
    });
    assert!(workers.iter().all(|w| w.ends_with("/A/B")), "worker ids {workers:?}");

    let second_batch = records("second", 100);
    produce(&a, "orders", &second_batch);
    wait_replicated(&b, "A.orders", first_batch.iter().chain(&second_batch), "both batches on B");

    // A new matching topic on A: the process running MirrorSourceConnector generates new task configs and stores
    // them through its group's leader (over the internal endpoint when it is a follower).
    a.create_topic("orders-new", 1);
    produce(&a, "orders-new", &records("new", 10));
    wait_for("A.orders-new on B", REPLICATE, || (b.partitions("A.orders-new") == 1).then_some(()));
    let replicated = b.consume("A.orders-new", 10, REPLICATE);
    assert_eq!(replicated.len(), 10, "{}\n{}", first.output(), second.output());

    // No public REST API: only the internal endpoint of each flow, which wants signed requests.
    let port = rest_port(&first);
    let rest = Rest::new(port);
    let (status, body) = rest.raw("POST", "/A/B/connectors/MirrorSourceConnector/tasks", "[]");
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["message"], "Internal request missing required signature");
    for path in ["/connectors", "/A/B/connectors", "/A/B/connectors/MirrorSourceConnector/status", "/"] {
        assert_eq!(rest.get(path).0, 404, "GET {path}");
    }

    // The connector configs were written once, by the first leader: the processes do not rewrite each other's.
    let configs = b.consume("mm2-configs.A.internal", usize::MAX, Duration::from_secs(3));
    for name in ["MirrorSourceConnector", "MirrorCheckpointConnector", "MirrorHeartbeatConnector"] {
        let key = format!("connector-{name}");
        let writes = configs.iter().filter(|r| r.key.as_deref() == Some(key.as_bytes())).count();
        assert_eq!(writes, 1, "writes of {key}");
    }
    let stored = latest_by_key(&b, "mm2-configs.A.internal");
    let source = &stored["connector-MirrorSourceConnector"]["properties"];
    assert_eq!(source["source.cluster.alias"], "A");
    assert_eq!(source["target.cluster.alias"], "B");
    assert_eq!(source["topics"], "orders.*");
    assert_eq!(source["source.cluster.bootstrap.servers"], a.bootstrap().as_str());

    // Both processes are still up. The first one stops cleanly (leaving its groups), and the second one takes
    // over all of the work.
    assert!(first.terminate(Duration::from_secs(60)).success(), "{}", first.output());
    let third_batch = records("third", 100);
    produce(&a, "orders", &third_batch);
    wait_replicated(&b, "A.orders", &third_batch, "the third batch on B after the first process stopped");
    assert!(second.terminate(Duration::from_secs(60)).success(), "{}", second.output());
}

/// The port of a process's internal REST endpoint, from its log.
fn rest_port(process: &ConnectProcess) -> u16 {
    let output = process.output();
    let line = output.lines().find(|l| l.contains("REST API listening on http://")).expect("REST listener logged");
    line.rsplit(':').next().and_then(|p| p.trim().parse().ok()).expect("port")
}

fn expect_failure(dir: &Path, file: &Path, args: &[&str]) -> String {
    let mut process = mirror_maker(dir, file, "bad", args);
    let status = process.wait_exit(Duration::from_secs(60));
    let output = process.output();
    assert!(!status.success(), "mirror-maker should have failed:\n{output}");
    assert!(!output.contains("panicked"), "mirror-maker panicked:\n{output}");
    output
}

/// A bad file's properties, the command-line arguments, and the error expected.
type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str], String);

#[test]
fn bad_files_are_reported_with_file_and_key() {
    let dir = test_dir();
    let file = dir.path().join("mm2.properties");
    let name = file.display().to_string();
    let cases: &[Case] = &[
        (
            &[("A.bootstrap.servers", "127.0.0.1:1")],
            &[],
            format!("{name}: clusters: Missing required configuration \"clusters\""),
        ),
        (
            &[("clusters", "A, B"), ("C->B.enabled", "true")],
            &[],
            format!("{name}: C->B.enabled: names cluster alias 'C', which is not in clusters (A, B)"),
        ),
        (
            &[("clusters", "A, B"), ("A.bootstrap.servers", "127.0.0.1:1"), ("A->B.enabled", "true")],
            &[],
            format!("{name}: B.bootstrap.servers: Missing required configuration \"B.bootstrap.servers\""),
        ),
        (&[("clusters", "A, B"), ("A->B.enabled", "yes")], &[], format!("{name}: A->B.enabled: Invalid value yes")),
        (
            &[("clusters", "A, B"), ("bootstrap.servers", "127.0.0.1:1"), ("A->B.enabled", "true")],
            &["--clusters", "C"],
            format!("{name}: clusters: --clusters names 'C', which is not in clusters (A, B)"),
        ),
        (
            &[("clusters", "A, B"), ("bootstrap.servers", "127.0.0.1:1"), ("emit.heartbeats.enabled", "false")],
            &[],
            format!("{name}: No source->target replication flows"),
        ),
    ];
    for (pairs, args, expected) in cases {
        write_properties(&file, pairs);
        let output = expect_failure(dir.path(), &file, args);
        assert!(output.contains(expected.as_str()), "expected {expected:?} in:\n{output}");
    }

    let missing = dir.path().join("missing.properties");
    let output = expect_failure(dir.path(), &missing, &[]);
    assert!(output.contains(&format!("{}: cannot open", missing.display())), "{output}");
}

#[test]
fn an_unreachable_target_cluster_is_named() {
    let a = Broker::start();
    let dir = test_dir();
    let file = dir.path().join("mm2.properties");
    let a_servers = a.bootstrap();
    let unreachable = format!("127.0.0.1:{}", broker::free_port());
    write_properties(
        &file,
        &[
            ("clusters", "A, B"),
            ("A.bootstrap.servers", &a_servers),
            ("B.bootstrap.servers", &unreachable),
            ("A->B.enabled", "true"),
            ("emit.heartbeats.enabled", "false"),
            ("B.default.api.timeout.ms", "3000"),
        ],
    );
    let output = expect_failure(dir.path(), &file, &[]);
    let expected = format!("{}: B.bootstrap.servers: cannot reach cluster B at {unreachable}", file.display());
    assert!(output.contains(&expected), "expected {expected:?} in:\n{output}");
}
