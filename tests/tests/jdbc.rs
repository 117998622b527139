//! The JDBC plugin (`connectors/jdbc`) end to end: a real tansu broker, real `connect` workers loading the plugin
//! `.so`, and real databases (PostgreSQL 127.0.0.1:5432 and MariaDB 127.0.0.1:3306, database `test`; SQLite in
//! temp files). Every test uses its own tables, so the tests run side by side.
//!
//! - source, each dialect: incrementing and timestamp+incrementing while rows keep arriving; kill -9 of the worker
//!   and a restart: every row arrives at least once, rows inserted while it was down too;
//! - sink, each dialect: upserts with auto.create from a keyed topic (last value wins), tombstones delete,
//!   auto.evolve adds a column; kill -9 mid-stream: the table ends equal to the expected final state;
//! - PostgreSQL -> topic -> MariaDB and SQLite: contents equal, decimals, timestamps, bytes and NULLs kept;
//! - bad configurations: per-key errors from `PUT /connector-plugins/.../config/validate`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use connect_jdbc::db::Db;
use connect_tests::*;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::ClientConfig;
use serde_json::{json, Value};

const SETTLE: Duration = Duration::from_secs(90);
const PG: &str = "jdbc:postgresql://127.0.0.1:5432/test?user=postgres";
const MARIADB: &str = "jdbc:mariadb://127.0.0.1:3306/test?user=root";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Postgres,
    MariaDb,
    Sqlite,
}

/// A database of one dialect for one test.
struct Database {
    kind: Kind,
    url: String,
}

impl Database {
    fn new(kind: Kind, dir: &Path) -> Database {
        let url = match kind {
            Kind::Postgres => PG.to_string(),
            Kind::MariaDb => MARIADB.to_string(),
            Kind::Sqlite => format!("jdbc:sqlite:{}", dir.join("test.sqlite").display()),
        };
        Database { kind, url }
    }

    fn exec(&self, statements: &[String]) {
        let target = connect_jdbc::url::parse(&self.url, None, None).expect("test URL");
        connect_api::async_connector::block_on(async {
            let db = Db::connect(&target, 1, Duration::from_secs(10)).await.expect("the test database is up");
            for s in statements {
                db.execute(s).await.unwrap_or_else(|e| panic!("{s}: {e}"));
            }
            db.close().await;
        })
    }

    fn query(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        let target = connect_jdbc::url::parse(&self.url, None, None).expect("test URL");
        connect_api::async_connector::block_on(async {
            let db = Db::connect(&target, 1, Duration::from_secs(10)).await.expect("the test database is up");
            let rows = db.query_text(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
            db.close().await;
            rows
        })
    }

    fn drop_table(&self, table: &str) {
        self.exec(&[format!("DROP TABLE IF EXISTS {table}")]);
    }

    /// A table with an auto-increment id and an insertion timestamp with milliseconds.
    fn create_events(&self, table: &str) {
        self.drop_table(table);
        let sql = match self.kind {
            Kind::Postgres => format!(
                "CREATE TABLE {table} (id BIGSERIAL PRIMARY KEY, v TEXT, \
                 at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3))"
            ),
            Kind::MariaDb => format!(
                "CREATE TABLE {table} (id BIGINT AUTO_INCREMENT PRIMARY KEY, v TEXT, \
                 at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3))"
            ),
            Kind::Sqlite => format!(
                "CREATE TABLE {table} (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT, \
                 at TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now')))"
            ),
        };
        self.exec(&[sql]);
    }
}

/// Unique names per test run: tests of several runs may share the databases.
fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{prefix}_{}_{}", std::process::id(), nanos % 100_000)
}

struct Worker {
    connect: ConnectProcess,
    rest: Rest,
}

impl Drop for Worker {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let output = self.connect.output();
            let lines: Vec<&str> = output.lines().collect();
            eprintln!("==== last lines of the worker ====\n{}", lines[lines.len().saturating_sub(150)..].join("\n"));
        }
    }
}

