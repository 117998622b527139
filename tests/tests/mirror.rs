//! MirrorMaker 2 as ordinary connectors over REST, between two real tansu clusters: the worker cluster's bootstrap
//! is the target; its connectors read the source. What an operator checks after setting up MM2: remote topics
//! with the same records, no replication loops, checkpoints and heartbeats that Java's tools can decode, consumer
//! groups that resume on the target where they left off on the source, no loss across a crash, new topics picked
//! up, and bad configs refused with a message naming the problem.

use std::collections::{BTreeMap, HashSet};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use connect_tests::mirror::*;
use connect_tests::*;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::ClientConfig;
use serde_json::{json, Value};

const SETTLE: Duration = Duration::from_secs(120);
const A: &str = "A";
const B: &str = "B";

/// Waits until a connector and its `tasks` tasks run; a FAILED connector or task ends the wait with its trace.
fn wait_running(rest: &Rest, name: &str, tasks: usize) {
    wait_for(&format!("{name} and {tasks} task(s) running"), SETTLE, || {
        let status = rest.status(name)?;
        if let Some(trace) = failure_trace(&status) {
            panic!("{name} failed: {trace}");
        }
        all_running(&status, tasks).then_some(())
    })
}

/// The trace of a FAILED connector or task in a status body.
fn failure_trace(status: &Value) -> Option<String> {
    let failed = |v: &Value| (v["state"] == "FAILED").then(|| v["trace"].as_str().unwrap_or("(no trace)").to_string());
    failed(&status["connector"]).or_else(|| status["tasks"].as_array()?.iter().find_map(failed))
}

/// Waits until `topic` on `broker` holds at least `n` records.
fn wait_count(broker: &Broker, topic: &str, n: i64, timeout: Duration) {
    wait_for(&format!("{n} records in {topic}"), timeout, || (record_count(broker, topic) >= n).then_some(()))
}

/// The remote topic on `target` holds exactly the records of `topic` on `source`: same partition count, and per
/// partition the same keys, values, headers and timestamps in the same order. Returns the record count.
fn assert_replicated(source: &Broker, topic: &str, target: &Broker, remote: &str) -> usize {
    assert_eq!(target.partitions(remote), source.partitions(topic), "partition count of {remote}");
    let upstream = read_topic(source, topic, Duration::from_secs(120));
    let downstream = read_topic(target, remote, Duration::from_secs(120));
    let mut total = 0;
    for (partition, records) in &upstream {
        let mirrored = &downstream[partition];
        let first_difference = records.iter().zip(mirrored).position(|((_, a), (_, b))| a != b);
        if let Some(i) = first_difference {
            panic!(
                "{remote} partition {partition} differs from {topic} at record {i}:\nsource {:?}\ntarget {:?}",
                records[i], mirrored[i]
            );
        }
        assert_eq!(mirrored.len(), records.len(), "records in {remote} partition {partition} (source: {topic})");
        total += records.len();
    }
    total
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_millis() as i64
}

#[test]
fn three_topics_of_100_000_records_are_replicated_record_for_record() {
    const RECORDS: u64 = 100_000;
    let (a, b) = (Broker::start(), Broker::start());
    let topics = [("orders", 3), ("payments", 2), ("audit", 1)];
    for (topic, partitions) in topics {
        a.create_topic(topic, partitions);
        produce(&a, topic, partitions, 0, RECORDS);
    }
    a.create_topic("ignored-logs", 1);
    a.produce("ignored-logs", &[(None, b"not for B")]);

    let dir = test_dir();
    let workers = mirror_workers(dir.path(), &b, "mm2-b", 1, &[]);
    let rest = &workers[0].rest;
    // Default `topics` (.*): everything but the excluded topics and MM2's own offset-syncs topic on A.
    let config = mirror_config(SOURCE, (A, &a), (B, &b), &[("topics.exclude", "ignored-.*"), ("tasks.max", "2")]);
    rest.create_connector("mirror-source", config);
    wait_running(rest, "mirror-source", 1);

    for (topic, _) in topics {
        let remote = format!("A.{topic}");
        wait_count(&b, &remote, RECORDS as i64, Duration::from_secs(300));
        assert_eq!(assert_replicated(&a, topic, &b, &remote), RECORDS as usize, "{remote}");
    }
    let on_b = connect_tests::mirror::topics(&b);
    assert!(!on_b.iter().any(|t| t.contains("ignored")), "an excluded topic was replicated: {on_b:?}");
    assert!(!on_b.iter().any(|t| t.contains("offset-syncs")), "MM2's internal topic was replicated: {on_b:?}");
    assert!(connect_tests::mirror::topics(&a).contains("mm2-offset-syncs.B.internal"), "offset-syncs live on A");
}

