//! The Kafka Exporter end to end against a real tansu broker: the dedicated mode (`connect exporter` with
//! kafka_exporter's flags) and the built-in connector in a standalone worker. Topics get known end offsets, groups
//! commit known offsets with rdkafka, and every series is checked after a scrape against those numbers and
//! kafka_exporter's rules (`reference/kafka-exporter.md`).

use std::net::TcpListener;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use connect_tests::broker::free_port;
use connect_tests::exporter::*;
use connect_tests::*;
use serde_json::json;

const EXIT: Duration = Duration::from_secs(30);

fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

/// orders: 3 partitions with 5, 3, 0 records; payments: 1 partition with 4; audit: 2 partitions with 1, 0.
fn topics(broker: &Broker) {
    broker.create_topic("orders", 3);
    broker.create_topic("payments", 1);
    broker.create_topic("audit", 2);
    produce_to(broker, "orders", 0, 5);
    produce_to(broker, "orders", 1, 3);
    produce_to(broker, "payments", 0, 4);
    produce_to(broker, "audit", 0, 1);
}

#[test]
fn every_series_has_kafka_exporter_s_value() {
    let broker = Broker::start();
    topics(&broker);
    // Committed on orders p0 (2 of 5) and p1 (caught up at 3), not p2; on payments (1 of 4).
    commit(&broker, "billing", &[("orders", 0, 2), ("orders", 1, 3), ("payments", 0, 1)]);
    // Commits on audit p1 only, at 0 (an empty partition).
    commit(&broker, "auditors", &[("audit", 1, 0)]);
    // A member that never commits.
    let idle = member(&broker, "idle", &["payments"]);
    wait_assigned(&idle, Duration::from_secs(30));

    let dir = test_dir();
    let exporter = ExporterProcess::start(dir.path(), &broker, &["--kafka.labels=cluster=test"]);
    let before_first = unix_now();
    let m = exporter.scrape();
    let after_first = unix_now();
    assert_eq!(m.status, 200);
    let c = ("cluster", "test");

    // Brokers.
    assert_eq!(m.get("kafka_brokers", &[c]), 1.0);
    let info = m.samples("kafka_broker_info", &[c, ("address", &broker.bootstrap())]);
    assert_eq!(info.len(), 1, "{}", m.text);
    assert_eq!(info[0].1, 1.0);
    let broker_id = info[0].0["id"].clone();

    // Topics.
    for (topic, partitions) in [("orders", 3.0), ("payments", 1.0), ("audit", 2.0)] {
        assert_eq!(m.get("kafka_topic_partitions", &[c, ("topic", topic)]), partitions);
    }
    for (topic, partition, end) in [
        ("orders", "0", 5.0),
        ("orders", "1", 3.0),
        ("orders", "2", 0.0),
        ("payments", "0", 4.0),
        ("audit", "0", 1.0),
        ("audit", "1", 0.0),
    ] {
        let at = [c, ("topic", topic), ("partition", partition)];
        assert_eq!(m.get("kafka_topic_partition_current_offset", &at), end, "{topic}/{partition}");
        assert_eq!(m.get("kafka_topic_partition_oldest_offset", &at), 0.0, "{topic}/{partition}");
        assert_eq!(m.get("kafka_topic_partition_leader", &at).to_string(), broker_id);
        assert_eq!(m.get("kafka_topic_partition_replicas", &at), 1.0);
        assert_eq!(m.get("kafka_topic_partition_in_sync_replica", &at), 1.0);
        assert_eq!(m.get("kafka_topic_partition_leader_is_preferred", &at), 1.0);
        assert_eq!(m.get("kafka_topic_partition_under_replicated_partition", &at), 0.0);
    }

    // billing: committed offsets, -1 where it did not commit, lag against the end offsets.
    let g = |topic, partition| [c, ("consumergroup", "billing"), ("topic", topic), ("partition", partition)];
    assert_eq!(m.get("kafka_consumergroup_current_offset", &g("orders", "0")), 2.0);
    assert_eq!(m.get("kafka_consumergroup_current_offset", &g("orders", "1")), 3.0);
    assert_eq!(m.get("kafka_consumergroup_current_offset", &g("orders", "2")), -1.0);
    assert_eq!(m.get("kafka_consumergroup_lag", &g("orders", "0")), 3.0);
    assert_eq!(m.get("kafka_consumergroup_lag", &g("orders", "1")), 0.0);
    assert_eq!(m.get("kafka_consumergroup_lag", &g("orders", "2")), -1.0);
    let sums = |topic| [c, ("consumergroup", "billing"), ("topic", topic)];
    assert_eq!(m.get("kafka_consumergroup_current_offset_sum", &sums("orders")), 4.0, "2 + 3 + (-1)");
    assert_eq!(m.get("kafka_consumergroup_lag_sum", &sums("orders")), 3.0, "the -1 is not added");
    assert_eq!(m.get("kafka_consumergroup_current_offset", &g("payments", "0")), 1.0);
    assert_eq!(m.get("kafka_consumergroup_lag", &g("payments", "0")), 3.0);
    assert_eq!(m.get("kafka_consumergroup_current_offset_sum", &sums("payments")), 1.0);
    assert_eq!(m.get("kafka_consumergroup_lag_sum", &sums("payments")), 3.0);
    assert!(m
        .samples("kafka_consumergroup_current_offset", &[("consumergroup", "billing"), ("topic", "audit")])
        .is_empty());

    // auditors committed 0 on audit/1: a real commit, so the topic shows, audit/0 at -1.
    let a = |partition| [c, ("consumergroup", "auditors"), ("topic", "audit"), ("partition", partition)];
    assert_eq!(m.get("kafka_consumergroup_current_offset", &a("1")), 0.0);
    assert_eq!(m.get("kafka_consumergroup_lag", &a("1")), 0.0);
    assert_eq!(m.get("kafka_consumergroup_current_offset", &a("0")), -1.0);
    assert_eq!(m.get("kafka_consumergroup_lag", &a("0")), -1.0);

    // idle never committed: no offset or lag series.
    for name in
        ["kafka_consumergroup_current_offset", "kafka_consumergroup_lag", "kafka_consumergroup_current_offset_sum"]
    {
        assert!(m.samples(name, &[("consumergroup", "idle")]).is_empty(), "{name} of idle:\n{}", m.text);
    }

    // Members: tansu 0.6.0 cannot describe groups; where the broker can, the members series is there.
    if m.has("kafka_consumergroup_members") {
        assert_eq!(m.get("kafka_consumergroup_members", &[c, ("consumergroup", "idle")]), 1.0);
    } else {
        assert!(exporter.process.output().contains("DescribeGroups"), "{}", exporter.process.output());
    }

    // The exporter's own series.
    assert!(m.get("kafka_exporter_scrape_duration_seconds", &[c]) > 0.0);
    assert_eq!(m.get("kafka_exporter_scrape_errors_total", &[c, ("reason", "deadline")]), 0.0);
    assert_eq!(
        m.get("kafka_exporter_scrape_errors_total", &[c, ("reason", "kafka")]),
        0.0,
        "{}",
        exporter.process.output()
    );
    // One request per leader and kind: the one broker leads everything.
    assert_eq!(m.get("kafka_exporter_kafka_requests_total", &[c, ("api", "ListOffsets")]), 2.0);
    assert_eq!(m.get("kafka_exporter_kafka_requests_total", &[c, ("api", "ListGroups")]), 1.0);
    assert_eq!(
        m.get("kafka_exporter_kafka_requests_total", &[c, ("api", "OffsetFetch")]),
        1.0,
        "three groups, one request"
    );
    let build = m.samples("kafka_exporter_build_info", &[]);
    assert_eq!(build.len(), 1);
    assert!(
        build[0].0.contains_key("version") && build[0].0.contains_key("goarch") && !build[0].0.contains_key("cluster")
    );
    for name in
        ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "process_start_time_seconds"]
    {
        assert!(m.has(name), "{name}");
    }
    assert_eq!(m.get("promhttp_metric_handler_requests_in_flight", &[]), 1.0);

    // Strimzi's dashboard variables and panels find their series (queries of reference section 4).
    for name in [
        "kafka_topic_partitions",
        "kafka_topic_partition_current_offset",
        "kafka_topic_partition_oldest_offset",
        "kafka_topic_partition_replicas",
        "kafka_topic_partition_in_sync_replica",
        "kafka_topic_partition_under_replicated_partition",
        "kafka_topic_partition_leader_is_preferred",
        "kafka_consumergroup_current_offset",
        "kafka_consumergroup_lag",
    ] {
        assert!(m.label_values(name, "topic").contains(&"orders".to_string()), "{name}");
    }
    assert_eq!(m.label_values("kafka_consumergroup_current_offset", "consumergroup"), vec!["auditors", "billing"]);

    // A group that commits later shows up at the next scrape; more records raise the lag.
    assert!(m.samples("kafka_consumergroup_current_offset", &[("consumergroup", "latecomer")]).is_empty());
    commit(&broker, "latecomer", &[("orders", 0, 4)]);
    produce_to(&broker, "payments", 0, 2);
    let before_second = unix_now();
    let m2 = exporter.scrape();
    let after_second = unix_now();
    let l = |partition| [c, ("consumergroup", "latecomer"), ("topic", "orders"), ("partition", partition)];
    assert_eq!(m2.get("kafka_consumergroup_current_offset", &l("0")), 4.0);
    assert_eq!(m2.get("kafka_consumergroup_lag", &l("0")), 1.0);
    assert_eq!(m2.get("kafka_consumergroup_current_offset", &l("1")), -1.0);
    assert_eq!(m2.get("kafka_topic_partition_current_offset", &[c, ("topic", "payments"), ("partition", "0")]), 6.0);
    assert_eq!(m2.get("kafka_consumergroup_lag", &g("payments", "0")), 5.0);
    assert_eq!(m2.get("kafka_exporter_kafka_requests_total", &[c, ("api", "ListOffsets")]), 4.0);

    // Lag in seconds: billing is caught up on orders/1 (0 s). On payments its offset 1 was never the end offset
    // seen (4 at the first sample, 6 at the second): extrapolated from the trend, 2 offsets per (t2 - t1), the end
    // was at 1 five offsets before t2: 2.5 (t2 - t1). orders/0 committed at 2, the end stayed at 5: a flat table
    // cannot tell.
    assert_eq!(m2.get("kafka_consumergroup_lag_seconds", &g("orders", "1")), 0.0);
    let seconds = m2.get("kafka_consumergroup_lag_seconds", &g("payments", "0"));
    let (low, high) = (2.5 * (before_second - after_first), 2.5 * (after_second - before_first));
    assert!(seconds >= low - 0.01 && seconds <= high + 0.01, "{seconds} not in {low}..{high}");
    assert_eq!(m2.value("kafka_consumergroup_lag_seconds", &g("orders", "0")), None);
    assert_eq!(m2.value("kafka_consumergroup_lag_seconds", &g("orders", "2")), None, "no commit, no lag in seconds");
    drop(idle);
}