fn worker_props(dir: &Path, broker: &Broker) -> (std::path::PathBuf, u16) {
    let plugins = plugin_dir(dir, &["connect_jdbc"]);
    let port = broker::free_port();
    let listeners = format!("http://127.0.0.1:{port}");
    let props = worker_properties(
        dir,
        broker,
        &plugins,
        &[
            ("listeners", listeners.as_str()),
            ("offset.flush.interval.ms", "300"),
            ("consumer.group.instance.id", "jdbc-test-sink"),
        ],
    );
    (props, port)
}

fn start_worker(dir: &Path, props: &Path, port: u16, log: &str, connectors: &[&Path]) -> Worker {
    let connect = ConnectProcess::standalone(props, connectors, &dir.join(log));
    let rest = Rest::new(port);
    wait_for("GET /health 200", SETTLE, || matches!(rest.try_get("/health"), Ok((200, _))).then_some(()));
    Worker { connect, rest }
}

fn connector_file(dir: &Path, name: &str, pairs: &[(&str, &str)]) -> std::path::PathBuf {
    let path = dir.join(format!("{name}.properties"));
    let mut all = vec![("name", name)];
    all.extend_from_slice(pairs);
    write_properties(&path, &all);
    path
}

/// The `payload` of a JSON-with-schema value (or the value itself).
fn payload(bytes: &[u8]) -> Value {
    let v: Value = serde_json::from_slice(bytes).expect("JSON value");
    v.get("payload").cloned().unwrap_or(v)
}

/// Waits until `topic` holds every id of `expected`; returns the count read.
fn wait_for_ids(broker: &Broker, topic: &str, expected: &BTreeSet<i64>, timeout: Duration) -> usize {
    let deadline = Instant::now() + timeout;
    loop {
        let records = broker.consume(topic, usize::MAX, Duration::from_secs(3));
        let seen: BTreeSet<i64> = records.iter().filter_map(|r| payload(r.value.as_deref()?)["id"].as_i64()).collect();
        let missing: Vec<&i64> = expected.difference(&seen).collect();
        if missing.is_empty() {
            return records.len();
        }
        assert!(
            Instant::now() < deadline,
            "{topic}: {} ids missing (first {:?}) of {}; {} records read",
            missing.len(),
            missing.first(),
            expected.len(),
            records.len()
        );
    }
}

fn insert_events(db: &Database, table: &str, from: i64, count: i64) {
    let values: Vec<String> = (from..from + count).map(|i| format!("('row {i}')")).collect();
    db.exec(&[format!("INSERT INTO {table} (v) VALUES {}", values.join(","))]);
}

fn source_survives_kill9(kind: Kind) {
    let dir = test_dir();
    let db = Database::new(kind, dir.path());
    let table = unique("jdbc_src");
    db.create_events(&table);
    let broker = Broker::start();
    let (inc_topic, tsi_topic) = (format!("inc-{table}"), format!("tsi-{table}"));
    broker.create_topic(&inc_topic, 1);
    broker.create_topic(&tsi_topic, 1);
    let (props, port) = worker_props(dir.path(), &broker);
    let common = [
        ("connector.class", "JdbcSource"),
        ("connection.url", db.url.as_str()),
        ("table.whitelist", table.as_str()),
        ("poll.interval.ms", "200"),
        ("batch.max.rows", "50"),
    ];
    let mut inc = common.to_vec();
    inc.extend([("mode", "incrementing"), ("incrementing.column.name", "id"), ("topic.prefix", "inc-")]);
    let mut tsi = common.to_vec();
    tsi.extend([
        ("mode", "timestamp+incrementing"),
        ("incrementing.column.name", "id"),
        ("timestamp.column.name", "at"),
        ("topic.prefix", "tsi-"),
    ]);
    let inc = connector_file(dir.path(), "inc", &inc);
    let tsi = connector_file(dir.path(), "tsi", &tsi);

    insert_events(&db, &table, 0, 100);
    let mut worker = start_worker(dir.path(), &props, port, "connect-1.log", &[&inc, &tsi]);
    // Rows keep arriving while the worker runs; it is killed mid-stream.
    let mut next = 100;
    let started = Instant::now();
    while broker.consume(&inc_topic, 150, Duration::from_millis(300)).len() < 150 {
        insert_events(&db, &table, next, 20);
        next += 20;
        assert!(started.elapsed() < SETTLE, "the source did not copy 150 rows:\n{}", worker.connect.output());
    }
    worker.connect.kill9();
    drop(worker);
    // Rows inserted while the worker is down.
    insert_events(&db, &table, next, 100);
    next += 100;
    let _worker = start_worker(dir.path(), &props, port, "connect-2.log", &[&inc, &tsi]);
    insert_events(&db, &table, next, 50);
    next += 50;
    let expected: BTreeSet<i64> = (1..=next).collect();
    let inc_count = wait_for_ids(&broker, &inc_topic, &expected, SETTLE);
    let tsi_count = wait_for_ids(&broker, &tsi_topic, &expected, SETTLE);
    eprintln!("{kind:?}: {next} rows; incrementing {inc_count} records, timestamp+incrementing {tsi_count}");
    // The record shape: a Struct named after the table, with the Timestamp logical type.
    let first = broker.consume(&inc_topic, 1, Duration::from_secs(5));
    let v: Value = serde_json::from_slice(first[0].value.as_deref().unwrap()).unwrap();
    assert_eq!(v["schema"]["name"], json!(table), "{v}");
    let at = v["schema"]["fields"].as_array().unwrap().iter().find(|f| f["field"] == "at").unwrap().clone();
    assert_eq!(at["name"], "org.apache.kafka.connect.data.Timestamp", "{v}");
    assert_eq!(v["payload"]["id"], 1);
    db.drop_table(&table);
}

