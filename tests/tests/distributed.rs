//! Distributed mode end to end: real `connect distributed` processes forming a group on a real tansu broker,
//! driven over the REST API.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use connect_tests::*;
use serde_json::{json, Value};

const JOIN: Duration = Duration::from_secs(90);
const SETTLE: Duration = Duration::from_secs(120);

fn write_lines(path: &Path, from: usize, to: usize) -> Vec<String> {
    let lines: Vec<String> =
        (from..to).map(|i| format!("{} line {i:05}", path.file_stem().unwrap().to_string_lossy())).collect();
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    file.write_all((lines.join("\n") + "\n").as_bytes()).unwrap();
    lines
}

fn file_source(input: &Path, topic: &str) -> Value {
    json!({"connector.class": "FileStreamSource", "file": input.to_str().unwrap(), "topic": topic})
}

fn file_sink(output: &Path, topic: &str) -> Value {
    json!({"connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
           "file": output.to_str().unwrap(), "topics": topic})
}

/// Waits until every connector named runs with all its tasks, as any live worker reports it; returns the statuses.
fn wait_all_running(rest: &Rest, connectors: &[(&str, usize)], what: &str) -> BTreeMap<String, Value> {
    wait_for(what, SETTLE, || {
        let mut statuses = BTreeMap::new();
        for (name, tasks) in connectors {
            let status = rest.status(name)?;
            if !all_running(&status, *tasks) {
                return None;
            }
            statuses.insert(name.to_string(), status);
        }
        Some(statuses)
    })
}

/// The workers that run the connectors and tasks in `statuses`.
fn owners(statuses: &BTreeMap<String, Value>) -> BTreeSet<String> {
    let mut owners = BTreeSet::new();
    for status in statuses.values() {
        owners.insert(status["connector"]["worker_id"].as_str().unwrap_or("").to_string());
        for (_, _, worker) in task_workers(status) {
            owners.insert(worker);
        }
    }
    owners
}

fn dump_logs(workers: &[&DistributedWorker]) -> String {
    workers.iter().map(|w| format!("==== worker {} ====\n{}", w.id(), w.process.output())).collect()
}

#[test]
fn three_workers_share_connectors_and_take_over_from_a_killed_one() {
    let broker = Broker::start();
    broker.create_topic("lines-a", 1);
    broker.create_topic("lines-b", 1);
    let dir = test_dir();
    let plugins = plugin_dir(dir.path(), &["connect_file"]);
    let mut workers = start_cluster(3, JOIN, dir.path(), &broker, &plugins, "three", &[]);

    // The internal topics exist with Kafka Connect's default partition counts.
    for (topic, partitions) in [("three-configs", 1), ("three-offsets", 25), ("three-status", 5)] {
        assert_eq!(broker.partitions(topic), partitions, "partitions of {topic}");
    }

    // Writes go to a follower, which forwards them to the leader.
    let follower = workers.iter().position(|w| !w.is_leader()).expect("a follower");
    let rest = workers[follower].rest.clone();
    let (ina, inb) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
    let (outa, outb) = (dir.path().join("out-a.txt"), dir.path().join("out-b.txt"));
    let mut expected_a = write_lines(&ina, 0, 1000);
    let mut expected_b = write_lines(&inb, 0, 1000);
    rest.create_connector("source-a", file_source(&ina, "lines-a"));
    rest.create_connector("sink-a", file_sink(&outa, "lines-a"));
    rest.create_connector("source-b", file_source(&inb, "lines-b"));
    rest.create_connector("sink-b", file_sink(&outb, "lines-b"));
    let names = [("source-a", 1), ("sink-a", 1), ("source-b", 1), ("sink-b", 1)];
    let statuses = wait_all_running(&rest, &names, "four connectors running");
    let spread = owners(&statuses);
    assert!(spread.len() >= 2, "work not spread over the workers: {statuses:#?}");
    let (code, list) = rest.get("/connectors");
    assert_eq!(code, 200);
    let mut listed: Vec<String> = serde_json::from_value(list).unwrap();
    listed.sort();
    assert_eq!(listed, ["sink-a", "sink-b", "source-a", "source-b"]);

    wait_for("the first 1000 lines of each file in the sinks", SETTLE, || {
        (read_lines(&outa).len() >= 1000 && read_lines(&outb).len() >= 1000).then_some(())
    });

    // Crash a worker that runs work but no sink task: tansu 0.6.0 does not reliably recover a consumer group whose
    // dynamic leader was killed (see README), which is the broker's problem, not the worker's. Two sink tasks on
    // three workers leave at least one such worker, and balanced assignment gives it some of the other six items.
    let sink_owners: BTreeSet<String> =
        ["sink-a", "sink-b"].iter().flat_map(|c| task_workers(&statuses[*c])).map(|(_, _, w)| w).collect();
    let victim = workers.iter().position(|w| !sink_owners.contains(&w.id())).expect("a worker without sink tasks");
    let victim_id = workers[victim].id();
    assert!(owners(&statuses).contains(&victim_id), "the victim runs nothing: {statuses:#?}");
    workers[victim].process.kill9();
    let survivor = workers.iter().position(|w| w.id() != victim_id).unwrap();
    let rest = workers[survivor].rest.clone();
    expected_a.extend(write_lines(&ina, 1000, 2000));
    expected_b.extend(write_lines(&inb, 1000, 2000));

    // After the session timeout and the scheduled delay, everything runs on the survivors.
    let logs = || dump_logs(&workers.iter().collect::<Vec<_>>());
    let statuses = wait_for("all work moved off the killed worker", SETTLE, || {
        let mut all = BTreeMap::new();
        for (name, tasks) in names {
            let status = rest.status(name)?;
            if !all_running(&status, tasks) {
                return None;
            }
            all.insert(name.to_string(), status);
        }
        (!owners(&all).contains(&victim_id)).then_some(all)
    });
    assert!(!owners(&statuses).contains(&victim_id), "{statuses:#?}\n{}", logs());
    wait_for("every line in the sink files", SETTLE, || {
        let (a, b) = (read_lines(&outa), read_lines(&outb));
        let (a, b): (BTreeSet<_>, BTreeSet<_>) = (a.into_iter().collect(), b.into_iter().collect());
        (expected_a.iter().all(|l| a.contains(l)) && expected_b.iter().all(|l| b.contains(l))).then_some(())
    });
    let out: BTreeSet<String> = read_lines(&outa).into_iter().collect();
    assert_eq!(out, expected_a.iter().cloned().collect::<BTreeSet<_>>(), "unexpected lines in out-a");
}

