//! Unit tests: URL parsing, the SQL of each dialect, the auto.create type mapping; and the connectors run
//! in-process (connect-api's testkit) against SQLite files: sink upserts, deletes, evolution, refusals; source
//! modes, offsets and restarts.

use std::time::Duration;

use connect_api::data::logical::{Decimal, Timestamp};
use connect_api::testkit::{SinkHarness, SourceHarness};
use connect_api::{Config, Schema, SchemaBuilder, SinkRecord, SourceMap, Struct, Value};

use crate::dialect::{Column, Dialect, TableId};
use crate::url::{parse, parse_host_url, redact, Target};
use crate::{JdbcSink, JdbcSource};

fn config(pairs: &[(&str, &str)]) -> Config {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn jdbc_urls_of_each_database() {
    let u = parse_host_url("db.example:6543/shop?user=app&password=p%40ss&ssl=false").unwrap();
    assert_eq!(u.host, "db.example");
    assert_eq!(u.port, Some(6543));
    assert_eq!(u.database.as_deref(), Some("shop"));
    assert_eq!(u.user.as_deref(), Some("app"));
    assert_eq!(u.password.as_deref(), Some("p@ss"));
    let u = parse_host_url("bob:secret@[::1]:3307/test").unwrap();
    assert_eq!((u.host.as_str(), u.port, u.user.as_deref()), ("::1", Some(3307), Some("bob")));
    assert!(parse_host_url(":5432/db").is_err());
    assert!(parse_host_url("a,b/db").is_err());

    let Target::Postgres(pg) = parse("jdbc:postgresql://localhost/test", Some("postgres"), None).unwrap() else {
        panic!("not postgres")
    };
    assert_eq!(pg.get_port(), 5432);
    assert_eq!(pg.get_database(), Some("test"));
    assert_eq!(pg.get_username(), "postgres");
    assert!(matches!(parse("jdbc:mysql://127.0.0.1:3306/test", None, None).unwrap(), Target::MySql(_)));
    assert!(matches!(parse("jdbc:mariadb://127.0.0.1/test?user=root", None, None).unwrap(), Target::MySql(_)));
    assert!(matches!(parse("postgres://u:p@h/db", None, None).unwrap(), Target::Postgres(_)));
    let Target::Sqlite(lite) = parse("jdbc:sqlite:/tmp/x.db", None, None).unwrap() else { panic!("not sqlite") };
    assert_eq!(lite.get_filename(), std::path::Path::new("/tmp/x.db"));
    assert!(matches!(parse("jdbc:sqlite::memory:", None, None).unwrap(), Target::Sqlite(_)));
    let err = parse("jdbc:oracle:thin:@h:1521:x", None, None).unwrap_err();
    assert!(err.contains("unsupported database 'oracle'"), "{err}");
    assert!(parse("", None, None).is_err());
    assert!(parse("jdbc:postgresql:db", None, None).is_err());
    assert!(parse("jdbc:postgresql://h:notaport/db", None, None).unwrap_err().contains("invalid port"));
    assert_eq!(
        redact("jdbc:postgresql://h/db?user=a&password=b&x=1"),
        "jdbc:postgresql://h/db?user=a&password=****&x=1"
    );
    assert_eq!(redact("postgres://a:secret@h/db"), "postgres://a:****@h/db");
}

fn col(name: &str, schema: Schema) -> Column {
    Column { name: name.into(), schema }
}

#[test]
fn sink_sql_per_dialect() {
    let t = TableId { schema: None, name: "orders".into() };
    let keys = [col("id", Schema::int64())];
    let values = [col("name", Schema::optional_string()), col("qty", Schema::int32())];
    assert_eq!(
        Dialect::Postgres.upsert(&t, &keys, &values, 2),
        "INSERT INTO \"orders\"(\"id\",\"name\",\"qty\") VALUES($1,$2,$3),($4,$5,$6) ON CONFLICT (\"id\") DO UPDATE \
         SET \"name\"=EXCLUDED.\"name\",\"qty\"=EXCLUDED.\"qty\""
    );
    assert_eq!(
        Dialect::Postgres.upsert(&t, &keys, &[], 1),
        "INSERT INTO \"orders\"(\"id\") VALUES($1) ON CONFLICT (\"id\") DO NOTHING"
    );
    assert_eq!(
        Dialect::MySql.upsert(&t, &keys, &values, 1),
        "INSERT INTO `orders`(`id`,`name`,`qty`) VALUES(?,?,?) ON DUPLICATE KEY UPDATE `name`=VALUES(`name`),\
         `qty`=VALUES(`qty`)"
    );
    assert_eq!(
        Dialect::MySql.upsert(&t, &keys, &[], 1),
        "INSERT INTO `orders`(`id`) VALUES(?) ON DUPLICATE KEY UPDATE `id`=VALUES(`id`)"
    );
    assert_eq!(
        Dialect::Sqlite.upsert(&t, &keys, &values, 1),
        "INSERT INTO `orders`(`id`,`name`,`qty`) VALUES(?,?,?) ON CONFLICT (`id`) DO UPDATE SET \
         `name`=excluded.`name`,`qty`=excluded.`qty`"
    );
    assert_eq!(
        Dialect::Postgres.update(&t, &keys, &values),
        "UPDATE \"orders\" SET \"name\" = $1, \"qty\" = $2 WHERE \"id\" = $3"
    );
    assert_eq!(Dialect::MySql.delete(&t, &keys), "DELETE FROM `orders` WHERE `id` = ?");
    let qualified = TableId::parse("sales.orders");
    assert_eq!(
        Dialect::Postgres.insert(&qualified, &keys, &[], 1),
        "INSERT INTO \"sales\".\"orders\"(\"id\") VALUES($1)"
    );
    assert_eq!(Dialect::Postgres.quote("we\"ird"), "\"we\"\"ird\"");
    assert_eq!(Dialect::MySql.quote("we`ird"), "`we``ird`");
}

#[test]
fn create_and_alter_per_dialect() {
    let t = TableId { schema: None, name: "t".into() };
    let keys = [col("k", Schema::string())];
    let with_default = SchemaBuilder::int32().optional().default_value(Value::Int32(5)).build().unwrap();
    let values = [
        col("price", Decimal::schema(2)),
        col("at", Timestamp::builder().optional().build().unwrap()),
        col("n", with_default),
        col("b", Schema::optional_bytes()),
    ];
    assert_eq!(
        Dialect::Postgres.create_table(&t, &keys, &values).unwrap(),
        "CREATE TABLE \"t\" (\n\"k\" TEXT NOT NULL,\n\"price\" DECIMAL NOT NULL,\n\"at\" TIMESTAMP NULL,\n\
         \"n\" INT NULL DEFAULT 5,\n\"b\" BYTEA NULL,\nPRIMARY KEY(\"k\"))"
    );
    let mysql = Dialect::MySql.create_table(&t, &keys, &values).unwrap();
    assert!(mysql.contains("`k` VARCHAR(255) NOT NULL"), "{mysql}");
    assert!(mysql.contains("`price` DECIMAL(65,2) NOT NULL"), "{mysql}");
    assert!(mysql.contains("`at` DATETIME(3) NULL"), "{mysql}");
    let sqlite = Dialect::Sqlite.create_table(&t, &keys, &values).unwrap();
    assert!(sqlite.contains("`price` NUMERIC NOT NULL") && sqlite.contains("`b` BLOB NULL"), "{sqlite}");
    let added = [col("x", Schema::optional_float64()), col("y", Schema::optional_boolean())];
    assert_eq!(
        Dialect::Postgres.alter_table(&t, &added).unwrap(),
        vec!["ALTER TABLE \"t\" ADD \"x\" DOUBLE PRECISION NULL, ADD \"y\" BOOLEAN NULL"]
    );
    assert_eq!(Dialect::Sqlite.alter_table(&t, &added).unwrap().len(), 2);
    let required = [col("z", Schema::int32())];
    assert!(Dialect::MySql.alter_table(&t, &required).unwrap_err().contains("required and has no default"));
    let map = SchemaBuilder::map(Schema::string(), Schema::string()).build().unwrap();
    let err = Dialect::Postgres.create_table(&t, &keys, &[col("m", map)]).unwrap_err();
    assert!(err.contains("doesn't have a mapping"), "{err}");
}

// ---- SQLite end to end through the testkit ----

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("jdbc:sqlite:{}", dir.path().join("db.sqlite").display())
}

