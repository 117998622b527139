//! The REST control plane end to end: a real 2-worker cluster on a real broker, driven the way Kafka Connect's
//! clients drive it; every endpoint's happy path and its error answers.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use connect_tests::*;
use serde_json::{json, Value};

const JOIN: Duration = Duration::from_secs(90);
const SETTLE: Duration = Duration::from_secs(120);

fn write_lines(path: &Path, from: usize, to: usize) {
    let lines: Vec<String> = (from..to).map(|i| format!("line {i:05}")).collect();
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    file.write_all((lines.join("\n") + "\n").as_bytes()).unwrap();
}

fn assert_error(answer: &(u16, Value), code: u16, needle: &str) {
    assert_eq!(answer.0, code, "{answer:?}");
    assert_eq!(answer.1["error_code"], code, "Kafka Connect's error body: {answer:?}");
    let message = answer.1["message"].as_str().unwrap_or("");
    assert!(message.contains(needle), "message {message:?} should contain {needle:?}");
}

/// The Prometheus scrape of a worker's `/metrics`.
fn scrape(rest: &Rest) -> prometheus_parse::Scrape {
    let (code, text) = rest.get_text("/metrics");
    assert_eq!(code, 200, "{text}");
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("Prometheus text format")
}

/// The value of the first sample of `name` with `labels`.
fn sample(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let found =
        scrape.samples.iter().find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))?;
    match found.value {
        prometheus_parse::Value::Counter(v)
        | prometheus_parse::Value::Gauge(v)
        | prometheus_parse::Value::Untyped(v) => Some(v),
        _ => None,
    }
}

fn state_of(rest: &Rest, name: &str) -> Option<String> {
    rest.status(name).and_then(|s| s["connector"]["state"].as_str().map(str::to_string))
}

/// Retries a request while the group rebalances (409), as clients do.
fn until_not_conflict(what: &str, mut request: impl FnMut() -> (u16, Value)) -> (u16, Value) {
    wait_for(what, Duration::from_secs(60), || {
        let answer = request();
        if answer.0 == 409 {
            std::thread::sleep(Duration::from_millis(500));
            None
        } else {
            Some(answer)
        }
    })
}

