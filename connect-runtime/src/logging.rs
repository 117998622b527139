//! Logging to stderr with levels that can change while the worker runs (Kafka Connect's `/admin/loggers`,
//! KIP-495 and KIP-976).
//!
//! A "logger" is a `tracing` target prefix such as `connect_runtime::worker` (Rust module paths play the role of
//! Java logger names); `root` is the default level. Levels use log4j's names. A change rebuilds the live filter
//! from `RUST_LOG` (or `info`) plus every level set since start-up; it never drops a level set earlier.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Registry};

/// The root logger's name.
pub const ROOT: &str = "root";

/// A logger's level as `/admin/loggers` reports it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LoggerLevel {
    /// log4j level name (`INFO`, ...).
    pub level: String,
    /// When the level was last set through the API (ms since the epoch), `null` for start-up levels.
    pub last_modified: Option<u64>,
}

/// Why a level cannot be set.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum LevelError {
    /// The level name is not a log4j level.
    #[error("Invalid log level '{0}'.")]
    InvalidLevel(String),
    /// The logger name cannot be a `tracing` target.
    #[error("Logger {0} not found.")]
    InvalidLogger(String),
    /// Logging was not set up through [`init`] (tests).
    #[error("log levels cannot be changed in this process")]
    NotInitialized,
}

struct Levels {
    handle: reload::Handle<EnvFilter, Registry>,
    /// `RUST_LOG`, or `info`.
    base: String,
    root: LoggerLevel,
    set: BTreeMap<String, LoggerLevel>,
}

static LEVELS: OnceLock<Mutex<Levels>> = OnceLock::new();

/// Sets up logging to stderr: `RUST_LOG` when set, `info` otherwise; levels can be changed later with
/// [`set_level`].
pub fn init() {
    let base = std::env::var("RUST_LOG").ok().filter(|v| EnvFilter::try_new(v).is_ok()).unwrap_or("info".into());
    let (filter, handle) = reload::Layer::new(EnvFilter::new(&base));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(ansi);
    if tracing_subscriber::registry().with(filter).with(fmt).try_init().is_ok() {
        let root_level = base_root_level(&base);
        let root = LoggerLevel { level: root_level, last_modified: None };
        let _ = LEVELS.set(Mutex::new(Levels { handle, base, root, set: BTreeMap::new() }));
    }
}

/// The level of the default directive of a `RUST_LOG` value (`info` when it has none).
fn base_root_level(base: &str) -> String {
    base.split(',')
        .map(str::trim)
        .filter(|d| !d.contains('='))
        .filter_map(|d| log4j_level(d).ok())
        .next_back()
        .unwrap_or_else(|| "INFO".to_string())
}

/// The log4j name of a level name (case-insensitive), also accepting `tracing`'s names.
fn log4j_level(name: &str) -> Result<String, LevelError> {
    let upper = name.trim().to_ascii_uppercase();
    match upper.as_str() {
        "OFF" | "FATAL" | "ERROR" | "WARN" | "INFO" | "DEBUG" | "TRACE" | "ALL" => Ok(upper),
        "WARNING" => Ok("WARN".to_string()),
        _ => Err(LevelError::InvalidLevel(name.to_string())),
    }
}

/// Checks a level name without applying it.
pub fn check_level(level: &str) -> Result<(), LevelError> {
    log4j_level(level).map(|_| ())
}

/// The `tracing` directive level of a log4j level.
fn tracing_level(log4j: &str) -> &'static str {
    match log4j {
        "OFF" => "off",
        "FATAL" | "ERROR" => "error",
        "WARN" => "warn",
        "INFO" => "info",
        "DEBUG" => "debug",
        _ => "trace",
    }
}

fn valid_logger(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '.' | '-'))
}

fn levels() -> Result<std::sync::MutexGuard<'static, Levels>, LevelError> {
    LEVELS.get().map(|m| m.lock().unwrap_or_else(|p| p.into_inner())).ok_or(LevelError::NotInitialized)
}