#[test]
fn identity_replication_policy_keeps_topic_names() {
    let (a, b) = (Broker::start(), Broker::start());
    a.create_topic("inventory", 2);
    produce(&a, "inventory", 2, 0, 2_000);
    let dir = test_dir();
    let workers = mirror_workers(dir.path(), &b, "mm2-b", 1, &[]);
    let config = mirror_config(
        SOURCE,
        (A, &a),
        (B, &b),
        &[("topics", "inventory"), ("replication.policy.class", IDENTITY_POLICY)],
    );
    workers[0].rest.create_connector("mirror-source", config);
    wait_running(&workers[0].rest, "mirror-source", 1);
    wait_count(&b, "inventory", 2_000, SETTLE);
    assert_eq!(assert_replicated(&a, "inventory", &b, "inventory"), 2_000);
    let on_b = connect_tests::mirror::topics(&b);
    assert!(!on_b.contains("A.inventory"), "the identity policy does not prefix: {on_b:?}");
}

#[test]
fn replicating_both_ways_does_not_loop() {
    let (a, b) = (Broker::start(), Broker::start());
    a.create_topic("left", 2);
    b.create_topic("right", 2);
    produce(&a, "left", 2, 0, 1_000);
    produce(&b, "right", 2, 0, 1_000);

    // A worker cluster per target cluster: a source connector's records go to its worker's cluster.
    let dir = test_dir();
    let on_b = mirror_workers(&dir.path().join("b"), &b, "mm2-on-b", 1, &[]);
    let on_a = mirror_workers(&dir.path().join("a"), &a, "mm2-on-a", 1, &[]);
    let refresh = [("refresh.topics.interval.seconds", "2")];
    on_b[0].rest.create_connector("a-to-b", mirror_config(SOURCE, (A, &a), (B, &b), &refresh));
    on_a[0].rest.create_connector("b-to-a", mirror_config(SOURCE, (B, &b), (A, &a), &refresh));
    wait_running(&on_b[0].rest, "a-to-b", 1);
    wait_running(&on_a[0].rest, "b-to-a", 1);
    wait_count(&b, "A.left", 1_000, SETTLE);
    wait_count(&a, "B.right", 1_000, SETTLE);

    // Both connectors see the remote topics now. A topic created afterwards on each side and replicated proves that
    // each connector refreshed its topic list since then; a looping connector would have picked up the remote
    // topic in that same refresh.
    a.create_topic("late", 1);
    b.create_topic("late", 1);
    produce(&a, "late", 1, 0, 10);
    produce(&b, "late", 1, 0, 10);
    wait_count(&b, "A.late", 10, SETTLE);
    wait_count(&a, "B.late", 10, SETTLE);

    let (topics_a, topics_b) = (connect_tests::mirror::topics(&a), connect_tests::mirror::topics(&b));
    assert!(!topics_a.iter().any(|t| t.starts_with("B.A.")), "A->B->A loop: {topics_a:?}");
    assert!(!topics_b.iter().any(|t| t.starts_with("A.B.")), "B->A->B loop: {topics_b:?}");
    assert!(!topics_a.iter().any(|t| t.starts_with("A.")), "A's own topics came back to A: {topics_a:?}");
    assert!(!topics_b.iter().any(|t| t.starts_with("B.")), "B's own topics came back to B: {topics_b:?}");
    for (broker, topic, count) in
        [(&a, "left", 1_000), (&b, "A.left", 1_000), (&b, "right", 1_000), (&a, "B.right", 1_000), (&a, "late", 10)]
    {
        assert_eq!(record_count(broker, topic), count, "{topic}: records replicated back would add to it");
    }
    assert_eq!(assert_replicated(&a, "left", &b, "A.left"), 1_000);
    assert_eq!(assert_replicated(&b, "right", &a, "B.right"), 1_000);
}

