//! Renders every series at scrape time under the names Strimzi's JMX exporter rules give Kafka Connect's MBeans
//! (`kafka_connect_<group without -metrics>_<attribute>`, hyphens as underscores, connector and task as labels,
//! counters ending in `_total`). Connectors, tasks and states come from the status board and the task table as they
//! are at that moment: nothing here keeps a copy that could drift.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

use super::task::{TaskKind, TaskMetrics};
use super::task_series::{self, TaskSeries};
use super::{Shared, Startups};
use crate::worker::status::{State, StatusKey, TaskId};

/// The collector registered once; it reads [`Shared`] on every scrape.
pub(super) struct Scrape(pub(super) Arc<Shared>);

impl fmt::Debug for Scrape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Scrape")
    }
}

/// One sample's value.
#[derive(Clone, Copy)]
pub(super) enum Value {
    Count(u64),
    Int(i64),
    Float(f64),
}

type Labels = Vec<(&'static str, String)>;

/// The connectors and tasks this worker holds, with their states.
struct View {
    connectors: Vec<(String, State)>,
    tasks: Vec<(TaskId, State, Arc<TaskMetrics>)>,
}

impl View {
    fn of(shared: &Shared) -> Self {
        let mut connectors = Vec::new();
        let mut task_states = BTreeMap::new();
        for (key, status) in shared.status.all() {
            match key {
                // A connector stopped here is UNASSIGNED until another worker starts it: not this worker's.
                StatusKey::Connector(name) if status.state != State::Unassigned => {
                    connectors.push((name, status.state))
                }
                StatusKey::Connector(_) => {}
                StatusKey::Task(id) => {
                    task_states.insert(id, status.state);
                }
            }
        }
        let table = shared.tasks.lock().unwrap_or_else(|p| p.into_inner());
        let tasks = table
            .iter()
            .map(|(id, metrics)| {
                (id.clone(), task_states.get(id).copied().unwrap_or(State::Unassigned), metrics.clone())
            })
            .collect();
        View { connectors, tasks }
    }
}

/// Kafka Connect's status names, as the `status` attributes of its MBeans show them.
fn status_label(state: State) -> &'static str {
    match state {
        State::Unassigned => "unassigned",
        State::Running => "running",
        State::Paused => "paused",
        State::Failed => "failed",
        State::Restarting => "restarting",
        State::Stopped => "stopped",
        State::Destroyed => "destroyed",
    }
}

/// Writes one family (nothing when it has no series).
fn family(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    kind: MetricType,
    series: impl IntoIterator<Item = (Labels, Value)>,
) -> fmt::Result {
    let mut series = series.into_iter().peekable();
    if series.peek().is_none() {
        return Ok(());
    }
    let mut metric = encoder.encode_descriptor(name, help, None, kind)?;
    for (labels, value) in series {
        let mut sample = metric.encode_family(&labels)?;
        match value {
            Value::Count(v) if kind == MetricType::Counter => sample.encode_counter::<NoLabelSet, _, u64>(&v, None)?,
            Value::Count(v) => sample.encode_gauge(&v)?,
            Value::Int(v) => sample.encode_gauge(&v)?,
            Value::Float(v) => sample.encode_gauge(&v)?,
        }
    }
    Ok(())
}

fn single(encoder: &mut DescriptorEncoder<'_>, name: &str, help: &str, kind: MetricType, value: Value) -> fmt::Result {
    family(encoder, name, help, kind, [(Labels::new(), value)])
}

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        let shared = &*self.0;
        let view = View::of(shared);
        worker(&mut encoder, shared, &view)?;
        rebalance(&mut encoder, shared)?;
        family(
            &mut encoder,
            "kafka_connect_connector_status",
            "The status of the connector (1 for the status it has).",
            MetricType::Gauge,
            view.connectors.iter().map(|(name, state)| {
                (vec![("connector", name.clone()), ("status", status_label(*state).to_string())], Value::Count(1))
            }),
        )?;
        family(
            &mut encoder,
            "kafka_connect_connector_task_status",
            "The status of the connector task (1 for the status it has).",
            MetricType::Gauge,
            view.tasks.iter().map(|(id, state, _)| {
                let mut labels = task_labels(id);
                labels.push(("status", status_label(*state).to_string()));
                (labels, Value::Count(1))
            }),
        )?;
        tasks(&mut encoder, &view, None, task_series::CONNECTOR_TASK)?;
        tasks(&mut encoder, &view, Some(TaskKind::Source), task_series::SOURCE_TASK)?;
        tasks(&mut encoder, &view, Some(TaskKind::Sink), task_series::SINK_TASK)?;
        tasks(&mut encoder, &view, None, task_series::TASK_ERROR)
    }
}

