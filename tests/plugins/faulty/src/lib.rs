//! A source connector whose task panics on purpose (`panic.in` = `start` or `poll`, after `panic.after`
//! records), to check that a panicking plugin fails its task and nothing else.

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

connect_api::export_plugins! {
    source "com.connectrs.test.FaultySourceConnector" => FaultySource,
}
