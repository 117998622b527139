//! FileStreamSink: writes each record's value as one line of text, appending to a file.
//!
//! Lines are buffered and written out by `flush`, which the runtime calls before it commits consumer offsets,
//! so every committed record is in the file (duplicates after a crash are possible, losses are not).

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};

use connect_api::config::{ConfigDef, ConfigKey, ConfigType, Importance, Validator};
use connect_api::{
    Config, ConnectError, Connector, ConnectorContext, Result, SinkConnector, SinkRecord, SinkTask, SinkTaskContext,
    TopicPartitionOffset,
};

fn config_def() -> ConfigDef {
    ConfigDef::new().define(
        ConfigKey::new("file", ConfigType::String)
            .validator(Validator::NonEmptyString)
            .importance(Importance::High)
            .documentation("Destination filename."),
    )
}

/// Kafka's `org.apache.kafka.connect.file.FileStreamSinkConnector`.
#[derive(Default)]
pub struct FileStreamSinkConnector {
    config: Config,
}

impl Connector for FileStreamSinkConnector {
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_string()
    }

    fn config_def(&self) -> ConfigDef {
        config_def()
    }

    fn start(&mut self, _context: ConnectorContext, config: &Config) -> Result<()> {
        config_def().parse(config)?;
        self.config = config.clone();
        Ok(())
    }

    fn task_configs(&mut self, max_tasks: usize) -> Result<Vec<Config>> {
        Ok(vec![self.config.clone(); max_tasks.max(1)])
    }

    fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

impl SinkConnector for FileStreamSinkConnector {
    type Task = FileStreamSinkTask;
}

/// Appends record values to the file.
#[derive(Default)]
pub struct FileStreamSinkTask {
    filename: String,
    out: Option<BufWriter<File>>,
}

impl FileStreamSinkTask {
    fn writer(&mut self) -> Result<&mut BufWriter<File>> {
        self.out.as_mut().ok_or_else(|| ConnectError::new("the sink task is not started"))
    }
}

impl SinkTask for FileStreamSinkTask {
    fn start(&mut self, _context: SinkTaskContext, config: &Config) -> Result<()> {
        let parsed = config_def().parse(config)?;
        self.filename = parsed.string("file")?.to_string();
        let file = OpenOptions::new().create(true).append(true).open(&self.filename).map_err(|e| {
            ConnectError::new(format!("Couldn't find or create file '{}' for FileStreamSinkTask: {e}", self.filename))
        })?;
        self.out = Some(BufWriter::with_capacity(256 * 1024, file));
        Ok(())
    }

    fn put(&mut self, records: Vec<SinkRecord>) -> Result<()> {
        let filename = self.filename.clone();
        let out = self.writer()?;
        for record in &records {
            writeln!(out, "{}", record.value)
                .map_err(|e| ConnectError::new(format!("cannot write to {filename}: {e}")))?;
        }
        Ok(())
    }

    fn flush(&mut self, _offsets: &[TopicPartitionOffset]) -> Result<()> {
        let filename = self.filename.clone();
        self.writer()?.flush().map_err(|e| ConnectError::new(format!("cannot flush {filename}: {e}")))
    }

    fn stop(&mut self) -> Result<()> {
        if let Some(mut out) = self.out.take() {
            out.flush().map_err(|e| ConnectError::new(format!("cannot flush {}: {e}", self.filename)))?;
        }
        Ok(())
    }
}
