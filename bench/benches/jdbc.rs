//! The JDBC connectors (plugin `.so`) against raw rdkafka + sqlx programs, in the same run, against the same broker
//! and the same PostgreSQL (127.0.0.1:5432, database `test`, user `postgres`, trust).
//!
//! Sink: N keyed records, JSON with schemas (key `{id: int64}`, value `{name: string, amount: float64, qty:
//! int32}`), are produced to the broker beforehand. connect-rs: a `JdbcSinkConnector` task in an in-process worker
//! (`insert.mode=upsert`, `pk.mode=record_key`, `auto.create`, `batch.size=3000`, `consumer.max.poll.records=3000`)
//! upserts them into its own table. Raw: an rdkafka consumer reads the same topic from the beginning, takes what
//! was fetched (up to 3000 records), decodes the JSON envelopes with serde_json and upserts them with sqlx into a
//! table of the same layout as one multi-row `INSERT .. ON CONFLICT ("id") DO UPDATE`, one transaction per batch.
//! Both are timed by a poller reading `max(id)` of the table every 5 ms (the keys arrive in order, one partition):
//! from the first row landing to the last (the task's start and consumer group join are not counted).
//!
//! Source: a table of M rows (`id bigserial`, same three columns; 200,000 by default, `JDBC_BENCH_ROWS=1000000`
//! for the issue's figure). connect-rs: a `JdbcSourceConnector` task (`mode=incrementing`, `batch.max.rows=10000`,
//! `poll.interval.ms=10`) in an in-process worker with the JSON converter, `schemas.enable=false`, into a topic.
//! Raw: sqlx selects the rows paged by id (`WHERE id > $1 ORDER BY id LIMIT 10000`), writes each row as the same
//! JSON object (`{"id":..,"name":..,"amount":..,"qty":..}`, no key) with serde_json and produces it with rdkafka
//! (acks=all, idempotence on). Both are timed from the task's (or program's) start until the topic's end offset
//! reaches M. Prints rows/s and the ratio connect-rs / raw, best of 3 rounds (`JDBC_BENCH_ROUNDS`;
//! `JDBC_BENCH_SINK_ROWS` sets N, 200,000 by default).

use connect_bench::wait_for_end;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use connect_runtime::config::WorkerConfig;
use connect_runtime::plugins::PluginRegistry;
use connect_runtime::storage::FileOffsetStore;
use connect_runtime::worker::status::{StatusBoard, TaskId};
use connect_runtime::worker::Worker;
use connect_tests::Broker;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::Message;
use sqlx::postgres::{PgConnection, PgPoolOptions};
use sqlx::{Connection, Executor, PgPool, QueryBuilder, Row};

const PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const JDBC_URL: &str = "jdbc:postgresql://127.0.0.1:5432/test?user=postgres";
const SINK_BATCH: usize = 3000;
const SOURCE_BATCH: i64 = 10_000;

fn key(i: i64) -> String {
    format!(
        r#"{{"schema":{{"type":"struct","fields":[{{"field":"id","type":"int64","optional":false}}],"optional":false}},"payload":{{"id":{i}}}}}"#
    )
}

fn value(i: i64) -> String {
    format!(
        r#"{{"schema":{{"type":"struct","fields":[{{"field":"name","type":"string","optional":false}},{{"field":"amount","type":"double","optional":false}},{{"field":"qty","type":"int32","optional":false}}],"optional":false,"name":"row"}},"payload":{{"name":"name-{i:010}","amount":{}.25,"qty":{}}}}}"#,
        i % 100_000,
        i % 1000
    )
}