#[test]
fn postgres_source_survives_kill9() {
    source_survives_kill9(Kind::Postgres);
}

#[test]
fn mariadb_source_survives_kill9() {
    source_survives_kill9(Kind::MariaDb);
}

#[test]
fn sqlite_source_survives_kill9() {
    source_survives_kill9(Kind::Sqlite);
}

/// Produces (key, value) pairs; `None` values are tombstones.
fn produce(broker: &Broker, topic: &str, records: &[(String, Option<String>)]) {
    let producer: ThreadedProducer<DefaultProducerContext> =
        ClientConfig::new().set("bootstrap.servers", broker.bootstrap()).set("acks", "all").create().expect("producer");
    for (key, value) in records {
        let mut record = BaseRecord::<str, str>::to(topic).key(key.as_str());
        if let Some(value) = value {
            record = record.payload(value.as_str());
        }
        producer.send(record).map_err(|(e, _)| e).expect("send");
    }
    producer.flush(Duration::from_secs(30)).expect("flush");
}

fn key_json(id: i64) -> String {
    json!({"schema": {"type": "struct", "fields": [{"field": "id", "type": "int64", "optional": false}]},
           "payload": {"id": id}})
    .to_string()
}

fn value_json(id: i64, version: i64, with_note: bool) -> String {
    let mut fields = vec![
        json!({"field": "name", "type": "string", "optional": true}),
        json!({"field": "version", "type": "int64", "optional": false}),
    ];
    let mut payload = json!({"name": format!("item {id}"), "version": version});
    if with_note {
        fields.push(json!({"field": "note", "type": "string", "optional": true}));
        payload["note"] = json!(format!("note {id}"));
    }
    json!({"schema": {"type": "struct", "name": "item", "fields": fields}, "payload": payload}).to_string()
}