#[test]
fn lag_seconds_follow_the_sampled_end_offsets() {
    let broker = Broker::start();
    broker.create_topic("events", 1);
    produce_to(&broker, "events", 0, 10);
    commit(&broker, "slow", &[("events", 0, 10)]);
    let dir = test_dir();
    let exporter = ExporterProcess::start(dir.path(), &broker, &[]);
    let at = [("consumergroup", "slow"), ("topic", "events"), ("partition", "0")];

    // Sample 1 at t1: end 10. Then 10 more records; sample 2 at t2: end 20.
    let t1_before = unix_now();
    let first = exporter.scrape();
    let t1_after = unix_now();
    assert_eq!(first.get("kafka_consumergroup_lag_seconds", &at), 0.0, "caught up");
    std::thread::sleep(Duration::from_secs(2));
    produce_to(&broker, "events", 0, 10);
    let t2_before = unix_now();
    let second = exporter.scrape();
    let t2_after = unix_now();
    // The group is still at 10, which was the end offset at t1 (and until the records came): lag = t2 - t1.
    let seconds = second.get("kafka_consumergroup_lag_seconds", &at);
    assert!(seconds >= t2_before - t1_after - 0.01 && seconds <= t2_after - t1_before + 0.01, "{seconds}");
    assert!(seconds >= 2.0, "{seconds}");
    assert_eq!(second.get("kafka_consumergroup_lag", &at), 10.0);

    // The group catches up halfway (offset 15): the log end was there halfway between the first two samples; the
    // third sample (end still 20) is the reference time.
    commit(&broker, "slow", &[("events", 0, 15)]);
    std::thread::sleep(Duration::from_millis(1100));
    let t3_before = unix_now();
    let third = exporter.scrape();
    let t3_after = unix_now();
    let seconds = third.get("kafka_consumergroup_lag_seconds", &at);
    let (low, high) = (t3_before - (t1_after + t2_after) / 2.0, t3_after - (t1_before + t2_before) / 2.0);
    assert!(seconds >= low - 0.01 && seconds <= high + 0.01, "{seconds} not in {low}..{high}");
    assert_eq!(third.get("kafka_consumergroup_lag", &at), 5.0);
}