fn sql(url: &str, statements: &[&str]) {
    let target = parse(url, None, None).unwrap();
    connect_api::async_connector::block_on(async {
        let db = crate::db::Db::connect(&target, 1, Duration::from_secs(5)).await.unwrap();
        for s in statements {
            db.execute(s).await.unwrap();
        }
        db.close().await;
    });
}

fn rows(url: &str, query: &str) -> Vec<Vec<Option<String>>> {
    let target = parse(url, None, None).unwrap();
    connect_api::async_connector::block_on(async {
        let db = crate::db::Db::connect(&target, 1, Duration::from_secs(5)).await.unwrap();
        let rows = db.query_text(query, &[]).await.unwrap();
        db.close().await;
        rows
    })
}

fn key_schema() -> Schema {
    SchemaBuilder::structure().name("Key").field("id", Schema::int64()).build().unwrap()
}

fn value_schema(extra: bool) -> Schema {
    let mut b = SchemaBuilder::structure()
        .name("Value")
        .field("name", Schema::optional_string())
        .field("price", Decimal::builder(2).optional().build().unwrap());
    if extra {
        b = b.field("note", Schema::optional_string());
    }
    b.build().unwrap()
}

fn record(offset: i64, id: i64, name: Option<&str>, extra: bool) -> SinkRecord {
    let key = Struct::new(key_schema()).unwrap().with("id", id).unwrap();
    let (schema, value) = match name {
        Some(name) => {
            let mut v = Struct::new(value_schema(extra)).unwrap();
            v.put("name", name).unwrap();
            v.put("price", Decimal::from_unscaled(i128::from(id) * 100 + 5)).unwrap();
            if extra {
                v.put("note", format!("note {id}")).unwrap();
            }
            (Some(value_schema(extra)), Value::Struct(v))
        }
        None => (None, Value::Null),
    };
    SinkRecord::new("items", 0, offset, schema, value).with_key(Some(key_schema()), Value::Struct(key))
}