/// `connect-worker-metrics`, worker-wide and per connector.
fn worker(encoder: &mut DescriptorEncoder<'_>, shared: &Shared, view: &View) -> fmt::Result {
    use MetricType::Gauge;
    let count = |n: usize| Value::Count(n as u64);
    single(
        encoder,
        "kafka_connect_worker_connector_count",
        "The number of connectors run in this worker.",
        Gauge,
        count(view.connectors.len()),
    )?;
    single(
        encoder,
        "kafka_connect_worker_task_count",
        "The number of tasks run in this worker.",
        Gauge,
        count(view.tasks.len()),
    )?;
    for (what, startups) in [("connector", &shared.connector_startups), ("task", &shared.task_startups)] {
        startup_series(encoder, what, startups)?;
    }

    // Per connector, over the tasks this worker holds: total, then one count per state.
    const STATES: [(&str, State); 6] = [
        ("running", State::Running),
        ("paused", State::Paused),
        ("failed", State::Failed),
        ("unassigned", State::Unassigned),
        ("destroyed", State::Destroyed),
        ("restarting", State::Restarting),
    ];
    let mut per_connector: BTreeMap<&str, [u64; 7]> = BTreeMap::new();
    for (id, state, _) in &view.tasks {
        let counts = per_connector.entry(id.connector.as_str()).or_default();
        counts[0] += 1;
        if let Some(i) = STATES.iter().position(|(_, s)| s == state) {
            counts[i + 1] += 1;
        }
    }
    let rows = |i: usize| {
        per_connector.iter().map(move |(name, counts)| (vec![("connector", name.to_string())], Value::Count(counts[i])))
    };
    family(
        encoder,
        "kafka_connect_worker_connector_total_task_count",
        "The number of tasks of the connector on this worker.",
        Gauge,
        rows(0),
    )?;
    for (i, (label, _)) in STATES.iter().enumerate() {
        family(
            encoder,
            &format!("kafka_connect_worker_connector_{label}_task_count"),
            &format!("The number of {label} tasks of the connector on this worker."),
            Gauge,
            rows(i + 1),
        )?;
    }
    Ok(())
}

fn startup_series(encoder: &mut DescriptorEncoder<'_>, what: &str, startups: &Startups) -> fmt::Result {
    let (attempts, successes, failures) = startups.totals();
    let results = startups.results();
    let counters = [
        ("attempts", format!("The total number of {what} startups that this worker has attempted."), attempts),
        ("success", format!("The total number of {what} starts that succeeded."), successes),
        ("failure", format!("The total number of {what} starts that failed."), failures),
    ];
    for (name, help, value) in counters {
        single(
            encoder,
            &format!("kafka_connect_worker_{what}_startup_{name}"),
            &help,
            MetricType::Counter,
            Value::Count(value),
        )?;
    }
    for (name, verb, value) in [("success", "succeeded", results.share()), ("failure", "failed", results.zero_share())]
    {
        single(
            encoder,
            &format!("kafka_connect_worker_{what}_startup_{name}_percentage"),
            &format!("The share (0 to 1) of this worker's recent {what} startups that {verb}."),
            MetricType::Gauge,
            Value::Float(value),
        )?;
    }
    Ok(())
}

/// `connect-worker-rebalance-metrics`, once this worker is a member of a group.
fn rebalance(encoder: &mut DescriptorEncoder<'_>, shared: &Shared) -> fmt::Result {
    use std::sync::atomic::Ordering::Relaxed;
    use MetricType::{Counter, Gauge, Unknown};
    let r = &shared.rebalance;
    if !r.in_group.load(Relaxed) {
        return Ok(());
    }
    let times = r.time_ms.snapshot();
    single(
        encoder,
        "kafka_connect_worker_rebalance_completed_rebalances",
        "The total number of rebalances completed by this worker.",
        Counter,
        Value::Count(r.completed.load(Relaxed)),
    )?;
    single(
        encoder,
        "kafka_connect_worker_rebalance_rebalancing",
        "Whether this worker is currently rebalancing (1) or not (0).",
        Gauge,
        Value::Count(u64::from(r.rebalancing.load(Relaxed))),
    )?;
    let gauges = [
        (
            "rebalance_max_time_ms",
            "The maximum time in milliseconds spent by this worker to rebalance.",
            Value::Float(times.max()),
        ),
        (
            "rebalance_avg_time_ms",
            "The average time in milliseconds spent by this worker to rebalance.",
            Value::Float(times.avg()),
        ),
        (
            "time_since_last_rebalance_ms",
            "The time in milliseconds since this worker completed the most recent rebalance.",
            Value::Float(r.time_since_last_ms()),
        ),
        ("epoch", "The epoch or generation number of this worker.", Value::Int(r.epoch.load(Relaxed))),
    ];
    for (name, help, value) in gauges {
        single(encoder, &format!("kafka_connect_worker_rebalance_{name}"), help, Gauge, value)?;
    }
    let group = r.group.lock().unwrap_or_else(|p| p.into_inner()).clone();
    if let Some((protocol, leader)) = group {
        let info = [
            ("connect_protocol", "The Connect protocol used by this cluster.", protocol),
            ("leader_name", "The name of the group leader.", leader),
        ];
        for (label, help, value) in info {
            family(
                encoder,
                &format!("kafka_connect_worker_rebalance_{label}"),
                help,
                Unknown,
                [(vec![(label, value)], Value::Count(1))],
            )?;
        }
    }
    Ok(())
}

fn task_labels(id: &TaskId) -> Labels {
    vec![("connector", id.connector.clone()), ("task", id.task.to_string())]
}

/// Writes `series` for every task of `kind` (all tasks when `None`).
fn tasks(
    encoder: &mut DescriptorEncoder<'_>,
    view: &View,
    kind: Option<TaskKind>,
    series: &[TaskSeries],
) -> fmt::Result {
    for (name, help, metric_type, read) in series {
        let rows = view
            .tasks
            .iter()
            .filter(|(_, _, m)| kind.is_none_or(|k| m.kind == k))
            .map(|(id, _, m)| (task_labels(id), read(m)));
        family(encoder, name, help, *metric_type, rows)?;
    }
    Ok(())
}
