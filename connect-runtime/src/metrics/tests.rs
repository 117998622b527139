//! Drives the counters and the status board as the worker does, encodes, and reads the text back with a Prometheus
//! text-format parser: names, types, labels and values as a scraper sees them.

use std::sync::Arc;
use std::time::Duration;

use prometheus_parse::{Sample, Scrape, Value};

use super::{ConnectMetrics, TaskKind, CONTENT_TYPE};
use crate::worker::status::{State, StatusBoard, StatusKey, TaskId};

fn board() -> Arc<StatusBoard> {
    Arc::new(StatusBoard::new("worker-1:8083"))
}

fn task(connector: &str, n: u32) -> TaskId {
    TaskId { connector: connector.to_string(), task: n }
}

/// Parses a scrape, failing on any sample line the parser could not read (it skips those silently).
fn parse(text: &str) -> Scrape {
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("scrape parses");
    let sample_lines = text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).count();
    assert_eq!(scrape.samples.len(), sample_lines, "unreadable lines in:\n{text}");
    scrape
}

/// The sample `name` with exactly `labels`.
fn sample<'a>(scrape: &'a Scrape, name: &str, labels: &[(&str, &str)]) -> Option<&'a Sample> {
    scrape.samples.iter().find(|s| {
        s.metric == name && s.labels.len() == labels.len() && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
    })
}

fn gauge(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    match sample(scrape, name, labels).map(|s| &s.value) {
        Some(Value::Gauge(v)) => *v,
        other => panic!("no gauge {name}{labels:?}: {other:?}"),
    }
}

fn counter(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    match sample(scrape, name, labels).map(|s| &s.value) {
        Some(Value::Counter(v)) => *v,
        other => panic!("no counter {name}{labels:?}: {other:?}"),
    }
}

fn names(scrape: &Scrape) -> Vec<&str> {
    scrape.samples.iter().map(|s| s.metric.as_str()).collect()
}

