//! Transformations, predicates and error handling end to end, on a standalone worker over REST: a file sink with a
//! chain of Kafka's transformations guarded by a plain and a negated predicate, poison records tolerated into a
//! dead letter queue with the context headers, the same poison failing the task with `errors.tolerance=none`, and
//! Kafka Connect's validation answers for bad transform settings and refused client overrides; a transformation
//! loaded from a plugin `.so` that fails transiently, retried until it passes (or failing the task without
//! retries); topic creation by source connectors with `topic.creation.*` groups (KIP-158).

use std::path::Path;
use std::time::Duration;

use connect_tests::*;
use serde_json::{json, Value};

const SETTLE: Duration = Duration::from_secs(60);

struct Worker {
    _connect: ConnectProcess,
    rest: Rest,
}

fn start_worker(dir: &Path, broker: &Broker, extra: &[(&str, &str)]) -> Worker {
    let plugins = plugin_dir(dir, &["connect_file", "test_plugin_generator"]);
    let port = broker::free_port();
    let listeners = format!("http://127.0.0.1:{port}");
    let mut settings = vec![("listeners", listeners.as_str()), ("value.converter.schemas.enable", "false")];
    settings.extend_from_slice(extra);
    let worker = worker_properties(dir, broker, &plugins, &settings);
    let connect = ConnectProcess::standalone(&worker, &[], &dir.join("connect.log"));
    let rest = Rest::new(port);
    wait_for("GET /health 200", SETTLE, || matches!(rest.try_get("/health"), Ok((200, _))).then_some(()));
    Worker { _connect: connect, rest }
}

fn sink_config(output: &Path, extra: &[(&str, &str)]) -> Value {
    let mut config = json!({
        "connector.class": "FileStreamSink",
        "topics": "orders,audit,misc",
        "file": output.to_str().unwrap(),
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "transforms": "drop,tag",
        "transforms.drop.type": "org.apache.kafka.connect.transforms.Filter",
        "transforms.drop.predicate": "isAudit",
        "transforms.tag.type": "org.apache.kafka.connect.transforms.InsertField$Value",
        "transforms.tag.static.field": "tag",
        "transforms.tag.static.value": "x",
        "transforms.tag.predicate": "isOrders",
        "transforms.tag.negate": "true",
        "predicates": "isAudit,isOrders",
        "predicates.isAudit.type": "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
        "predicates.isAudit.pattern": "audit",
        "predicates.isOrders.type": "TopicNameMatches",
        "predicates.isOrders.pattern": "ord.*",
    });
    for (key, value) in extra {
        config[*key] = json!(value);
    }
    config
}

