//! Bouncing workers (Apache Kafka's `connect_distributed_test.py` bounce test): a 3-worker cluster runs a file
//! source -> file sink and a generator -> file sink while random workers are killed (kill -9) and restarted, then
//! stopped cleanly (SIGTERM) and restarted. In the end every record is delivered at least once (duplicates counted
//! and printed), nothing is UNASSIGNED or FAILED, and the status topic says what the REST API says.
//!
//! CI runs 2 + 2 rounds; `CONNECT_SOAK_ROUNDS=10` (`scripts/soak`) runs Kafka's 10 + 10.
//!
//! tansu 0.6.0 never reassigns a consumer group whose only member was killed: the sink consumers are static
//! members with one id per sink task, whichever worker runs it (see [`connect_tests::reliability::Workload`]).

use std::time::{Duration, Instant};

use connect_tests::reliability::{self, Rng, Workload};
use connect_tests::*;

const JOIN: Duration = Duration::from_secs(90);
/// A killed worker's work moves after tansu evicts it (the session timeout) and the scheduled rebalance delay.
const RECOVER: Duration = Duration::from_secs(120);
/// The session timeout of this cluster: a killed worker's work waits that long (plus the scheduled rebalance
/// delay) before it moves. Shorter than the other tests' 30 s to keep CI short; not 10 s: tansu 0.6.0 holds a
/// JoinGroup for up to about 12 s under this load and evicts a member whose rejoin takes longer than its session.
const SESSION_TIMEOUT_MS: &str = "20000";

fn rests(workers: &[DistributedWorker]) -> Vec<Rest> {
    workers.iter().map(|w| w.rest.clone()).collect()
}

#[test]
fn every_record_survives_killed_and_stopped_workers() {
    // 2 + 2 rounds keep CI near 2 minutes (a kill -9 round waits for the session timeout).
    let rounds: usize = reliability::env_or("CONNECT_SOAK_ROUNDS", 2);
    let mut rng = Rng::from_env("bounce");
    let broker = Broker::start();
    let dir = test_dir();
    let plugins = plugin_dir(dir.path(), &["connect_file", "test_plugin_generator"]);
    let extra = [("session.timeout.ms", SESSION_TIMEOUT_MS)];
    let mut workers = start_cluster(3, JOIN, dir.path(), &broker, &plugins, "bounce", &extra);
    let mut workload = Workload::start(dir.path(), &broker, &workers[0].rest, "bounce", 2);
    let connectors = workload.connectors();
    reliability::wait_all_running(&rests(&workers), &connectors, RECOVER, "the workload running");
    workload.wait_progress(&Default::default(), RECOVER, "the workload started");

    let mut recoveries = Vec::new();
    for (kind, round) in (0..rounds).map(|r| ("kill -9", r)).chain((0..rounds).map(|r| ("SIGTERM", r))) {
        let victim = rng.below(workers.len());
        let started = Instant::now();
        let (properties, port) = (workers[victim].properties.clone(), workers[victim].port);
        if kind == "kill -9" {
            workers[victim].process.kill9();
        } else {
            let status = workers[victim].process.terminate(Duration::from_secs(60));
            assert!(status.success(), "worker exited with {status} on SIGTERM:\n{}", workers[victim].process.output());
        }
        let stopped = started.elapsed();
        workers[victim] = DistributedWorker::start_from(dir.path(), &properties, port);
        workers[victim].wait_joined(JOIN);
        // Data moving through every pipeline again (each generator task) tells that the work of the bounced worker
        // runs somewhere: its statuses may still say RUNNING from before (the restarted worker has the same id).
        let before = workload.progress();
        let what = format!("{kind} round {} of worker {}", round + 1, workers[victim].id());
        workload.wait_progress(&before, RECOVER, &what);
        reliability::wait_all_running(&rests(&workers), &connectors, RECOVER, &what);
        let took = started.elapsed();
        eprintln!("{what}: stopped in {stopped:?}, everything running and delivering again after {took:?}");
        recoveries.push((kind, took));
    }

    reliability::wait_all_running(&rests(&workers), &connectors, RECOVER, "the end of the bounces");
    reliability::check_status_topic(&broker, "bounce-status", &rests(&workers), &connectors, Duration::from_secs(30));
    let delivery = workload.finish(&broker, RECOVER);
    for kind in ["kill -9", "SIGTERM"] {
        let times: Vec<Duration> = recoveries.iter().filter(|(k, _)| *k == kind).map(|(_, t)| *t).collect();
        let max = times.iter().max().copied().unwrap_or_default();
        let mean = times.iter().sum::<Duration>() / times.len().max(1) as u32;
        eprintln!("{kind}: {} rounds, recovery mean {mean:?}, max {max:?}", times.len());
    }
    assert!(delivery.records > 0);
    for worker in &mut workers {
        assert!(worker.process.is_running(), "worker {} exited:\n{}", worker.id(), worker.process.output());
    }
}
