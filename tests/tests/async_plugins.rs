//! Async connectors and plugin logging end to end, with the async test plugin (`tests/plugins/async`) in a
//! distributed worker: a stop cancels a long await, a panic inside a future fails that task only, and a plugin's
//! `tracing` and `log` events reach the worker's log inside the task's span, following `/admin/loggers`.

use std::time::{Duration, Instant};

use connect_tests::*;
use serde_json::{json, Value};

const JOIN: Duration = Duration::from_secs(90);
const SETTLE: Duration = Duration::from_secs(60);
const GENERATOR: &str = "com.connectrs.test.AsyncGeneratorSourceConnector";
const SINK: &str = "com.connectrs.test.AsyncFileSinkConnector";

fn start_worker(dir: &std::path::Path, broker: &Broker, group: &str) -> DistributedWorker {
    let plugins = plugin_dir(dir, &["test_plugin_async"]);
    // A long graceful timeout: a stop that returns well before it was not abandoned but cancelled.
    let mut worker =
        DistributedWorker::start(dir, broker, &plugins, group, &[("task.shutdown.graceful.timeout.ms", "60000")]);
    worker.wait_joined(JOIN);
    worker
}

fn task_state(rest: &Rest, name: &str, task: u64) -> Option<(String, String)> {
    let status = rest.status(name)?;
    let tasks = status["tasks"].as_array()?;
    let entry = tasks.iter().find(|t| t["id"].as_u64() == Some(task))?;
    Some((entry["state"].as_str()?.to_string(), entry["trace"].as_str().unwrap_or("").to_string()))
}

fn wait_task(rest: &Rest, name: &str, task: u64, state: &str) -> String {
    wait_for(&format!("{name} task {task} {state}"), SETTLE, || {
        task_state(rest, name, task).filter(|(s, _)| s == state).map(|(_, trace)| trace)
    })
}

#[test]
fn a_stop_cancels_pending_awaits_and_a_panic_in_a_future_fails_only_its_task() {
    let broker = Broker::start();
    for topic in ["slow", "busy", "slow-in"] {
        broker.create_topic(topic, 1);
    }
    let dir = test_dir();
    let worker = start_worker(dir.path(), &broker, "async-stop");
    let rest = worker.rest.clone();

    // A source whose every poll awaits ten minutes.
    rest.create_connector(
        "slow-source",
        json!({"connector.class": GENERATOR, "topic": "slow", "poll.delay.ms": "600000"}),
    );
    wait_task(&rest, "slow-source", 0, "RUNNING");
    // A sink whose put awaits ten minutes, on a topic with one record.
    broker.produce("slow-in", &[(None, b"one")]);
    let out = dir.path().join("slow.txt");
    rest.create_connector(
        "slow-sink",
        json!({"connector.class": SINK, "topics": "slow-in", "file": out.display().to_string(),
               "put.delay.ms": "600000",
               "value.converter": "org.apache.kafka.connect.storage.StringConverter"}),
    );
    wait_task(&rest, "slow-sink", 0, "RUNNING");
    std::thread::sleep(Duration::from_secs(3)); // both are inside their long await now

    // Stopping the source cancels its poll: it stops long before the 60 s graceful timeout.
    let started = Instant::now();
    let (code, body) = rest.put("/connectors/slow-source/stop", &json!({}));
    assert_eq!(code, 204, "{body}");
    wait_for("slow-source stopped", SETTLE, || {
        let status = rest.status("slow-source")?;
        (status["connector"]["state"] == "STOPPED" && status["tasks"].as_array()?.is_empty()).then_some(())
    });
    let source_stop = started.elapsed();

    // Deleting the sink cancels its put.
    let started = Instant::now();
    let (code, body) = rest.delete("/connectors/slow-sink");
    assert_eq!(code, 204, "{body}");
    wait_for("slow-sink gone", SETTLE, || (rest.get("/connectors/slow-sink/status").0 == 404).then_some(()));
    let sink_stop = started.elapsed();
    let log = worker.process.output();
    assert!(!log.contains("Graceful stop of task"), "a task was abandoned instead of cancelled:\n{log}");
    assert!(source_stop < Duration::from_secs(30), "the source took {source_stop:?} to stop");
    assert!(sink_stop < Duration::from_secs(30), "the sink took {sink_stop:?} to stop");
    // The interrupted put committed nothing and wrote nothing.
    assert!(read_lines(&out).is_empty());

    // Two tasks; task 1 panics inside its poll future: it fails, task 0 goes on producing.
    rest.create_connector(
        "panicky",
        json!({"connector.class": GENERATOR, "topic": "busy", "tasks.max": "2", "panic.task": "1",
               "batch.size": "100", "poll.delay.ms": "20"}),
    );
    let trace = wait_task(&rest, "panicky", 1, "FAILED");
    assert!(trace.contains("panicked inside its poll future"), "{trace}");
    let before = broker.consume("busy", 100, SETTLE).len();
    assert!(before >= 100, "task 0 wrote {before} records");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(task_state(&rest, "panicky", 0).map(|(s, _)| s), Some("RUNNING".to_string()));
    let after = broker.consume("busy", before + 100, SETTLE).len();
    assert!(after > before, "task 0 stopped producing after task 1 failed ({before} then {after})");

    // A sink whose put future panics on one value fails; the worker and the other connectors live on.
    broker.produce("slow-in", &[(None, b"boom")]);
    rest.create_connector(
        "panicky-sink",
        json!({"connector.class": SINK, "topics": "slow-in", "file": dir.path().join("p.txt").display().to_string(),
               "panic.on": "boom", "value.converter": "org.apache.kafka.connect.storage.StringConverter"}),
    );
    let trace = wait_task(&rest, "panicky-sink", 0, "FAILED");
    assert!(trace.contains("panicked inside its put future on boom"), "{trace}");
    assert_eq!(task_state(&rest, "panicky", 0).map(|(s, _)| s), Some("RUNNING".to_string()));
}