#[test]
fn a_fourth_worker_gets_tasks_and_nothing_else_restarts() {
    let broker = Broker::start();
    broker.create_topic("generated", 3);
    let dir = test_dir();
    let plugins = plugin_dir(dir.path(), &["test_plugin_generator"]);
    let workers = start_cluster(3, JOIN, dir.path(), &broker, &plugins, "four", &[]);
    let rest = workers[0].rest.clone();
    rest.create_connector(
        "gen",
        json!({"connector.class": "com.connectrs.test.GeneratorSourceConnector", "tasks.max": "6",
               "topic": "generated", "records": "200", "batch.size": "50"}),
    );
    let before = wait_all_running(&rest, &[("gen", 6)], "six generator tasks running")["gen"].clone();
    let placed: BTreeMap<u64, String> = task_workers(&before).into_iter().map(|(id, _, w)| (id, w)).collect();
    assert!(placed.values().collect::<BTreeSet<_>>().len() >= 2, "tasks not spread: {before:#}");

    let mut fourth = DistributedWorker::start(dir.path(), &broker, &plugins, "four", &[]);
    fourth.wait_joined(JOIN);
    let after = wait_for("a task on the fourth worker", SETTLE, || {
        let status = rest.status("gen")?;
        let on_fourth = task_workers(&status).iter().filter(|(_, _, w)| *w == fourth.id()).count();
        (all_running(&status, 6) && on_fourth >= 1).then_some(status)
    });
    let all: Vec<&DistributedWorker> = workers.iter().chain(std::iter::once(&fourth)).collect();
    // Give a follow-up rebalance time to (wrongly) restart something, then look at every task that stayed put.
    std::thread::sleep(Duration::from_secs(3));
    for (task, worker_id, _) in task_workers(&after).into_iter().map(|(id, _, w)| (id, w, ())) {
        let worker = all.iter().find(|w| w.id() == worker_id).expect("owner is a worker");
        let starts = worker.count_in_log(&format!("task gen-{task} is RUNNING"));
        if placed[&task] == worker_id {
            assert_eq!(starts, 1, "task gen-{task} restarted on {worker_id}:\n{}", dump_logs(&all));
        } else {
            assert_eq!(worker_id, fourth.id(), "task gen-{task} moved between old workers:\n{}", dump_logs(&all));
        }
    }
    // The connector instance did not restart either.
    let connector_owner = after["connector"]["worker_id"].as_str().unwrap().to_string();
    if before["connector"]["worker_id"] == after["connector"]["worker_id"] {
        let owner = all.iter().find(|w| w.id() == connector_owner).unwrap();
        assert_eq!(owner.count_in_log("connector gen is RUNNING"), 1, "{}", dump_logs(&all));
    }
    let records = broker.consume("generated", 1200, Duration::from_secs(60));
    assert!(records.len() >= 1200, "every task produced its 200 records");
}