fn sink_upserts_and_survives_kill9(kind: Kind) {
    let dir = test_dir();
    let db = Database::new(kind, dir.path());
    let topic = unique("jdbc_sink");
    db.drop_table(&topic);
    let broker = Broker::start();
    broker.create_topic(&topic, 2);
    let (props, port) = worker_props(dir.path(), &broker);
    let sink = connector_file(
        dir.path(),
        "sink",
        &[
            ("connector.class", "JdbcSink"),
            ("connection.url", db.url.as_str()),
            ("topics", topic.as_str()),
            ("insert.mode", "upsert"),
            ("pk.mode", "record_key"),
            ("auto.create", "true"),
            ("auto.evolve", "true"),
            ("delete.enabled", "true"),
            ("batch.size", "100"),
        ],
    );
    // 50 keys, 10 versions each, in rounds: the last round has the final value of every key.
    let mut expected: BTreeMap<i64, i64> = BTreeMap::new();
    let round = |version: i64| -> Vec<(String, Option<String>)> {
        (0..50).map(|id| (key_json(id), Some(value_json(id, version, false)))).collect()
    };
    for version in 0..5 {
        produce(&broker, &topic, &round(version));
    }
    let mut worker = start_worker(dir.path(), &props, port, "connect-1.log", &[&sink]);
    let table_rows = |db: &Database| -> usize {
        let probe = match kind {
            Kind::Postgres => format!("SELECT count(*)::text FROM {topic}"),
            Kind::MariaDb => format!("SELECT CAST(count(*) AS CHAR) FROM {topic}"),
            Kind::Sqlite => format!("SELECT count(*) FROM {topic}"),
        };
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| db.query(&probe))) {
            Ok(rows) => rows[0][0].as_deref().and_then(|n| n.parse().ok()).unwrap_or(0),
            Err(_) => 0,
        }
    };
    wait_for("the table to be created and filled", SETTLE, || (table_rows(&db) >= 50).then_some(()));
    for version in 5..8 {
        produce(&broker, &topic, &round(version));
    }
    worker.connect.kill9();
    drop(worker);
    for version in 8..10 {
        produce(&broker, &topic, &round(version));
    }
    for id in 0..50 {
        expected.insert(id, 9);
    }
    // Tombstones for keys 0..10, then new records with a new field for keys 100..105.
    let tombstones: Vec<(String, Option<String>)> = (0..10).map(|id| (key_json(id), None)).collect();
    produce(&broker, &topic, &tombstones);
    for id in 0..10 {
        expected.remove(&id);
    }
    let evolved: Vec<(String, Option<String>)> =
        (100..105).map(|id| (key_json(id), Some(value_json(id, 1, true)))).collect();
    produce(&broker, &topic, &evolved);
    for id in 100..105 {
        expected.insert(id, 1);
    }
    let _worker = start_worker(dir.path(), &props, port, "connect-2.log", &[&sink]);
    let query = format!("SELECT id, version, note FROM {topic} ORDER BY id");
    let cast = |sql: &str| match kind {
        Kind::Postgres => sql.replace("id, version, note", "id::text, version::text, note"),
        Kind::MariaDb => sql.replace("id, version, note", "CAST(id AS CHAR), CAST(version AS CHAR), note"),
        Kind::Sqlite => sql.replace("id, version, note", "CAST(id AS TEXT), CAST(version AS TEXT), note"),
    };
    let query = cast(&query);
    let deadline = Instant::now() + SETTLE;
    loop {
        let rows = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| db.query(&query))).unwrap_or_default();
        let got: BTreeMap<i64, i64> = rows
            .iter()
            .map(|r| (r[0].as_deref().unwrap().parse().unwrap(), r[1].as_deref().unwrap().parse().unwrap()))
            .collect();
        if got == expected {
            let notes: Vec<Option<String>> =
                rows.iter().filter(|r| r[0].as_deref() == Some("100")).map(|r| r[2].clone()).collect();
            assert_eq!(notes, vec![Some("note 100".to_string())]);
            let old_note: Vec<Option<String>> =
                rows.iter().filter(|r| r[0].as_deref() == Some("20")).map(|r| r[2].clone()).collect();
            assert_eq!(old_note, vec![None]);
            break;
        }
        assert!(Instant::now() < deadline, "{kind:?} table {topic}: expected {expected:?}, got {got:?}");
        std::thread::sleep(Duration::from_millis(300));
    }
    db.drop_table(&topic);
}

#[test]
fn postgres_sink_upserts_deletes_evolves_and_survives_kill9() {
    sink_upserts_and_survives_kill9(Kind::Postgres);
}

#[test]
fn mariadb_sink_upserts_deletes_evolves_and_survives_kill9() {
    sink_upserts_and_survives_kill9(Kind::MariaDb);
}

#[test]
fn sqlite_sink_upserts_deletes_evolves_and_survives_kill9() {
    sink_upserts_and_survives_kill9(Kind::Sqlite);
}