#[test]
fn filters_and_excludes() {
    let broker = Broker::start();
    topics(&broker);
    commit(&broker, "billing", &[("orders", 0, 2), ("payments", 0, 1)]);
    commit(&broker, "billing-test", &[("orders", 0, 1)]);
    commit(&broker, "auditors", &[("audit", 1, 0)]);
    let dir = test_dir();
    let exporter = ExporterProcess::start(
        dir.path(),
        &broker,
        &[
            "--topic.filter=orders|payments|audit",
            "--topic.exclude=^pay",
            "--group.filter=bill",
            "--group.exclude=-test$",
        ],
    );
    let m = exporter.scrape();
    assert_eq!(m.label_values("kafka_topic_partitions", "topic"), vec!["audit", "orders"]);
    assert_eq!(m.label_values("kafka_topic_partition_current_offset", "topic"), vec!["audit", "orders"]);
    assert_eq!(m.label_values("kafka_consumergroup_current_offset", "consumergroup"), vec!["billing"]);
    // An excluded topic's offsets are not shown for the groups either (offset.show-all asks for filtered topics).
    assert_eq!(m.label_values("kafka_consumergroup_current_offset", "topic"), vec!["orders"]);
    assert_eq!(
        m.get("kafka_consumergroup_lag", &[("consumergroup", "billing"), ("topic", "orders"), ("partition", "0")]),
        3.0
    );
}