#[test]
fn a_full_cluster_restart_resumes_from_committed_offsets() {
    let broker = Broker::start();
    broker.create_topic("restart", 1);
    let dir = test_dir();
    let plugins = plugin_dir(dir.path(), &["connect_file"]);
    let (input, output) = (dir.path().join("in.txt"), dir.path().join("out.txt"));
    let mut expected = write_lines(&input, 0, 500);
    let mut workers = start_cluster(2, JOIN, dir.path(), &broker, &plugins, "restart", &[]);
    let rest = workers[1].rest.clone();
    rest.create_connector("source", file_source(&input, "restart"));
    rest.create_connector("sink", file_sink(&output, "restart"));
    wait_for("500 lines in the sink", SETTLE, || (read_lines(&output).len() >= 500).then_some(()));

    // Stop the whole cluster cleanly; while it is down, the input grows.
    let mut configs = Vec::new();
    for worker in &mut workers {
        let status = worker.process.terminate(Duration::from_secs(60));
        assert!(status.success(), "worker exited with {status}:\n{}", worker.process.output());
        configs.push((worker.properties.clone(), worker.port));
    }
    expected.extend(write_lines(&input, 500, 1000));
    let mut workers: Vec<DistributedWorker> =
        configs.iter().map(|(file, port)| DistributedWorker::start_from(dir.path(), file, *port)).collect();
    for worker in &mut workers {
        worker.wait_joined(JOIN);
    }
    wait_all_running(&workers[0].rest, &[("source", 1), ("sink", 1)], "connectors running after the restart");
    wait_for("1000 lines in the sink", SETTLE, || (read_lines(&output).len() >= 1000).then_some(()));
    std::thread::sleep(Duration::from_secs(2));
    let lines = read_lines(&output);
    let seen: BTreeSet<&String> = lines.iter().collect();
    let missing: Vec<&String> = expected.iter().filter(|l| !seen.contains(l)).collect();
    assert!(missing.is_empty(), "lines lost across a restart: {missing:?}");
    // Resuming from the beginning would repeat the first 500 lines; from the committed offsets, nothing or only
    // what a task had not committed when it was stopped.
    let duplicates = lines.len() - seen.len();
    assert_eq!(duplicates, 0, "{duplicates} lines written twice across a clean restart");
}

#[test]
fn eager_workers_form_a_group_and_a_sessioned_worker_downgrades_to_eager() {
    let broker = Broker::start();
    broker.create_topic("eager", 1);
    let dir = test_dir();
    let plugins = plugin_dir(dir.path(), &["test_plugin_generator"]);
    let eager = [("connect.protocol", "eager")];
    let workers = start_cluster(2, JOIN, dir.path(), &broker, &plugins, "eager", &eager);
    let rest = workers[0].rest.clone();
    rest.create_connector(
        "gen",
        json!({"connector.class": "com.connectrs.test.GeneratorSourceConnector", "tasks.max": "4",
               "topic": "eager", "records": "100"}),
    );
    let status = wait_all_running(&rest, &[("gen", 4)], "four tasks on the eager group")["gen"].clone();
    assert_eq!(owners(&BTreeMap::from([("gen".to_string(), status)])).len(), 2, "both eager workers have work");
    for worker in &workers {
        assert!(worker.process.output().contains("protocol eager"), "{}", worker.process.output());
    }

    // A worker that prefers `sessioned` joins: the group stays on the protocol every member supports.
    let mut sessioned = DistributedWorker::start(dir.path(), &broker, &plugins, "eager", &[]);
    sessioned.wait_joined(JOIN);
    let all: Vec<&DistributedWorker> = workers.iter().chain(std::iter::once(&sessioned)).collect();
    assert!(sessioned.process.output().contains("protocol eager"), "{}", dump_logs(&all));
    wait_for("a task on the sessioned worker", SETTLE, || {
        let status = rest.status("gen")?;
        (all_running(&status, 4) && task_workers(&status).iter().any(|(_, _, w)| *w == sessioned.id())).then_some(())
    });
}

