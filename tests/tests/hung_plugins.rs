//! Plugins that block for ever (or far longer than `task.shutdown.graceful.timeout.ms`) in `poll`, `put`, `start`
//! or `task_configs`: the worker's REST API keeps answering, stops, pauses, restarts, deletes and rebalances go on,
//! the other connectors keep running, and an abandoned task is fenced: what its blocked call returns at last is
//! never written to Kafka.

use std::time::{Duration, Instant};

use connect_tests::*;
use serde_json::json;

const JOIN: Duration = Duration::from_secs(90);
const SETTLE: Duration = Duration::from_secs(90);
/// The graceful stop timeout of these workers.
const GRACEFUL: Duration = Duration::from_secs(2);
/// What a REST call may take at most here: the herder waits for a blocked task up to the graceful timeout.
const ANSWERED: Duration = Duration::from_secs(15);
const SOURCE: &str = "com.connectrs.test.HangingSourceConnector";
const SINK: &str = "com.connectrs.test.HangingSinkConnector";

fn worker(dir: &std::path::Path, broker: &Broker, plugins: &std::path::Path) -> DistributedWorker {
    let mut worker = DistributedWorker::start(
        dir,
        broker,
        plugins,
        "hung",
        &[("task.shutdown.graceful.timeout.ms", &GRACEFUL.as_millis().to_string())],
    );
    worker.wait_joined(JOIN);
    worker
}

/// Runs `call` and checks it answered in time.
fn timed<T>(what: &str, call: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let out = call();
    assert!(started.elapsed() < ANSWERED, "{what} took {:?}", started.elapsed());
    out
}

fn values(broker: &Broker, topic: &str, at_least: usize) -> Vec<String> {
    broker.consume(topic, at_least, Duration::from_secs(5)).iter().map(|r| r.value_str().to_string()).collect()
}

/// A generator paced to 100 records/s: an unpaced one floods the test broker until it misses heartbeats.
fn generator(topic: &str) -> serde_json::Value {
    json!({"connector.class": "com.connectrs.test.GeneratorSourceConnector", "topic": topic,
           "batch.size": "10", "value.size": "10", "interval.ms": "100"})
}