#[test]
fn checkpoints_translate_group_offsets_and_the_group_resumes_on_the_target() {
    const PER_PARTITION: i64 = 1_000;
    let (a, b) = (Broker::start(), Broker::start());
    a.create_topic("orders", 3);
    produce(&a, "orders", 3, 0, 3 * PER_PARTITION as u64);
    // Group g1 on A: partition 0 stopped before the last record, partition 1 read everything, partition 2 half.
    let committed = [(0, PER_PARTITION - 1), (1, PER_PARTITION), (2, PER_PARTITION / 2)];
    // A real member of g1 on A (a subscriber given its partitions) commits, then leaves the group.
    let group_a: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", a.bootstrap())
        .set("group.id", "g1")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    group_a.subscribe(&["orders"]).expect("subscribe");
    wait_for("g1 on A to get its partitions", SETTLE, || {
        group_a.poll(Duration::from_millis(100));
        (group_a.assignment().map(|a| a.count()).unwrap_or(0) == 3).then_some(())
    });
    let mut offsets = TopicPartitionList::new();
    for (partition, offset) in committed {
        offsets.add_partition_offset("orders", partition, Offset::Offset(offset)).unwrap();
    }
    group_a.commit(&offsets, CommitMode::Sync).expect("commit g1 on A");
    group_a.unsubscribe();
    drop(group_a);

    let dir = test_dir();
    let workers = mirror_workers(dir.path(), &b, "mm2-b", 1, &[]);
    let rest = &workers[0].rest;
    rest.create_connector("mirror-source", mirror_config(SOURCE, (A, &a), (B, &b), &[("topics", "orders")]));
    let checkpoint = mirror_config(
        CHECKPOINT,
        (A, &a),
        (B, &b),
        &[
            ("topics", "orders"),
            ("groups", "g1"),
            ("emit.checkpoints.interval.seconds", "1"),
            ("refresh.groups.interval.seconds", "2"),
            ("sync.group.offsets.enabled", "true"),
            ("sync.group.offsets.interval.seconds", "1"),
        ],
    );
    rest.create_connector("mirror-checkpoint", checkpoint);
    wait_running(rest, "mirror-source", 1);
    wait_running(rest, "mirror-checkpoint", 1);
    wait_count(&b, "A.orders", 3 * PER_PARTITION, SETTLE);

    // The offset-syncs on A end with a sync of each partition's last record (MM2 sends the delayed sync of the
    // latest record at the next offset commit).
    let syncs = wait_for("an offset sync of every partition's last record", SETTLE, || {
        let syncs: Vec<OffsetSync> =
            read_decoded(&a, "mm2-offset-syncs.B.internal", OffsetSync::decode).into_iter().map(|(_, s)| s).collect();
        let last = |p: i32| syncs.iter().any(|s| s.partition == p && s.upstream_offset == PER_PARTITION - 1);
        (0..3).all(last).then_some(syncs)
    });
    let mut store = OffsetSyncStore::new();
    for sync in &syncs {
        assert_eq!(sync.topic, "orders", "{sync:?}");
        store.apply(sync);
    }
    // Every sync points at the same record on both sides.
    let (upstream, downstream) = (read_topic(&a, "orders", SETTLE), read_topic(&b, "A.orders", SETTLE));
    for sync in &syncs {
        let at = |records: &[(i64, Record)], offset: i64| records.iter().find(|(o, _)| *o == offset).cloned();
        let p = sync.partition;
        assert_eq!(
            at(&upstream[&p], sync.upstream_offset).map(|(_, r)| r),
            at(&downstream[&p], sync.offset).map(|(_, r)| r),
            "{sync:?} maps different records"
        );
    }

    // Partitions 0 and 1 were committed at or after their latest sync: MM2 translates them exactly, whatever
    // syncs a checkpoint task kept. Partition 2's translation depends on that; it must never skip a record.
    let expected: BTreeMap<i32, i64> = committed[..2]
        .iter()
        .map(|(p, offset)| (*p, store.translate("orders", *p, *offset).expect("a sync of the partition")))
        .collect();
    let (latest_sync_0, latest_sync_1) = (store.latest("orders", 0).unwrap(), store.latest("orders", 1).unwrap());
    assert_eq!(expected[&0], latest_sync_0.1, "exactly at a sync: its downstream offset");
    assert_eq!(expected[&1], latest_sync_1.1 + 1, "past the latest sync: one past it");
    let checkpoints = wait_for("checkpoints of g1 with the translated offsets", SETTLE, || {
        let mut latest: BTreeMap<i32, Checkpoint> = BTreeMap::new();
        for (_, checkpoint) in read_decoded(&b, "A.checkpoints.internal", Checkpoint::decode) {
            latest.insert(checkpoint.partition, checkpoint);
        }
        let done = expected.iter().all(|(p, offset)| latest.get(p).is_some_and(|c| c.offset == *offset));
        done.then_some(latest)
    });
    for (partition, offset) in committed {
        let Some(checkpoint) = checkpoints.get(&partition) else {
            assert_eq!(partition, 2, "no checkpoint for partition {partition}: {checkpoints:?}");
            continue;
        };
        assert_eq!((checkpoint.group.as_str(), checkpoint.topic.as_str()), ("g1", "A.orders"), "{checkpoint:?}");
        assert_eq!(checkpoint.upstream_offset, offset, "the committed offset on A: {checkpoint:?}");
    }
    // Partition 2: where A's record at the committed offset is on B; a translation past it would skip records.
    let exact_2 = {
        let wanted = &upstream[&2].iter().find(|(o, _)| *o == PER_PARTITION / 2).unwrap().1;
        downstream[&2].iter().find(|(_, r)| r == wanted).unwrap().0
    };
    if let Some(checkpoint) = checkpoints.get(&2) {
        assert!((0..=exact_2).contains(&checkpoint.offset), "{checkpoint:?} skips records (exact: {exact_2})");
    }

    // With group sync on, g1 on B (never active there) gets the translated offsets committed ...
    let group_b: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", b.bootstrap())
        .set("group.id", "g1")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "latest")
        .create()
        .expect("consumer");
    let mut partitions = TopicPartitionList::new();
    for p in 0..3 {
        partitions.add_partition("A.orders", p);
    }
    let committed_on_b = |expected: &BTreeMap<i32, i64>| {
        let committed = group_b.committed_offsets(partitions.clone(), Duration::from_secs(10)).ok()?;
        let on_b: BTreeMap<i32, i64> = committed
            .elements()
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(o) => Some((e.partition(), o)),
                _ => None,
            })
            .collect();
        expected.iter().all(|(p, offset)| on_b.get(p) == Some(offset)).then_some(on_b)
    };
    let on_b = wait_for("g1's translated offsets committed on B", SETTLE, || committed_on_b(&expected));
    if let Some(offset) = on_b.get(&2) {
        assert!((0..=exact_2).contains(offset), "g1 on B at {offset} of partition 2 skips records (exact: {exact_2})");
    }

    // ... and keeps getting them while it stays idle there: g1 moves on on A (partition 2 to its last record), its
    // checkpoint and its offset on B follow.
    let simple: BaseConsumer =
        ClientConfig::new().set("bootstrap.servers", a.bootstrap()).set("group.id", "g1").create().expect("consumer");
    let mut offsets = TopicPartitionList::new();
    offsets.add_partition_offset("orders", 2, Offset::Offset(PER_PARTITION - 1)).unwrap();
    simple.commit(&offsets, CommitMode::Sync).expect("commit g1 on A");
    let mut expected = expected;
    expected.insert(2, store.latest("orders", 2).unwrap().1);
    wait_for("the checkpoint of g1's new position on A", SETTLE, || {
        let latest = read_decoded(&b, "A.checkpoints.internal", Checkpoint::decode)
            .into_iter()
            .rev()
            .find_map(|(_, c)| (c.partition == 2 && c.upstream_offset == PER_PARTITION - 1).then_some(c.offset))?;
        assert_eq!(latest, expected[&2], "partition 2 committed at its latest sync translates exactly");
        Some(())
    });
    wait_for("g1's new offset synced to B", SETTLE, || committed_on_b(&expected));

    // A consumer of g1 on B starts there: the first records are A's records 999 of partitions 0 and 2, not the
    // end (auto.offset.reset=latest would give nothing); partition 1 was read to its end.
    group_b.subscribe(&["A.orders"]).expect("subscribe");
    let mut first: BTreeMap<i32, (i64, Option<Vec<u8>>)> = BTreeMap::new();
    wait_for("g1 on B to read partitions 0 and 2", SETTLE, || {
        if let Some(Ok(message)) = group_b.poll(Duration::from_millis(100)) {
            assert_ne!(message.partition(), 1, "g1 read partition 1 at {} past its end on A", message.offset());
            first.entry(message.partition()).or_insert((message.offset(), message.payload().map(<[u8]>::to_vec)));
        }
        (first.len() == 2).then_some(())
    });
    for p in [0, 2] {
        let record_999 = &upstream[&p].iter().find(|(o, _)| *o == PER_PARTITION - 1).unwrap().1;
        assert_eq!(
            first[&p],
            (expected[&p], record_999.value.clone()),
            "g1 on B resumes partition {p} with the record after its position on A"
        );
    }
}

