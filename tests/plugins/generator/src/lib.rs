//! A source connector whose tasks (one per `tasks.max`, each its own source partition) generate `records` string
//! values of `value.size` bytes each (then idle), in batches of `batch.size`, resuming after the last committed
//! sequence number. Used by the benchmark and by tests that need a known stream of records. With `numbered=true`
//! each value is `<task index>:<sequence number>` instead (so a test can check that every record arrived), and
//! `interval.ms` paces the batches (so an endless stream stays small).
//!
//! Also a transformation loaded from this `.so`, `com.connectrs.test.FlakyTransform`: it fails with a retriable
//! error `failures` times in a row (then passes records through unchanged, prefixing the value with `prefix`), to
//! test the runtime's retries.
//!
//! And a sink, `com.connectrs.test.CountingSinkConnector` (alias `CountingSink`), whose tasks only count the
//! records given to `put` and rewrite the running total into `count.file` after each batch: the sink benchmark
//! measures the runtime's sink path (consumer, converters, `put`) with it, not a destination.

use connect_api::*;

fn def() -> ConfigDef {
    ConfigDef::new()
        .define(ConfigKey::new("topic", ConfigType::String))
        .define(ConfigKey::new("records", ConfigType::Long).default_value("-1"))
        .define(ConfigKey::new("value.size", ConfigType::Int).default_value("100"))
        .define(ConfigKey::new("batch.size", ConfigType::Int).default_value("1000"))
        .define(ConfigKey::new("numbered", ConfigType::Boolean).default_value("false"))
        .define(ConfigKey::new("interval.ms", ConfigType::Long).default_value("0"))
        // Unused by the data path: lets tests check that PASSWORD values are masked over REST.
        .define(ConfigKey::new("secret", ConfigType::Password).optional())
}

/// The connector.
#[derive(Default)]
pub struct Generator {
    config: Config,
}

impl Connector for Generator {
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").into()
    }
    fn config_def(&self) -> ConfigDef {
        def()
    }
    fn start(&mut self, _ctx: ConnectorContext, config: &Config) -> Result<()> {
        def().parse(config)?;
        self.config = config.clone();
        Ok(())
    }
    fn task_configs(&mut self, max: usize) -> Result<Vec<Config>> {
        // One task per `tasks.max`, each with its own source partition.
        Ok((0..max.max(1))
            .map(|i| {
                let mut config = self.config.clone();
                config.insert("task.index".into(), i.to_string());
                config
            })
            .collect())
    }
    fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

impl SourceConnector for Generator {
    type Task = GeneratorTask;
}

/// Generates the records.
#[derive(Default)]
pub struct GeneratorTask {
    topic: String,
    total: i64,
    next: i64,
    batch: usize,
    body: String,
    numbered: bool,
    interval: std::time::Duration,
    index: String,
    partition: SourceMap,
    schema: Option<Schema>,
}

impl SourceTask for GeneratorTask {
    fn start(&mut self, ctx: SourceTaskContext, config: &Config) -> Result<()> {
        let parsed = def().parse(config)?;
        self.topic = parsed.string("topic")?.to_string();
        self.total = parsed.long("records")?;
        self.batch = parsed.int("batch.size")?.max(1) as usize;
        self.body = "x".repeat(parsed.int("value.size")?.max(0) as usize);
        self.numbered = parsed.boolean("numbered")?;
        self.interval = std::time::Duration::from_millis(parsed.long("interval.ms")?.max(0) as u64);
        let index = config.get("task.index").map(String::as_str).unwrap_or("0");
        self.index = index.to_string();
        self.partition = SourceMap::new().with("generator", index);
        self.schema = Some(Schema::string());
        self.next = ctx.offset(&self.partition).and_then(|o| o.get("next")?.as_i64()).unwrap_or(0);
        Ok(())
    }

    fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        let remaining = if self.total < 0 { self.batch as i64 } else { (self.total - self.next).max(0) };
        let n = remaining.min(self.batch as i64) as usize;
        if n == 0 {
            std::thread::sleep(std::time::Duration::from_millis(50));
            return Ok(Vec::new());
        }
        if !self.interval.is_zero() {
            std::thread::sleep(self.interval);
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            self.next += 1;
            out.push(SourceRecord::new(
                self.partition.clone(),
                SourceMap::new().with("next", self.next),
                self.topic.clone(),
                self.schema.clone(),
                if self.numbered {
                    Value::from(format!("{}:{}", self.index, self.next))
                } else {
                    Value::from(self.body.as_str())
                },
            ));
        }
        Ok(out)
    }

    fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Fails its first `failures` calls with a retriable error, then passes records through with `prefix` before
/// string values.
#[derive(Default)]
pub struct FlakyTransform {
    failures_left: i64,
    prefix: String,
}

impl Transformation for FlakyTransform {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define(ConfigKey::new("failures", ConfigType::Long).default_value("0"))
            .define(ConfigKey::new("prefix", ConfigType::String).default_value(""))
    }

    fn configure(&mut self, config: &Config) -> Result<()> {
        let parsed = self.config_def().parse(config)?;
        self.failures_left = parsed.long("failures")?;
        self.prefix = parsed.string("prefix")?.to_string();
        Ok(())
    }

    fn apply(&mut self, mut record: TransformRecord) -> Result<Option<TransformRecord>> {
        if self.failures_left > 0 {
            self.failures_left -= 1;
            return Err(ConnectError::retriable(format!("flaky: {} failures to go", self.failures_left)));
        }
        if let Some(text) = record.value.as_str() {
            record.value = Value::from(format!("{}{text}", self.prefix));
        }
        Ok(Some(record))
    }
}

/// `count.file`: where a counting task writes its running total.
fn counting_def() -> ConfigDef {
    ConfigDef::new().define(ConfigKey::new("count.file", ConfigType::String))
}

/// The counting sink connector: every task gets the same `count.file` (run one task per file).
#[derive(Default)]
pub struct CountingSink {
    config: Config,
}

impl Connector for CountingSink {
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").into()
    }
    fn config_def(&self) -> ConfigDef {
        counting_def()
    }
    fn start(&mut self, _ctx: ConnectorContext, config: &Config) -> Result<()> {
        counting_def().parse(config)?;
        self.config = config.clone();
        Ok(())
    }
    fn task_configs(&mut self, max: usize) -> Result<Vec<Config>> {
        Ok(vec![self.config.clone(); max.max(1)])
    }
    fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

impl SinkConnector for CountingSink {
    type Task = CountingSinkTask;
}

/// Counts records; nothing else.
#[derive(Default)]
pub struct CountingSinkTask {
    file: Option<std::fs::File>,
    path: std::path::PathBuf,
    count: u64,
}

impl CountingSinkTask {
    /// Rewrites the total in place, zero-padded to a fixed width, so a reader sees a whole number and no file is
    /// created per batch (that would cost more than the counting).
    fn write_count(&self) -> Result<()> {
        use std::os::unix::fs::FileExt;
        let file = self.file.as_ref().ok_or_else(|| ConnectError::new("the counting task is not started"))?;
        file.write_all_at(format!("{:020}", self.count).as_bytes(), 0)
            .map_err(|e| ConnectError::new(format!("cannot write {}: {e}", self.path.display())))
    }
}

impl SinkTask for CountingSinkTask {
    fn start(&mut self, _ctx: SinkTaskContext, config: &Config) -> Result<()> {
        self.path = counting_def().parse(config)?.string("count.file")?.into();
        let file = std::fs::File::create(&self.path)
            .map_err(|e| ConnectError::new(format!("cannot create {}: {e}", self.path.display())))?;
        self.file = Some(file);
        self.count = 0;
        self.write_count()
    }

    fn put(&mut self, records: Vec<SinkRecord>) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        self.count += records.len() as u64;
        self.write_count()
    }

    fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

connect_api::export_plugins! {
    source "com.connectrs.test.GeneratorSourceConnector" => Generator,
    sink "com.connectrs.test.CountingSinkConnector" => CountingSink,
    transformation "com.connectrs.test.FlakyTransform" => FlakyTransform,
}
