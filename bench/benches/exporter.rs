//! Kafka Exporter scrape cost on one tansu broker: `EXPORTER_BENCH_GROUPS` consumer groups (default 1 000), each
//! with committed offsets on the 10 partitions of one of `EXPORTER_BENCH_TOPICS` topics (default 10), against the
//! way kafka_exporter collects the same data, implemented here on the same Kafka client in the same run:
//!
//! - metadata, then per topic (min(topics/2, 100) topics at a time) two single-partition ListOffsets per partition
//!   (latest, earliest), one after the other;
//! - ListGroups, then per group, one after the other: OffsetFetch for every partition of the filtered topics, and
//!   for each returned partition of a topic the group consumes one more single-partition ListOffsets (latest).
//!
//! DescribeGroups is left out of both: tansu 0.6.0 drops the connection on it (kafka_exporter then reports no
//! group at all; our exporter stops asking after the first scrape). Ours is scraped over HTTP from a
//! `RunningExporter` in this process; its requests per scrape are read from `kafka_exporter_kafka_requests_total`.
//! Prints p50/p90 scrape times, requests per scrape and the ratio of the p50s.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use connect_exporter::kafka::{ClientSettings, KafkaClient};
use connect_exporter::{ExporterConfig, RunningExporter};
use connect_tests::broker::free_port;
use connect_tests::exporter::{commit, scrape_url};
use connect_tests::Broker;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::offset_fetch_request::{OffsetFetchRequestGroup, OffsetFetchRequestTopics};
use kafka_protocol::messages::{
    BrokerId, GroupId, ListGroupsRequest, ListOffsetsRequest, MetadataRequest, OffsetFetchRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

const PARTITIONS: i32 = 10;

/// The topics still to be done by the topic workers, with their partitions.
type TopicQueue = Arc<std::sync::Mutex<Vec<(String, Vec<i32>)>>>;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn topic(i: usize) -> String {
    format!("bench-topic-{i}")
}

/// Topics with a few records per partition, groups committed on every partition of one topic each.
fn setup(broker: &Broker, topics: usize, groups: usize) {
    let started = Instant::now();
    for t in 0..topics {
        broker.create_topic(&topic(t), PARTITIONS);
    }
    let producer: ThreadedProducer<DefaultProducerContext> = broker.client_config().create().expect("producer");
    for t in 0..topics {
        for p in 0..PARTITIONS {
            for r in 0..5 {
                let value = format!("{t}-{p}-{r}");
                producer.send(BaseRecord::<(), str>::to(&topic(t)).partition(p).payload(&value)).expect("send");
            }
        }
    }
    producer.flush(Duration::from_secs(120)).expect("flush");
    let next = Arc::new(AtomicUsize::new(0));
    std::thread::scope(|scope| {
        for _ in 0..4 {
            let next = next.clone();
            scope.spawn(move || loop {
                let g = next.fetch_add(1, Ordering::Relaxed);
                if g >= groups {
                    break;
                }
                let name = topic(g % topics);
                let offsets: Vec<(&str, i32, i64)> =
                    (0..PARTITIONS).map(|p| (name.as_str(), p, (g % 5) as i64)).collect();
                commit(broker, &format!("bench-group-{g}"), &offsets);
            });
        }
    });
    eprintln!(
        "setup: {topics} topics x {PARTITIONS} partitions, {groups} groups in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// The kafka_exporter way, on our client; returns (elapsed, requests sent).
async fn upstream_scrape(client: &KafkaClient, bootstrap: &str) -> (Duration, u64) {
    let before = client.counts().total();
    let started = Instant::now();
    let metadata =
        client.request(bootstrap, 1, 12, |_| MetadataRequest::default().with_topics(None)).await.expect("metadata");
    let leader_of = |topic: &str, partition: i32| -> String {
        let t = metadata.topics.iter().find(|t| t.name.as_ref().map(|n| n.0.as_str()) == Some(topic)).expect("topic");
        let leader = t.partitions.iter().find(|p| p.partition_index == partition).expect("partition").leader_id;
        let b = metadata.brokers.iter().find(|b| b.node_id == leader).expect("leader");
        format!("{}:{}", b.host.as_str(), b.port)
    };
    let topics: BTreeMap<String, Vec<i32>> = metadata
        .topics
        .iter()
        .filter_map(|t| {
            let name = t.name.as_ref()?.0.to_string();
            Some((name, t.partitions.iter().map(|p| p.partition_index).collect()))
        })
        .collect();

    // Topic phase: N workers, each topic's partitions one after the other, two requests per partition.
    let workers = if topics.len() > 1 { (topics.len() / 2).min(100) } else { topics.len() };
    let queue: TopicQueue = Arc::new(std::sync::Mutex::new(topics.clone().into_iter().collect()));
    let latest: Arc<std::sync::Mutex<BTreeMap<(String, i32), i64>>> = Arc::default();
    let single = |topic: &str, partition: i32, timestamp: i64| {
        ListOffsetsRequest::default().with_replica_id(BrokerId(-1)).with_topics(vec![ListOffsetsTopic::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(partition)
                .with_timestamp(timestamp)])])
    };
    let worker = |queue: TopicQueue| {
        let latest = latest.clone();
        let leader_of = &leader_of;
        let single = &single;
        async move {
            loop {
                let Some((topic, partitions)) = queue.lock().unwrap().pop() else { break };
                for p in partitions {
                    let leader = leader_of(&topic, p);
                    let answer = client.request(&leader, 1, 9, |_| single(&topic, p, -1)).await.expect("latest");
                    let offset = answer.topics[0].partitions[0].offset;
                    latest.lock().unwrap().insert((topic.clone(), p), offset);
                    client.request(&leader, 1, 9, |_| single(&topic, p, -2)).await.expect("earliest");
                }
            }
        }
    };
    let mut running = Vec::new();
    for _ in 0..workers {
        running.push(worker(queue.clone()));
    }
    futures_join(running).await;

    // Group phase: one broker; its groups one after the other.
    let listed = client.request(bootstrap, 0, 4, |_| ListGroupsRequest::default()).await.expect("list groups");
    for group in listed.groups {
        let request_topics: Vec<OffsetFetchRequestTopics> = topics
            .iter()
            .map(|(t, ps)| {
                OffsetFetchRequestTopics::default()
                    .with_name(TopicName(StrBytes::from_string(t.clone())))
                    .with_partition_indexes(ps.clone())
            })
            .collect();
        let request = OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
            .with_group_id(GroupId(group.group_id.0.clone()))
            .with_topics(Some(request_topics))]);
        let fetched = client.request(bootstrap, 8, 9, |_| request).await.expect("offset fetch");
        for t in &fetched.groups[0].topics {
            if t.partitions.iter().all(|p| p.committed_offset == -1) {
                continue;
            }
            let name = t.name.0.to_string();
            for p in &t.partitions {
                let leader = leader_of(&name, p.partition_index);
                client.request(&leader, 1, 9, |_| single(&name, p.partition_index, -1)).await.expect("lag offset");
            }
        }
    }
    (started.elapsed(), client.counts().total() - before)
}

