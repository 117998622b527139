//! Async test plugin: an async generator source and an async file sink, on connect-api's async layer.
//!
//! - `com.connectrs.test.AsyncGeneratorSourceConnector`: as the sync generator (`topic`, `records`, `value.size`,
//!   `batch.size`, one source partition per task, resuming after the last committed sequence number), plus
//!   `poll.delay.ms` (an await before each batch: a long one tests that a stop cancels it) and `panic.task` (the
//!   task of that index panics inside its poll future). It logs each batch at DEBUG (`tracing`) and, once, a `log`
//!   record and an event from a spawned future, to test the logging bridge.
//! - `com.connectrs.test.AsyncFileSinkConnector`: appends each record's value to `file`, one line each; with
//!   `put.delay.ms` it awaits before each `put`, and a value equal to `panic.on` panics inside the put future.

use std::time::Duration;

use connect_api::async_connector::*;
use connect_api::*;
use tokio::io::AsyncWriteExt;

fn source_def() -> ConfigDef {
    ConfigDef::new()
        .define(ConfigKey::new("topic", ConfigType::String))
        .define(ConfigKey::new("records", ConfigType::Long).default_value("-1"))
        .define(ConfigKey::new("value.size", ConfigType::Int).default_value("100"))
        .define(ConfigKey::new("batch.size", ConfigType::Int).default_value("1000"))
        .define(ConfigKey::new("poll.delay.ms", ConfigType::Long).default_value("0"))
        .define(ConfigKey::new("panic.task", ConfigType::Int).default_value("-1"))
}

/// The async generator connector.
#[derive(Default)]
pub struct AsyncGenerator {
    config: Config,
}

#[async_trait]
impl AsyncConnector for AsyncGenerator {
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").into()
    }

    fn config_def(&self) -> ConfigDef {
        source_def()
    }

    async fn start(&mut self, _ctx: ConnectorContext, config: &Config) -> Result<()> {
        source_def().parse(config)?;
        self.config = config.clone();
        Ok(())
    }

    async fn task_configs(&mut self, max: usize) -> Result<Vec<Config>> {
        Ok((0..max.max(1))
            .map(|i| {
                let mut config = self.config.clone();
                config.insert("task.index".into(), i.to_string());
                config
            })
            .collect())
    }

    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

impl AsyncSourceConnector for AsyncGenerator {
    type Task = AsyncGeneratorTask;
}

/// Generates the records.
#[derive(Default)]
pub struct AsyncGeneratorTask {
    topic: String,
    total: i64,
    next: i64,
    batch: usize,
    body: String,
    delay: Duration,
    panics: bool,
    partition: SourceMap,
    schema: Option<Schema>,
}

#[async_trait]
impl AsyncSourceTask for AsyncGeneratorTask {
    async fn start(&mut self, ctx: SourceTaskContext, config: &Config) -> Result<()> {
        let parsed = source_def().parse(config)?;
        self.topic = parsed.string("topic")?.to_string();
        self.total = parsed.long("records")?;
        self.batch = parsed.int("batch.size")?.max(1) as usize;
        self.body = "x".repeat(parsed.int("value.size")?.max(0) as usize);
        self.delay = Duration::from_millis(parsed.long("poll.delay.ms")?.max(0) as u64);
        let index = config.get("task.index").map(String::as_str).unwrap_or("0");
        self.panics = parsed.int("panic.task")?.to_string() == index;
        self.partition = SourceMap::new().with("generator", index);
        self.schema = Some(Schema::string());
        self.next = ctx.offset(&self.partition).and_then(|o| o.get("next")?.as_i64()).unwrap_or(0);
        log::info!("async generator task {index} starts at {} (a log record)", self.next);
        let background = spawn(async { tracing::info!("async generator background work runs in the task's span") });
        background.await.map_err(|e| ConnectError::new(format!("the background future failed: {e}")))?;
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        if self.panics {
            tokio::task::yield_now().await;
            panic!("async generator panicked inside its poll future");
        }
        let remaining = if self.total < 0 { self.batch as i64 } else { (self.total - self.next).max(0) };
        let n = remaining.min(self.batch as i64) as usize;
        if n == 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            return Ok(Vec::new());
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            self.next += 1;
            out.push(SourceRecord::new(
                self.partition.clone(),
                SourceMap::new().with("next", self.next),
                self.topic.clone(),
                self.schema.clone(),
                Value::from(self.body.as_str()),
            ));
        }
        tracing::debug!(records = n, next = self.next, "async generator polled a batch");
        Ok(out)
    }

    async fn stop(&mut self) -> Result<()> {
        tracing::info!(next = self.next, "async generator stopped");
        Ok(())
    }
}