fn props(pairs: &[(&str, String)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

fn worker(broker: &Broker, registry: &Arc<PluginRegistry>, dir: &Path, extra: &[(&str, String)]) -> Worker {
    let mut pairs = vec![("bootstrap.servers", broker.bootstrap()), ("offset.flush.interval.ms", "1000".into())];
    pairs.extend_from_slice(extra);
    let config = Arc::new(WorkerConfig::from_props(&dir.join("worker.properties"), props(&pairs)).expect("config"));
    let offsets = Arc::new(FileOffsetStore::open(&dir.join("offsets.json")).expect("offsets"));
    Worker::new(config, registry.clone(), offsets, Arc::new(StatusBoard::new("bench")))
}

/// Watches `max(id)` of `table` every 5 ms from its own connection until it reaches `last`; returns the span
/// from the first row seen to the last.
struct Poller {
    thread: std::thread::JoinHandle<Duration>,
}

impl Poller {
    fn start(table: String, last: i64) -> Poller {
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async {
                let mut conn = PgConnection::connect(PG_URL).await.expect("poller connection");
                let sql = format!("SELECT max(id) FROM \"{table}\"");
                let deadline = Instant::now() + Duration::from_secs(900);
                let mut first = None;
                loop {
                    assert!(Instant::now() < deadline, "{table} did not reach id {last}");
                    // The table may not exist yet (auto.create): that is no row.
                    let max: Option<i64> = sqlx::query_scalar(&sql).fetch_one(&mut conn).await.unwrap_or_default();
                    if let Some(max) = max {
                        let now = Instant::now();
                        let first = *first.get_or_insert(now);
                        if max >= last {
                            return now - first;
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
        });
        Poller { thread }
    }

    fn span(self) -> Duration {
        self.thread.join().expect("poller")
    }
}

async fn drop_table(pool: &PgPool, table: &str) {
    pool.execute(format!("DROP TABLE IF EXISTS \"{table}\"").as_str()).await.expect("drop table");
}

/// Raw rdkafka + serde_json + sqlx: the upserts of the sink, one transaction per fetched batch.
fn raw_sink(runtime: &tokio::runtime::Runtime, pool: &PgPool, broker: &Broker, topic: &str, n: i64) -> Duration {
    let table = format!("{topic}_raw");
    runtime.block_on(async {
        drop_table(pool, &table).await;
        // The layout auto.create gives the connector's table.
        pool.execute(
            format!(
                "CREATE TABLE \"{table}\" (\"id\" BIGINT NOT NULL, \"name\" TEXT NOT NULL, \"amount\" DOUBLE \
                 PRECISION NOT NULL, \"qty\" INT NOT NULL, PRIMARY KEY (\"id\"))"
            )
            .as_str(),
        )
        .await
        .expect("create table");
    });
    let poller = Poller::start(table.clone(), n - 1);
    let consumer: BaseConsumer = broker
        .client_config()
        .set("group.id", format!("raw-{topic}"))
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut partitions = TopicPartitionList::new();
    partitions.add_partition_offset(topic, 0, Offset::Beginning).expect("partition");
    consumer.assign(&partitions).expect("assign");
    let head = format!("INSERT INTO \"{table}\" (\"id\",\"name\",\"amount\",\"qty\") ");
    let tail = " ON CONFLICT (\"id\") DO UPDATE SET \"name\"=EXCLUDED.\"name\",\"amount\"=EXCLUDED.\"amount\",\
                \"qty\"=EXCLUDED.\"qty\"";
    let mut written = 0;
    while written < n {
        let mut rows: Vec<(i64, String, f64, i32)> = Vec::with_capacity(SINK_BATCH);
        let mut timeout = Duration::from_millis(200);
        while rows.len() < SINK_BATCH {
            match consumer.poll(timeout) {
                Some(Ok(message)) => {
                    let key: serde_json::Value =
                        serde_json::from_slice(message.key().unwrap_or_default()).expect("key");
                    let value: serde_json::Value =
                        serde_json::from_slice(message.payload().unwrap_or_default()).expect("value");
                    let payload = &value["payload"];
                    rows.push((
                        key["payload"]["id"].as_i64().expect("id"),
                        payload["name"].as_str().expect("name").to_string(),
                        payload["amount"].as_f64().expect("amount"),
                        payload["qty"].as_i64().expect("qty") as i32,
                    ));
                }
                Some(Err(err)) => panic!("raw consumer: {err}"),
                None => break,
            }
            timeout = Duration::ZERO;
        }
        if rows.is_empty() {
            continue;
        }
        written += rows.len() as i64;
        runtime.block_on(async {
            let mut query = QueryBuilder::<sqlx::Postgres>::new(&head);
            query.push_values(rows, |mut row, (id, name, amount, qty)| {
                row.push_bind(id).push_bind(name).push_bind(amount).push_bind(qty);
            });
            query.push(tail);
            let mut tx = pool.begin().await.expect("begin");
            query.build().execute(&mut *tx).await.expect("upsert");
            tx.commit().await.expect("commit");
        });
    }
    let span = poller.span();
    runtime.block_on(drop_table(pool, &table));
    span
}

/// connect-rs: the JDBC sink task in an in-process worker.
fn connect_sink(
    runtime: &tokio::runtime::Runtime,
    pool: &PgPool,
    broker: &Broker,
    registry: &Arc<PluginRegistry>,
    topic: &str,
    n: i64,
) -> Duration {
    let table = format!("{topic}_connect");
    runtime.block_on(drop_table(pool, &table));
    let poller = Poller::start(table.clone(), n - 1);
    let dir = tempfile::tempdir().expect("temp dir");
    let worker = worker(broker, registry, dir.path(), &[("consumer.max.poll.records", SINK_BATCH.to_string())]);
    let class = "io.confluent.connect.jdbc.JdbcSinkConnector";
    let plugin = registry.resolve(class).expect("JDBC sink plugin");
    let name = format!("bench-{topic}");
    let connector = props(&[
        ("name", name.clone()),
        ("connector.class", class.into()),
        ("topics", topic.into()),
        ("key.converter", "org.apache.kafka.connect.json.JsonConverter".into()),
        ("key.converter.schemas.enable", "true".into()),
        ("value.converter", "org.apache.kafka.connect.json.JsonConverter".into()),
        ("value.converter.schemas.enable", "true".into()),
        ("connection.url", JDBC_URL.into()),
        ("insert.mode", "upsert".into()),
        ("pk.mode", "record_key".into()),
        ("pk.fields", "id".into()),
        ("auto.create", "true".into()),
        ("batch.size", SINK_BATCH.to_string()),
        ("table.name.format", "${topic}_connect".into()),
    ]);
    let task =
        worker.start_task(TaskId { connector: name, task: 0 }, plugin, &connector, connector.clone()).expect("start");
    let span = poller.span();
    task.signal_stop();
    task.wait(Duration::from_secs(30));
    runtime.block_on(drop_table(pool, &table));
    span
}

fn produce_sink_records(broker: &Broker, topic: &str, n: i64) {
    broker.create_topic(topic, 1);
    let records: Vec<(String, String)> = (0..n).map(|i| (key(i), value(i))).collect();
    for chunk in records.chunks(10_000) {
        let batch: Vec<(Option<&[u8]>, &[u8])> =
            chunk.iter().map(|(k, v)| (Some(k.as_bytes()), v.as_bytes())).collect();
        broker.produce(topic, &batch);
    }
}

/// Raw sqlx + serde_json + rdkafka: the table paged by id, each row produced as a JSON object.
fn raw_source(runtime: &tokio::runtime::Runtime, broker: &Broker, table: &str, topic: &str, n: i64) -> Duration {
    broker.create_topic(topic, 1);
    let consumer: BaseConsumer = broker.client_config().create().expect("consumer");
    let start = Instant::now();
    let producer: ThreadedProducer<DefaultProducerContext> =
        broker.client_config().set("acks", "all").set("enable.idempotence", "true").create().expect("producer");
    let sql = format!(
        "SELECT \"id\",\"name\",\"amount\",\"qty\" FROM \"{table}\" WHERE \"id\" > $1 ORDER BY \"id\" ASC LIMIT \
         {SOURCE_BATCH}"
    );
    runtime.block_on(async {
        let mut conn = PgConnection::connect(PG_URL).await.expect("connection");
        let mut last = 0i64;
        loop {
            let rows = sqlx::query(&sql).bind(last).fetch_all(&mut conn).await.expect("select");
            if rows.is_empty() {
                break;
            }
            for row in rows {
                let id: i64 = row.get(0);
                let name: String = row.get(1);
                let amount: f64 = row.get(2);
                let qty: i32 = row.get(3);
                last = id;
                let payload = serde_json::json!({"id": id, "name": name, "amount": amount, "qty": qty}).to_string();
                let mut record = BaseRecord::<[u8], [u8]>::to(topic).payload(payload.as_bytes());
                loop {
                    match producer.send(record) {
                        Ok(()) => break,
                        Err((_, back)) => {
                            record = back;
                            std::thread::sleep(Duration::from_millis(1));
                        }
                    }
                }
            }
        }
    });
    producer.flush(Duration::from_secs(600)).expect("flush");
    wait_for_end(&consumer, topic, n, Duration::from_secs(900));
    start.elapsed()
}

/// connect-rs: the JDBC source task in an in-process worker.
fn connect_source(broker: &Broker, registry: &Arc<PluginRegistry>, table: &str, prefix: &str, n: i64) -> Duration {
    let topic = format!("{prefix}{table}");
    broker.create_topic(&topic, 1);
    let dir = tempfile::tempdir().expect("temp dir");
    let worker = worker(
        broker,
        registry,
        dir.path(),
        &[("value.converter.schemas.enable", "false".into()), ("key.converter.schemas.enable", "false".into())],
    );
    let class = "io.confluent.connect.jdbc.JdbcSourceConnector";
    let plugin = registry.resolve(class).expect("JDBC source plugin");
    let name = format!("bench-{topic}");
    let connector = props(&[
        ("name", name.clone()),
        ("connector.class", class.into()),
        ("connection.url", JDBC_URL.into()),
        ("mode", "incrementing".into()),
        ("incrementing.column.name", "id".into()),
        ("table.whitelist", table.into()),
        ("topic.prefix", prefix.into()),
        ("batch.max.rows", SOURCE_BATCH.to_string()),
        ("poll.interval.ms", "10".into()),
    ]);
    // The task's configuration as the connector's task_configs gives it: the connector's plus its tables.
    let mut task_config = connector.clone();
    task_config.insert("tables".into(), format!("public.{table}"));
    task_config.insert("tables.fetched".into(), "true".into());
    let consumer: BaseConsumer = broker.client_config().create().expect("consumer");
    let start = Instant::now();
    let task = worker.start_task(TaskId { connector: name, task: 0 }, plugin, &connector, task_config).expect("start");
    wait_for_end(&consumer, &topic, n, Duration::from_secs(900));
    let elapsed = start.elapsed();
    task.signal_stop();
    task.wait(Duration::from_secs(30));
    elapsed
}

fn rate(n: i64, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64()
}

fn env_rows(name: &str, default: i64) -> i64 {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| panic!("{name}={v} is not a number of rows")),
        Err(_) => default,
    }
}

fn main() {
    // `cargo bench` passes --bench; a filter argument is ignored.
    let sink_rows = env_rows("JDBC_BENCH_SINK_ROWS", 200_000);
    let source_rows = env_rows("JDBC_BENCH_ROWS", 200_000);
    let plugins = connect_tests::plugin_dir(tempfile::tempdir().expect("dir").keep().as_path(), &["connect_jdbc"]);
    let registry = Arc::new(PluginRegistry::new(vec![plugins]));
    let broker = Broker::start();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let pool = runtime.block_on(PgPoolOptions::new().max_connections(2).connect(PG_URL)).expect("PostgreSQL");
    let unique = std::process::id();
    let rounds = env_rows("JDBC_BENCH_ROUNDS", 3);
    let (mut raw_best, mut connect_best) = (Duration::MAX, Duration::MAX);
    for round in 0..rounds {
        let topic = format!("jbench_sink_{unique}_{round}");
        produce_sink_records(&broker, &topic, sink_rows);
        raw_best = raw_best.min(raw_sink(&runtime, &pool, &broker, &topic, sink_rows));
        connect_best = connect_best.min(connect_sink(&runtime, &pool, &broker, &registry, &topic, sink_rows));
    }
    let sink = (rate(sink_rows, raw_best), rate(sink_rows, connect_best));

    let table = format!("jbench_src_{unique}");
    runtime.block_on(async {
        drop_table(&pool, &table).await;
        pool.execute(
            format!(
                "CREATE TABLE \"{table}\" (\"id\" BIGSERIAL PRIMARY KEY, \"name\" TEXT NOT NULL, \"amount\" DOUBLE \
                 PRECISION NOT NULL, \"qty\" INT NOT NULL)"
            )
            .as_str(),
        )
        .await
        .expect("create source table");
        pool.execute(
            format!(
                "INSERT INTO \"{table}\" (\"name\",\"amount\",\"qty\") SELECT 'name-' || lpad(i::text, 10, '0'), \
                 (i % 100000) + 0.25, i % 1000 FROM generate_series(1, {source_rows}) AS i"
            )
            .as_str(),
        )
        .await
        .expect("fill source table");
        pool.execute(format!("VACUUM ANALYZE \"{table}\"").as_str()).await.expect("vacuum");
    });
    let (mut raw_best, mut connect_best) = (Duration::MAX, Duration::MAX);
    for round in 0..rounds {
        let raw_topic = format!("jbench_src_raw_{unique}_{round}");
        raw_best = raw_best.min(raw_source(&runtime, &broker, &table, &raw_topic, source_rows));
        let prefix = format!("jbench_src_connect_{round}_");
        connect_best = connect_best.min(connect_source(&broker, &registry, &table, &prefix, source_rows));
    }
    runtime.block_on(drop_table(&pool, &table));
    let source = (rate(source_rows, raw_best), rate(source_rows, connect_best));

    println!("| path | rows | raw rdkafka + sqlx (rows/s) | connect-rs (rows/s) | ratio |");
    println!("|---|---|---|---|---|");
    println!(
        "| sink: JSON with schema -> PostgreSQL upsert, batch 3000 | {sink_rows} | {:.0} | {:.0} | {:.2} |",
        sink.0,
        sink.1,
        sink.1 / sink.0
    );
    println!(
        "| source: PostgreSQL table, incrementing -> topic | {source_rows} | {:.0} | {:.0} | {:.2} |",
        source.0,
        source.1,
        source.1 / source.0
    );
}