#[test]
fn a_restarted_checkpoint_task_does_not_write_its_checkpoints_again() {
    let (a, b) = (Broker::start(), Broker::start());
    a.create_topic("orders", 1);
    produce(&a, "orders", 1, 0, 100);
    let group_a: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", a.bootstrap())
        .set("group.id", "g2")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut offsets = TopicPartitionList::new();
    offsets.add_partition_offset("orders", 0, Offset::Offset(100)).unwrap();
    group_a.commit(&offsets, CommitMode::Sync).expect("commit g2 on A");

    let dir = test_dir();
    let workers = mirror_workers(dir.path(), &b, "mm2-b", 1, &[]);
    let rest = &workers[0].rest;
    rest.create_connector("mirror-source", mirror_config(SOURCE, (A, &a), (B, &b), &[("topics", "orders")]));
    let checkpoint = mirror_config(
        CHECKPOINT,
        (A, &a),
        (B, &b),
        &[("topics", "orders"), ("groups", "g2"), ("emit.checkpoints.interval.seconds", "1")],
    );
    rest.create_connector("mirror-checkpoint", checkpoint);
    wait_running(rest, "mirror-checkpoint", 1);
    wait_count(&b, "A.orders", 100, SETTLE);
    let checkpoints_topic = "A.checkpoints.internal";
    let written = wait_for("g2's checkpoint", SETTLE, || {
        if !connect_tests::mirror::topics(&b).contains(checkpoints_topic) {
            return None;
        }
        let checkpoints = read_decoded(&b, checkpoints_topic, Checkpoint::decode);
        (!checkpoints.is_empty()).then_some(checkpoints)
    });
    assert_eq!(written.len(), 1, "one checkpoint while g2 stands still: {written:?}");
    assert_eq!(written[0].1.upstream_offset, 100);

    let (code, body) = rest.post("/connectors/mirror-checkpoint/restart?includeTasks=true", &json!({}));
    assert!(code == 202 || code == 204, "restart: {code} {body}");
    // The restarted task reads its earlier checkpoint back: several intervals later, still only one.
    std::thread::sleep(Duration::from_secs(2));
    wait_running(rest, "mirror-checkpoint", 1);
    std::thread::sleep(Duration::from_secs(4));
    let after = read_decoded(&b, checkpoints_topic, Checkpoint::decode);
    assert_eq!(after.len(), 1, "the restarted task wrote its checkpoint again: {after:?}");
}