#[test]
fn a_worker_that_joins_while_configs_are_written_catches_up_before_taking_work() {
    let broker = Broker::start();
    broker.create_topic("lag", 1);
    let dir = test_dir();
    let plugins = plugin_dir(dir.path(), &["test_plugin_generator"]);
    let mut first = DistributedWorker::start(dir.path(), &broker, &plugins, "lag", &[]);
    first.wait_joined(JOIN);
    let rest = first.rest.clone();
    let names: Vec<String> = (0..8).map(|i| format!("gen-{i}")).collect();
    // Connectors are created while the second worker starts, reads the config topic and joins.
    let writer = {
        let rest = rest.clone();
        let names = names.clone();
        std::thread::spawn(move || {
            for name in names {
                rest.create_connector(
                    &name,
                    json!({"connector.class": "com.connectrs.test.GeneratorSourceConnector", "tasks.max": "2",
                           "topic": "lag", "records": "10"}),
                );
            }
        })
    };
    let mut second = DistributedWorker::start(dir.path(), &broker, &plugins, "lag", &[]);
    second.wait_joined(JOIN);
    writer.join().unwrap();
    let wanted: Vec<(&str, usize)> = names.iter().map(|n| (n.as_str(), 2)).collect();
    let statuses = wait_all_running(&rest, &wanted, "eight connectors running on two workers");
    let all = [&first, &second];
    assert!(owners(&statuses).contains(&second.id()), "the second worker got no work:\n{}", dump_logs(&all));
    for worker in all {
        let log = worker.process.output();
        assert!(!log.contains("has no configuration"), "work started from a stale config:\n{}", dump_logs(&all));
        assert!(!log.contains("is FAILED"), "{}", dump_logs(&all));
    }
}

#[test]
fn losing_the_coordinator_stops_all_work_until_it_answers_again() {
    let mut broker = Broker::start();
    broker.create_topic("lost-lines", 1);
    let dir = test_dir();
    let plugins = plugin_dir(dir.path(), &["connect_file"]);
    // A static sink consumer: its group survives the broker restart without a new leader election (see README).
    let extra = [("consumer.group.instance.id", "lost-sink-0")];
    let mut workers = start_cluster(1, JOIN, dir.path(), &broker, &plugins, "lost", &extra);
    let rest = workers[0].rest.clone();
    let (input, output) = (dir.path().join("in.txt"), dir.path().join("out.txt"));
    let mut expected = write_lines(&input, 0, 100);
    rest.create_connector("lost-src", file_source(&input, "lost-lines"));
    rest.create_connector("lost-sink", file_sink(&output, "lost-lines"));
    wait_for("the first 100 lines in the sink", SETTLE, || (read_lines(&output).len() >= 100).then_some(()));

    // The broker (the group coordinator) disappears: the worker stops everything it runs.
    broker.kill();
    workers[0].process.wait_for_output("stopping all connectors and tasks so that nothing runs twice", SETTLE);
    // Each task's last recorded state is a stopped one (FAILED counts: a task may fail on the way down), or the
    // worker gave up waiting for it (a sink's last synchronous commit can wait for the coordinator; it processes
    // nothing meanwhile).
    let stopped = |log: &str, task: &str| {
        let last = log.rfind(&format!("task {task} is ")).map(|at| &log[at..]).unwrap_or("");
        last.starts_with(&format!("task {task} is UNASSIGNED"))
            || last.starts_with(&format!("task {task} is FAILED"))
            || log.contains(&format!("Graceful stop of task {task} failed."))
    };
    let deadline = std::time::Instant::now() + SETTLE;
    loop {
        let log = workers[0].process.output();
        if stopped(&log, "lost-src-0") && stopped(&log, "lost-sink-0") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "tasks still running without a coordinator:\n{log}");
        std::thread::sleep(Duration::from_millis(200));
    }
    expected.extend(write_lines(&input, 100, 200));

    // Back: the worker rejoins, restarts its work, and every line arrives (at least once, as in Kafka Connect).
    broker.restart();
    workers[0].process.wait_for_output("the group coordinator answers again", SETTLE);
    let logs = || dump_logs(&workers.iter().collect::<Vec<_>>());
    wait_for("all 200 lines in the sink after the coordinator came back", SETTLE, || {
        let got: BTreeSet<String> = read_lines(&output).into_iter().collect();
        expected.iter().all(|l| got.contains(l)).then_some(())
    });
    let status = rest.status("lost-src").unwrap_or_else(|| panic!("no status: {}", logs()));
    assert!(all_running(&status, 1), "{status} {}", logs());
}