#[test]
fn show_all_false_reports_assigned_partitions_only() {
    let broker = Broker::start();
    topics(&broker);
    commit(&broker, "stale", &[("orders", 0, 1)]);
    let live = member(&broker, "live", &["orders"]);
    wait_assigned(&live, Duration::from_secs(30));
    commit(&broker, "live", &[("orders", 0, 4), ("payments", 0, 2)]);
    let dir = test_dir();
    let exporter = ExporterProcess::start(dir.path(), &broker, &["--offset.show-all=false"]);
    let m = exporter.scrape();
    assert_eq!(m.status, 200);
    // A group without members has no assignment: nothing is fetched for it (kafka_exporter's #536 fetched all).
    assert!(m.samples("kafka_consumergroup_current_offset", &[("consumergroup", "stale")]).is_empty(), "{}", m.text);
    if m.has("kafka_consumergroup_members") {
        // Only what the member is assigned (orders), not payments where it committed too.
        assert_eq!(m.label_values("kafka_consumergroup_current_offset", "topic"), vec!["orders"]);
        let at = [("consumergroup", "live"), ("topic", "orders"), ("partition", "0")];
        assert_eq!(m.get("kafka_consumergroup_current_offset", &at), 4.0);
        assert_eq!(m.get("kafka_consumergroup_lag", &at), 1.0);
    } else {
        // tansu 0.6.0 cannot describe groups, so there are no assignments to go by: no group offsets, one log line.
        assert!(!m.has("kafka_consumergroup_current_offset"), "{}", m.text);
        let output = exporter.process.output();
        assert_eq!(output.matches("DescribeGroups").count(), 1, "{output}");
        let again = exporter.scrape();
        assert_eq!(again.status, 200);
        assert_eq!(exporter.process.output().matches("DescribeGroups").count(), 1, "logged once");
    }
    drop(live);
}

