//! The broker goes away mid-stream and comes back on the same storage and port: every worker and task recovers
//! without a worker restart, no record is lost, and the REST API answers clearly (a status or an error, within
//! seconds) the whole time.
//!
//! CI stops the broker for 10 s; `CONNECT_SOAK_OUTAGE_SECS=30` (`scripts/soak`) for 30 s.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use connect_tests::reliability::{self, Workload};
use connect_tests::*;

const JOIN: Duration = Duration::from_secs(90);
const RECOVER: Duration = Duration::from_secs(150);
/// The longest a REST request may take while the broker is away. The herder serves REST requests between its own
/// steps: when the broker goes away, a routine read of the config topic (up to 1 s) and, once the heartbeat
/// reports the coordinator lost, the stop of every task (up to `task.shutdown.graceful.timeout.ms`, 3 s here: a
/// source task cannot flush its offsets) come first. Without a broker nothing else holds a request up.
const ANSWERED: Duration = Duration::from_secs(8);

/// Asks every worker a few questions; each answer must come within [`ANSWERED`]: the status code and time of each.
fn probe(workers: &[DistributedWorker], connectors: &[(String, usize)]) -> Vec<(String, u16, Duration)> {
    let client = reqwest::blocking::Client::builder().timeout(ANSWERED).build().expect("HTTP client");
    let mut answers = Vec::new();
    for worker in workers {
        let mut paths = vec!["/".to_string(), "/connectors".to_string(), "/connectors?expand=status".to_string()];
        for (name, _) in connectors.iter().take(2) {
            paths.push(format!("/connectors/{name}/status"));
            paths.push(format!("/connectors/{name}/config"));
        }
        for path in paths {
            let url = format!("http://127.0.0.1:{}{path}", worker.port);
            let started = Instant::now();
            let response = client.get(&url).send();
            let took = started.elapsed();
            let code = match response {
                Ok(response) => {
                    let code = response.status().as_u16();
                    let body = response.text().unwrap_or_default();
                    if code != 200 {
                        // A clear error: Kafka Connect's JSON error body with a message.
                        let error: serde_json::Value = serde_json::from_str(&body)
                            .unwrap_or_else(|_| panic!("GET {url} answered {code} without a JSON error: {body:?}"));
                        assert!(
                            error["message"].as_str().is_some_and(|m| !m.is_empty()),
                            "GET {url} answered {code} without a message: {body}"
                        );
                    }
                    code
                }
                Err(e) => panic!(
                    "GET {url} (sent at {:?} UTC) got no answer within {ANSWERED:?} while the broker was away: {e}",
                    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default() - took
                ),
            };
            answers.push((path, code, took));
        }
    }
    answers
}

#[test]
fn workers_and_tasks_recover_from_a_broker_outage_without_a_restart() {
    let outage = Duration::from_secs(reliability::env_or("CONNECT_SOAK_OUTAGE_SECS", 10));
    let mut broker = Broker::start();
    let dir = test_dir();
    let plugins = plugin_dir(dir.path(), &["connect_file", "test_plugin_generator"]);
    let mut workers = start_cluster(2, JOIN, dir.path(), &broker, &plugins, "outage", &[]);
    let rests: Vec<Rest> = workers.iter().map(|w| w.rest.clone()).collect();
    let mut workload = Workload::start(dir.path(), &broker, &rests[0], "outage", 2);
    let connectors = workload.connectors();
    reliability::wait_all_running(&rests, &connectors, RECOVER, "the workload running");
    workload.wait_progress(&Default::default(), RECOVER, "the workload started");

    broker.kill();
    let stopped = Instant::now();
    let mut codes: BTreeMap<u16, usize> = BTreeMap::new();
    let mut slowest = Duration::ZERO;
    while stopped.elapsed() < outage {
        for (path, code, took) in probe(&workers, &connectors) {
            *codes.entry(code).or_default() += 1;
            if took > slowest {
                slowest = took;
                eprintln!("slowest answer so far while the broker is away: GET {path} {code} in {took:?}");
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!("REST while the broker was away for {outage:?}: answers by status {codes:?}, slowest {slowest:?}");

    broker.restart();
    let restarted = Instant::now();
    let before = workload.progress();
    let flowing = workload.wait_progress(&before, RECOVER, "the pipelines after the broker came back");
    reliability::wait_all_running(&rests, &connectors, RECOVER, "everything running after the broker came back");
    let running = restarted.elapsed();
    eprintln!("after the broker came back: records flowing in {flowing:?}, everything RUNNING in {running:?}");

    reliability::check_status_topic(&broker, "outage-status", &rests, &connectors, Duration::from_secs(30));
    let delivery = workload.finish(&broker, RECOVER);
    assert!(delivery.records > 0);
    // The same processes did it all: none exited (the harness never restarts a worker by itself).
    for worker in &mut workers {
        assert!(worker.process.is_running(), "worker {} exited:\n{}", worker.id(), worker.process.output());
    }
    // Every probe answered: none hung.
    assert!(slowest < ANSWERED);
}