/// Waits until connector `name` is unknown (404), showing the last answer otherwise.
fn gone(rest: &Rest, name: &str) {
    let deadline = Instant::now() + SETTLE;
    loop {
        let (code, body) = rest.get(&format!("/connectors/{name}/status"));
        if code == 404 {
            return;
        }
        assert!(Instant::now() < deadline, "{name} still there after {SETTLE:?}: {code} {body}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn blocked_tasks_are_abandoned_and_fenced_while_everything_else_goes_on() {
    let broker = Broker::start();
    for topic in ["healthy", "stuck", "stuck-forever", "stuck-sink-in"] {
        broker.create_topic(topic, 1);
    }
    let dir = test_dir();
    let plugins = plugin_dir(dir.path(), &["test_plugin_faulty", "test_plugin_generator"]);
    let first = worker(dir.path(), &broker, &plugins);
    let rest = first.rest.clone();
    rest.create_connector("healthy", generator("healthy"));

    // A source task that blocks in poll after 5 records, for 8 s: far past the 2 s graceful timeout. Only the
    // first instance blocks. A restart waits for the graceful timeout, abandons it and starts a new instance, which
    // resumes from the committed offset; the abandoned poll returns at last and its record is dropped.
    rest.create_connector(
        "once",
        json!({"connector.class": SOURCE, "topic": "stuck", "hang.in": "task.poll", "hang.ms": "8000",
               "hang.after": "5", "hang.marker": dir.path().join("once.marker").display().to_string(),
               "value.converter": "org.apache.kafka.connect.storage.StringConverter"}),
    );
    wait_for("5 records of the blocking source", SETTLE, || (values(&broker, "stuck", 5).len() >= 5).then_some(()));
    std::thread::sleep(Duration::from_secs(2)); // committed, and blocked in its poll now
    let (code, body) = timed("task restart", || rest.post("/connectors/once/tasks/0/restart", &json!({})));
    assert!(code == 204 || code == 202, "{code} {body}");
    wait_for("the abandonment", SETTLE, || {
        first.process.output().contains("Graceful stop of task once-0 failed.").then_some(())
    });
    wait_for("the abandoned poll returning at last", SETTLE, || {
        first.process.output().contains("abandoned task once-0 returned at last").then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    let stuck = values(&broker, "stuck", 1000);
    assert!(stuck.iter().any(|v| v == "r5"), "{stuck:?}");
    assert!(stuck.iter().all(|v| !v.contains("zombie")), "an abandoned task produced: {stuck:?}");
    // A task blocked in poll commits no offsets meanwhile, so the new instance may start over (at least once).
    assert!(stuck.iter().any(|v| v == "r6"), "the new instance did not go on after r5");

    // A task blocked for ever: pause and resume answer at once; a rebalance (a second worker joins) and a delete
    // go through, each waiting at most the graceful timeout for it.
    rest.create_connector(
        "forever",
        json!({"connector.class": SOURCE, "topic": "stuck-forever", "hang.in": "task.poll", "hang.ms": "-1",
               "hang.after": "3"}),
    );
    wait_for("forever running", SETTLE, || rest.status("forever").filter(|s| all_running(s, 1)));
    std::thread::sleep(Duration::from_secs(2));
    let (code, _) = timed("pause", || rest.put("/connectors/forever/pause", &json!({})));
    assert_eq!(code, 202);
    let (code, _) = timed("resume", || rest.put("/connectors/forever/resume", &json!({})));
    assert_eq!(code, 202);
    timed("the connector list", || rest.get("/connectors"));
    let before = values(&broker, "healthy", usize::MAX).len();
    wait_for("the healthy connector producing on", SETTLE, || {
        (values(&broker, "healthy", before + 1).len() > before).then_some(())
    });
    let mut second = DistributedWorker::start(
        dir.path(),
        &broker,
        &plugins,
        "hung",
        &[("task.shutdown.graceful.timeout.ms", &GRACEFUL.as_millis().to_string())],
    );
    second.wait_joined(JOIN);
    wait_for("healthy running after the rebalance", SETTLE, || rest.status("healthy").filter(|s| all_running(s, 1)));
    let (code, _) = timed("delete", || rest.delete("/connectors/forever"));
    assert_eq!(code, 204);
    gone(&rest, "forever");
    let logs = first.process.output() + &second.process.output();
    assert!(logs.contains("Graceful stop of task forever-0 failed."), "the blocked task was never abandoned");

    // A sink blocking in put once: after a restart the new instance delivers every record, the blocked one included.
    let out = dir.path().join("sink.txt");
    broker.produce("stuck-sink-in", &[(None, b"a"), (None, b"hang"), (None, b"b")]);
    rest.create_connector(
        "stuck-sink",
        json!({"connector.class": SINK, "topics": "stuck-sink-in", "file": out.display().to_string(),
               "hang.in": "task.put", "hang.ms": "-1",
               "value.converter": "org.apache.kafka.connect.storage.StringConverter"}),
    );
    wait_for("the sink blocked", SETTLE, || dir.path().join("sink.txt.hung").exists().then_some(()));
    let (code, body) = timed("sink task restart", || rest.post("/connectors/stuck-sink/tasks/0/restart", &json!({})));
    assert!(code == 204 || code == 202, "{code} {body}");
    let lines = wait_for("every record in the sink file", SETTLE, || {
        let lines = read_lines(&out);
        (lines.iter().any(|l| l == "b") && lines.iter().any(|l| l == "hang")).then_some(lines)
    });
    assert!(lines.contains(&"a".to_string()), "{lines:?}");
    wait_for("healthy still running", SETTLE, || rest.status("healthy").filter(|s| all_running(s, 1)));
}

#[test]
fn a_connector_blocked_in_start_or_task_configs_holds_up_nothing_else() {
    let broker = Broker::start();
    broker.create_topic("after", 1);
    let dir = test_dir();
    let plugins = plugin_dir(dir.path(), &["test_plugin_faulty", "test_plugin_generator"]);
    let worker = worker(dir.path(), &broker, &plugins);
    let rest = worker.rest.clone();

    timed("creating a connector that blocks in start", || {
        rest.create_connector("blocked-start", json!({"connector.class": SOURCE, "hang.in": "connector.start"}))
    });
    timed("creating a connector that blocks in task_configs", || {
        rest.create_connector(
            "blocked-configs",
            json!({"connector.class": SOURCE, "hang.in": "connector.task_configs"}),
        )
    });
    // The REST API answers and another connector starts and runs meanwhile.
    let (code, list) = timed("the connector list", || rest.get("/connectors"));
    assert_eq!(code, 200);
    for name in ["blocked-start", "blocked-configs"] {
        assert!(list.to_string().contains(name), "{list}");
    }
    timed("creating a healthy connector", || rest.create_connector("after", generator("after")));
    wait_for("after running", SETTLE, || rest.status("after").filter(|s| all_running(s, 1)));
    wait_for("records of after", SETTLE, || (!values(&broker, "after", 10).is_empty()).then_some(()));
    // Started, blocked generating its task configs: RUNNING without tasks.
    wait_for("blocked-configs running without tasks", SETTLE, || {
        rest.status("blocked-configs").filter(|s| s["connector"]["state"] == "RUNNING" && s["tasks"] == json!([]))
    });

    // Deleting them answers in time too; the herder gives up on the blocked instances after the graceful timeout.
    for name in ["blocked-start", "blocked-configs"] {
        let (code, _) = timed("delete", || rest.delete(&format!("/connectors/{name}")));
        assert_eq!(code, 204);
        gone(&rest, name);
    }
    wait_for("the abandonment of the blocked start", SETTLE, || {
        worker.process.output().contains("Graceful stop of connector blocked-start failed.").then_some(())
    });
    wait_for("after still running", SETTLE, || rest.status("after").filter(|s| all_running(s, 1)));
}