#[test]
fn a_scrape_while_the_broker_is_down_answers_in_time() {
    let mut broker = Broker::start();
    topics(&broker);
    commit(&broker, "billing", &[("orders", 0, 2)]);
    let dir = test_dir();
    let exporter = ExporterProcess::start(dir.path(), &broker, &["--scrape.timeout=3s"]);
    let healthy = exporter.scrape();
    assert_eq!(healthy.get("kafka_exporter_scrape_errors_total", &[("reason", "kafka")]), 0.0);

    // A frozen broker accepts connections and answers nothing: the deadline answers.
    broker.pause();
    let frozen = exporter.scrape();
    broker.resume();
    assert_eq!(frozen.status, 200);
    assert!(frozen.took < Duration::from_secs(5), "{:?}", frozen.took);
    assert_eq!(frozen.get("kafka_exporter_scrape_errors_total", &[("reason", "deadline")]), 1.0, "{}", frozen.text);
    // What metadata says is still there.
    assert_eq!(frozen.get("kafka_topic_partitions", &[("topic", "orders")]), 3.0);

    // Prometheus' own timeout is shorter: 90% of it.
    broker.pause();
    let url = format!("http://127.0.0.1:{}/metrics", exporter.port);
    let short = scrape_url(&url, Some("1.5"));
    broker.resume();
    assert!(short.took < Duration::from_millis(2500), "{:?}", short.took);
    assert_eq!(short.get("kafka_exporter_scrape_errors_total", &[("reason", "deadline")]), 2.0);

    // Back to normal once it runs again.
    let recovered = wait_for("a complete scrape", Duration::from_secs(30), || {
        let m = exporter.scrape();
        m.value("kafka_consumergroup_lag", &[("consumergroup", "billing"), ("topic", "orders"), ("partition", "0")])
            .map(|_| m)
    });
    assert_eq!(recovered.get("kafka_topic_partition_current_offset", &[("topic", "orders"), ("partition", "0")]), 5.0);

    // A dead broker refuses connections: an answer at once, the kafka error counted.
    broker.kill();
    let errors_before = recovered.get("kafka_exporter_scrape_errors_total", &[("reason", "kafka")]);
    let down = exporter.scrape();
    assert_eq!(down.status, 200);
    assert!(down.took < Duration::from_secs(4), "{:?}", down.took);
    assert_eq!(down.get("kafka_exporter_scrape_errors_total", &[("reason", "kafka")]), errors_before + 1.0);
    assert!(!down.has("kafka_topic_partition_current_offset"), "{}", down.text);
    assert!(down.has("kafka_exporter_build_info"));
}