fn sink_config(url: &str, extra: &[(&str, &str)]) -> Config {
    let mut c = config(&[
        ("connection.url", url),
        ("topics", "items"),
        ("insert.mode", "upsert"),
        ("pk.mode", "record_key"),
        ("auto.create", "true"),
        ("auto.evolve", "true"),
        ("delete.enabled", "true"),
    ]);
    c.extend(config(extra));
    c
}

#[test]
fn sqlite_sink_upserts_deletes_and_evolves() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let mut connector = SinkHarness::new_async::<JdbcSink>();
    let cfg = sink_config(&url, &[]);
    assert!(connector.errors(&cfg).unwrap().is_empty(), "{:?}", connector.errors(&cfg));
    connector.start(&cfg).unwrap();
    let configs = connector.task_configs(1).unwrap();
    let mut task = connector.start_task(&configs[0]).unwrap();
    // Updated keys in one batch: the last value wins.
    task.put(vec![record(0, 1, Some("a"), false), record(1, 2, Some("b"), false), record(2, 1, Some("a2"), false)])
        .unwrap();
    assert_eq!(
        rows(&url, "SELECT CAST(id AS TEXT), name, CAST(price AS TEXT) FROM items ORDER BY id"),
        vec![
            vec![Some("1".into()), Some("a2".into()), Some("1.05".into())],
            vec![Some("2".into()), Some("b".into()), Some("2.05".into())]
        ]
    );
    // A tombstone deletes, and a record after it in the same put writes again.
    task.put(vec![record(3, 2, None, false), record(4, 3, Some("c"), false), record(5, 3, None, false)]).unwrap();
    task.put(vec![record(6, 3, Some("c2"), false)]).unwrap();
    assert_eq!(rows(&url, "SELECT CAST(id AS TEXT), name FROM items ORDER BY id").len(), 2);
    assert_eq!(rows(&url, "SELECT name FROM items WHERE id = 3"), vec![vec![Some("c2".into())]]);
    // The value schema grows: the column is added.
    task.put(vec![record(7, 4, Some("d"), true)]).unwrap();
    assert_eq!(rows(&url, "SELECT note FROM items WHERE id = 4"), vec![vec![Some("note 4".into())]]);
    assert_eq!(rows(&url, "SELECT note FROM items WHERE id = 1"), vec![vec![None]]);
    task.stop().unwrap();
}