/// The lines of the worker's log that contain `needle`.
fn lines_with(log: &str, needle: &str) -> Vec<String> {
    log.lines().filter(|l| l.contains(needle)).map(str::to_string).collect()
}

#[test]
fn plugin_log_events_reach_the_worker_log_in_the_task_span_and_follow_its_levels() {
    let broker = Broker::start();
    broker.create_topic("chatty", 1);
    let dir = test_dir();
    let worker = start_worker(dir.path(), &broker, "async-log");
    let rest = worker.rest.clone();
    rest.create_connector(
        "chatty",
        json!({"connector.class": GENERATOR, "topic": "chatty", "batch.size": "10", "poll.delay.ms": "100"}),
    );
    wait_task(&rest, "chatty", 0, "RUNNING");
    let span = "task{connector=chatty task=0}";

    // INFO events arrive, with the plugin's target, inside the task's span: a `log` record and a `tracing` event
    // from a future the task spawned onto the plugin's runtime.
    let log = wait_for("the plugin's INFO lines", SETTLE, || {
        let log = worker.process.output();
        (log.contains("async generator task 0 starts at") && log.contains("background work runs")).then_some(log)
    });
    for needle in ["async generator task 0 starts at", "async generator background work runs in the task's span"] {
        let line = lines_with(&log, needle).pop().unwrap_or_default();
        assert!(line.contains(" INFO "), "{line}");
        assert!(line.contains(span), "not in the task's span: {line}");
        assert!(line.contains("test_plugin_async"), "without the plugin's target: {line}");
    }
    std::thread::sleep(Duration::from_secs(2));
    assert!(lines_with(&worker.process.output(), "polled a batch").is_empty(), "DEBUG was written at INFO");

    // DEBUG for the plugin's target: its per-batch events appear, with their fields.
    let (code, body) = rest.put("/admin/loggers/test_plugin_async", &json!({"level": "DEBUG"}));
    assert_eq!(code, 200, "{body}");
    let line =
        wait_for("a DEBUG line of the plugin", SETTLE, || lines_with(&worker.process.output(), "polled a batch").pop());
    assert!(line.contains("DEBUG"), "{line}");
    assert!(line.contains(span), "not in the task's span: {line}");
    assert!(line.contains("test_plugin_async") && line.contains("records=10"), "{line}");

    // Back to INFO: they stop.
    let (code, body) = rest.put("/admin/loggers/test_plugin_async", &json!({"level": "INFO"}));
    assert_eq!(code, 200, "{body}");
    std::thread::sleep(Duration::from_secs(1));
    let at_info = lines_with(&worker.process.output(), "polled a batch").len();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(lines_with(&worker.process.output(), "polled a batch").len(), at_info, "DEBUG lines after INFO");
    let level: Value = rest.get("/admin/loggers/test_plugin_async").1;
    assert_eq!(level["level"], "INFO");
}