#[test]
fn postgres_to_topic_to_mariadb_and_sqlite_keeps_types() {
    let dir = test_dir();
    let pg = Database::new(Kind::Postgres, dir.path());
    let maria = Database::new(Kind::MariaDb, dir.path());
    let lite = Database::new(Kind::Sqlite, dir.path());
    let table = unique("jdbc_pipe");
    pg.drop_table(&table);
    maria.drop_table(&table);
    pg.exec(&[
        format!(
            "CREATE TABLE {table} (id BIGINT PRIMARY KEY, amount NUMERIC(12,3), at TIMESTAMP(3), data BYTEA, \
             note TEXT)"
        ),
        format!(
            "INSERT INTO {table} VALUES (1, 12345.678, '2024-02-29 13:14:15.678', '\\x00ff10', 'first'), \
             (2, -0.001, '1999-12-31 23:59:59.999', '\\x', NULL), (3, NULL, NULL, NULL, 'nulls')"
        ),
    ]);
    let broker = Broker::start();
    broker.create_topic(&format!("pg-{table}"), 1);
    let (props, port) = worker_props(dir.path(), &broker);
    let topic = format!("pg-{table}");
    let source = connector_file(
        dir.path(),
        "pg-source",
        &[
            ("connector.class", "io.confluent.connect.jdbc.JdbcSourceConnector"),
            ("connection.url", pg.url.as_str()),
            ("table.whitelist", table.as_str()),
            ("mode", "incrementing"),
            ("incrementing.column.name", "id"),
            ("topic.prefix", "pg-"),
            ("poll.interval.ms", "200"),
        ],
    );
    let sink = |name: &str, url: &str| {
        connector_file(
            dir.path(),
            name,
            &[
                ("connector.class", "io.confluent.connect.jdbc.JdbcSinkConnector"),
                ("connection.url", url),
                ("topics", topic.as_str()),
                ("table.name.format", table.as_str()),
                ("insert.mode", "upsert"),
                ("pk.mode", "record_value"),
                ("pk.fields", "id"),
                ("auto.create", "true"),
            ],
        )
    };
    let to_maria = sink("to-maria", &maria.url);
    let to_lite = sink("to-lite", &lite.url);
    let _worker = start_worker(dir.path(), &props, port, "connect.log", &[&source, &to_maria, &to_lite]);

    let expected = vec![
        vec![Some("1"), Some("12345.678"), Some("2024-02-29 13:14:15.678"), Some("00ff10"), Some("first")],
        vec![Some("2"), Some("-0.001"), Some("1999-12-31 23:59:59.999"), Some(""), None],
        vec![Some("3"), None, None, None, Some("nulls")],
    ];
    let expected: Vec<Vec<Option<String>>> =
        expected.into_iter().map(|r| r.into_iter().map(|c| c.map(String::from)).collect()).collect();
    let pg_rows = pg.query(&format!(
        "SELECT id::text, amount::text, to_char(at, 'YYYY-MM-DD HH24:MI:SS.MS'), encode(data, 'hex'), note \
         FROM {table} ORDER BY id"
    ));
    assert_eq!(pg_rows, expected);
    let maria_sql = format!(
        "SELECT CAST(id AS CHAR), CAST(amount AS CHAR), DATE_FORMAT(at, '%Y-%m-%d %H:%i:%s.%f'), LOWER(HEX(data)), \
         note FROM {table} ORDER BY id"
    );
    let lite_sql = format!(
        "SELECT CAST(id AS TEXT), CAST(amount AS TEXT), CAST(at AS TEXT), \
         CASE WHEN data IS NULL THEN NULL ELSE lower(hex(data)) END, note FROM {table} ORDER BY id"
    );
    let settle = |db: &Database, sql: &str| -> Vec<Vec<Option<String>>> {
        let deadline = Instant::now() + SETTLE;
        loop {
            let rows = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| db.query(sql))).unwrap_or_default();
            if rows.len() == 3 || Instant::now() > deadline {
                return rows;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    };
    let mut maria_rows = settle(&maria, &maria_sql);
    // DATETIME(3) prints 6 fraction digits.
    for r in &mut maria_rows {
        if let Some(at) = &mut r[2] {
            at.truncate(23);
        }
    }
    assert_eq!(maria_rows, expected, "MariaDB");
    let mut lite_rows = settle(&lite, &lite_sql);
    // SQLite keeps NUMERIC values as numbers: 12345.678 reads back as REAL text.
    for r in &mut lite_rows {
        if let Some(v) = &mut r[1] {
            *v = v.parse::<f64>().map(|f| format!("{f}")).unwrap_or_default();
        }
    }
    let mut lite_expected = expected.clone();
    lite_expected[0][1] = Some("12345.678".into());
    lite_expected[1][1] = Some("-0.001".into());
    assert_eq!(lite_rows, lite_expected, "SQLite");
    pg.drop_table(&table);
    maria.drop_table(&table);
}

