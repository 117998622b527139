//! The internal-topic stores against a real broker (tansu 0.6.0, sqlite storage), each test with its own broker:
//! what one worker writes, another reads, in the bytes Kafka Connect writes.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use connect_api::{Config, SourceMap};
use connect_runtime::storage::kafka::*;
use connect_runtime::storage::OffsetStore;
use connect_runtime::worker::status::{State, Status, StatusKey, StatusSink, TaskId};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::ClientConfig;

const WAIT: Duration = Duration::from_secs(20);

/// A tansu broker of the test harness, with the helpers these tests need.
struct Broker {
    inner: connect_tests::Broker,
}

impl Broker {
    fn start() -> Broker {
        Broker { inner: connect_tests::Broker::start() }
    }

    fn client(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", self.inner.bootstrap());
        config
    }

    fn store_config(&self, worker: &str, topic: &str) -> KafkaStoreConfig {
        KafkaStoreConfig::new(self.client(), format!("{worker}-"), topic)
    }

    fn ensure(&self, topics: &[(&str, i32)]) {
        let specs: Vec<TopicSpec> = topics
            .iter()
            .map(|(name, partitions)| TopicSpec {
                name: name.to_string(),
                partitions: *partitions,
                replication_factor: 1,
                settings: topic_settings(&BTreeMap::new(), "config.storage."),
            })
            .collect();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(ensure_topics(&self.client(), &specs, WAIT)).expect("ensure_topics");
    }

    /// Writes records as another (Java) worker would, and waits for their acknowledgement.
    fn produce(&self, topic: &str, records: &[(&str, Option<&str>)]) {
        let producer: ThreadedProducer<DefaultProducerContext> =
            self.client().set("acks", "all").set("partitioner", "murmur2_random").create().unwrap();
        for (key, value) in records {
            let mut record = BaseRecord::<str, str>::to(topic).key(*key);
            if let Some(value) = value {
                record = record.payload(*value);
            }
            producer.send(record).map_err(|(e, _)| e).unwrap();
        }
        producer.flush(WAIT).unwrap();
    }

    fn partitions(&self, topic: &str) -> usize {
        let consumer: BaseConsumer = self.client().create().unwrap();
        let metadata = consumer.fetch_metadata(Some(topic), WAIT).unwrap();
        metadata.topics().iter().find(|t| t.name() == topic).map(|t| t.partitions().len()).unwrap_or(0)
    }

    /// Every record of `topic` as (key, value), in offset order within each partition.
    fn read_all(&self, topic: &str) -> Vec<(String, Option<String>)> {
        let consumer: BaseConsumer = self.client().set("group.id", "test-reader").create().unwrap();
        let mut assignment = TopicPartitionList::new();
        let mut ends = BTreeMap::new();
        for partition in 0..self.partitions(topic) as i32 {
            assignment.add_partition_offset(topic, partition, Offset::Beginning).unwrap();
            let (_, high) = consumer.fetch_watermarks(topic, partition, WAIT).unwrap();
            ends.insert(partition, high);
        }
        consumer.assign(&assignment).unwrap();
        let mut positions: BTreeMap<i32, i64> = ends.keys().map(|p| (*p, 0)).collect();
        let mut out = Vec::new();
        let deadline = Instant::now() + WAIT;
        while positions.iter().any(|(p, pos)| *pos < ends[p]) {
            assert!(Instant::now() < deadline, "could not read {topic} to its end");
            if let Some(message) = consumer.poll(Duration::from_millis(100)) {
                let message = message.unwrap();
                let text = |b: Option<&[u8]>| b.map(|b| String::from_utf8(b.to_vec()).unwrap());
                out.push((text(message.key()).unwrap_or_default(), text(message.payload())));
                positions.insert(message.partition(), message.offset() + 1);
            }
        }
        out
    }
}

fn config(pairs: &[(&str, &str)]) -> Config {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn task(connector: &str, task: u32) -> TaskId {
    TaskId { connector: connector.to_string(), task }
}

fn raw<'a>(records: &'a [(String, Option<String>)], key: &str) -> Vec<Option<&'a str>> {
    records.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_deref()).collect()
}