#[test]
fn sqlite_sink_refuses_what_it_cannot_do_right() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    sql(&url, &["CREATE TABLE items (id INTEGER, name TEXT, price NUMERIC)"]);
    let connector = SinkHarness::new_async::<JdbcSink>();
    // Upsert into a table without a unique key on the key columns: a clear error, not bad SQL, and not retried.
    let mut task = connector.start_task(&sink_config(&url, &[("max.retries", "5")])).unwrap();
    let err = task.put(vec![record(0, 1, Some("a"), false)]).unwrap_err();
    assert!(err.message().contains("needs a primary key or unique index on exactly (id)"), "{}", err.message());
    assert!(!err.is_retriable() && task.timeout_ms().is_none(), "{err}");
    task.stop().unwrap();
    // A put failing in the database is retried (retriable error with the backoff as timeout), then fails the task.
    sql(&url, &["CREATE TABLE strict (id INTEGER PRIMARY KEY, name TEXT, price NUMERIC CHECK (price < 0))"]);
    let strict = [("max.retries", "1"), ("retry.backoff.ms", "10"), ("table.name.format", "strict")];
    let mut task = connector.start_task(&sink_config(&url, &strict)).unwrap();
    let err = task.put(vec![record(0, 1, Some("a"), false)]).unwrap_err();
    assert!(err.is_retriable() && err.message().contains("CHECK constraint"), "{err}");
    assert_eq!(task.timeout_ms(), Some(10));
    assert!(!task.put(vec![record(0, 1, Some("a"), false)]).unwrap_err().is_retriable());
    task.stop().unwrap();
    // With errors.tolerance=all the failing records go to the errant reporter, the good ones are written.
    sql(&url, &["CREATE TABLE other (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price NUMERIC)"]);
    let mut task = connector
        .start_task(&sink_config(
            &url,
            &[
                ("max.retries", "0"),
                ("errors.tolerance", "all"),
                ("table.name.format", "other"),
                ("delete.enabled", "false"),
            ],
        ))
        .unwrap();
    task.put(vec![record(0, 1, Some("ok"), false), record(1, 2, None, false), record(2, 3, Some("ok3"), false)])
        .unwrap();
    let errant = task.errant();
    assert_eq!(errant.len(), 1, "{errant:?}");
    assert_eq!(errant[0].0.kafka_offset, 1);
    assert_eq!(rows(&url, "SELECT count(*) FROM other"), vec![vec![Some("2".into())]]);
    task.stop().unwrap();
    // Conflicting keys are errors under their keys.
    let errors = connector
        .errors(&config(&[("connection.url", &url), ("insert.mode", "upsert"), ("delete.enabled", "true")]))
        .unwrap();
    assert!(errors.contains_key("insert.mode") && errors.contains_key("delete.enabled"), "{errors:?}");
    let errors = connector.errors(&config(&[("connection.url", "jdbc:nosuch://x")])).unwrap();
    assert!(errors["connection.url"][0].contains("unsupported database"), "{errors:?}");
    let errors = connector.errors(&config(&[("connection.url", &url), ("topics", "missing")])).unwrap();
    assert!(errors["auto.create"][0].contains("does not exist"), "{errors:?}");
}

fn source_config(url: &str, extra: &[(&str, &str)]) -> Config {
    let mut c = config(&[("connection.url", url), ("topic.prefix", "db-"), ("poll.interval.ms", "50")]);
    c.extend(config(extra));
    c
}

fn ids(records: &[connect_api::SourceRecord]) -> Vec<i64> {
    records.iter().map(|r| r.value.as_struct().unwrap().get("id").unwrap().as_i64().unwrap()).collect()
}

#[test]
fn sqlite_source_incrementing_resumes_from_committed_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    sql(
        &url,
        &[
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, name TEXT, amount DECIMAL(10,2), at TIMESTAMP)",
            "INSERT INTO orders VALUES (1, 'a', '1.50', '2024-01-01 00:00:00.000'), (2, NULL, NULL, NULL)",
            "CREATE TABLE skipped (id INTEGER PRIMARY KEY)",
        ],
    );
    let mut connector = SourceHarness::new_async::<JdbcSource>();
    let cfg = source_config(&url, &[("mode", "incrementing"), ("table.whitelist", "orders"), ("batch.max.rows", "2")]);
    assert!(connector.errors(&cfg).unwrap().is_empty(), "{:?}", connector.errors(&cfg));
    connector.start(&cfg).unwrap();
    let configs = connector.task_configs(4).unwrap();
    assert_eq!(configs.len(), 1);
    assert_eq!(configs[0]["tables"], "orders");
    let mut task = connector.start_task(&configs[0]).unwrap();
    let got = task.poll_until(2, Duration::from_secs(10)).unwrap();
    assert_eq!(ids(&got), [1, 2]);
    let first = &got[0];
    assert_eq!(first.topic.as_str(), "db-orders");
    let value = first.value.as_struct().unwrap();
    assert_eq!(value.schema().name(), Some("orders"));
    assert_eq!(Decimal::to_plain_string(value.get("amount").unwrap().as_bytes().unwrap(), 2), "1.50");
    assert_eq!(value.get("at"), Some(&Value::Int64(1_704_067_200_000)));
    let partition = SourceMap::new().with("protocol", "1").with("table", "orders");
    assert_eq!(first.source_partition, partition);
    assert_eq!(first.source_offset, SourceMap::new().with("incrementing", 1i64));
    task.acknowledge().unwrap();
    task.commit().unwrap();
    sql(&url, &["INSERT INTO orders (id, name) VALUES (3, 'c')"]);
    let mut task = task.restart().unwrap();
    assert_eq!(ids(&task.poll_until(1, Duration::from_secs(10)).unwrap()), [3]);
    task.stop().unwrap();
    // A missing incrementing column and an unknown table are errors of their keys.
    let errors = connector
        .errors(&source_config(
            &url,
            &[("mode", "incrementing"), ("incrementing.column.name", "nope"), ("table.whitelist", "orders,ghost")],
        ))
        .unwrap();
    assert!(errors["incrementing.column.name"][0].contains("'nope' not found"), "{errors:?}");
    assert!(errors["table.whitelist"][0].contains("'ghost' does not exist"), "{errors:?}");
    let errors = connector.errors(&source_config(&url, &[])).unwrap();
    assert!(errors.contains_key("mode"), "{errors:?}");
}