#[test]
fn heartbeats_arrive_on_the_target_and_decode() {
    let (a, b) = (Broker::start(), Broker::start());
    let dir = test_dir();
    let workers = mirror_workers(dir.path(), &b, "mm2-b", 1, &[]);
    let started = now_ms();
    let config = mirror_config(HEARTBEAT, (A, &a), (B, &b), &[("emit.heartbeats.interval.seconds", "1")]);
    workers[0].rest.create_connector("mirror-heartbeat", config);
    wait_running(&workers[0].rest, "mirror-heartbeat", 1);
    let heartbeats = wait_for("3 heartbeats on B", SETTLE, || {
        let heartbeats = read_decoded(&b, "heartbeats", Heartbeat::decode);
        (heartbeats.len() >= 3).then_some(heartbeats)
    });
    let received = now_ms();
    let mut previous = 0;
    for (record_timestamp, heartbeat) in &heartbeats {
        assert_eq!((heartbeat.source_cluster_alias.as_str(), heartbeat.target_cluster_alias.as_str()), (A, B));
        assert!(
            (started - 1_000..=received + 1_000).contains(&heartbeat.timestamp),
            "{heartbeat:?} not emitted while the test ran ({started}..{received}); record timestamp {record_timestamp}"
        );
        assert!(heartbeat.timestamp >= previous, "heartbeats go back in time: {heartbeats:?}");
        previous = heartbeat.timestamp;
    }
    let distinct: HashSet<i64> = heartbeats.iter().map(|(_, h)| h.timestamp).collect();
    assert!(distinct.len() >= 3, "one heartbeat per interval, each with its own time: {heartbeats:?}");
}

