//! The REST API of a standalone worker, end to end: `connect standalone` with a file source from a properties file
//! serves the same API as a distributed worker; a sink created over REST, reconfigured, paused, restarted, its
//! source's offsets rewound while stopped, then deleted; Kafka Connect's error answers.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use connect_tests::*;
use serde_json::{json, Value};

const SETTLE: Duration = Duration::from_secs(60);

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

/// Waits until the connector and its `tasks` tasks are all in `state`.
fn wait_state(rest: &Rest, name: &str, state: &str, tasks: usize) -> Value {
    wait_for(&format!("{name} {state} with {tasks} tasks"), SETTLE, || {
        let status = rest.status(name)?;
        let listed = status["tasks"].as_array()?;
        let all = status["connector"]["state"] == state
            && listed.len() == tasks
            && listed.iter().all(|t| t["state"] == state);
        all.then_some(status)
    })
}

fn wait_line(path: &Path, line: &str) {
    wait_for(&format!("{line:?} in {}", path.display()), SETTLE, || {
        read_lines(path).iter().any(|l| l == line).then_some(())
    });
}

#[test]
fn a_standalone_worker_serves_the_rest_api() {
    let broker = Broker::start();
    broker.create_topic("lines", 1);
    let dir = test_dir();
    let plugins = plugin_dir(dir.path(), &["connect_file"]);
    let input = dir.path().join("in.txt");
    let output = dir.path().join("out.txt");
    let output2 = dir.path().join("out2.txt");
    write_lines(&input, 0, 100);

    let port = broker::free_port();
    let listeners = format!("http://127.0.0.1:{port}");
    let worker = worker_properties(dir.path(), &broker, &plugins, &[("listeners", &listeners)]);
    let source = dir.path().join("source.properties");
    write_properties(
        &source,
        &[
            ("name", "file-source"),
            ("connector.class", "FileStreamSource"),
            ("file", input.to_str().unwrap()),
            ("topic", "lines"),
        ],
    );
    let mut connect = ConnectProcess::standalone(&worker, &[&source], &dir.path().join("connect.log"));
    let rest = Rest::new(port);

    // Healthy once the connector from the command line has been started.
    wait_for("GET /health 200", SETTLE, || matches!(rest.try_get("/health"), Ok((200, _))).then_some(()));
    let (code, root) = rest.get("/");
    assert_eq!(code, 200, "{root}");
    assert!(root["version"].as_str().is_some_and(|v| !v.is_empty()), "{root}");
    assert!(root["kafka_cluster_id"].is_string(), "{root}");
    assert_eq!(rest.get("/connectors"), (200, json!(["file-source"])));
    let status = wait_state(&rest, "file-source", "RUNNING", 1);
    assert_eq!(status["type"], "source");
    assert_eq!(status["connector"]["worker_id"], format!("127.0.0.1:{port}"), "{status}");
    let (code, tasks) = rest.get("/connectors/file-source/tasks");
    assert_eq!(code, 200, "{tasks}");
    assert_eq!(tasks[0]["id"], json!({"connector": "file-source", "task": 0}), "{tasks}");
    assert_eq!(tasks[0]["config"]["file"], input.to_str().unwrap(), "{tasks}");
    let (code, task) = rest.get("/connectors/file-source/tasks/0/status");
    assert_eq!((code, task["state"].as_str()), (200, Some("RUNNING")), "{task}");

    // A sink created over REST receives the lines.
    let sink = json!({"connector.class": "FileStreamSink", "file": output.to_str().unwrap(), "topics": "lines"});
    let (code, created) = rest.post("/connectors", &json!({"name": "file-sink", "config": sink}));
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["name"], "file-sink");
    assert_eq!(created["type"], "sink");
    wait_line(&output, "line 00099");
    assert_error(&rest.post("/connectors", &json!({"name": "file-sink", "config": sink})), 409, "already exists");

    // PATCH: the sink now writes elsewhere.
    let (code, info) = rest.patch("/connectors/file-sink/config", &json!({"file": output2.to_str().unwrap()}));
    assert_eq!(code, 200, "{info}");
    assert_eq!(info["config"]["file"], output2.to_str().unwrap(), "{info}");
    assert_eq!(info["config"]["topics"], "lines", "the patch keeps the other keys: {info}");
    wait_state(&rest, "file-sink", "RUNNING", 1);
    write_lines(&input, 100, 110);
    wait_line(&output2, "line 00109");

    // Pause and resume the source.
    assert_eq!(rest.put("/connectors/file-source/pause", &Value::Null).0, 202);
    wait_state(&rest, "file-source", "PAUSED", 1);
    write_lines(&input, 110, 120);
    std::thread::sleep(Duration::from_secs(2));
    assert!(!read_lines(&output2).iter().any(|l| l == "line 00110"), "a paused source sent records");
    assert_eq!(rest.put("/connectors/file-source/resume", &Value::Null).0, 202);
    wait_state(&rest, "file-source", "RUNNING", 1);
    wait_line(&output2, "line 00119");

    // Restarts: the connector alone (204), a task (204), everything (202 with the plan).
    assert_eq!(rest.post("/connectors/file-source/restart", &Value::Null).0, 204);
    assert_eq!(rest.post("/connectors/file-source/tasks/0/restart", &Value::Null).0, 204);
    let (code, plan) = rest.post("/connectors/file-source/restart?includeTasks=true", &Value::Null);
    assert_eq!(code, 202, "{plan}");
    assert_eq!(plan["connector"]["state"], "RESTARTING", "{plan}");
    assert_eq!(plan["tasks"][0]["state"], "RESTARTING", "{plan}");
    wait_state(&rest, "file-source", "RUNNING", 1);
    let (code, plan) = rest.post("/connectors/file-source/restart?includeTasks=true&onlyFailed=true", &Value::Null);
    assert_eq!(code, 202, "{plan}");
    assert_eq!(plan["connector"]["state"], "RUNNING", "nothing failed, nothing restarts: {plan}");

    // Active topics (KIP-558), from memory.
    let (code, topics) = rest.get("/connectors/file-source/topics");
    assert_eq!((code, &topics), (200, &json!({"file-source": {"topics": ["lines"]}})));

    // Offsets (KIP-875): read while running, changed only while STOPPED.
    let offsets = wait_for("the source offset committed", SETTLE, || {
        let (_, body) = rest.get("/connectors/file-source/offsets");
        let position = body["offsets"][0]["offset"]["position"].as_u64()?;
        (position == std::fs::metadata(&input).unwrap().len()).then_some(body)
    });
    assert_eq!(offsets["offsets"][0]["partition"], json!({"filename": input.to_str().unwrap()}), "{offsets}");
    let rewind = json!({"offsets": [{"partition": {"filename": input.to_str().unwrap()}, "offset": {"position": 0}}]});
    assert_error(&rest.patch("/connectors/file-source/offsets", &rewind), 400, "STOPPED");
    assert_eq!(rest.put("/connectors/file-source/stop", &Value::Null).0, 204);
    let status = wait_for("file-source STOPPED", SETTLE, || {
        rest.status("file-source").filter(|s| s["connector"]["state"] == "STOPPED")
    });
    assert_eq!(status["tasks"], json!([]), "{status}");
    let (code, answer) = rest.patch("/connectors/file-source/offsets", &rewind);
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["message"], "The offsets for this connector have been altered successfully");
    let (_, offsets) = rest.get("/connectors/file-source/offsets");
    assert_eq!(offsets["offsets"][0]["offset"], json!({"position": 0}), "{offsets}");
    // Resumed, the source reads the file again from the start.
    assert_eq!(rest.put("/connectors/file-source/resume", &Value::Null).0, 202);
    wait_state(&rest, "file-source", "RUNNING", 1);
    wait_line(&output2, "line 00000");
    let (code, sink_offsets) = rest.get("/connectors/file-sink/offsets");
    assert_eq!(code, 200, "{sink_offsets}");
    assert_eq!(sink_offsets["offsets"][0]["partition"], json!({"kafka_topic": "lines", "kafka_partition": 0}));

    // Delete the sink.
    assert_eq!(rest.delete("/connectors/file-sink").0, 204);
    assert_eq!(rest.get("/connectors"), (200, json!(["file-source"])));
    assert_error(&rest.get("/connectors/file-sink"), 404, "Connector file-sink not found");
    assert_error(&rest.get("/connectors/file-sink/status"), 404, "No status found for connector file-sink");
    assert_error(&rest.delete("/connectors/file-sink"), 404, "not found");

    // Bad input: Kafka Connect's codes and bodies.
    assert_error(&rest.put("/connectors/nope/pause", &Value::Null), 404, "Connector nope not found");
    assert_error(&rest.post("/connectors/file-source/tasks/7/restart", &Value::Null), 404, "Task file-source-7");
    let invalid = json!({"name": "bad", "config": {"connector.class": "FileStreamSink", "file": "/tmp/x"}});
    assert_error(&rest.post("/connectors", &invalid), 400, "Connector configuration is invalid");
    assert_error(&rest.raw("POST", "/connectors", "{not json"), 400, "Invalid JSON");
    assert_error(&rest.raw("PUT", "/connectors/file-source/config", "[1,"), 400, "Invalid JSON");
    assert_error(&rest.post("/connectors/file-source/tasks", &json!([{}])), 400, "standalone mode");
    assert_eq!(rest.get("/connectors"), (200, json!(["file-source"])), "nothing invalid was created");

    let (code, metrics) = rest.get_text("/metrics");
    assert_eq!(code, 200, "{metrics}");
    assert!(metrics.contains("kafka_connect_worker_connector_count"), "{metrics}");

    let status = connect.terminate(Duration::from_secs(30));
    assert!(status.success(), "connect exited with {status}:\n{}", connect.output());
    assert!(!connect.output().contains("panicked"), "{}", connect.output());
}

#[test]
fn a_listener_port_in_use_is_a_configuration_error() {
    let broker = Broker::start();
    let dir = test_dir();
    let plugins = plugin_dir(dir.path(), &["connect_file"]);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listeners = format!("http://127.0.0.1:{}", taken.local_addr().unwrap().port());
    let worker = worker_properties(dir.path(), &broker, &plugins, &[("listeners", &listeners)]);
    let mut connect = ConnectProcess::standalone(&worker, &[], &dir.path().join("connect.log"));
    let status = connect.wait_exit(Duration::from_secs(60));
    let output = connect.output();
    assert!(!status.success(), "{output}");
    assert!(output.contains(&format!("worker.properties: listeners: cannot listen on {listeners}")), "{output}");
    assert!(!output.contains("panicked"), "{output}");
}
