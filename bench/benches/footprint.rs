//! The footprint of the release `connect` binary in standalone mode: resident memory (`VmRSS`) and threads
//! (from `/proc/PID/status`) of an idle worker, then with 100 and 1 000 generator source tasks (connectors of
//! `tasks.max=10` created over REST), each task sending one small record every `interval.ms` so that the broker is
//! not what is measured; and the start-up time, from spawn to the first 200 of `GET /health`, best of 5.
//!
//! `FOOTPRINT_TASKS=100,1000` sets the task counts (multiples of 10), `FOOTPRINT_INTERVAL_MS` (5000) the pace.

use std::path::Path;
use std::time::{Duration, Instant};

use connect_tests::{wait_for, worker_properties, Broker, ConnectProcess, Rest};
use serde_json::json;

/// Tasks per connector.
const TASKS_PER_CONNECTOR: usize = 10;

/// Resident memory in KiB and thread count of process `pid`.
fn footprint(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
    };
    (field("VmRSS:"), field("Threads:"))
}

/// The REST port of a worker properties file (`listeners=http://127.0.0.1:PORT`).
fn rest_port(properties: &Path) -> u16 {
    let text = std::fs::read_to_string(properties).expect("worker properties");
    text.lines()
        .find_map(|line| line.strip_prefix("listeners="))
        .and_then(|url| url.rsplit(':').next())
        .and_then(|port| port.trim().parse().ok())
        .expect("listeners port")
}

/// Starts a standalone worker with no connectors in a directory of its own; returns it, its REST client and the
/// time from spawn to the first 200 of `GET /health`.
fn start_worker(root: &Path, broker: &Broker, plugins: &Path, run: usize) -> (ConnectProcess, Rest, Duration) {
    let dir = root.join(format!("worker-{run}"));
    std::fs::create_dir_all(&dir).expect("worker dir");
    let properties = worker_properties(&dir, broker, plugins, &[]);
    let rest = Rest::new(rest_port(&properties));
    let start = Instant::now();
    let mut process = ConnectProcess::standalone(&properties, &[], &dir.join("connect.log"));
    let deadline = start + Duration::from_secs(60);
    loop {
        if matches!(rest.try_get("/health"), Ok((200, _))) {
            break;
        }
        assert!(process.is_running(), "connect exited:\n{}", process.output());
        assert!(Instant::now() < deadline, "connect not healthy within 60 s:\n{}", process.output());
        std::thread::sleep(Duration::from_millis(2));
    }
    (process, rest, start.elapsed())
}

/// Number of RUNNING tasks and whether every connector and task is RUNNING, from `GET /connectors?expand=status`.
fn running_tasks(rest: &Rest) -> (usize, bool) {
    let (code, body) = rest.get("/connectors?expand=status");
    assert_eq!(code, 200, "GET /connectors?expand=status: {body}");
    let (mut running, mut all) = (0, true);
    for connector in body.as_object().into_iter().flat_map(|m| m.values()) {
        let status = &connector["status"];
        all &= status["connector"]["state"] == "RUNNING";
        for task in status["tasks"].as_array().into_iter().flatten() {
            if task["state"] == "RUNNING" {
                running += 1;
            } else {
                all = false;
            }
        }
    }
    (running, all)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn main() {
    // `cargo bench` passes --bench; a filter argument is ignored.
    let counts: Vec<usize> = std::env::var("FOOTPRINT_TASKS")
        .unwrap_or_else(|_| "100,1000".into())
        .split(',')
        .map(|n| n.trim().parse().expect("FOOTPRINT_TASKS: task counts"))
        .collect();
    let interval: u64 =
        std::env::var("FOOTPRINT_INTERVAL_MS").ok().map(|v| v.parse().expect("FOOTPRINT_INTERVAL_MS")).unwrap_or(5000);
    let root = tempfile::tempdir().expect("temp dir");
    let plugins = connect_tests::plugin_dir(root.path(), &["test_plugin_generator"]);
    let broker = Broker::start();
    broker.create_topic("footprint", 1);

    // Start-up: five fresh workers, each killed once healthy.
    let mut best = Duration::MAX;
    for run in 0..5 {
        let (mut process, _, elapsed) = start_worker(root.path(), &broker, &plugins, run);
        best = best.min(elapsed);
        process.kill9();
    }
    println!("start to first 200 of GET /health: {:.0} ms (best of 5)", best.as_secs_f64() * 1e3);
    println!();

    let (mut process, rest, _) = start_worker(root.path(), &broker, &plugins, 5);
    std::thread::sleep(Duration::from_secs(5));
    let idle = footprint(process.pid());
    println!("| tasks | RSS MiB | threads | MiB/task over idle | threads/task |");
    println!("|---|---|---|---|---|");
    println!("| 0 | {:.1} | {} | | |", mib(idle.0), idle.1);
    let mut connectors = 0;
    for tasks in counts {
        while connectors * TASKS_PER_CONNECTOR < tasks {
            let name = format!("gen-{connectors}");
            let config = json!({
                "connector.class": "GeneratorSource",
                "tasks.max": TASKS_PER_CONNECTOR.to_string(),
                "topic": "footprint",
                "batch.size": "1",
                "value.size": "10",
                "interval.ms": interval.to_string(),
            });
            let (code, body) = rest.post("/connectors", &json!({"name": name, "config": config}));
            assert_eq!(code, 201, "POST /connectors {name}: {body}");
            connectors += 1;
        }
        let expected = connectors * TASKS_PER_CONNECTOR;
        let started = Instant::now();
        wait_for(&format!("{expected} tasks RUNNING"), Duration::from_secs(600), || {
            assert!(process.is_running(), "connect exited:\n{}", process.output());
            let (running, all) = running_tasks(&rest);
            (all && running == expected).then_some(())
        });
        let to_running = started.elapsed();
        // Let every task poll and send a few times (its producer connected, its batches allocated).
        std::thread::sleep(Duration::from_millis(3 * interval).max(Duration::from_secs(5)));
        let (rss, threads) = footprint(process.pid());
        println!(
            "| {expected} | {:.1} | {threads} | {:.3} | {:.2} |",
            mib(rss),
            mib(rss.saturating_sub(idle.0)) / expected as f64,
            threads.saturating_sub(idle.1) as f64 / expected as f64,
        );
        eprintln!("({expected} tasks RUNNING {:.1} s after the last POST)", to_running.as_secs_f64());
    }
    process.kill9();
}