#[test]
fn ensure_topics_creates_the_internal_topics() {
    let broker = Broker::start();
    let spec = |name: &str, partitions: i32, prefix: &str| TopicSpec {
        name: name.to_string(),
        partitions,
        replication_factor: 1,
        settings: topic_settings(&BTreeMap::from([(format!("{prefix}segment.ms"), "600000".to_string())]), prefix),
    };
    let topics = [
        spec("connect-configs", 1, "config.storage."),
        spec("connect-offsets", 25, "offset.storage."),
        spec("connect-status", 5, "status.storage."),
    ];
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(ensure_topics(&broker.client(), &topics, WAIT)).expect("create");
    assert_eq!(broker.partitions("connect-configs"), 1);
    assert_eq!(broker.partitions("connect-offsets"), 25);
    assert_eq!(broker.partitions("connect-status"), 5);
    // Existing topics are used as they are, even with another partition count.
    let mut again = topics.clone();
    again[2].partitions = 3;
    runtime.block_on(ensure_topics(&broker.client(), &again, WAIT)).expect("existing topics");
    assert_eq!(broker.partitions("connect-status"), 5);

    // A config topic with several partitions is refused, naming it.
    let err = KafkaConfigStore::open(&broker.store_config("w1", "connect-status")).err().expect("refused");
    let message = err.to_string();
    assert!(message.contains("connect-status") && message.contains("single partition"), "{message}");
    // A missing topic is an error too.
    let err = KafkaStatusStore::open(&broker.store_config("w1", "nope")).err().expect("missing");
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn config_store_round_trip_between_two_workers() {
    let broker = Broker::start();
    broker.ensure(&[("configs", 1)]);
    let leader = KafkaConfigStore::open(&broker.store_config("w1", "configs")).unwrap();
    let follower = KafkaConfigStore::open(&broker.store_config("w2", "configs")).unwrap();
    assert_eq!(follower.snapshot().offset, -1);
    assert!(follower.snapshot().connector_configs.is_empty());

    let connector = config(&[("connector.class", "FileStreamSource"), ("tasks.max", "2"), ("file", "/tmp/a b")]);
    leader.put_connector_config("my-conn", connector.clone(), Some(TargetState::Paused)).unwrap();
    let state = follower.refresh(WAIT).unwrap();
    assert_eq!(state.connector_configs["my-conn"], connector);
    assert_eq!(state.target_state("my-conn"), TargetState::Paused);
    assert_eq!(state.task_count("my-conn"), 0);
    assert_eq!(state.offset, 2);

    let tasks = vec![config(&[("file", "/tmp/a b"), ("task", "0")]), config(&[("task", "1")])];
    leader.put_task_configs("my-conn", tasks.clone()).unwrap();
    assert_eq!(leader.snapshot().task_configs_of("my-conn"), tasks, "the writer sees its own write at once");
    let state = follower.refresh(WAIT).unwrap();
    assert_eq!(state.task_count("my-conn"), 2);
    assert_eq!(state.task_configs_of("my-conn"), tasks);
    assert_eq!(state.task_configs[&task("my-conn", 1)], tasks[1]);
    assert_eq!(state.offset, 5);

    leader.put_target_state("my-conn", TargetState::Stopped).unwrap();
    assert_eq!(follower.refresh(WAIT).unwrap().target_state("my-conn"), TargetState::Stopped);
    // A worker that predates STOPPED writes only "state".
    broker.produce("configs", &[("target-state-my-conn", Some(r#"{"state":"PAUSED"}"#))]);
    assert_eq!(follower.refresh(WAIT).unwrap().target_state("my-conn"), TargetState::Paused);
    leader.put_target_state("my-conn", TargetState::Started).unwrap();

    let key = SessionKey { key: b"0123456789abcdef".to_vec(), algorithm: "HmacSHA256".into(), creation_timestamp: 42 };
    leader.put_session_key(&key).unwrap();
    assert_eq!(follower.refresh(WAIT).unwrap().session_key, Some(key));

    // The bytes are Kafka Connect's.
    let records = broker.read_all("configs");
    assert_eq!(
        raw(&records, "connector-my-conn"),
        [Some(r#"{"properties":{"connector.class":"FileStreamSource","file":"/tmp/a b","tasks.max":"2"}}"#)]
    );
    assert_eq!(records[0].0, "target-state-my-conn", "the target state goes first");
    assert_eq!(raw(&records, "task-my-conn-0"), [Some(r#"{"properties":{"file":"/tmp/a b","task":"0"}}"#)]);
    assert_eq!(raw(&records, "commit-my-conn"), [Some(r#"{"tasks":2}"#)]);
    assert_eq!(
        raw(&records, "target-state-my-conn"),
        [
            Some(r#"{"state":"PAUSED","state.v2":"PAUSED"}"#),
            Some(r#"{"state":"PAUSED","state.v2":"STOPPED"}"#),
            Some(r#"{"state":"PAUSED"}"#),
            Some(r#"{"state":"STARTED","state.v2":"STARTED"}"#),
        ]
    );
    assert_eq!(
        raw(&records, "session-key"),
        [Some(r#"{"key":"MDEyMzQ1Njc4OWFiY2RlZg==","algorithm":"HmacSHA256","creation-timestamp":42}"#)]
    );

    // Deleting writes tombstones for the config and the target state.
    leader.remove_connector_config("my-conn").unwrap();
    let state = follower.refresh(WAIT).unwrap();
    assert!(state.connector_configs.is_empty());
    assert!(state.task_configs.is_empty());
    assert_eq!(state.task_count("my-conn"), 0);
    assert!(!state.target_states.contains_key("my-conn"));
    let records = broker.read_all("configs");
    assert_eq!(
        records[records.len() - 2..],
        [("connector-my-conn".into(), None), ("target-state-my-conn".into(), None)]
    );
    assert_eq!(state.offset, records.len() as i64);

    // A third worker starting now builds the same state from the log.
    let late = KafkaConfigStore::open(&broker.store_config("w3", "configs")).unwrap();
    assert_eq!(late.snapshot(), state);
}

#[test]
fn task_configs_are_visible_only_once_committed() {
    let broker = Broker::start();
    broker.ensure(&[("configs", 1)]);
    let store = KafkaConfigStore::open(&broker.store_config("w1", "configs")).unwrap();
    store.put_connector_config("c", config(&[("connector.class", "X")]), None).unwrap();
    broker.produce(
        "configs",
        &[("task-c-0", Some(r#"{"properties":{"t":"0"}}"#)), ("task-c-1", Some(r#"{"properties":{"t":"1"}}"#))],
    );
    let state = store.refresh(WAIT).unwrap();
    assert!(state.task_configs.is_empty(), "{state:?}");
    assert_eq!(state.offset, 3);
    broker.produce("configs", &[("commit-c", Some(r#"{"tasks":2}"#))]);
    let state = store.refresh(WAIT).unwrap();
    assert_eq!(state.task_configs_of("c"), [config(&[("t", "0")]), config(&[("t", "1")])]);
    assert!(state.inconsistent.is_empty());

    // A commit that misses task 1 (compacted away, or a writer that died) makes the connector inconsistent.
    broker.produce(
        "configs",
        &[("task-c-0", Some(r#"{"properties":{"t":"new"}}"#)), ("commit-c", Some(r#"{"tasks":2}"#))],
    );
    let state = store.refresh(WAIT).unwrap();
    assert!(state.inconsistent.contains("c"));
    assert_eq!(state.task_count("c"), 0);
    assert!(state.task_configs_of("c").is_empty());
    // Writing a full set repairs it.
    store.put_task_configs("c", vec![config(&[("t", "x")])]).unwrap();
    let state = store.snapshot();
    assert!(state.inconsistent.is_empty());
    assert_eq!(state.task_configs_of("c"), [config(&[("t", "x")])]);
    assert!(!state.task_configs.contains_key(&task("c", 1)));
    // A commit for a connector that does not exist is ignored; unknown and bad records are skipped.
    broker.produce(
        "configs",
        &[
            ("commit-gone", Some(r#"{"tasks":0}"#)),
            ("restart-connector-c", Some(r#"{"include-tasks":false,"only-failed":false}"#)),
            ("mystery", Some("{}")),
            ("connector-bad", Some("{not json")),
        ],
    );
    let state = store.refresh(WAIT).unwrap();
    assert!(!state.task_counts.contains_key("gone"));
    assert!(!state.connector_configs.contains_key("bad"));
    assert_eq!(state.connector_configs.len(), 1);
}

#[test]
fn offsets_round_trip_and_match_java_keys() {
    let broker = Broker::start();
    broker.ensure(&[("offsets", 25)]);
    let writer = KafkaOffsetStore::open(&broker.store_config("w1", "offsets")).unwrap();
    let reader = KafkaOffsetStore::open(&broker.store_config("w2", "offsets")).unwrap();
    let file_a = SourceMap::new().with("filename", "/tmp/a");
    let file_b = SourceMap::new().with("filename", "/tmp/b");
    assert_eq!(writer.get("c", &file_a), None);
    writer
        .put(
            "c",
            &[
                (file_a.clone(), SourceMap::new().with("position", 10i64)),
                (file_b.clone(), SourceMap::new().with("position", 3i64)),
            ],
        )
        .unwrap();
    assert_eq!(
        writer.get("c", &file_a),
        Some(SourceMap::new().with("position", 10i64)),
        "visible to the writer at once"
    );
    writer.put("c", &[(file_a.clone(), SourceMap::new().with("position", 30i64))]).unwrap();
    reader.refresh(WAIT).unwrap();
    assert_eq!(reader.get("c", &file_a), Some(SourceMap::new().with("position", 30i64)));
    assert_eq!(reader.get("c", &file_b), Some(SourceMap::new().with("position", 3i64)));
    assert_eq!(reader.get("other", &file_a), None);

    let records = broker.read_all("offsets");
    assert_eq!(
        raw(&records, r#"["c",{"filename":"/tmp/a"}]"#),
        [Some(r#"{"position":10}"#), Some(r#"{"position":30}"#)]
    );

    // A Java worker's key, fields in another order, is found whatever order the task uses.
    broker.produce("offsets", &[(r#"["java",{"table":"t","db":"d"}]"#, Some(r#"{"lsn":12,"ts":1.5}"#))]);
    reader.refresh(WAIT).unwrap();
    let partition = SourceMap::new().with("db", "d").with("table", "t");
    assert_eq!(reader.get("java", &partition), Some(SourceMap::new().with("lsn", 12i64).with("ts", 1.5f64)));
    // A tombstone deletes.
    broker.produce("offsets", &[(r#"["java",{"db":"d","table":"t"}]"#, None)]);
    reader.refresh(WAIT).unwrap();
    assert_eq!(reader.get("java", &partition), None);

    // Offsets that Kafka Connect cannot store are refused before anything is written.
    let nested = SourceMap::new().with("a", connect_api::Value::array([connect_api::Value::Int32(1)]));
    assert!(writer.put("c", &[(file_a.clone(), nested)]).is_err());
    assert_eq!(writer.get("c", &file_a), Some(SourceMap::new().with("position", 30i64)));
}

#[test]
fn status_put_safe_fences_older_generations() {
    let broker = Broker::start();
    broker.ensure(&[("status", 5)]);
    let old = KafkaStatusStore::open(&broker.store_config("w1", "status")).unwrap();
    let new = KafkaStatusStore::open(&broker.store_config("w2", "status")).unwrap();
    let key = StatusKey::Task(task("my-conn", 0));
    let status = |state: State, worker: &str, generation: i32| StoredStatus {
        state,
        trace: None,
        worker_id: worker.to_string(),
        generation,
    };

    // No previous status: written.
    assert_eq!(old.put_safe(&key, &status(State::Running, "w1:8083", 4)), PutOutcome::Sent);
    old.flush(WAIT).unwrap();
    new.refresh(WAIT).unwrap();
    assert_eq!(new.get_task(&task("my-conn", 0)), Some(status(State::Running, "w1:8083", 4)));

    // The task moved to w2 in generation 5; w1's late UNASSIGNED from generation 4 is skipped.
    assert_eq!(new.put_safe(&key, &status(State::Running, "w2:8083", 5)), PutOutcome::Sent);
    new.flush(WAIT).unwrap();
    old.refresh(WAIT).unwrap();
    assert_eq!(old.put_safe(&key, &status(State::Unassigned, "w1:8083", 4)), PutOutcome::Skipped);
    // The same worker always writes.
    let failed = StoredStatus { trace: Some("java.lang.Boom\n\tat X".into()), ..status(State::Failed, "w2:8083", 5) };
    assert_eq!(new.put_safe(&key, &failed), PutOutcome::Sent);
    new.flush(WAIT).unwrap();
    old.refresh(WAIT).unwrap();
    assert_eq!(old.get_task(&task("my-conn", 0)), Some(failed.clone()));
    // A newer generation overwrites another worker's status.
    assert_eq!(old.put_safe(&key, &status(State::Running, "w1:8083", 6)), PutOutcome::Sent);
    old.flush(WAIT).unwrap();
    new.refresh(WAIT).unwrap();
    assert_eq!(new.get_task(&task("my-conn", 0)).map(|s| s.worker_id), Some("w1:8083".to_string()));

    // The status board's sink is put_safe with the board's generation.
    let sink: &dyn StatusSink = &new;
    let connector = StatusKey::Connector("my-conn".into());
    sink.put(&connector, &Status { state: State::Running, trace: None, worker_id: "w2:8083".into() }, 6);
    new.flush(WAIT).unwrap();
    old.refresh(WAIT).unwrap();
    assert_eq!(old.get_connector("my-conn"), Some(status(State::Running, "w2:8083", 6)));
    assert_eq!(old.connectors(), ["my-conn"]);

    let records = broker.read_all("status");
    assert_eq!(
        raw(&records, "status-task-my-conn-0"),
        [
            Some(r#"{"state":"RUNNING","trace":null,"worker_id":"w1:8083","generation":4}"#),
            Some(r#"{"state":"RUNNING","trace":null,"worker_id":"w2:8083","generation":5}"#),
            Some(r#"{"state":"FAILED","trace":"java.lang.Boom\n\tat X","worker_id":"w2:8083","generation":5}"#),
            Some(r#"{"state":"RUNNING","trace":null,"worker_id":"w1:8083","generation":6}"#),
        ]
    );

    // DESTROYED is a tombstone.
    new.put(&key, &status(State::Destroyed, "w2:8083", 7)).unwrap();
    old.refresh(WAIT).unwrap();
    assert_eq!(old.get_task(&task("my-conn", 0)), None);
    let records = broker.read_all("status");
    assert_eq!(raw(&records, "status-task-my-conn-0").last(), Some(&None));

    // A worker starting now sees the same statuses.
    let late = KafkaStatusStore::open(&broker.store_config("w3", "status")).unwrap();
    assert_eq!(late.get_connector("my-conn"), old.get_connector("my-conn"));
    assert_eq!(late.get_task(&task("my-conn", 0)), None);
}

#[test]
fn refresh_sees_what_another_worker_just_wrote() {
    let broker = Broker::start();
    broker.ensure(&[("configs", 1), ("status", 5)]);
    let a = KafkaConfigStore::open(&broker.store_config("w1", "configs")).unwrap();
    let b = KafkaConfigStore::open(&broker.store_config("w2", "configs")).unwrap();
    let sa = KafkaStatusStore::open(&broker.store_config("w1", "status")).unwrap();
    let sb = KafkaStatusStore::open(&broker.store_config("w2", "status")).unwrap();
    for round in 0..20u32 {
        let name = format!("c{round}");
        a.put_connector_config(&name, config(&[("round", &round.to_string())]), None).unwrap();
        assert_eq!(b.refresh(WAIT).unwrap().connector_configs[&name]["round"], round.to_string(), "round {round}");
        let key = StatusKey::Task(task(&name, round));
        let status = StoredStatus { state: State::Running, trace: None, worker_id: "w1".into(), generation: 1 };
        sa.put(&key, &status).unwrap();
        sb.refresh(WAIT).unwrap();
        assert_eq!(sb.get_task(&task(&name, round)), Some(status), "round {round}");
    }
}