#[test]
fn heartbeats_of_upstream_flows_are_replicated_so_chains_show_up() {
    // A -> B -> C: B's heartbeats (of flow A->B) reach C as B.heartbeats, next to C's own (of flow B->C).
    let (a, b, c) = (Broker::start(), Broker::start(), Broker::start());
    let dir_b = test_dir();
    let dir_c = test_dir();
    let on_b = mirror_workers(dir_b.path(), &b, "mm2-b", 1, &[]);
    let on_c = mirror_workers(dir_c.path(), &c, "mm2-c", 1, &[]);
    let config = mirror_config(HEARTBEAT, (A, &a), (B, &b), &[]);
    on_b[0].rest.create_connector("heartbeat-a-b", config);
    let config = mirror_config(HEARTBEAT, (B, &b), ("C", &c), &[]);
    on_c[0].rest.create_connector("heartbeat-b-c", config);
    // No topic matches `topics`: heartbeats topics are replicated all the same, as in Java.
    let config = mirror_config(
        SOURCE,
        (B, &b),
        ("C", &c),
        &[("topics", "nothing-matches"), ("refresh.topics.interval.seconds", "2")],
    );
    on_c[0].rest.create_connector("source-b-c", config);

    let chained = wait_for("B.heartbeats on C", SETTLE, || {
        if !connect_tests::mirror::topics(&c).contains("B.heartbeats") {
            return None;
        }
        let heartbeats = read_decoded(&c, "B.heartbeats", Heartbeat::decode);
        (!heartbeats.is_empty()).then_some(heartbeats)
    });
    for (_, heartbeat) in &chained {
        assert_eq!((heartbeat.source_cluster_alias.as_str(), heartbeat.target_cluster_alias.as_str()), (A, B));
    }
    let own = read_decoded(&c, "heartbeats", Heartbeat::decode);
    assert!(!own.is_empty(), "C's own heartbeats");
    for (_, heartbeat) in &own {
        assert_eq!((heartbeat.source_cluster_alias.as_str(), heartbeat.target_cluster_alias.as_str()), (B, "C"));
    }
    let topics_on_c = connect_tests::mirror::topics(&c);
    assert!(!topics_on_c.iter().any(|t| t.starts_with("B.mm2-b")), "only heartbeats were replicated: {topics_on_c:?}");
}

