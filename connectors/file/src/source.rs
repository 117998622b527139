//! FileStreamSource: each line of a file becomes a record; the file is followed as it grows.
//!
//! The source offset is the byte position just after a line, so a restart resumes right after the last
//! acknowledged line. A line is only emitted once its newline has been written: a half-written last line is
//! never sent truncated.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use connect_api::config::{ConfigDef, ConfigKey, ConfigType, Importance, Validator};
use connect_api::{
    Config, ConnectError, Connector, ConnectorContext, Result, Schema, SourceConnector, SourceMap, SourceRecord,
    SourceTask, SourceTaskContext, Value,
};

/// The source partition key, as Kafka's FileStreamSourceTask.
pub const FILENAME_FIELD: &str = "filename";
/// The source offset key.
pub const POSITION_FIELD: &str = "position";

/// How long `poll` waits for new data before returning an empty batch.
const IDLE_WAIT: Duration = Duration::from_millis(100);

fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new("file", ConfigType::String)
                .validator(Validator::NonEmptyString)
                .importance(Importance::High)
                .documentation("Source filename."),
        )
        .define(
            ConfigKey::new("topic", ConfigType::List)
                .validator(Validator::NonEmptyString)
                .importance(Importance::High)
                .documentation("The topic to publish data to."),
        )
        .define(
            ConfigKey::new("batch.size", ConfigType::Int)
                .default_value("2000")
                .validator(Validator::Range { min: Some(1.0), max: None })
                .importance(Importance::Low)
                .documentation(
                    "The maximum number of records the source task can read from the file each time it is polled.",
                ),
        )
}

/// Kafka's `org.apache.kafka.connect.file.FileStreamSourceConnector`.
#[derive(Default)]
pub struct FileStreamSourceConnector {
    config: Config,
}

impl Connector for FileStreamSourceConnector {
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_string()
    }

    fn config_def(&self) -> ConfigDef {
        config_def()
    }

    fn start(&mut self, _context: ConnectorContext, config: &Config) -> Result<()> {
        let parsed = config_def().parse(config)?;
        if parsed.list("topic")?.len() != 1 {
            return Err(ConnectError::config(
                "topic",
                "'topic' in FileStreamSourceConnector configuration requires definition of a single topic",
            ));
        }
        self.config = config.clone();
        Ok(())
    }

    fn task_configs(&mut self, _max_tasks: usize) -> Result<Vec<Config>> {
        // One file, one reader: more tasks would read the same lines.
        Ok(vec![self.config.clone()])
    }

    fn stop(&mut self) -> Result<()> {
        Ok(())
    }

    fn validate(&self, config: &Config) -> Vec<connect_api::config::ConfigValueInfo> {
        let mut infos = config_def().validate(config);
        if let Some(topic) = config.get("topic") {
            if topic.split(',').filter(|t| !t.trim().is_empty()).count() > 1 {
                if let Some(info) = infos.iter_mut().find(|i| i.name == "topic") {
                    info.errors.push(
                        "'topic' in FileStreamSourceConnector configuration requires definition of a single topic"
                            .into(),
                    );
                }
            }
        }
        infos
    }
}

impl SourceConnector for FileStreamSourceConnector {
    type Task = FileStreamSourceTask;
}

/// Reads lines from the file and remembers where the last complete line ended.
#[derive(Default)]
pub struct FileStreamSourceTask {
    filename: String,
    topic: String,
    batch_size: usize,
    file: Option<File>,
    /// Bytes read but not yet emitted (the start of an unfinished line).
    buffer: Vec<u8>,
    /// File position of `buffer[0]`.
    position: u64,
    partition: SourceMap,
    schema: Option<Schema>,
    warned_missing: bool,
}

impl FileStreamSourceTask {
    fn open(&mut self) -> Result<bool> {
        if self.file.is_some() {
            return Ok(true);
        }
        match File::open(&self.filename) {
            Ok(mut file) => {
                if self.position > 0 {
                    file.seek(SeekFrom::Start(self.position)).map_err(|e| {
                        ConnectError::new(format!("cannot seek {} to {}: {e}", self.filename, self.position))
                    })?;
                }
                self.file = Some(file);
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !self.warned_missing {
                    connect_api::tracing::warn!(
                        "Couldn't find file {} for FileStreamSourceTask, waiting for it to be created",
                        self.filename
                    );
                    self.warned_missing = true;
                }
                Ok(false)
            }
            Err(e) => Err(ConnectError::new(format!("cannot open {}: {e}", self.filename))),
        }
    }

    /// Splits complete lines off `buffer` (LF, CR or CRLF terminated) into records, up to `batch_size`.
    fn take_lines(&mut self, out: &mut Vec<SourceRecord>) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        let mut start = 0;
        let mut i = 0;
        while i < self.buffer.len() && out.len() < self.batch_size {
            let b = self.buffer[i];
            if b == b'\n' || b == b'\r' {
                let mut end = i + 1;
                if b == b'\r' {
                    match self.buffer.get(i + 1) {
                        Some(b'\n') => end = i + 2,
                        Some(_) => {}
                        // A CR at the end of what we have: wait to know whether LF follows.
                        None => break,
                    }
                }
                let line = String::from_utf8_lossy(&self.buffer[start..i]).into_owned();
                let offset = SourceMap::new().with(POSITION_FIELD, (self.position + end as u64) as i64);
                out.push(
                    SourceRecord::new(
                        self.partition.clone(),
                        offset,
                        self.topic.clone(),
                        self.schema.clone(),
                        Value::from(line),
                    )
                    .with_timestamp(now),
                );
                start = end;
                i = end;
            } else {
                i += 1;
            }
        }
        self.buffer.drain(..start);
        self.position += start as u64;
    }
}

impl SourceTask for FileStreamSourceTask {
    fn start(&mut self, context: SourceTaskContext, config: &Config) -> Result<()> {
        let parsed = config_def().parse(config)?;
        self.filename = parsed.string("file")?.to_string();
        self.topic = parsed.list("topic")?.first().cloned().unwrap_or_default();
        self.batch_size = parsed.int("batch.size")?.max(1) as usize;
        self.partition = SourceMap::new().with(FILENAME_FIELD, self.filename.as_str());
        self.schema = Some(Schema::string());
        self.position = match context.offset(&self.partition) {
            None => 0,
            Some(offset) => match offset.get(POSITION_FIELD) {
                Some(v) => v
                    .as_i64()
                    .filter(|p| *p >= 0)
                    .ok_or_else(|| ConnectError::new("Offset position is the incorrect type"))?
                    as u64,
                None => 0,
            },
        };
        self.buffer.clear();
        self.file = None;
        self.open()?;
        Ok(())
    }

    fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        let mut records = Vec::new();
        self.take_lines(&mut records);
        if records.len() >= self.batch_size {
            return Ok(records);
        }
        if !self.open()? {
            std::thread::sleep(IDLE_WAIT);
            return Ok(records);
        }
        let mut chunk = [0u8; 64 * 1024];
        loop {
            let file = self.file.as_mut().ok_or_else(|| ConnectError::new("file is not open"))?;
            let n = file
                .read(&mut chunk)
                .map_err(|e| ConnectError::new(format!("error reading {}: {e}", self.filename)))?;
            if n == 0 {
                break;
            }
            self.buffer.extend_from_slice(&chunk[..n]);
            self.take_lines(&mut records);
            if records.len() >= self.batch_size {
                break;
            }
        }
        if records.is_empty() {
            std::thread::sleep(IDLE_WAIT);
        }
        Ok(records)
    }

    fn stop(&mut self) -> Result<()> {
        self.file = None;
        Ok(())
    }
}
