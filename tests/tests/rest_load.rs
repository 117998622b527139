//! The REST API under load: 200 concurrent clients ask a 3-worker cluster for connector lists, statuses, configs
//! and task lists while connectors are created and deleted (rebalances). No error but the documented 409 (a
//! rebalance in progress); latency percentiles, request counts and the workers' memory are printed.
//!
//! CI runs 15 s; `CONNECT_SOAK_LOAD_SECS=60` (`scripts/soak`) runs 60 s.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use connect_tests::reliability::{self, quantile, rss_kib};
use connect_tests::*;
use serde_json::json;

const JOIN: Duration = Duration::from_secs(90);
const SETTLE: Duration = Duration::from_secs(120);
const CLIENTS: usize = 200;
/// What a single request may take before it counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How much a worker's resident memory may grow over the run before it looks like a leak.
const RSS_GROWTH_LIMIT_KIB: u64 = 128 * 1024;

fn generator(topic: &str) -> serde_json::Value {
    json!({"connector.class": "com.connectrs.test.GeneratorSourceConnector", "tasks.max": "2", "topic": topic,
           "batch.size": "10", "interval.ms": "200", "value.size": "20"})
}

/// One answer: which endpoint, its status (0: no answer), how long it took.
type Sample = (&'static str, u16, Duration);

async fn client(
    http: reqwest::Client,
    ports: Arc<Vec<u16>>,
    connectors: Arc<Vec<String>>,
    seed: u64,
    until: Instant,
) -> Vec<Sample> {
    let mut rng = reliability::Rng::new(seed);
    let mut samples = Vec::new();
    while Instant::now() < until {
        let port = *rng.pick(&ports);
        let name = rng.pick(&connectors).clone();
        let (endpoint, path): (&'static str, String) = match rng.below(8) {
            0 => ("list", "/connectors".into()),
            1 => ("list?expand=status", "/connectors?expand=status".into()),
            2 => ("list?expand=info", "/connectors?expand=info".into()),
            3 => ("status", format!("/connectors/{name}/status")),
            4 => ("config", format!("/connectors/{name}/config")),
            5 => ("info", format!("/connectors/{name}")),
            6 => ("tasks", format!("/connectors/{name}/tasks")),
            _ => ("task status", format!("/connectors/{name}/tasks/0/status")),
        };
        let started = Instant::now();
        let status = match http.get(format!("http://127.0.0.1:{port}{path}")).send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                // Read the whole body: a response cut short is an error too.
                match response.bytes().await {
                    Ok(_) => status,
                    Err(_) => 0,
                }
            }
            Err(_) => 0,
        };
        samples.push((endpoint, status, started.elapsed()));
    }
    samples
}

#[test]
fn two_hundred_clients_get_answers_from_a_three_worker_cluster() {
    let duration = Duration::from_secs(reliability::env_or("CONNECT_SOAK_LOAD_SECS", 15));
    let broker = Broker::start();
    broker.create_topic("load", 1);
    let dir = test_dir();
    let plugins = plugin_dir(dir.path(), &["test_plugin_generator"]);
    let workers = start_cluster(3, JOIN, dir.path(), &broker, &plugins, "load", &[]);
    let rest = workers[0].rest.clone();
    let names: Vec<String> = (0..3).map(|i| format!("load-{i}")).collect();
    for name in &names {
        rest.create_connector(name, generator("load"));
    }
    let wanted: Vec<(String, usize)> = names.iter().map(|n| (n.clone(), 2)).collect();
    let rests: Vec<Rest> = workers.iter().map(|w| w.rest.clone()).collect();
    reliability::wait_all_running(&rests, &wanted, SETTLE, "the connectors running");
    let rss_before: Vec<u64> = workers.iter().map(|w| rss_kib(w.process.pid())).collect();

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio");
    let http = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .expect("HTTP client");
    let ports = Arc::new(workers.iter().map(|w| w.port).collect::<Vec<_>>());
    let connectors = Arc::new(names.clone());
    let started = Instant::now();
    let until = started + duration;
    let clients: Vec<_> = (0..CLIENTS as u64)
        .map(|i| runtime.spawn(client(http.clone(), ports.clone(), connectors.clone(), i + 1, until)))
        .collect();
    // Meanwhile an operator adds a connector and removes it again: two rebalances under load.
    std::thread::sleep(duration / 3);
    rest.create_connector("load-extra", generator("load"));
    std::thread::sleep(duration / 3);
    let (code, body) = rest.delete("/connectors/load-extra");
    assert!(code == 204 || code == 409, "DELETE load-extra: {code} {body}");
    let samples: Vec<Sample> =
        runtime.block_on(async { futures_join(clients).await }).into_iter().flatten().collect::<Vec<_>>();
    let elapsed = started.elapsed();
    let rss_after: Vec<u64> = workers.iter().map(|w| rss_kib(w.process.pid())).collect();

    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    let mut by_endpoint: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    for (endpoint, status, took) in &samples {
        *by_status.entry(*status).or_default() += 1;
        by_endpoint.entry(endpoint).or_default().push(*took);
    }
    let mut all: Vec<Duration> = samples.iter().map(|(_, _, t)| *t).collect();
    all.sort();
    eprintln!(
        "{} requests from {CLIENTS} clients in {elapsed:?} ({:.0}/s): by status {by_status:?} (0: no answer); \
         latency p50 {:?}, p99 {:?}, max {:?}",
        samples.len(),
        samples.len() as f64 / elapsed.as_secs_f64(),
        quantile(&all, 0.5),
        quantile(&all, 0.99),
        all.last().copied().unwrap_or_default()
    );
    for (endpoint, mut times) in by_endpoint {
        times.sort();
        eprintln!(
            "  {endpoint:>20}: {:>6} requests, p50 {:?}, p99 {:?}",
            times.len(),
            quantile(&times, 0.5),
            quantile(&times, 0.99)
        );
    }
    for ((worker, before), after) in workers.iter().zip(&rss_before).zip(&rss_after) {
        eprintln!("  worker {}: RSS {} MiB before, {} MiB after", worker.id(), before / 1024, after / 1024);
    }

    let errors: Vec<(&u16, &usize)> = by_status.iter().filter(|(s, _)| **s != 200 && **s != 409).collect();
    assert!(errors.is_empty(), "errors under load (status: count): {errors:?}");
    assert!(samples.len() > CLIENTS, "the clients barely got answers: {} requests", samples.len());
    for ((worker, before), after) in workers.iter().zip(&rss_before).zip(&rss_after) {
        assert!(*before > 0 && *after > 0, "no RSS for worker {}", worker.id());
        assert!(
            after.saturating_sub(*before) < RSS_GROWTH_LIMIT_KIB,
            "worker {} grew from {before} KiB to {after} KiB under load",
            worker.id()
        );
    }
    // The cluster is still whole after the load.
    reliability::wait_all_running(&rests, &wanted, SETTLE, "the connectors running after the load");
}

/// Awaits every client task.
async fn futures_join(handles: Vec<tokio::task::JoinHandle<Vec<Sample>>>) -> Vec<Vec<Sample>> {
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.expect("client task"));
    }
    out
}