#[test]
fn nothing_is_missing_on_the_target_after_a_worker_is_killed_mid_replication() {
    const RECORDS: u64 = 40_000;
    let (a, b) = (Broker::start(), Broker::start());
    a.create_topic("stream", 2);
    produce(&a, "stream", 2, 0, RECORDS / 4);
    let dir = test_dir();
    // A short session, so the restarted worker's group forgets the killed member quickly.
    let fast = [("session.timeout.ms", "10000"), ("rebalance.timeout.ms", "10000")];
    let mut workers = mirror_workers(dir.path(), &b, "mm2-b", 1, &fast);
    workers[0].rest.create_connector("mirror-source", mirror_config(SOURCE, (A, &a), (B, &b), &[("topics", "stream")]));
    wait_running(&workers[0].rest, "mirror-source", 1);

    // A keeps receiving records: up to half before the crash, the rest only after it.
    let (crashed, crash_seen) = mpsc::channel::<()>();
    let source = &a;
    let at_crash = std::thread::scope(|scope| {
        scope.spawn(move || {
            for chunk in (RECORDS / 4..RECORDS).step_by(1_000) {
                if chunk == RECORDS / 2 {
                    let _ = crash_seen.recv();
                }
                produce(source, "stream", 2, chunk, chunk + 1_000);
            }
        });
        wait_count(&b, "A.stream", (RECORDS / 8) as i64, SETTLE);
        workers[0].process.kill9();
        let at_crash = record_count(&b, "A.stream");
        crashed.send(()).unwrap();
        let (properties, port) = (workers[0].properties.clone(), workers[0].port);
        workers[0] = DistributedWorker::start_from(dir.path(), &properties, port);
        workers[0].wait_joined(Duration::from_secs(90));
        at_crash
    });
    assert_eq!(record_count(&a, "stream"), RECORDS as i64);

    // Duplicates are allowed (records after the last committed offset are sent again), missing records are not.
    let expected = read_topic(&a, "stream", SETTLE);
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let mirrored = read_topic(&b, "A.stream", SETTLE);
        let mut missing = Vec::new();
        for (partition, records) in &expected {
            let seen: HashSet<&Record> = mirrored[partition].iter().map(|(_, r)| r).collect();
            missing.extend(records.iter().filter(|(_, r)| !seen.contains(r)).map(|(o, _)| (*partition, *o)));
        }
        let total: usize = mirrored.values().map(Vec::len).sum();
        if missing.is_empty() {
            eprintln!("{at_crash} records on B at the crash, {total} in the end for {RECORDS} distinct");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} records of A missing on B ({total} there), first (partition, offset): {:?}",
            missing.len(),
            &missing[..missing.len().min(10)]
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[test]
fn a_topic_created_on_the_source_is_replicated_after_the_refresh_interval() {
    let (a, b) = (Broker::start(), Broker::start());
    a.create_topic("fresh-1", 1);
    produce(&a, "fresh-1", 1, 0, 100);
    let dir = test_dir();
    let workers = mirror_workers(dir.path(), &b, "mm2-b", 1, &[]);
    let config =
        mirror_config(SOURCE, (A, &a), (B, &b), &[("topics", "fresh-.*"), ("refresh.topics.interval.seconds", "2")]);
    workers[0].rest.create_connector("mirror-source", config);
    wait_running(&workers[0].rest, "mirror-source", 1);
    wait_count(&b, "A.fresh-1", 100, SETTLE);
    assert!(!connect_tests::mirror::topics(&b).contains("A.fresh-2"));

    a.create_topic("fresh-2", 3);
    produce(&a, "fresh-2", 3, 0, 300);
    wait_count(&b, "A.fresh-2", 300, SETTLE);
    assert_eq!(assert_replicated(&a, "fresh-2", &b, "A.fresh-2"), 300);
    assert_eq!(assert_replicated(&a, "fresh-1", &b, "A.fresh-1"), 100);
}

/// What a user sees of a bad config: `validate` or `POST /connectors` refuses it (400 naming the problem), or the
/// connector is created and FAILS with a trace naming it. Returns that message.
fn refusal(rest: &Rest, name: &str, mut config: Value, names_problem: &[&str]) -> String {
    config["name"] = json!(name);
    let names = |text: &str| names_problem.iter().any(|n| text.contains(n));
    let class = config["connector.class"].as_str().unwrap().to_string();
    let (code, report) = rest.put(&format!("/connector-plugins/{class}/config/validate"), &config);
    let refused_by_validate = match code {
        400 => {
            let message = report["message"].as_str().unwrap_or_default();
            assert!(names(message), "validate: 400 {message:?} should name one of {names_problem:?}");
            true
        }
        200 if report["error_count"].as_u64().unwrap_or(0) > 0 => {
            let errors: Vec<String> = report["configs"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|c| c["value"]["errors"].as_array().into_iter().flatten())
                .filter_map(|e| e.as_str().map(str::to_string))
                .collect();
            assert!(errors.iter().any(|e| names(e)), "validate errors {errors:?} should name one of {names_problem:?}");
            true
        }
        200 => false,
        _ => panic!("validate: {code} {report}"),
    };
    let (code, answer) = rest.post("/connectors", &json!({"name": name, "config": config}));
    if refused_by_validate || code == 400 {
        assert_eq!(code, 400, "POST after a failed validation: {answer}");
        assert_eq!(answer["error_code"], 400, "Kafka Connect's error body: {answer}");
        let message = answer["message"].as_str().unwrap_or_default().to_string();
        assert!(names(&message), "POST: 400 {message:?} should name one of {names_problem:?}");
        return message;
    }
    assert_eq!(code, 201, "POST /connectors {name}: {answer}");
    let trace = wait_for(&format!("{name} to fail"), Duration::from_secs(90), || failure_trace(&rest.status(name)?));
    assert!(names(&trace), "the trace of {name} should name one of {names_problem:?}: {trace}");
    trace
}

#[test]
fn bad_configs_are_refused_with_a_message_naming_the_problem() {
    let (a, b) = (Broker::start(), Broker::start());
    a.create_topic("orders", 1);
    let dir = test_dir();
    let workers = mirror_workers(dir.path(), &b, "mm2-b", 1, &[]);
    let rest = &workers[0].rest;

    let policy = mirror_config(SOURCE, (A, &a), (B, &b), &[("replication.policy.class", "com.example.NoSuchPolicy")]);
    refusal(rest, "bad-policy", policy, &["com.example.NoSuchPolicy"]);

    let regex = mirror_config(SOURCE, (A, &a), (B, &b), &[("topics", "orders,[unclosed")]);
    refusal(rest, "bad-topics", regex, &["[unclosed"]);
    let groups = mirror_config(CHECKPOINT, (A, &a), (B, &b), &[("groups", "(g1")]);
    refusal(rest, "bad-groups", groups, &["(g1"]);

    let mut missing = mirror_config(SOURCE, (A, &a), (B, &b), &[]);
    missing.as_object_mut().unwrap().remove("source.cluster.bootstrap.servers");
    refusal(rest, "no-source", missing, &["source.cluster.bootstrap.servers"]);

    let nowhere = format!("127.0.0.1:{}", broker::free_port());
    let mut unreachable = mirror_config(SOURCE, (A, &a), (B, &b), &[("topics", "orders")]);
    unreachable["source.cluster.bootstrap.servers"] = json!(nowhere);
    unreachable["admin.timeout.ms"] = json!("5000");
    refusal(rest, "unreachable-source", unreachable, &[&nowhere, "source.cluster.bootstrap.servers"]);

    // None of them left anything running.
    let (code, list) = rest.get("/connectors");
    assert_eq!(code, 200);
    for name in list.as_array().unwrap() {
        let status = rest.status(name.as_str().unwrap()).unwrap_or_default();
        assert!(failure_trace(&status).is_some(), "{name} was accepted and does not fail: {status}");
    }
}