#[test]
fn sqlite_source_timestamp_modes() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    sql(
        &url,
        &[
            "CREATE TABLE ev (id INTEGER PRIMARY KEY, at TIMESTAMP NOT NULL)",
            "INSERT INTO ev VALUES (1, '2024-01-01 00:00:01.000'), (2, '2024-01-01 00:00:02.000'), \
             (3, '2024-01-01 00:00:02.000'), (4, '2024-01-01 00:00:03.000')",
        ],
    );
    // timestamp+incrementing: the offset holds both.
    let connector = SourceHarness::new_async::<JdbcSource>();
    let cfg = source_config(
        &url,
        &[
            ("mode", "timestamp+incrementing"),
            ("timestamp.column.name", "at"),
            ("incrementing.column.name", "id"),
            ("tables", "ev"),
        ],
    );
    let mut task = connector.start_task(&cfg).unwrap();
    let got = task.poll_until(4, Duration::from_secs(10)).unwrap();
    assert_eq!(ids(&got), [1, 2, 3, 4]);
    assert_eq!(
        got[2].source_offset,
        SourceMap::new()
            .with("timestamp", 1_704_067_202_000i64)
            .with("timestamp_nanos", 0i64)
            .with("incrementing", 3i64)
    );
    task.stop().unwrap();
    // timestamp only: a row's offset stays behind until a strictly greater timestamp follows.
    let cfg = source_config(&url, &[("mode", "timestamp"), ("timestamp.column.name", "at"), ("tables", "ev")]);
    let mut task = connector.start_task(&cfg).unwrap();
    let got = task.poll_until(4, Duration::from_secs(10)).unwrap();
    let ts = |r: &connect_api::SourceRecord| r.source_offset.get("timestamp").and_then(Value::as_i64);
    assert_eq!(
        got.iter().map(ts).collect::<Vec<_>>(),
        [Some(1_704_067_201_000), Some(1_704_067_201_000), Some(1_704_067_202_000), Some(1_704_067_203_000)]
    );
    task.stop().unwrap();
}

#[test]
fn sqlite_source_notices_new_tables() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    sql(
        &url,
        &[
            "CREATE TABLE a1 (id INTEGER PRIMARY KEY)",
            "CREATE TABLE a2 (id INTEGER PRIMARY KEY)",
            "CREATE TABLE b1 (id INTEGER PRIMARY KEY)",
        ],
    );
    let mut connector = SourceHarness::new_async::<JdbcSource>();
    let cfg = source_config(
        &url,
        &[("mode", "incrementing"), ("table.include.list", "a.*"), ("table.poll.interval.ms", "100")],
    );
    connector.start(&cfg).unwrap();
    let configs = connector.task_configs(4).unwrap();
    assert_eq!(configs.iter().map(|c| c["tables"].as_str()).collect::<Vec<_>>(), ["a1", "a2"]);
    sql(&url, &["CREATE TABLE a3 (id INTEGER PRIMARY KEY)", "CREATE TABLE b2 (id INTEGER PRIMARY KEY)"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while connector.reconfiguration_requests() == 0 {
        assert!(std::time::Instant::now() < deadline, "no reconfiguration requested for the new table");
        std::thread::sleep(Duration::from_millis(50));
    }
    let configs = connector.task_configs(2).unwrap();
    assert_eq!(configs.iter().map(|c| c["tables"].as_str()).collect::<Vec<_>>(), ["a1,a2", "a3"]);
    connector.stop().unwrap();
}
