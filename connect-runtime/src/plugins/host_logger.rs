//! The worker's end of the plugin logging bridge (see `connect_api::logging`): each plugin library gets a
//! [`HostLogger`] when it is loaded and sends its enabled `tracing` events here.
//!
//! Checks use the worker's live filter (`RUST_LOG` and `/admin/loggers`) on the plugin's own target and level, so
//! a plugin's disabled `debug!` is never formatted. Events are written through `tracing-log`'s record path, so the
//! worker's log shows the plugin's target, file and line, inside the span of the calling thread (the task's span
//! on a task thread) or of a span the plugin captured for a future it spawned.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RArc, RStr};
use connect_api::abi::{HostLoggerApi, HostLoggerApi_TO, HostLoggerBox, LogLevel, LogRecord};
use tracing_log::AsTrace;

/// The logger handed to plugin libraries.
pub(crate) struct HostLogger;

/// Spans captured for plugins, by id.
fn spans() -> &'static Mutex<HashMap<u64, tracing::Span>> {
    static SPANS: OnceLock<Mutex<HashMap<u64, tracing::Span>>> = OnceLock::new();
    SPANS.get_or_init(Mutex::default)
}

/// Ids stay below 2^63: the plugin side keeps the top bit for spans it borrows.
static NEXT_SPAN: AtomicU64 = AtomicU64::new(1);

fn log_level(level: LogLevel) -> log::Level {
    match level {
        LogLevel::Error => log::Level::Error,
        LogLevel::Warn => log::Level::Warn,
        LogLevel::Info => log::Level::Info,
        LogLevel::Debug => log::Level::Debug,
        LogLevel::Trace => log::Level::Trace,
    }
}

impl HostLogger {
    /// The logger as it crosses the boundary.
    pub(crate) fn boxed() -> HostLoggerBox {
        HostLoggerApi_TO::from_ptr(RArc::new(HostLogger), TD_Opaque)
    }
}

impl HostLoggerApi for HostLogger {
    fn enabled(&self, level: LogLevel, target: RStr<'_>) -> bool {
        if tracing::Level::from(level) > tracing::level_filters::LevelFilter::current() {
            return false;
        }
        let metadata = log::Metadata::builder().level(log_level(level)).target(target.as_str()).build();
        tracing::dispatcher::get_default(|dispatch| dispatch.enabled(&metadata.as_trace()))
    }

    fn log(&self, record: &LogRecord) {
        let write = || {
            let _ = tracing_log::format_trace(
                &log::Record::builder()
                    .args(format_args!("{}", record.message))
                    .level(log_level(record.level))
                    .target(record.target.as_str())
                    .module_path(record.module_path.as_ref().map(|m| m.as_str()).into_option())
                    .file(record.file.as_ref().map(|f| f.as_str()).into_option())
                    .line(record.line.into_option())
                    .build(),
            );
        };
        let captured = (record.span != 0)
            .then(|| spans().lock().unwrap_or_else(|p| p.into_inner()).get(&record.span).cloned())
            .flatten();
        match captured {
            Some(span) => span.in_scope(write),
            None => write(),
        }
    }

    fn capture_span(&self) -> u64 {
        let span = tracing::Span::current();
        if span.is_none() {
            return 0;
        }
        let id = NEXT_SPAN.fetch_add(1, Ordering::Relaxed) & !(1 << 63);
        spans().lock().unwrap_or_else(|p| p.into_inner()).insert(id, span);
        id
    }

    fn release_span(&self, span: u64) {
        spans().lock().unwrap_or_else(|p| p.into_inner()).remove(&span);
    }
}
