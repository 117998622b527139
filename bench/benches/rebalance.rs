//! Rebalance latency of a distributed cluster on a real broker, next to the broker's own group join latency.
//!
//! Baseline: a raw rdkafka consumer joining a group that already has one member, timed from `subscribe` until it
//! holds an assignment. That is what the broker's JoinGroup/SyncGroup handling costs any client (tansu 0.6.0
//! holds a rejoining group for about 3 s).
//!
//! connect-rs: three workers run a generator connector with 6 tasks.
//! - join: a 4th worker process starts; timed until every task runs and at least one runs on the new worker
//!   (process start and reading the internal topics included). Its own log gives the time its member spent in
//!   JoinGroup + SyncGroup.
//! - failover: that worker is killed with SIGKILL; timed until every task runs on the other workers again. This
//!   includes `session.timeout.ms` (30 s, the broker noticing the death) and `scheduled.rebalance.max.delay.ms`
//!   (3 s, the cluster waiting for the worker to come back), both reported as configured.
//!
//! Repeated `ROUNDS` times on one cluster; prints a Markdown table with median and worst case.

use std::time::{Duration, Instant};

use connect_tests::{all_running, task_workers, Broker, DistributedWorker};
use rdkafka::consumer::{BaseConsumer, Consumer};
use serde_json::json;

const ROUNDS: usize = 3;
const SESSION_TIMEOUT_MS: u64 = 30000;
const MAX_DELAY_MS: u64 = 3000;

fn raw_join(broker: &Broker, group: &str) -> Duration {
    let consumer = |id: &str| -> BaseConsumer {
        broker
            .client_config()
            .set("group.id", group)
            .set("client.id", id)
            .set("session.timeout.ms", SESSION_TIMEOUT_MS.to_string())
            .set("enable.auto.commit", "false")
            .create()
            .expect("consumer")
    };
    let wait_assigned = |c: &BaseConsumer| {
        let deadline = Instant::now() + Duration::from_secs(120);
        while c.assignment().map(|a| a.count()).unwrap_or(0) == 0 {
            assert!(Instant::now() < deadline, "raw consumer got no assignment");
            c.poll(Duration::from_millis(20));
        }
    };
    let first = consumer("first");
    first.subscribe(&["rebalance-raw"]).expect("subscribe");
    wait_assigned(&first);
    let second = consumer("second");
    let start = Instant::now();
    second.subscribe(&["rebalance-raw"]).expect("subscribe");
    let deadline = Instant::now() + Duration::from_secs(120);
    while second.assignment().map(|a| a.count()).unwrap_or(0) == 0 {
        assert!(Instant::now() < deadline, "raw consumer got no assignment");
        first.poll(Duration::from_millis(10));
        second.poll(Duration::from_millis(10));
    }
    start.elapsed()
}

/// The join duration the worker's member logged for its last join (`... in 3.02s: assigned ...`).
fn logged_join(worker: &DistributedWorker) -> Option<Duration> {
    let output = worker.process.output();
    let line = output.lines().rev().find(|l| l.contains("joined group"))?;
    let text = line.split(") in ").nth(1)?.split(':').next()?.trim();
    let (number, unit) = text.split_at(text.find(|c: char| c.is_ascii_alphabetic())?);
    let value: f64 = number.parse().ok()?;
    Some(Duration::from_secs_f64(match unit {
        "s" => value,
        "ms" => value / 1e3,
        "µs" | "us" => value / 1e6,
        _ => return None,
    }))
}

fn median(values: &mut [Duration]) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir().expect("dir");
    let plugins = connect_tests::plugin_dir(dir.path(), &["test_plugin_generator"]);
    let broker = Broker::start();
    broker.create_topic("rebalance-raw", 4);
    broker.create_topic("rebalance", 6);
    // The test cluster's settings (30 s sessions: tansu evicts members whose rejoin outlasts the session).
    let extra = [("scheduled.rebalance.max.delay.ms", "3000")];

    let raw: Vec<Duration> = (0..ROUNDS).map(|round| raw_join(&broker, &format!("raw-{round}"))).collect();

    let mut workers: Vec<DistributedWorker> =
        (0..3).map(|_| DistributedWorker::start(dir.path(), &broker, &plugins, "bench", &extra)).collect();
    for worker in &mut workers {
        worker.wait_joined(Duration::from_secs(120));
    }
    let rest = workers[0].rest.clone();
    rest.create_connector(
        "gen",
        json!({"connector.class": "com.connectrs.test.GeneratorSourceConnector", "tasks.max": "6",
               "topic": "rebalance", "records": "1000", "batch.size": "100"}),
    );
    let settled = |exclude: Option<&str>, include: Option<&str>| {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            if let Some(status) = rest.status("gen") {
                let owners: Vec<String> = task_workers(&status).into_iter().map(|(_, _, w)| w).collect();
                if all_running(&status, 6)
                    && exclude.is_none_or(|x| !owners.iter().any(|w| w == x))
                    && include.is_none_or(|i| owners.iter().any(|w| w == i))
                {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "the cluster did not settle");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    settled(None, None);

    let (mut joins, mut member_joins, mut failovers) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let mut fourth = DistributedWorker::start(dir.path(), &broker, &plugins, "bench", &extra);
        let id = fourth.id();
        settled(None, Some(&id));
        joins.push(start.elapsed());
        if let Some(join) = logged_join(&fourth) {
            member_joins.push(join);
        }
        std::thread::sleep(Duration::from_secs(2));
        let start = Instant::now();
        fourth.process.kill9();
        settled(Some(&id), None);
        failovers.push(start.elapsed());
    }
    for worker in &mut workers {
        worker.process.terminate(Duration::from_secs(60));
    }

    let fmt = |d: Duration| format!("{:.2} s", d.as_secs_f64());
    let worst = |v: &[Duration]| v.iter().copied().max().unwrap_or_default();
    println!("| measure ({ROUNDS} rounds) | median | worst |");
    println!("|---|---|---|");
    let mut raw_sorted = raw.clone();
    println!(
        "| raw rdkafka consumer joins a group of 1 (broker join/sync) | {} | {} |",
        fmt(median(&mut raw_sorted)),
        fmt(worst(&raw))
    );
    let mut sorted = joins.clone();
    println!(
        "| worker joins -> all 6 tasks running, some on it | {} | {} |",
        fmt(median(&mut sorted)),
        fmt(worst(&joins))
    );
    if !member_joins.is_empty() {
        let mut sorted = member_joins.clone();
        println!(
            "| ... of which its last JoinGroup + SyncGroup | {} | {} |",
            fmt(median(&mut sorted)),
            fmt(worst(&member_joins))
        );
    }
    let mut sorted = failovers.clone();
    println!(
        "| worker killed -> all 6 tasks running elsewhere | {} | {} |",
        fmt(median(&mut sorted)),
        fmt(worst(&failovers))
    );
    println!(
        "| ... of which configured waits (session {SESSION_TIMEOUT_MS} ms + scheduled delay {MAX_DELAY_MS} ms) | {} | |",
        fmt(Duration::from_millis(SESSION_TIMEOUT_MS + MAX_DELAY_MS))
    );
}
