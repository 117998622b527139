//! Misbehaving connectors, to check that a faulty plugin hurts nothing but itself:
//!
//! - `FaultySourceConnector`: its task panics on purpose (`panic.in` = `start` or `poll`, after `panic.after`
//!   records);
//! - `HangingSourceConnector` / `HangingSinkConnector`: block where `hang.in` says (`connector.start`,
//!   `connector.task_configs`, `task.poll` / `task.put`), for `hang.ms` (-1: for ever). The source writes string
//!   records `r<n>` to `topic`, one per poll, and the records a blocked poll returns at last are `zombie<n>`; the
//!   source task blocks once `hang.after` records were written (with `hang.marker`, only the instance that creates
//!   that file blocks: the first one). The sink appends record values to `file` and blocks
//!   in `put` on a record whose value is `hang` unless the file `<file>.hung` exists (it creates it first), so that
//!   only the first instance blocks.

use connect_api::*;

fn def() -> ConfigDef {
    ConfigDef::new()
        .define(ConfigKey::new("topic", ConfigType::String))
        .define(ConfigKey::new("panic.in", ConfigType::String).default_value("poll").validator(Validator::OneOf(vec![
            "start".into(),
            "poll".into(),
            "never".into(),
        ])))
        .define(ConfigKey::new("panic.after", ConfigType::Long).default_value("0"))
}

/// The connector.
#[derive(Default)]
pub struct FaultySource {
    config: Config,
}

impl Connector for FaultySource {
    fn version(&self) -> String {
        "0.0.1".into()
    }
    fn config_def(&self) -> ConfigDef {
        def()
    }
    fn start(&mut self, _ctx: ConnectorContext, config: &Config) -> Result<()> {
        self.config = config.clone();
        Ok(())
    }
    fn task_configs(&mut self, _max: usize) -> Result<Vec<Config>> {
        Ok(vec![self.config.clone()])
    }
    fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

impl SourceConnector for FaultySource {
    type Task = FaultyTask;
}

/// The task that panics.
#[derive(Default)]
pub struct FaultyTask {
    topic: String,
    panic_in_poll: bool,
    remaining: i64,
    next: i64,
}

impl SourceTask for FaultyTask {
    fn start(&mut self, _ctx: SourceTaskContext, config: &Config) -> Result<()> {
        let parsed = def().parse(config)?;
        if parsed.string("panic.in")? == "start" {
            panic!("faulty task refuses to start");
        }
        self.topic = parsed.string("topic")?.to_string();
        self.panic_in_poll = parsed.string("panic.in")? == "poll";
        self.remaining = parsed.long("panic.after")?;
        Ok(())
    }

    fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        if self.remaining <= 0 {
            if self.panic_in_poll {
                let values: Vec<u32> = Vec::new();
                // An out-of-bounds index: a real bug, not a deliberate error return.
                let _ = values[self.next as usize];
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            return Ok(Vec::new());
        }
        self.remaining -= 1;
        self.next += 1;
        Ok(vec![SourceRecord::new(
            SourceMap::new().with("faulty", "0"),
            SourceMap::new().with("n", self.next),
            self.topic.clone(),
            Some(Schema::int64()),
            Value::Int64(self.next),
        )])
    }

    fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Blocks for `ms` milliseconds, or for ever when negative.
fn hang(ms: i64) {
    if ms < 0 {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(ms as u64));
}

fn hang_def() -> ConfigDef {
    ConfigDef::new()
        .define(ConfigKey::new("topic", ConfigType::String).optional())
        .define(ConfigKey::new("file", ConfigType::String).optional())
        .define(ConfigKey::new("hang.in", ConfigType::String).default_value("never"))
        .define(ConfigKey::new("hang.ms", ConfigType::Long).default_value("-1"))
        .define(ConfigKey::new("hang.after", ConfigType::Long).default_value("0"))
        .define(ConfigKey::new("hang.marker", ConfigType::String).optional())
}

/// A connector that may block in `start` or `task_configs`.
#[derive(Default)]
pub struct Hanging {
    config: Config,
    hang_in: String,
    hang_ms: i64,
}

impl Connector for Hanging {
    fn version(&self) -> String {
        "0.0.1".into()
    }
    fn config_def(&self) -> ConfigDef {
        hang_def()
    }
    fn start(&mut self, _ctx: ConnectorContext, config: &Config) -> Result<()> {
        let parsed = hang_def().parse(config)?;
        self.hang_in = parsed.string("hang.in")?.to_string();
        self.hang_ms = parsed.long("hang.ms")?;
        self.config = config.clone();
        if self.hang_in == "connector.start" {
            hang(self.hang_ms);
        }
        Ok(())
    }
    fn task_configs(&mut self, _max: usize) -> Result<Vec<Config>> {
        if self.hang_in == "connector.task_configs" {
            hang(self.hang_ms);
        }
        Ok(vec![self.config.clone()])
    }
    fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

/// The source flavour.
#[derive(Default)]
pub struct HangingSource(Hanging);

/// The sink flavour.
#[derive(Default)]
pub struct HangingSink(Hanging);

macro_rules! delegate {
    ($ty:ty) => {
        impl Connector for $ty {
            fn version(&self) -> String {
                self.0.version()
            }
            fn config_def(&self) -> ConfigDef {
                self.0.config_def()
            }
            fn start(&mut self, ctx: ConnectorContext, config: &Config) -> Result<()> {
                self.0.start(ctx, config)
            }
            fn task_configs(&mut self, max: usize) -> Result<Vec<Config>> {
                self.0.task_configs(max)
            }
            fn stop(&mut self) -> Result<()> {
                self.0.stop()
            }
        }
    };
}

delegate!(HangingSource);
delegate!(HangingSink);

impl SourceConnector for HangingSource {
    type Task = HangingSourceTask;
}

impl SinkConnector for HangingSink {
    type Task = HangingSinkTask;
}

/// Writes `r<n>` records; blocks in `poll` once `hang.after` were written (when `hang.in` is `task.poll`).
#[derive(Default)]
pub struct HangingSourceTask {
    topic: String,
    hang: Option<i64>,
    after: i64,
    next: i64,
}

impl SourceTask for HangingSourceTask {
    fn start(&mut self, ctx: SourceTaskContext, config: &Config) -> Result<()> {
        let parsed = hang_def().parse(config)?;
        self.topic = parsed.optional_string("topic")?.unwrap_or("hanging").to_string();
        self.hang = (parsed.string("hang.in")? == "task.poll").then_some(parsed.long("hang.ms")?);
        if let Some(marker) = parsed.optional_string("hang.marker")? {
            let first = std::fs::OpenOptions::new().write(true).create_new(true).open(marker).is_ok();
            if !first {
                self.hang = None;
            }
        }
        self.next = ctx.offset(&SourceMap::new().with("hanging", "0")).and_then(|o| o.get("n")?.as_i64()).unwrap_or(0);
        self.after = self.next + parsed.long("hang.after")?;
        Ok(())
    }

    fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mut prefix = "r";
        if let Some(ms) = self.hang {
            if self.next >= self.after {
                hang(ms);
                prefix = "zombie";
            }
        }
        self.next += 1;
        Ok(vec![SourceRecord::new(
            SourceMap::new().with("hanging", "0"),
            SourceMap::new().with("n", self.next),
            self.topic.clone(),
            Some(Schema::string()),
            Value::from(format!("{prefix}{}", self.next)),
        )])
    }

    fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Appends values to `file`; blocks in `put` on a `hang` record (see the crate doc).
#[derive(Default)]
pub struct HangingSinkTask {
    file: String,
    hang: Option<i64>,
}

impl SinkTask for HangingSinkTask {
    fn start(&mut self, _ctx: SinkTaskContext, config: &Config) -> Result<()> {
        let parsed = hang_def().parse(config)?;
        self.file = parsed.optional_string("file")?.ok_or_else(|| ConnectError::config("file", "is required"))?.into();
        self.hang = (parsed.string("hang.in")? == "task.put").then_some(parsed.long("hang.ms")?);
        Ok(())
    }

    fn put(&mut self, records: Vec<SinkRecord>) -> Result<()> {
        use std::io::Write;
        let mut text = String::new();
        for record in &records {
            let value = record.value.to_string();
            if value == "hang" {
                if let Some(ms) = self.hang {
                    let marker = format!("{}.hung", self.file);
                    if !std::path::Path::new(&marker).exists() {
                        std::fs::write(&marker, "").map_err(|e| ConnectError::new(format!("{marker}: {e}")))?;
                        hang(ms);
                    }
                }
            }
            text.push_str(&value);
            text.push('\n');
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.file)
            .map_err(|e| ConnectError::new(format!("{}: {e}", self.file)))?;
        file.write_all(text.as_bytes()).map_err(|e| ConnectError::retriable(format!("{}: {e}", self.file)))
    }

    fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

connect_api::export_plugins! {
    source "com.connectrs.test.FaultySourceConnector" => FaultySource,
    source "com.connectrs.test.HangingSourceConnector" => HangingSource,
    sink "com.connectrs.test.HangingSinkConnector" => HangingSink,
}