/// Whether `name` is `parent` or lies below it (`a::b` and `a.b` are below `a`).
fn is_within(name: &str, parent: &str) -> bool {
    name == parent || name.strip_prefix(parent).is_some_and(|rest| rest.starts_with("::") || rest.starts_with('.'))
}

/// Every logger with a level: `root` and those set through the API.
pub fn loggers() -> BTreeMap<String, LoggerLevel> {
    let Ok(levels) = levels() else {
        return BTreeMap::from([(ROOT.to_string(), LoggerLevel { level: "INFO".into(), last_modified: None })]);
    };
    let mut out = levels.set.clone();
    out.insert(ROOT.to_string(), levels.root.clone());
    out
}

/// The effective level of `name`: its own, the closest ancestor's, or root's.
pub fn logger(name: &str) -> Result<LoggerLevel, LevelError> {
    if name != ROOT && !valid_logger(name) {
        return Err(LevelError::InvalidLogger(name.to_string()));
    }
    let all = loggers();
    if let Some(own) = all.get(name) {
        return Ok(own.clone());
    }
    let ancestor = all.iter().filter(|(n, _)| n.as_str() != ROOT && is_within(name, n)).max_by_key(|(n, _)| n.len());
    Ok(ancestor.map(|(_, l)| l.clone()).unwrap_or_else(|| all[ROOT].clone()))
}

/// Sets `name` (and every logger below it) to `level`; returns the loggers affected, sorted.
pub fn set_level(name: &str, level: &str) -> Result<Vec<String>, LevelError> {
    let level = log4j_level(level)?;
    if name != ROOT && !valid_logger(name) {
        return Err(LevelError::InvalidLogger(name.to_string()));
    }
    let mut levels = levels()?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or_default();
    let entry = LoggerLevel { level: level.clone(), last_modified: Some(now) };
    let mut affected = Vec::new();
    if name == ROOT {
        // As log4j: setting root sets every logger.
        levels.root = entry.clone();
        affected.push(ROOT.to_string());
        for (n, l) in levels.set.iter_mut() {
            *l = entry.clone();
            affected.push(n.clone());
        }
    } else {
        for (n, l) in levels.set.iter_mut().filter(|(n, _)| is_within(n, name)) {
            *l = entry.clone();
            affected.push(n.clone());
        }
        if !levels.set.contains_key(name) {
            levels.set.insert(name.to_string(), entry);
            affected.push(name.to_string());
        }
    }
    affected.sort();
    let filter = build_filter(&levels);
    levels.handle.reload(filter).map_err(|_| LevelError::NotInitialized)?;
    tracing::info!("log level of {name} set to {level}");
    Ok(affected)
}

fn build_filter(levels: &Levels) -> EnvFilter {
    let mut directives = levels.base.clone();
    if levels.root.last_modified.is_some() {
        directives = tracing_level(&levels.root.level).to_string();
    }
    // Shorter names first, so a longer (more specific) target wins; EnvFilter picks the most specific anyway.
    let mut set: Vec<(&String, &LoggerLevel)> = levels.set.iter().collect();
    set.sort_by_key(|(n, _)| n.len());
    for (name, level) in set {
        // Java-style dotted names become module paths.
        let target = name.replace('.', "::");
        directives.push_str(&format!(",{target}={}", tracing_level(&level.level)));
    }
    EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new("info"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_log4j_names() {
        assert_eq!(log4j_level("debug").unwrap(), "DEBUG");
        assert_eq!(log4j_level("Warning").unwrap(), "WARN");
        assert_eq!(log4j_level("loud"), Err(LevelError::InvalidLevel("loud".into())));
        assert_eq!(tracing_level("FATAL"), "error");
        assert_eq!(base_root_level("warn,connect_runtime=debug"), "WARN");
        assert_eq!(base_root_level("connect_runtime=debug"), "INFO");
    }

    #[test]
    fn children_are_matched_by_path_or_dots() {
        assert!(is_within("a::b", "a"));
        assert!(is_within("a.b", "a"));
        assert!(is_within("a", "a"));
        assert!(!is_within("ab", "a"));
        assert!(!valid_logger("a b"));
        assert!(!valid_logger("a=debug"));
    }
}