fn sink_def() -> ConfigDef {
    ConfigDef::new()
        .define(ConfigKey::new("file", ConfigType::String))
        .define(ConfigKey::new("put.delay.ms", ConfigType::Long).default_value("0"))
        .define(ConfigKey::new("panic.on", ConfigType::String).optional())
}

/// The async file sink connector.
#[derive(Default)]
pub struct AsyncFileSink {
    config: Config,
}

#[async_trait]
impl AsyncConnector for AsyncFileSink {
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").into()
    }

    fn config_def(&self) -> ConfigDef {
        sink_def()
    }

    async fn start(&mut self, _ctx: ConnectorContext, config: &Config) -> Result<()> {
        sink_def().parse(config)?;
        self.config = config.clone();
        Ok(())
    }

    async fn task_configs(&mut self, max: usize) -> Result<Vec<Config>> {
        Ok(vec![self.config.clone(); max.max(1)])
    }

    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

impl AsyncSinkConnector for AsyncFileSink {
    type Task = AsyncFileSinkTask;
}

/// Appends values to the file.
#[derive(Default)]
pub struct AsyncFileSinkTask {
    path: String,
    file: Option<tokio::fs::File>,
    delay: Duration,
    panic_on: Option<String>,
}

#[async_trait]
impl AsyncSinkTask for AsyncFileSinkTask {
    async fn start(&mut self, _ctx: SinkTaskContext, config: &Config) -> Result<()> {
        let parsed = sink_def().parse(config)?;
        self.path = parsed.string("file")?.to_string();
        self.delay = Duration::from_millis(parsed.long("put.delay.ms")?.max(0) as u64);
        self.panic_on = parsed.optional_string("panic.on")?.map(str::to_string);
        let file = tokio::fs::OpenOptions::new().create(true).append(true).open(&self.path).await;
        self.file = Some(file.map_err(|e| ConnectError::new(format!("cannot open {}: {e}", self.path)))?);
        Ok(())
    }

    async fn put(&mut self, records: Vec<SinkRecord>) -> Result<()> {
        if !self.delay.is_zero() && !records.is_empty() {
            tokio::time::sleep(self.delay).await;
        }
        let mut text = String::new();
        for record in &records {
            let value = record.value.to_string();
            if self.panic_on.as_deref() == Some(value.as_str()) {
                tokio::task::yield_now().await;
                panic!("async sink panicked inside its put future on {value}");
            }
            text.push_str(&value);
            text.push('\n');
        }
        let file = self.file.as_mut().ok_or_else(|| ConnectError::new("not started"))?;
        file.write_all(text.as_bytes()).await.map_err(|e| ConnectError::retriable(format!("{}: {e}", self.path)))
    }

    async fn flush(&mut self, _offsets: &[TopicPartitionOffset]) -> Result<()> {
        if let Some(file) = self.file.as_mut() {
            file.flush().await.map_err(|e| ConnectError::retriable(format!("{}: {e}", self.path)))?;
        }
        Ok(())
    }

    async fn stop(&mut self) -> Result<()> {
        self.file = None;
        Ok(())
    }
}

connect_api::export_plugins! {
    async_source "com.connectrs.test.AsyncGeneratorSourceConnector" => AsyncGenerator,
    async_sink "com.connectrs.test.AsyncFileSinkConnector" => AsyncFileSink,
}