#[test]
fn content_type_is_prometheus_text() {
    assert_eq!(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
}

#[test]
fn an_idle_standalone_worker_shows_worker_metrics_only() {
    let metrics = ConnectMetrics::new(board());
    let scrape = parse(&metrics.encode());
    assert_eq!(gauge(&scrape, "kafka_connect_worker_connector_count", &[]), 0.0);
    assert_eq!(gauge(&scrape, "kafka_connect_worker_task_count", &[]), 0.0);
    assert_eq!(counter(&scrape, "kafka_connect_worker_task_startup_attempts_total", &[]), 0.0);
    assert_eq!(gauge(&scrape, "kafka_connect_worker_connector_startup_success_percentage", &[]), 0.0);
    // No group, no rebalance metrics; no tasks, no task series.
    assert!(names(&scrape).iter().all(|n| !n.starts_with("kafka_connect_worker_rebalance_")));
    assert!(names(&scrape).iter().all(|n| !n.contains("_task_") || n.starts_with("kafka_connect_worker_task_")));
}

#[test]
fn worker_counts_and_statuses_come_from_the_board_and_the_held_tasks() {
    let status = board();
    let metrics = ConnectMetrics::new(status.clone());
    status.set(StatusKey::Connector("src".into()), State::Running, None);
    status.set(StatusKey::Connector("snk".into()), State::Failed, Some("boom".into()));
    // Stopped here and not yet started elsewhere: not this worker's any more.
    status.set(StatusKey::Connector("gone".into()), State::Unassigned, None);
    let _src0 = metrics.register_task(task("src", 0), TaskKind::Source);
    let _src1 = metrics.register_task(task("src", 1), TaskKind::Source);
    let _snk0 = metrics.register_task(task("snk", 0), TaskKind::Sink);
    status.set(StatusKey::Task(task("src", 0)), State::Running, None);
    status.set(StatusKey::Task(task("src", 1)), State::Paused, None);
    status.set(StatusKey::Task(task("snk", 0)), State::Failed, Some("boom".into()));
    // A task this worker does not hold (its board entry outlived it) is not reported.
    status.set(StatusKey::Task(task("gone", 0)), State::Failed, None);

    let scrape = parse(&metrics.encode());
    assert_eq!(gauge(&scrape, "kafka_connect_worker_connector_count", &[]), 2.0);
    assert_eq!(gauge(&scrape, "kafka_connect_worker_task_count", &[]), 3.0);
    let src = [("connector", "src")];
    let snk = [("connector", "snk")];
    assert_eq!(gauge(&scrape, "kafka_connect_worker_connector_total_task_count", &src), 2.0);
    assert_eq!(gauge(&scrape, "kafka_connect_worker_connector_running_task_count", &src), 1.0);
    assert_eq!(gauge(&scrape, "kafka_connect_worker_connector_paused_task_count", &src), 1.0);
    assert_eq!(gauge(&scrape, "kafka_connect_worker_connector_failed_task_count", &src), 0.0);
    assert_eq!(gauge(&scrape, "kafka_connect_worker_connector_failed_task_count", &snk), 1.0);
    assert_eq!(gauge(&scrape, "kafka_connect_worker_connector_unassigned_task_count", &snk), 0.0);
    assert_eq!(gauge(&scrape, "kafka_connect_worker_connector_restarting_task_count", &snk), 0.0);
    assert_eq!(gauge(&scrape, "kafka_connect_worker_connector_destroyed_task_count", &snk), 0.0);
    assert!(sample(&scrape, "kafka_connect_worker_connector_total_task_count", &[("connector", "gone")]).is_none());

    assert_eq!(gauge(&scrape, "kafka_connect_connector_status", &[("connector", "src"), ("status", "running")]), 1.0);
    assert_eq!(gauge(&scrape, "kafka_connect_connector_status", &[("connector", "snk"), ("status", "failed")]), 1.0);
    assert_eq!(scrape.samples.iter().filter(|s| s.metric == "kafka_connect_connector_status").count(), 2);
    let task_status = |c, t, s| {
        gauge(&scrape, "kafka_connect_connector_task_status", &[("connector", c), ("task", t), ("status", s)])
    };
    assert_eq!(task_status("src", "0", "running"), 1.0);
    assert_eq!(task_status("src", "1", "paused"), 1.0);
    assert_eq!(task_status("snk", "0", "failed"), 1.0);
    assert_eq!(scrape.samples.iter().filter(|s| s.metric == "kafka_connect_connector_task_status").count(), 3);

    // Source series for source tasks only, sink series for sink tasks only.
    assert!(sample(
        &scrape,
        "kafka_connect_source_task_source_record_poll_total",
        &[("connector", "src"), ("task", "1")]
    )
    .is_some());
    assert!(sample(
        &scrape,
        "kafka_connect_source_task_source_record_poll_total",
        &[("connector", "snk"), ("task", "0")]
    )
    .is_none());
    assert!(sample(&scrape, "kafka_connect_sink_task_sink_record_read_total", &[("connector", "snk"), ("task", "0")])
        .is_some());
    assert!(sample(&scrape, "kafka_connect_sink_task_sink_record_read_total", &[("connector", "src"), ("task", "0")])
        .is_none());
}

#[test]
fn startups_count_attempts_successes_and_failures() {
    let metrics = ConnectMetrics::new(board());
    metrics.record_connector_startup(true);
    metrics.record_connector_startup(true);
    metrics.record_connector_startup(true);
    metrics.record_connector_startup(false);
    metrics.record_task_startup_attempt();
    metrics.record_task_startup_attempt();
    metrics.record_task_startup(false);
    let scrape = parse(&metrics.encode());
    assert_eq!(counter(&scrape, "kafka_connect_worker_connector_startup_attempts_total", &[]), 4.0);
    assert_eq!(counter(&scrape, "kafka_connect_worker_connector_startup_success_total", &[]), 3.0);
    assert_eq!(counter(&scrape, "kafka_connect_worker_connector_startup_failure_total", &[]), 1.0);
    assert_eq!(gauge(&scrape, "kafka_connect_worker_connector_startup_success_percentage", &[]), 0.75);
    assert_eq!(gauge(&scrape, "kafka_connect_worker_connector_startup_failure_percentage", &[]), 0.25);
    // One task startup still under way.
    assert_eq!(counter(&scrape, "kafka_connect_worker_task_startup_attempts_total", &[]), 2.0);
    assert_eq!(counter(&scrape, "kafka_connect_worker_task_startup_success_total", &[]), 0.0);
    assert_eq!(counter(&scrape, "kafka_connect_worker_task_startup_failure_total", &[]), 1.0);
    assert_eq!(gauge(&scrape, "kafka_connect_worker_task_startup_failure_percentage", &[]), 1.0);
}

#[test]
fn source_task_series_follow_polls_acks_and_commits() {
    let status = board();
    let metrics = ConnectMetrics::new(status.clone());
    let registration = metrics.register_task(task("src", 0), TaskKind::Source);
    let m = registration.metrics();
    m.record_poll(10, Duration::from_millis(4));
    m.record_poll(30, Duration::from_millis(8));
    m.set_active_records(15);
    m.record_write(25);
    m.record_commit(Duration::from_millis(6), true);
    m.record_commit(Duration::from_millis(2), true);
    m.record_commit(Duration::from_millis(50), false);
    m.record_commit(Duration::from_millis(1), true);

    let scrape = parse(&metrics.encode());
    let id = [("connector", "src"), ("task", "0")];
    assert_eq!(counter(&scrape, "kafka_connect_source_task_source_record_poll_total", &id), 40.0);
    assert_eq!(counter(&scrape, "kafka_connect_source_task_source_record_write_total", &id), 25.0);
    assert!(gauge(&scrape, "kafka_connect_source_task_source_record_poll_rate", &id) > 0.0);
    assert!(gauge(&scrape, "kafka_connect_source_task_source_record_write_rate", &id) > 0.0);
    assert_eq!(gauge(&scrape, "kafka_connect_source_task_poll_batch_max_time_ms", &id), 8.0);
    assert_eq!(gauge(&scrape, "kafka_connect_source_task_poll_batch_avg_time_ms", &id), 6.0);
    assert_eq!(gauge(&scrape, "kafka_connect_source_task_source_record_active_count", &id), 15.0);
    assert_eq!(gauge(&scrape, "kafka_connect_connector_task_batch_size_max", &id), 30.0);
    assert_eq!(gauge(&scrape, "kafka_connect_connector_task_batch_size_avg", &id), 20.0);
    assert_eq!(gauge(&scrape, "kafka_connect_connector_task_offset_commit_success_percentage", &id), 0.75);
    assert_eq!(gauge(&scrape, "kafka_connect_connector_task_offset_commit_failure_percentage", &id), 0.25);
    // Commit times are those of successful commits.
    assert_eq!(gauge(&scrape, "kafka_connect_connector_task_offset_commit_max_time_ms", &id), 6.0);
    assert_eq!(gauge(&scrape, "kafka_connect_connector_task_offset_commit_avg_time_ms", &id), 3.0);
    // The task is not on the board yet: it counts as unassigned.
    assert_eq!(
        gauge(
            &scrape,
            "kafka_connect_connector_task_status",
            &[("connector", "src"), ("task", "0"), ("status", "unassigned")]
        ),
        1.0
    );
}

#[test]
fn sink_task_series_follow_reads_puts_and_commits() {
    let metrics = ConnectMetrics::new(board());
    let registration = metrics.register_task(task("snk", 3), TaskKind::Sink);
    let m = registration.metrics();
    m.record_read(500);
    m.record_put(200, Duration::from_micros(1500));
    m.record_put(300, Duration::from_micros(2500));
    m.set_partition_count(4);
    m.begin_sink_commit();
    m.record_sink_commit(Duration::from_millis(3), true);
    m.begin_sink_commit();
    m.record_sink_commit(Duration::from_millis(9), false);

    let scrape = parse(&metrics.encode());
    let id = [("connector", "snk"), ("task", "3")];
    assert_eq!(counter(&scrape, "kafka_connect_sink_task_sink_record_read_total", &id), 500.0);
    assert_eq!(counter(&scrape, "kafka_connect_sink_task_sink_record_send_total", &id), 500.0);
    assert!(gauge(&scrape, "kafka_connect_sink_task_sink_record_read_rate", &id) > 0.0);
    assert_eq!(gauge(&scrape, "kafka_connect_sink_task_put_batch_max_time_ms", &id), 2.5);
    assert_eq!(gauge(&scrape, "kafka_connect_sink_task_put_batch_avg_time_ms", &id), 2.0);
    assert_eq!(counter(&scrape, "kafka_connect_sink_task_offset_commit_completion_total", &id), 1.0);
    assert_eq!(counter(&scrape, "kafka_connect_sink_task_offset_commit_skip_total", &id), 0.0);
    assert_eq!(gauge(&scrape, "kafka_connect_sink_task_offset_commit_seq_no", &id), 2.0);
    assert_eq!(gauge(&scrape, "kafka_connect_sink_task_partition_count", &id), 4.0);
    assert_eq!(gauge(&scrape, "kafka_connect_connector_task_offset_commit_success_percentage", &id), 0.5);
    assert_eq!(gauge(&scrape, "kafka_connect_connector_task_offset_commit_avg_time_ms", &id), 3.0);
    assert_eq!(gauge(&scrape, "kafka_connect_connector_task_batch_size_max", &id), 300.0);
    // Without commits or batches yet, Kafka's max and avg are NaN.
    let fresh = metrics.register_task(task("snk", 4), TaskKind::Sink);
    let scrape = parse(&metrics.encode());
    let fresh_id = [("connector", "snk"), ("task", "4")];
    assert!(gauge(&scrape, "kafka_connect_sink_task_put_batch_max_time_ms", &fresh_id).is_nan());
    assert!(gauge(&scrape, "kafka_connect_connector_task_offset_commit_avg_time_ms", &fresh_id).is_nan());
    assert_eq!(gauge(&scrape, "kafka_connect_connector_task_offset_commit_success_percentage", &fresh_id), 0.0);
    drop(fresh);
}

#[test]
fn a_task_s_series_disappear_with_its_registration() {
    let status = board();
    let metrics = ConnectMetrics::new(status.clone());
    let first = metrics.register_task(task("src", 0), TaskKind::Source);
    first.metrics().record_poll(7, Duration::from_millis(1));
    status.set(StatusKey::Task(task("src", 0)), State::Running, None);
    // Restarted: the new registration replaces the old one, and dropping the old one leaves the new one alone.
    let second = metrics.register_task(task("src", 0), TaskKind::Source);
    drop(first);
    let scrape = parse(&metrics.encode());
    let id = [("connector", "src"), ("task", "0")];
    assert_eq!(counter(&scrape, "kafka_connect_source_task_source_record_poll_total", &id), 0.0);
    assert_eq!(gauge(&scrape, "kafka_connect_worker_task_count", &[]), 1.0);

    drop(second);
    let text = metrics.encode();
    let scrape = parse(&text);
    assert_eq!(gauge(&scrape, "kafka_connect_worker_task_count", &[]), 0.0);
    assert!(!text.contains(r#"task="0""#), "series of a removed task remain:\n{text}");
    assert!(sample(&scrape, "kafka_connect_worker_connector_total_task_count", &[("connector", "src")]).is_none());
}

#[test]
fn deleted_and_stopped_connectors_are_not_reported() {
    let status = board();
    let metrics = ConnectMetrics::new(status.clone());
    status.set(StatusKey::Connector("a".into()), State::Running, None);
    status.set(StatusKey::Connector("b".into()), State::Paused, None);
    let scrape = parse(&metrics.encode());
    assert_eq!(gauge(&scrape, "kafka_connect_connector_status", &[("connector", "b"), ("status", "paused")]), 1.0);
    status.set(StatusKey::Connector("a".into()), State::Destroyed, None);
    status.set(StatusKey::Connector("b".into()), State::Unassigned, None);
    let scrape = parse(&metrics.encode());
    assert_eq!(gauge(&scrape, "kafka_connect_worker_connector_count", &[]), 0.0);
    assert!(!names(&scrape).contains(&"kafka_connect_connector_status"));
}

#[test]
fn rebalances_are_counted_with_their_generation() {
    let metrics = ConnectMetrics::new(board());
    let rebalance = metrics.rebalance();
    rebalance.started();
    let scrape = parse(&metrics.encode());
    assert_eq!(gauge(&scrape, "kafka_connect_worker_rebalance_rebalancing", &[]), 1.0);
    assert_eq!(counter(&scrape, "kafka_connect_worker_rebalance_completed_rebalances_total", &[]), 0.0);
    assert_eq!(gauge(&scrape, "kafka_connect_worker_rebalance_epoch", &[]), -1.0);
    assert_eq!(gauge(&scrape, "kafka_connect_worker_rebalance_time_since_last_rebalance_ms", &[]), f64::INFINITY);
    assert!(gauge(&scrape, "kafka_connect_worker_rebalance_rebalance_max_time_ms", &[]).is_nan());

    std::thread::sleep(Duration::from_millis(20));
    rebalance.started(); // a retry keeps the start of the rebalance
    rebalance.completed(7, "sessioned", "http://worker-2:8083/");
    let scrape = parse(&metrics.encode());
    assert_eq!(gauge(&scrape, "kafka_connect_worker_rebalance_rebalancing", &[]), 0.0);
    assert_eq!(counter(&scrape, "kafka_connect_worker_rebalance_completed_rebalances_total", &[]), 1.0);
    assert_eq!(gauge(&scrape, "kafka_connect_worker_rebalance_epoch", &[]), 7.0);
    assert!(gauge(&scrape, "kafka_connect_worker_rebalance_rebalance_max_time_ms", &[]) >= 20.0);
    assert!(gauge(&scrape, "kafka_connect_worker_rebalance_rebalance_avg_time_ms", &[]) >= 20.0);
    assert!(gauge(&scrape, "kafka_connect_worker_rebalance_time_since_last_rebalance_ms", &[]) < 10_000.0);
    let protocol =
        sample(&scrape, "kafka_connect_worker_rebalance_connect_protocol", &[("connect_protocol", "sessioned")]);
    assert_eq!(protocol.map(|s| &s.value), Some(&Value::Untyped(1.0)));
    let leader =
        sample(&scrape, "kafka_connect_worker_rebalance_leader_name", &[("leader_name", "http://worker-2:8083/")]);
    assert_eq!(leader.map(|s| &s.value), Some(&Value::Untyped(1.0)));
}

#[test]
fn every_name_follows_the_strimzi_scheme() {
    let status = board();
    let metrics = ConnectMetrics::new(status.clone());
    status.set(StatusKey::Connector("c".into()), State::Running, None);
    let _source = metrics.register_task(task("c", 0), TaskKind::Source);
    let _sink = metrics.register_task(task("c", 1), TaskKind::Sink);
    metrics.rebalance().started();
    metrics.rebalance().completed(1, "compatible", "http://w:8083/");
    let text = metrics.encode();
    let scrape = parse(&text);
    for s in &scrape.samples {
        let name = s.metric.as_str();
        assert!(name.starts_with("kafka_connect_"), "{name}");
        assert!(name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'), "{name}");
        assert!(!name.ends_with("_total_total"), "{name}");
        if matches!(s.value, Value::Counter(_)) {
            assert!(name.ends_with("_total"), "counter without _total: {name}");
        }
    }
    for expected in [
        "kafka_connect_worker_connector_count",
        "kafka_connect_worker_task_count",
        "kafka_connect_worker_connector_startup_attempts_total",
        "kafka_connect_worker_connector_startup_success_total",
        "kafka_connect_worker_connector_startup_failure_total",
        "kafka_connect_worker_task_startup_attempts_total",
        "kafka_connect_worker_task_startup_success_total",
        "kafka_connect_worker_task_startup_failure_total",
        "kafka_connect_worker_rebalance_completed_rebalances_total",
        "kafka_connect_worker_rebalance_rebalancing",
        "kafka_connect_worker_rebalance_rebalance_max_time_ms",
        "kafka_connect_worker_rebalance_rebalance_avg_time_ms",
        "kafka_connect_worker_rebalance_time_since_last_rebalance_ms",
        "kafka_connect_worker_rebalance_epoch",
        "kafka_connect_connector_status",
        "kafka_connect_connector_task_status",
        "kafka_connect_source_task_source_record_poll_total",
        "kafka_connect_source_task_source_record_write_total",
        "kafka_connect_source_task_poll_batch_max_time_ms",
        "kafka_connect_source_task_poll_batch_avg_time_ms",
        "kafka_connect_sink_task_sink_record_read_total",
        "kafka_connect_sink_task_sink_record_send_total",
        "kafka_connect_sink_task_put_batch_max_time_ms",
        "kafka_connect_sink_task_put_batch_avg_time_ms",
        "kafka_connect_sink_task_offset_commit_completion_total",
        "kafka_connect_sink_task_offset_commit_skip_total",
    ] {
        assert!(names(&scrape).contains(&expected), "{expected} missing from:\n{text}");
    }
    // Each family is described once, with its type, before its samples.
    assert!(text.contains("# TYPE kafka_connect_source_task_source_record_poll_total counter\n"));
    assert_eq!(text.matches("# TYPE kafka_connect_connector_task_status gauge\n").count(), 1);
}

#[test]
fn label_values_are_escaped() {
    let status = board();
    let metrics = ConnectMetrics::new(status.clone());
    status.set(StatusKey::Connector("we\"ird\\name".into()), State::Running, None);
    let text = metrics.encode();
    assert!(text.contains(r#"kafka_connect_connector_status{connector="we\"ird\\name",status="running"} 1"#), "{text}");
}