/// Runs futures concurrently on the current task (no spawning: they borrow the client).
async fn futures_join<F: std::future::Future<Output = ()>>(futures: Vec<F>) {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    std::future::poll_fn(|cx| {
        set.retain_mut(|f| f.as_mut().poll(cx).is_pending());
        if set.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn requests_of(text: &str) -> u64 {
    text.lines()
        .filter(|l| l.starts_with("kafka_exporter_kafka_requests_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

fn main() {
    let topics = env("EXPORTER_BENCH_TOPICS", 10);
    let groups = env("EXPORTER_BENCH_GROUPS", 1000);
    let rounds = env("EXPORTER_BENCH_ROUNDS", 10);
    let upstream_rounds = env("EXPORTER_BENCH_UPSTREAM_ROUNDS", 3);
    let broker = Broker::start();
    setup(&broker, topics, groups);

    // Ours: the exporter as the dedicated mode runs it, scraped over HTTP.
    let port = free_port();
    let props = connect_api::Config::from([
        ("kafka.server".to_string(), broker.bootstrap()),
        ("web.listen-address".to_string(), format!("127.0.0.1:{port}")),
        ("scrape.timeout".to_string(), "120s".to_string()),
        ("concurrent.enable".to_string(), "true".to_string()),
    ]);
    let exporter = RunningExporter::start(ExporterConfig::parse(&props).expect("config")).expect("exporter");
    let url = format!("http://127.0.0.1:{port}/metrics");
    let warm = scrape_url(&url, None);
    let groups_seen = warm.label_values("kafka_consumergroup_current_offset", "consumergroup").len();
    assert_eq!(groups_seen, groups, "every group must be in the scrape");
    let mut ours = Vec::new();
    let mut ours_requests = Vec::new();
    let mut previous = requests_of(&warm.text);
    for _ in 0..rounds {
        let m = scrape_url(&url, None);
        assert_eq!(m.label_values("kafka_consumergroup_lag", "consumergroup").len(), groups);
        ours.push(m.took.as_secs_f64());
        let total = requests_of(&m.text);
        ours_requests.push(total - previous);
        previous = total;
    }
    exporter.stop();

    // The upstream way, same broker, same run.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let client = KafkaClient::new(ClientSettings {
        bootstrap: vec![broker.bootstrap()],
        client_id: "kafka_exporter".to_string(),
        request_timeout: Duration::from_secs(60),
        tls: None,
        sasl: None,
    });
    let mut upstream = Vec::new();
    let mut upstream_requests = Vec::new();
    for round in 0..upstream_rounds {
        let (took, requests) = runtime.block_on(upstream_scrape(&client, &broker.bootstrap()));
        eprintln!("upstream round {round}: {:.2} s, {requests} requests", took.as_secs_f64());
        upstream.push(took.as_secs_f64());
        upstream_requests.push(requests);
    }

    ours.sort_by(f64::total_cmp);
    upstream.sort_by(f64::total_cmp);
    let (ours_p50, up_p50) = (percentile(&ours, 0.5), percentile(&upstream, 0.5));
    println!("| {groups} groups x {PARTITIONS} partitions ({topics} topics) | p50 scrape | p90 scrape | Kafka requests per scrape |");
    println!("|---|---|---|---|");
    println!(
        "| kafka_exporter's way ({} rounds) | {:.3} s | {:.3} s | {} |",
        upstream.len(),
        up_p50,
        percentile(&upstream, 0.9),
        upstream_requests[0]
    );
    println!(
        "| connect-rs exporter ({} scrapes) | {:.3} s | {:.3} s | {} |",
        ours.len(),
        ours_p50,
        percentile(&ours, 0.9),
        ours_requests.iter().max().copied().unwrap_or_default()
    );
    println!(
        "ratio of p50s: {:.1}x; requests: {:.0}x fewer",
        up_p50 / ours_p50,
        upstream_requests[0] as f64 / ours_requests[0].max(1) as f64
    );
}