#[test]
fn bad_configurations_are_refused_key_by_key() {
    let dir = test_dir();
    let db = Database::new(Kind::Postgres, dir.path());
    let table = unique("jdbc_valid");
    db.exec(&[
        format!("DROP TABLE IF EXISTS {table}"),
        format!("CREATE TABLE {table} (id INT NOT NULL, n INT, v TEXT)"),
    ]);
    let broker = Broker::start();
    let (props, port) = worker_props(dir.path(), &broker);
    let worker = start_worker(dir.path(), &props, port, "connect.log", &[]);
    let validate = |class: &str, config: Value| -> BTreeMap<String, Vec<String>> {
        let (code, body) = worker.rest.put(&format!("/connector-plugins/{class}/config/validate"), &config);
        assert_eq!(code, 200, "{body}");
        body["configs"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| {
                let errors: Vec<String> =
                    c["value"]["errors"].as_array()?.iter().filter_map(|e| e.as_str().map(String::from)).collect();
                (!errors.is_empty()).then(|| (c["value"]["name"].as_str().unwrap().to_string(), errors))
            })
            .collect()
    };
    let source = |extra: Value| {
        let mut c = json!({"name": "v", "connector.class": "JdbcSource", "connection.url": PG, "topic.prefix": "x-",
                           "mode": "incrementing", "incrementing.column.name": "id", "table.whitelist": table});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        validate("JdbcSourceConnector", c)
    };
    assert_eq!(source(json!({})), BTreeMap::new());
    let errors = source(json!({"connection.url": "jdbc:db2://h/x"}));
    assert!(errors["connection.url"][0].contains("unsupported database"), "{errors:?}");
    let started = Instant::now();
    let errors = source(json!({"connection.url": "jdbc:postgresql://127.0.0.1:1/test"}));
    assert!(errors["connection.url"][0].contains("cannot connect"), "{errors:?}");
    assert!(started.elapsed() < Duration::from_secs(20));
    let errors = source(json!({"table.whitelist": format!("{table},no_such_table_here")}));
    assert!(errors["table.whitelist"][0].contains("does not exist"), "{errors:?}");
    let errors = source(json!({"incrementing.column.name": "nope"}));
    assert!(errors["incrementing.column.name"][0].contains("not found"), "{errors:?}");
    let errors = source(json!({"incrementing.column.name": "n"}));
    assert!(errors["incrementing.column.name"][0].contains("nullable"), "{errors:?}");
    let errors = source(json!({"mode": "sometimes"}));
    assert!(errors.contains_key("mode"), "{errors:?}");
    let sink = |extra: Value| {
        let mut c = json!({"name": "v", "connector.class": "JdbcSink", "connection.url": PG, "topics": table});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        validate("JdbcSinkConnector", c)
    };
    assert_eq!(sink(json!({})), BTreeMap::new());
    let errors = sink(json!({"insert.mode": "upsert"}));
    assert!(errors["insert.mode"][0].contains("requires key columns"), "{errors:?}");
    let errors = sink(json!({"delete.enabled": "true", "pk.mode": "record_value"}));
    assert!(errors["delete.enabled"][0].contains("record_key"), "{errors:?}");
    let errors = sink(json!({"pk.mode": "kafka", "pk.fields": "a,b"}));
    assert!(errors.contains_key("pk.fields"), "{errors:?}");
    let errors = sink(json!({"topics": "no_such_table_here"}));
    assert!(errors["auto.create"][0].contains("does not exist"), "{errors:?}");
    let (code, body) = worker.rest.get("/connector-plugins/JdbcSinkConnector/config");
    assert_eq!(code, 200, "{body}");
    let password = body.as_array().unwrap().iter().find(|k| k["name"] == "connection.password").unwrap();
    assert_eq!(password["type"], "PASSWORD");
    db.drop_table(&table);
}