fn produce_inputs(broker: &Broker) {
    for topic in ["orders", "audit", "misc"] {
        broker.create_topic(topic, 1);
    }
    broker.produce("orders", &[(None, br#"{"id":1}"#), (None, b"not json"), (None, br#"{"id":2}"#)]);
    broker.produce("audit", &[(None, br#"{"id":10}"#)]);
    broker.produce("misc", &[(None, br#"{"id":3}"#)]);
}

#[test]
fn a_transform_chain_with_predicates_and_a_dead_letter_queue() {
    let broker = Broker::start();
    produce_inputs(&broker);
    let dir = test_dir();
    let worker = start_worker(dir.path(), &broker, &[]);
    let output = dir.path().join("out.txt");
    let config = sink_config(
        &output,
        &[
            ("errors.tolerance", "all"),
            ("errors.log.enable", "true"),
            ("errors.deadletterqueue.topic.name", "dlq"),
            ("errors.deadletterqueue.topic.replication.factor", "1"),
            ("errors.deadletterqueue.context.headers.enable", "true"),
        ],
    );
    let (code, body) = worker.rest.post("/connectors", &json!({"name": "sink", "config": config}));
    assert_eq!(code, 201, "{body}");

    // orders records are not tagged (negated predicate), audit records are filtered, misc records are tagged.
    let mut lines = wait_for("3 lines in the sink file", SETTLE, || {
        let lines = read_lines(&output);
        (lines.len() >= 3).then_some(lines)
    });
    lines.sort();
    assert_eq!(lines, ["{id=1}", "{id=2}", "{id=3, tag=x}"]);

    let dead = broker.consume("dlq", 1, SETTLE);
    assert_eq!(dead.len(), 1, "one dead letter");
    assert_eq!(dead[0].value_str(), "not json", "the record as it was consumed");
    let header = |name: &str| {
        dead[0]
            .headers
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_deref())
            .map(|v| String::from_utf8_lossy(v).to_string())
            .unwrap_or_else(|| panic!("header {name} in {:?}", dead[0].headers))
    };
    assert_eq!(header("__connect.errors.topic"), "orders");
    assert_eq!(header("__connect.errors.partition"), "0");
    assert_eq!(header("__connect.errors.offset"), "1");
    assert_eq!(header("__connect.errors.connector.name"), "sink");
    assert_eq!(header("__connect.errors.task.id"), "0");
    assert_eq!(header("__connect.errors.stage"), "VALUE_CONVERTER");
    assert_eq!(header("__connect.errors.class.name"), "org.apache.kafka.connect.json.JsonConverter");
    assert_eq!(header("__connect.errors.exception.class.name"), "org.apache.kafka.connect.errors.DataException");
    assert!(!header("__connect.errors.exception.message").is_empty());
    let status = worker.rest.status("sink").expect("status");
    assert_eq!(status["tasks"][0]["state"], "RUNNING", "{status}");

    // Kafka Connect's task-error-metrics count the poison record.
    let (code, metrics) = worker.rest.get_text("/metrics");
    assert_eq!(code, 200);
    for series in [
        "kafka_connect_task_error_total_records_skipped",
        "kafka_connect_task_error_total_record_errors",
        "kafka_connect_task_error_total_errors_logged",
        "kafka_connect_task_error_deadletterqueue_produce_requests",
    ] {
        let line = metrics
            .lines()
            .find(|l| l.starts_with(series) && l.contains("connector=\"sink\""))
            .unwrap_or_else(|| panic!("{series} in {metrics}"));
        assert!(line.ends_with(" 1"), "{line}");
    }

    // The transformations and predicates are listed, with their keys.
    let (code, plugins) = worker.rest.get("/connector-plugins?connectorsOnly=false");
    assert_eq!(code, 200);
    let listed =
        |class: &str, kind: &str| plugins.as_array().unwrap().iter().any(|p| p["class"] == class && p["type"] == kind);
    assert!(listed("org.apache.kafka.connect.transforms.Cast$Value", "transformation"), "{plugins}");
    assert!(listed("org.apache.kafka.connect.transforms.predicates.HasHeaderKey", "predicate"), "{plugins}");
    let (code, keys) = worker.rest.get("/connector-plugins/org.apache.kafka.connect.transforms.RegexRouter/config");
    assert_eq!(code, 200, "{keys}");
    assert!(keys.as_array().unwrap().iter().any(|k| k["name"] == "regex"), "{keys}");
}

#[test]
fn without_tolerance_a_poison_record_fails_the_task_with_the_trace() {
    let broker = Broker::start();
    produce_inputs(&broker);
    let dir = test_dir();
    let worker = start_worker(dir.path(), &broker, &[]);
    let output = dir.path().join("out.txt");
    let (code, body) = worker.rest.post("/connectors", &json!({"name": "strict", "config": sink_config(&output, &[])}));
    assert_eq!(code, 201, "{body}");
    let status = wait_for("the task FAILED", SETTLE, || {
        let status = worker.rest.status("strict")?;
        (status["tasks"][0]["state"] == "FAILED").then_some(status)
    });
    let trace = status["tasks"][0]["trace"].as_str().unwrap_or("");
    assert!(trace.contains("Tolerance exceeded in error handler"), "{trace}");
    assert!(trace.contains("VALUE_CONVERTER") && trace.contains("DataException"), "{trace}");
    // Nothing after the poison record was delivered.
    assert!(!read_lines(&output).iter().any(|l| l == "{id=2}"));
}

#[test]
fn bad_transform_settings_and_refused_overrides_are_reported_by_validation() {
    let broker = Broker::start();
    let dir = test_dir();
    let worker = start_worker(
        dir.path(),
        &broker,
        &[(
            "connector.client.config.override.policy",
            "org.apache.kafka.connect.connector.policy.PrincipalConnectorClientConfigOverridePolicy",
        )],
    );
    let output = dir.path().join("out.txt");
    let mut config = sink_config(
        &output,
        &[
            ("transforms.drop.type", "com.example.Missing"),
            ("predicates.isAudit.pattern", "(unclosed"),
            ("consumer.override.fetch.min.bytes", "10"),
            ("consumer.override.security.protocol", "PLAINTEXT"),
        ],
    );
    config["name"] = json!("bad");
    let (code, report) = worker.rest.put("/connector-plugins/FileStreamSink/config/validate", &config);
    assert_eq!(code, 200, "{report}");
    let errors_of = |name: &str| -> Vec<String> {
        report["configs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["value"]["name"] == name)
            .flat_map(|c| c["value"]["errors"].as_array().cloned().unwrap_or_default())
            .map(|e| e.as_str().unwrap_or("").to_string())
            .collect()
    };
    let missing = errors_of("transforms.drop.type");
    assert!(missing.iter().any(|e| e.contains("Class com.example.Missing could not be found")), "{missing:?}");
    let regex = errors_of("predicates.isAudit.type");
    assert!(regex.iter().any(|e| e.contains("pattern")), "{regex:?} in {report}");
    assert_eq!(
        errors_of("consumer.override.fetch.min.bytes"),
        ["The 'Principal' policy does not allow 'fetch.min.bytes' to be overridden"]
    );
    assert!(errors_of("consumer.override.security.protocol").is_empty());
    assert_eq!(report["error_count"], 3, "{report}");

    // Creating it is refused with the same errors.
    let (code, body) = worker.rest.post("/connectors", &json!({"name": "bad", "config": config}));
    assert_eq!(code, 400, "{body}");
    assert!(body["message"].as_str().unwrap_or("").contains("com.example.Missing"), "{body}");
}

#[test]
fn transient_failures_of_a_plugin_transformation_are_retried() {
    let broker = Broker::start();
    broker.create_topic("flaky", 1);
    broker.create_topic("strict", 1);
    let dir = test_dir();
    let worker = start_worker(dir.path(), &broker, &[]);
    let source = |topic: &str, extra: &[(&str, &str)]| {
        let mut config = json!({
            "connector.class": "GeneratorSource",
            "topic": topic,
            "records": "20",
            "value.size": "4",
            "batch.size": "5",
            "transforms": "flaky",
            "transforms.flaky.type": "com.connectrs.test.FlakyTransform",
            "transforms.flaky.failures": "3",
            "transforms.flaky.prefix": "ok-",
        });
        for (key, value) in extra {
            config[*key] = json!(value);
        }
        config
    };
    let retried = source("flaky", &[("errors.retry.timeout", "30000"), ("errors.retry.delay.max.ms", "50")]);
    let (code, body) = worker.rest.post("/connectors", &json!({"name": "retried", "config": retried}));
    assert_eq!(code, 201, "{body}");
    let (code, body) = worker.rest.post("/connectors", &json!({"name": "strict", "config": source("strict", &[])}));
    assert_eq!(code, 201, "{body}");

    let records = broker.consume("flaky", 20, SETTLE);
    assert_eq!(records.len(), 20, "every record once the transformation passes");
    assert!(records.iter().all(|r| r.value_str() == "\"ok-xxxx\""), "{:?}", records[0].value_str());
    assert!(broker.consume("flaky", 21, Duration::from_secs(2)).len() == 20, "no record twice");

    let status = wait_for("the strict task FAILED", SETTLE, || {
        let status = worker.rest.status("strict")?;
        (status["tasks"][0]["state"] == "FAILED").then_some(status)
    });
    let trace = status["tasks"][0]["trace"].as_str().unwrap_or("");
    assert!(trace.contains("Tolerance exceeded in error handler"), "{trace}");
    assert!(trace.contains("RetriableException: flaky"), "{trace}");
    assert!(broker.consume("strict", 1, Duration::from_secs(2)).is_empty(), "nothing written without retries");
}

#[test]
fn source_connectors_create_their_topics_with_the_matching_group() {
    let broker = Broker::start();
    let dir = test_dir();
    let worker = start_worker(dir.path(), &broker, &[]);
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "a\nb\nc\n").unwrap();
    let source = |topic: &str| {
        json!({
            "connector.class": "FileStreamSource",
            "file": input.to_str().unwrap(),
            "topic": topic,
            "topic.creation.default.replication.factor": "1",
            "topic.creation.default.partitions": "3",
            "topic.creation.groups": "small",
            "topic.creation.small.include": "small.*",
            "topic.creation.small.partitions": "2",
            "topic.creation.small.cleanup.policy": "compact",
        })
    };
    for (name, topic) in [("wide", "created-by-connect"), ("narrow", "small-by-connect")] {
        let (code, body) = worker.rest.post("/connectors", &json!({"name": name, "config": source(topic)}));
        assert_eq!(code, 201, "{body}");
    }
    // The reader only sees partitions that exist when it starts: wait for the connectors to create them.
    for topic in ["created-by-connect", "small-by-connect"] {
        wait_for(&format!("{topic} created"), SETTLE, || (broker.partitions(topic) > 0).then_some(()));
        assert_eq!(broker.consume(topic, 3, SETTLE).len(), 3, "{topic}");
    }
    assert_eq!(broker.partitions("created-by-connect"), 3, "the default group's partitions");
    assert_eq!(broker.partitions("small-by-connect"), 2, "the small group's partitions");

    // A bad group setting is refused at validation, naming the key.
    let mut bad = source("x");
    bad["topic.creation.small.partitions"] = json!("0");
    bad["name"] = json!("bad");
    let (code, report) = worker.rest.put("/connector-plugins/FileStreamSource/config/validate", &bad);
    assert_eq!(code, 200, "{report}");
    assert_eq!(report["error_count"], 1, "{report}");
    let text = report.to_string();
    assert!(
        text.contains("topic.creation.small.partitions") && text.contains("Number of partitions must be positive"),
        "{report}"
    );
}