#[test]
fn every_endpoint_answers_like_kafka_connect() {
    let broker = Broker::start();
    broker.create_topic("lines", 1);
    let dir = test_dir();
    let plugins = plugin_dir(dir.path(), &["connect_file", "test_plugin_generator"]);
    let secrets = dir.path().join("secrets.properties");
    let input = dir.path().join("in.txt");
    let output = dir.path().join("out.txt");
    std::fs::write(&secrets, format!("input={}\n", input.display())).unwrap();
    let providers = [("config.providers", "file"), ("config.providers.file.class", "FileConfigProvider")];
    let workers = start_cluster(2, JOIN, dir.path(), &broker, &plugins, "rest", &providers);
    let follower = workers.iter().position(|w| !w.is_leader()).expect("a follower");
    let rest = workers[follower].rest.clone();
    let other = workers[1 - follower].rest.clone();

    // The worker itself.
    let (code, root) = rest.get("/");
    assert_eq!(code, 200);
    assert!(root["version"].is_string() && root["commit"].is_string(), "{root}");
    assert!(!root["kafka_cluster_id"].as_str().unwrap_or("").is_empty(), "{root}");
    let (code, health) = rest.get("/health");
    assert_eq!((code, health["status"].as_str()), (200, Some("healthy")), "{health}");
    let (code, doc) = rest.get("/openapi.json");
    assert_eq!(code, 200);
    assert!(doc["paths"]["/connectors/{name}/offsets"]["patch"].is_object(), "OpenAPI document: {doc}");
    assert_error(&rest.get("/no/such/route"), 404, "Not Found");

    // Plugins.
    let (code, plugins_list) = rest.get("/connector-plugins");
    assert_eq!(code, 200);
    let classes: Vec<&str> = plugins_list.as_array().unwrap().iter().filter_map(|p| p["class"].as_str()).collect();
    assert!(classes.contains(&"org.apache.kafka.connect.file.FileStreamSourceConnector"), "{plugins_list}");
    assert!(plugins_list.as_array().unwrap().iter().all(|p| p["type"] == "source" || p["type"] == "sink"));
    let (_, all) = rest.get("/connector-plugins?connectorsOnly=false");
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .any(|p| p["class"] == "org.apache.kafka.connect.json.JsonConverter" && p["type"] == "converter"),
        "{all}"
    );
    let (code, keys) = rest.get("/connector-plugins/FileStreamSource/config");
    assert_eq!(code, 200);
    let names: Vec<&str> = keys.as_array().unwrap().iter().filter_map(|k| k["name"].as_str()).collect();
    for key in ["file", "topic", "tasks.max", "connector.class"] {
        assert!(names.contains(&key), "{key} missing from {names:?}");
    }
    assert_error(&rest.get("/connector-plugins/NoSuchPlugin/config"), 404, "Unknown plugin NoSuchPlugin");

    // Validation.
    let bad = json!({"connector.class": "FileStreamSource", "file": "/tmp/x", "tasks.max": "zero"});
    let (code, report) = rest.put("/connector-plugins/FileStreamSourceConnector/config/validate", &bad);
    assert_eq!(code, 200, "{report}");
    assert!(report["error_count"].as_u64().unwrap() >= 2, "missing topic and bad tasks.max: {report}");
    assert_eq!(report["name"], "org.apache.kafka.connect.file.FileStreamSourceConnector");
    assert_error(&rest.put("/connector-plugins/FileStreamSink/config/validate", &bad), 400, "does not match");
    assert_error(&rest.put("/connector-plugins/X/config/validate", &json!({"a": "b"})), 400, "no connector type");
    assert_error(&rest.raw("PUT", "/connector-plugins/X/config/validate", "{nope"), 400, "Invalid JSON");

    // Create: invalid configs, bad bodies, conflicts.
    let (code, invalid) = rest.post("/connectors", &json!({"name": "bad", "config": bad}));
    assert_eq!(code, 400, "{invalid}");
    assert!(invalid["message"].as_str().unwrap().contains("Connector configuration is invalid"), "{invalid}");
    assert_error(&rest.raw("POST", "/connectors", "{\"name\":"), 400, "Invalid JSON");
    assert_error(&rest.post("/connectors", &json!({"config": {}})), 400, "name");
    write_lines(&input, 0, 100);
    // The file name comes from the config provider; the stored config keeps the placeholder.
    let placeholder = format!("${{file:{}:input}}", secrets.display());
    let source = json!({"connector.class": "FileStreamSource", "file": placeholder, "topic": "lines"});
    rest.create_connector("src", source.clone());
    assert_error(&rest.post("/connectors", &json!({"name": "src", "config": source})), 409, "already exists");
    let sink = json!({"connector.class": "FileStreamSink", "file": output.to_str().unwrap(), "topics": "lines"});
    let (code, created) = until_not_conflict("sink created", || rest.put("/connectors/snk/config", &sink));
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["type"], "sink");
    wait_for("100 lines through source and sink", SETTLE, || (read_lines(&output).len() >= 100).then_some(()));

    // Reads, on both workers.
    wait_for("src and snk known to the follower", SETTLE, || {
        (rest.get("/connectors/src").0 == 200 && rest.get("/connectors/snk").0 == 200).then_some(())
    });
    for r in [&rest, &other] {
        let (code, info) = r.get("/connectors/src");
        assert_eq!(code, 200, "{info}");
        assert_eq!((info["name"].as_str(), info["type"].as_str()), (Some("src"), Some("source")));
        assert_eq!(info["tasks"], json!([{"connector": "src", "task": 0}]));
        let (_, config) = r.get("/connectors/src/config");
        assert_eq!(config["file"], placeholder, "stored configs keep their placeholders");
        let (_, tasks) = r.get("/connectors/src/tasks");
        assert_eq!(tasks[0]["id"], json!({"connector": "src", "task": 0}), "{tasks}");
        let (code, task) = r.get("/connectors/src/tasks/0/status");
        assert_eq!((code, task["id"].as_u64()), (200, Some(0)), "{task}");
        let (_, expanded) = r.get("/connectors?expand=status&expand=info");
        assert_eq!(expanded["snk"]["info"]["type"], "sink", "{expanded}");
        assert_eq!(expanded["src"]["status"]["connector"]["state"], "RUNNING", "{expanded}");
    }
    assert_error(&rest.get("/connectors/nope"), 404, "Connector nope not found");
    assert_error(&rest.get("/connectors/nope/status"), 404, "No status found for connector nope");
    assert_error(&rest.get("/connectors/src/tasks/7/status"), 404, "src-7");
    assert_error(&rest.get("/connectors/src/tasks/x/status"), 404, "src-x");

    // Internal task-config writes must be signed with the session key in a sessioned group (KIP-507).
    let tasks = json!([{"file": "/tmp/forged", "topic": "lines"}]);
    assert_error(&other.post("/connectors/src/tasks", &tasks), 400, "missing required signature");
    let (code, forged) = other.send_with_headers(
        "POST",
        "/connectors/src/tasks",
        &tasks.to_string(),
        &[("X-Connect-Authorization", "AAAA"), ("X-Connect-Request-Signature-Algorithm", "HmacSHA256")],
    );
    assert_eq!((code, forged["error_code"].as_u64()), (403, Some(403)), "{forged}");
    let (code, forged) = other.send_with_headers(
        "POST",
        "/connectors/src/tasks",
        &tasks.to_string(),
        &[("X-Connect-Authorization", "AAAA"), ("X-Connect-Request-Signature-Algorithm", "HmacMD5")],
    );
    assert_eq!(code, 400, "{forged}");

    // Password masking: a plain value is hidden, a placeholder is shown.
    let generator = json!({"connector.class": "GeneratorSource", "topic": "gen", "records": "0", "secret": "hunter2"});
    rest.create_connector("gen", generator);
    // A follower learns of a config written by the leader when it reads the config topic.
    let config = wait_for("gen known to the follower", SETTLE, || {
        let (code, config) = rest.get("/connectors/gen/config");
        (code == 200).then_some(config)
    });
    assert_eq!(config["secret"], "[hidden]", "{config}");
    let (code, patched) =
        until_not_conflict("gen patched", || rest.patch("/connectors/gen/config", &json!({"secret": placeholder})));
    assert_eq!(code, 200, "{patched}");
    assert_eq!(patched["config"]["secret"], placeholder);
    let (code, patched) = until_not_conflict("gen patched", || {
        rest.patch("/connectors/gen/config", &json!({"secret": null, "value.size": 5}))
    });
    assert_eq!(code, 200, "{patched}");
    assert!(patched["config"].get("secret").is_none(), "null removes the key: {patched}");
    assert_eq!(patched["config"]["value.size"], "5");
    assert_error(
        &until_not_conflict("nope patched", || rest.patch("/connectors/nope/config", &json!({"a": "b"}))),
        404,
        "nope",
    );
    assert_error(&rest.patch("/connectors/gen/config", &json!({"name": "other"})), 400, "doesn't match");
    assert_eq!(until_not_conflict("gen deleted", || rest.delete("/connectors/gen")).0, 204);
    wait_for("gen gone on the follower", SETTLE, || (rest.get("/connectors/gen").0 == 404).then_some(()));
    assert_error(&rest.get("/connectors/gen"), 404, "not found");
    // The delete rebalances the group: until that is over the answer may be the rebalance's 409.
    assert_error(&until_not_conflict("gen deleted again", || rest.delete("/connectors/gen")), 404, "not found");

    // Active topics (KIP-558).
    let (code, topics) = rest.get("/connectors/src/topics");
    assert_eq!((code, &topics), (200, &json!({"src": {"topics": ["lines"]}})));
    let (_, topics) = other.get("/connectors/snk/topics");
    assert_eq!(topics, json!({"snk": {"topics": ["lines"]}}));
    assert_eq!(rest.put("/connectors/src/topics/reset", &Value::Null).0, 202);
    let (_, topics) = other.get("/connectors/src/topics");
    assert_eq!(topics, json!({"src": {"topics": []}}));
    assert_error(&rest.get("/connectors/nope/topics"), 404, "nope");

    // Pause, resume, restarts.
    assert_eq!(rest.put("/connectors/src/pause", &Value::Null).0, 202);
    wait_for("src paused", SETTLE, || (state_of(&rest, "src").as_deref() == Some("PAUSED")).then_some(()));
    assert_eq!(rest.put("/connectors/src/resume", &Value::Null).0, 202);
    wait_for("src resumed", SETTLE, || (state_of(&rest, "src").as_deref() == Some("RUNNING")).then_some(()));
    let (code, plan) = until_not_conflict("restart with tasks", || {
        rest.post("/connectors/src/restart?includeTasks=true", &Value::Null)
    });
    assert_eq!(code, 202, "{plan}");
    assert_eq!(plan["connector"]["state"], "RESTARTING", "{plan}");
    assert_eq!(plan["tasks"][0]["state"], "RESTARTING", "{plan}");
    let (code, plan) = until_not_conflict("restart failed only", || {
        rest.post("/connectors/src/restart?includeTasks=true&onlyFailed=true", &Value::Null)
    });
    assert_eq!(code, 202, "{plan}");
    assert_eq!(plan["connector"]["state"], "RUNNING", "only failed instances restart: {plan}");
    assert_eq!(until_not_conflict("restart", || rest.post("/connectors/src/restart", &Value::Null)).0, 204);
    assert_eq!(
        until_not_conflict("task restart", || rest.post("/connectors/src/tasks/0/restart", &Value::Null)).0,
        204
    );
    assert_error(&rest.post("/connectors/nope/restart", &Value::Null), 404, "nope");
    assert_error(&rest.post("/connectors/nope/restart?includeTasks=true", &Value::Null), 404, "nope");
    assert_error(&rest.post("/connectors/src/tasks/9/restart", &Value::Null), 404, "src-9");
    for action in ["pause", "resume", "stop"] {
        assert_error(&rest.put(&format!("/connectors/nope/{action}"), &Value::Null), 404, "nope");
    }
    assert_error(&rest.get("/connectors/nope/offsets"), 404, "nope");
    assert_error(&rest.delete("/connectors/nope/offsets"), 404, "nope");
    assert_error(&rest.put("/connectors/nope/topics/reset", &Value::Null), 404, "nope");
    assert_error(&rest.raw("PATCH", "/connectors/src/offsets", "[1,2"), 400, "Invalid JSON");
    assert_error(&rest.raw("PUT", "/connectors/src/config", "null"), 400, "Invalid JSON");
    wait_for("src running after restarts", SETTLE, || rest.status("src").filter(|s| all_running(s, 1)).map(|_| ()));

    // Offsets (KIP-875): source offsets from the offsets topic, sink offsets from the consumer group.
    let (code, offsets) = rest.get("/connectors/src/offsets");
    assert_eq!(code, 200, "{offsets}");
    let entry = &offsets["offsets"][0];
    assert_eq!(entry["partition"]["filename"], input.to_str().unwrap(), "{offsets}");
    assert!(entry["offset"]["position"].as_i64().unwrap() > 0, "{offsets}");
    let (code, sink_offsets) = other.get("/connectors/snk/offsets");
    assert_eq!(code, 200);
    assert_eq!(sink_offsets["offsets"][0]["partition"], json!({"kafka_topic": "lines", "kafka_partition": 0}));
    let rewind = json!({"offsets": [{"partition": entry["partition"], "offset": {"position": 0}}]});
    assert_error(&rest.patch("/connectors/src/offsets", &rewind), 400, "STOPPED");
    assert_error(&rest.patch("/connectors/src/offsets", &json!({"offsets": []})), 400, "must not be null or empty");
    assert_eq!(until_not_conflict("src stopped", || rest.put("/connectors/src/stop", &Value::Null)).0, 204);
    wait_for("src stopped", SETTLE, || (state_of(&rest, "src").as_deref() == Some("STOPPED")).then_some(()));
    let (code, answer) = until_not_conflict("offsets altered", || rest.patch("/connectors/src/offsets", &rewind));
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["message"], "The offsets for this connector have been altered successfully");
    let (_, offsets) = other.get("/connectors/src/offsets");
    assert_eq!(offsets["offsets"][0]["offset"], json!({"position": 0}), "{offsets}");
    assert_eq!(until_not_conflict("src resumed", || rest.put("/connectors/src/resume", &Value::Null)).0, 202);
    wait_for("the file read again from the start", SETTLE, || (read_lines(&output).len() >= 200).then_some(()));
    assert_eq!(until_not_conflict("src stopped", || rest.put("/connectors/src/stop", &Value::Null)).0, 204);
    // The task's last offset commit happens while it stops: reset once it has stopped, or that commit could land
    // after the reset.
    wait_for("src stopped without tasks", SETTLE, || {
        let status = rest.status("src")?;
        let stopped = status["connector"]["state"] == "STOPPED" && status["tasks"].as_array()?.is_empty();
        stopped.then_some(())
    });
    let (code, answer) = until_not_conflict("offsets reset", || rest.delete("/connectors/src/offsets"));
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["message"], "The offsets for this connector have been reset successfully");
    let (_, offsets) = rest.get("/connectors/src/offsets");
    assert_eq!(offsets, json!({"offsets": []}));

    // Sink offsets: the committed offsets of consumer group connect-snk.
    let consumed = read_lines(&output).len();
    assert_eq!(until_not_conflict("snk stopped", || rest.put("/connectors/snk/stop", &Value::Null)).0, 204);
    wait_for("snk stopped", SETTLE, || (state_of(&rest, "snk").as_deref() == Some("STOPPED")).then_some(()));
    let partition = json!({"kafka_topic": "lines", "kafka_partition": 0});
    let rewind = json!({"offsets": [{"partition": partition, "offset": {"kafka_offset": 150}}]});
    let (code, answer) = until_not_conflict("sink offsets altered", || rest.patch("/connectors/snk/offsets", &rewind));
    assert_eq!(code, 200, "{answer}");
    let (_, offsets) = other.get("/connectors/snk/offsets");
    assert_eq!(offsets["offsets"], json!([{"partition": partition, "offset": {"kafka_offset": 150}}]));
    let single = json!({"offsets": [{"partition": partition, "offset": null}]});
    assert_error(&rest.patch("/connectors/snk/offsets", &single), 400, "not supported");
    let bad = json!({"offsets": [{"partition": {"kafka_topic": "lines"}, "offset": {"kafka_offset": 1}}]});
    assert_error(&rest.patch("/connectors/snk/offsets", &bad), 400, "kafka_partition");
    let (code, answer) = until_not_conflict("sink offsets reset", || rest.delete("/connectors/snk/offsets"));
    assert_eq!(code, 200, "{answer}");
    let (_, offsets) = other.get("/connectors/snk/offsets");
    assert_eq!(offsets, json!({"offsets": []}), "no committed offsets after a reset");
    assert_eq!(until_not_conflict("snk resumed", || rest.put("/connectors/snk/resume", &Value::Null)).0, 202);
    wait_for("the topic consumed again from the start", SETTLE, || {
        (read_lines(&output).len() >= 2 * consumed).then_some(())
    });

    // Metrics, parsed as Prometheus parses them.
    let (code, _) = other.get_text("/metrics");
    assert_eq!(code, 200);
    let tasks: f64 = [&rest, &other]
        .iter()
        .map(|r| sample(&scrape(r), "kafka_connect_worker_task_count", &[]).expect("task count"))
        .sum();
    assert_eq!(tasks, 1.0, "the stopped source has no task; the sink has one");
    for r in [&rest, &other] {
        let rebalances = sample(&scrape(r), "kafka_connect_worker_rebalance_completed_rebalances_total", &[]);
        assert!(rebalances.unwrap_or(0.0) >= 1.0, "every worker completed a rebalance");
    }
    let snk_worker = rest.status("snk").unwrap()["tasks"][0]["worker_id"].as_str().unwrap().to_string();
    let owner = if workers[1 - follower].id() == snk_worker { &other } else { &rest };
    let owned = scrape(owner);
    let task = [("connector", "snk"), ("task", "0")];
    let read = sample(&owned, "kafka_connect_sink_task_sink_record_read_total", &task);
    assert!(read.unwrap_or(0.0) >= 200.0, "the sink task read every line: {read:?}");
    let running = [("connector", "snk"), ("task", "0"), ("status", "running")];
    assert_eq!(sample(&owned, "kafka_connect_connector_task_status", &running), Some(1.0));

    // Log levels, on one worker and cluster-wide.
    let (code, loggers) = rest.get("/admin/loggers");
    assert_eq!(code, 200);
    assert!(loggers["root"]["level"].is_string(), "{loggers}");
    let (code, affected) = rest.put("/admin/loggers/connect_runtime::worker", &json!({"level": "DEBUG"}));
    assert_eq!((code, &affected), (200, &json!(["connect_runtime::worker"])));
    let (_, level) = rest.get("/admin/loggers/connect_runtime::worker::sink");
    assert_eq!(level["level"], "DEBUG", "children inherit: {level}");
    assert!(level["last_modified"].as_u64().is_some(), "{level}");
    assert_error(&rest.put("/admin/loggers/a", &json!({"level": "LOUD"})), 404, "LOUD");
    assert_error(&rest.put("/admin/loggers/a", &json!({})), 400, "log level");
    assert_eq!(rest.put("/admin/loggers/connect_runtime::rest?scope=cluster", &json!({"level": "TRACE"})).0, 204);
    wait_for("the cluster-wide level applied on the other worker", SETTLE, || {
        let (_, level) = other.get("/admin/loggers/connect_runtime::rest");
        (level["level"] == "TRACE").then_some(())
    });
}