#[test]
fn the_connector_exports_the_worker_s_cluster() {
    let broker = Broker::start();
    topics(&broker);
    commit(&broker, "billing", &[("orders", 0, 2)]);
    let dir = test_dir();
    let plugins = plugin_dir(dir.path(), &[]);
    let worker = worker_properties(dir.path(), &broker, &plugins, &[]);
    let port = free_port();
    let connector = dir.path().join("exporter.properties");
    write_properties(
        &connector,
        &[
            ("name", "kafka-exporter"),
            ("connector.class", "KafkaExporter"),
            ("tasks.max", "3"),
            ("web.listen-address", &format!("127.0.0.1:{port}")),
            ("kafka.labels", "cluster=worker"),
        ],
    );
    let mut process = ConnectProcess::standalone(&worker, &[&connector], &dir.path().join("worker.log"));
    process.wait_for_output("the Kafka Exporter serves", Duration::from_secs(60));
    let url = format!("http://127.0.0.1:{port}/metrics");
    let m = wait_for("a scrape with group offsets", Duration::from_secs(30), || {
        let m = scrape_url(&url, None);
        m.has("kafka_consumergroup_lag").then_some(m)
    });
    let at = [("cluster", "worker"), ("consumergroup", "billing"), ("topic", "orders"), ("partition", "0")];
    assert_eq!(m.get("kafka_consumergroup_current_offset", &at), 2.0);
    assert_eq!(m.get("kafka_consumergroup_lag", &at), 3.0);
    assert_eq!(m.get("kafka_topic_partition_current_offset", &[("topic", "payments"), ("partition", "0")]), 4.0);

    // One task whatever tasks.max says; a bad config is refused with the key named.
    let rest = Rest::new(rest_port(&worker));
    let (code, tasks) = rest.get("/connectors/kafka-exporter/tasks");
    assert_eq!((code, tasks.as_array().map(Vec::len)), (200, Some(1)), "{tasks}");
    let (code, report) = rest.put(
        "/connector-plugins/KafkaExporter/config/validate",
        &json!({"name": "x", "connector.class": "KafkaExporter", "topic.filter": "(", "use.consumelag.zookeeper": "true"}),
    );
    assert_eq!(code, 200, "{report}");
    assert_eq!(report["error_count"], 2, "{report}");

    // A second exporter of another cluster (here the same broker, named explicitly) beside the first.
    let other_port = free_port();
    let (code, body) = rest.put(
        "/connectors/other-exporter/config",
        &json!({
            "connector.class": "io.connectrs.exporter.KafkaExporterConnector",
            "kafka.server": broker.bootstrap(),
            "web.listen-address": format!("127.0.0.1:{other_port}"),
            "topic.filter": "^orders$",
        }),
    );
    assert!(code == 201 || code == 200, "{code} {body}");
    let other = wait_for("the second exporter", Duration::from_secs(30), || {
        std::panic::catch_unwind(|| scrape_url(&format!("http://127.0.0.1:{other_port}/metrics"), None)).ok()
    });
    assert_eq!(other.label_values("kafka_topic_partitions", "topic"), vec!["orders"]);

    // Stopping the worker stops the listener.
    assert!(process.terminate(EXIT).success());
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

/// The REST port of a worker file written by [`worker_properties`].
fn rest_port(worker: &std::path::Path) -> u16 {
    let text = std::fs::read_to_string(worker).unwrap();
    let listeners = text.lines().find_map(|l| l.strip_prefix("listeners=")).unwrap();
    listeners.rsplit(':').next().unwrap().parse().unwrap()
}

#[test]
fn the_dedicated_mode_stops_on_sigterm() {
    let broker = Broker::start();
    broker.create_topic("orders", 1);
    let dir = test_dir();
    let mut exporter = ExporterProcess::start(dir.path(), &broker, &["--web.telemetry-path=/prom"]);
    let base = format!("http://127.0.0.1:{}", exporter.port);
    let m = scrape_url(&format!("{base}/prom"), None);
    assert_eq!(m.get("kafka_topic_partitions", &[("topic", "orders")]), 1.0);
    let client = reqwest::blocking::Client::new();
    assert_eq!(client.get(format!("{base}/healthz")).send().unwrap().text().unwrap(), "ok");
    let home = client.get(format!("{base}/")).send().unwrap().text().unwrap();
    assert!(home.contains("<a href='/prom'>Metrics</a>"), "{home}");
    let started = Instant::now();
    assert!(exporter.process.terminate(EXIT).success());
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// `connect exporter` with `args`: its exit code and output.
fn exporter_fails(args: &[&str]) -> (i32, String) {
    let dir = test_dir();
    let mut all = vec!["exporter"];
    all.extend_from_slice(args);
    let mut process = ConnectProcess::start(&all, &dir.path().join("exporter.log"));
    let status = process.wait_exit(EXIT);
    (status.code().unwrap_or(-1), process.output())
}

#[test]
fn bad_flags_exit_1_naming_the_flag() {
    let listen = format!("--web.listen-address=127.0.0.1:{}", free_port());
    for (args, expected) in [
        (vec!["--kafka.servers=a:9092"], "unknown long flag '--kafka.servers'"),
        (vec!["kafka:9092"], "unexpected argument"),
        (vec!["--topic.filter=("], "--topic.filter: not a regular expression"),
        (vec!["--refresh.metadata=30"], "--refresh.metadata: time: missing unit"),
        (vec!["--topic.workers=lots"], "--topic.workers"),
        (vec!["--offset.show-all=perhaps"], "--offset.show-all"),
        (vec!["--use.consumelag.zookeeper"], "--use.consumelag.zookeeper: not supported"),
        (vec!["--server.tls.enabled"], "--server.tls.enabled: not supported"),
        (vec!["--sasl.enabled", "--sasl.mechanism=gssapi"], "--sasl.mechanism: gssapi (Kerberos) is not supported"),
        (vec!["--tls.enabled", "--tls.ca-file=/no/such/ca.pem"], "--tls.ca-file: cannot read /no/such/ca.pem"),
        (vec!["--tls.enabled", "--tls.cert-file=/etc/hostname"], "--tls.key-file"),
        (vec!["--log.format=json"], "--log.format: not supported"),
        (vec![&listen, "--kafka.server=127.0.0.1:1"], "--kafka.server: cannot reach the Kafka cluster at 127.0.0.1:1"),
    ] {
        let (code, output) = exporter_fails(&args);
        assert_eq!(code, 1, "{args:?}:\n{output}");
        assert!(output.contains(expected), "{args:?}: expected {expected:?} in:\n{output}");
        assert!(!output.contains("panicked"), "{output}");
    }
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = format!("--web.listen-address=127.0.0.1:{}", taken.local_addr().unwrap().port());
    let (code, output) = exporter_fails(&[&busy, "--kafka.server=127.0.0.1:1"]);
    assert_eq!(code, 1, "{output}");
    assert!(output.contains("--web.listen-address: cannot listen on 127.0.0.1:"), "{output}");

    let (code, output) = exporter_fails(&["--help"]);
    assert_eq!(code, 0);
    assert!(
        output.contains("--kafka.server=\"kafka:9092\" ...") && output.contains("--[no-]offset.show-all"),
        "{output}"
    );
}
