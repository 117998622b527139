//! `connect exporter [kafka_exporter flags]`: the Kafka Exporter's dedicated mode, a drop-in for the
//! `kafka_exporter` binary (Strimzi's `kafka_exporter_run.sh` command line works as is). One process serves the
//! metrics of one cluster until SIGINT or SIGTERM, then exits 0. No worker runs: the exporter needs no producer,
//! no offsets and no REST API.
//!
//! As kafka_exporter does, it refuses to start when the cluster does not answer; a bad or unsupported flag is an
//! error naming the flag. It never changes anything in the cluster.

use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::anyhow;
use connect_exporter::flags::{self, Command};
use connect_exporter::{ExporterConfig, RunningExporter};

/// How often the loop looks at the stop flag.
const TICK: Duration = Duration::from_millis(100);

/// Runs the exporter with kafka_exporter's `args` until SIGINT or SIGTERM.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let flags = match flags::parse(args).map_err(|e| anyhow!("{e}"))? {
        Command::Help(text) => {
            print!("{text}");
            return Ok(());
        }
        Command::Version(version) => {
            println!("{version}");
            return Ok(());
        }
        Command::Run(flags) => flags,
    };
    for (logger, level) in &flags.log_levels {
        if let Err(err) = crate::logging::set_level(logger, level) {
            tracing::debug!("log level {logger}={level} not applied: {err}");
        }
    }
    for note in &flags.notes {
        tracing::warn!("{note}");
    }
    let config = ExporterConfig::parse(&flags.config).map_err(|e| anyhow!("{}", as_flag_error(&e.to_string())))?;
    tracing::info!("Starting kafka_exporter (connect-rs {})", env!("CARGO_PKG_VERSION"));
    let bootstrap = config.client.bootstrap.join(",");
    let probe_timeout = config.scrape_timeout.max(Duration::from_secs(5));
    let exporter = RunningExporter::start(config).map_err(|e| anyhow!("{}", as_flag_error(&e.to_string())))?;
    if let Err(err) = exporter.probe(probe_timeout) {
        exporter.stop();
        return Err(anyhow!("--kafka.server: cannot reach the Kafka cluster at {bootstrap}: {err}"));
    }
    let stop = super::stop_on_signals()?;
    tracing::info!("Listening on HTTP {}", exporter.local_addr());
    while !stop.load(Ordering::Acquire) {
        std::thread::sleep(TICK);
    }
    tracing::info!("Kafka Exporter stopping");
    exporter.stop();
    Ok(())
}

/// A configuration error in the words of the command line: `--key` where the message names key `key`.
fn as_flag_error(message: &str) -> String {
    for prefix in ["Invalid value for configuration ", "Invalid value "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            // "Invalid value for configuration KEY: why" / "Invalid value V for configuration KEY: why"
            if let Some((before, why)) = rest.split_once(": ") {
                let key = before.rsplit(' ').next().unwrap_or(before);
                return format!("--{key}: {why}");
            }
        }
    }
    message.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_errors_name_the_flag() {
        let parse = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            let Ok(Command::Run(flags)) = flags::parse(&args) else { panic!("{args:?}") };
            as_flag_error(&ExporterConfig::parse(&flags.config).unwrap_err().to_string())
        };
        assert!(parse(&["--topic.filter=("]).starts_with("--topic.filter: not a regular expression"));
        assert!(parse(&["--topic.workers=0"]).starts_with("--topic.workers: "));
        let zk = parse(&["--use.consumelag.zookeeper"]);
        assert!(zk.starts_with("--use.consumelag.zookeeper: not supported"), "{zk}");
        assert_eq!(as_flag_error("something else"), "something else");
    }
}
