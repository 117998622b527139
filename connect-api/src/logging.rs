//! Plugin logging: the `tracing` (and `log`) events of a plugin library go to the worker's log.
//!
//! A plugin library links its own copy of `tracing`, whose global dispatcher is not the worker's: without a
//! bridge, its events would go nowhere. When the worker loads a library it hands it a [`HostLoggerBox`]; the
//! library installs a subscriber that asks the worker's filter whether a level and target are enabled (before
//! anything is formatted, so a disabled `debug!` costs one check) and sends the enabled events over. The worker
//! writes them inside its span of the calling thread: a task's span (`task{connector=.. task=..}`) when the event
//! comes from the task's thread, which is where the runtime calls every task method and where async tasks run
//! their futures. Futures spawned with [`crate::async_connector::spawn`] carry the task's span along.
//!
//! Plugin authors just log: `tracing::info!(table = %name, "new table found")` or through the re-export
//! [`crate::tracing`]. The worker's `RUST_LOG` and `/admin/loggers` levels apply to plugin targets (the plugin
//! crate's module paths) as to the worker's own. `log` records of the plugin's dependencies are forwarded too.
//!
//! Built-in connectors are linked into the worker and share its `tracing`: they need no bridge.

use std::cell::Cell;
use std::fmt::Write as _;
use std::sync::OnceLock;

use abi_stable::std_types::{ROption, RStr, RString};
use abi_stable::StableAbi;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use crate::abi::HostLoggerBox;

/// A level of the worker's log, as it crosses the boundary.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// `ERROR`.
    Error,
    /// `WARN`.
    Warn,
    /// `INFO`.
    Info,
    /// `DEBUG`.
    Debug,
    /// `TRACE`.
    Trace,
}

impl From<&Level> for LogLevel {
    fn from(level: &Level) -> Self {
        match *level {
            Level::ERROR => LogLevel::Error,
            Level::WARN => LogLevel::Warn,
            Level::INFO => LogLevel::Info,
            Level::DEBUG => LogLevel::Debug,
            Level::TRACE => LogLevel::Trace,
        }
    }
}

impl From<LogLevel> for Level {
    fn from(level: LogLevel) -> Self {
        match level {
            LogLevel::Error => Level::ERROR,
            LogLevel::Warn => Level::WARN,
            LogLevel::Info => Level::INFO,
            LogLevel::Debug => Level::DEBUG,
            LogLevel::Trace => Level::TRACE,
        }
    }
}

/// One event of a plugin, as it crosses the boundary to the worker's log.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct LogRecord {
    /// The level.
    pub level: LogLevel,
    /// The target (by default the module path of the code that logged).
    pub target: RString,
    /// The module path, when known.
    pub module_path: ROption<RString>,
    /// The source file, when known.
    pub file: ROption<RString>,
    /// The source line, when known.
    pub line: ROption<u32>,
    /// The message, preceded by the plugin's own spans (`name{field=value}: `) and followed by the event's other
    /// fields (` field=value`), as the worker's log writes them.
    pub message: RString,
    /// A span captured with `HostLoggerApi::capture_span` to log inside, or 0 for the worker's current span of
    /// the calling thread.
    pub span: u64,
}

static HOST: OnceLock<HostLoggerBox> = OnceLock::new();

thread_local! {
    /// The captured worker span that events of this thread belong to (set while a spawned future is polled).
    static HOST_SPAN: Cell<u64> = const { Cell::new(0) };
}

/// Connects this library's `tracing` and `log` events to the worker's log. Called by the code that
/// [`crate::export_plugins!`] generates when the worker loads the library; a second call does nothing.
pub fn install_host_logger(host: HostLoggerBox) {
    if HOST.set(host).is_err() {
        return;
    }
    let subscriber = tracing_subscriber::registry().with(Bridge);
    if tracing::subscriber::set_global_default(subscriber).is_err() {
        // Only when this copy of `tracing` already had a global subscriber (a library linked twice): keep it.
        return;
    }
    // `log` records of the library's dependencies become `tracing` events, filtered and forwarded the same way.
    let _ = tracing_log::LogTracer::init();
}

/// The worker's logger, once the library was loaded by a worker.
pub(crate) fn host() -> Option<&'static HostLoggerBox> {
    HOST.get()
}

#[cfg_attr(not(feature = "async"), allow(dead_code))]
/// A worker span captured on the calling thread (the task's span on a task thread), for work that continues on
/// other threads; released when dropped.
pub(crate) struct CapturedSpan(u64);

#[cfg_attr(not(feature = "async"), allow(dead_code))]
impl CapturedSpan {
    /// Captures the span events of this thread are logged in: the worker's current span, or, on a thread that
    /// is polling a spawned future, that future's captured span (borrowed: its owner releases it; events logged
    /// after that are written without the span, never lost).
    pub(crate) fn current() -> CapturedSpan {
        let inherited = HOST_SPAN.with(Cell::get);
        match host() {
            Some(_) if inherited != 0 => CapturedSpan(inherited | NESTED),
            Some(host) => CapturedSpan(host.capture_span()),
            None => CapturedSpan(0),
        }
    }

    /// Runs `f` with events of this thread logged inside the captured span.
    pub(crate) fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        let previous = HOST_SPAN.with(|s| s.replace(self.0 & !NESTED));
        struct Restore(u64);
        impl Drop for Restore {
            fn drop(&mut self) {
                HOST_SPAN.with(|s| s.set(self.0));
            }
        }
        let _restore = Restore(previous);
        f()
    }
}

/// Marks a capture borrowed from an enclosing one.
#[cfg_attr(not(feature = "async"), allow(dead_code))]
const NESTED: u64 = 1 << 63;

impl Drop for CapturedSpan {
    fn drop(&mut self) {
        if self.0 != 0 && self.0 & NESTED == 0 {
            if let Some(host) = host() {
                host.release_span(self.0);
            }
        }
    }
}

/// The subscriber layer of a plugin library: asks the worker's filter, formats enabled events, sends them over.
struct Bridge;

/// The formatted fields of a plugin span, kept in the span's extensions.
struct SpanFields(String);

impl<S> Layer<S> for Bridge
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn register_callsite(&self, _metadata: &'static Metadata<'static>) -> Interest {
        // The worker's levels change at run time (`/admin/loggers`): decide on every event, never cache.
        Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        host().is_some_and(|host| host.enabled(LogLevel::from(metadata.level()), RStr::from_str(metadata.target())))
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = FieldWriter::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(fields.fields));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = FieldWriter::default();
        values.record(&mut fields);
        let mut extensions = span.extensions_mut();
        match extensions.get_mut::<SpanFields>() {
            Some(existing) => existing.0.push_str(&fields.fields),
            None => extensions.insert(SpanFields(fields.fields)),
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(host) = host() else { return };
        let normalized = event.normalized_metadata();
        let metadata = normalized.as_ref().unwrap_or_else(|| event.metadata());
        let mut message = String::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                message.push_str(span.name());
                if let Some(fields) = span.extensions().get::<SpanFields>() {
                    if !fields.0.is_empty() {
                        let _ = write!(message, "{{{}}}", fields.0.trim_start());
                    }
                }
                message.push_str(": ");
            }
        }
        let mut fields = FieldWriter::default();
        event.record(&mut fields);
        message.push_str(&fields.message);
        message.push_str(&fields.fields);
        let record = LogRecord {
            level: LogLevel::from(metadata.level()),
            target: RString::from(metadata.target()),
            module_path: metadata.module_path().map(RString::from).into(),
            file: metadata.file().map(RString::from).into(),
            line: metadata.line().into(),
            message: RString::from(message),
            span: HOST_SPAN.with(Cell::get),
        };
        host.log(&record);
    }
}

/// Writes an event's `message` field and its other fields (` name=value`) as the worker's log shows them.
#[derive(Default)]
struct FieldWriter {
    message: String,
    fields: String,
}

impl Visit for FieldWriter {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else if !field.name().starts_with("log.") {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else if !field.name().starts_with("log.") {
            // `log.*` fields carry a forwarded `log` record's metadata, already in the record itself.
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_round_trip() {
        for level in [Level::ERROR, Level::WARN, Level::INFO, Level::DEBUG, Level::TRACE] {
            assert_eq!(Level::from(LogLevel::from(&level)), level);
        }
        assert!(LogLevel::Error < LogLevel::Trace);
    }

    #[test]
    fn fields_are_written_as_the_worker_writes_them() {
        let mut writer = FieldWriter::default();
        writer.record_str(&field("message"), "hello");
        writer.record_str(&field("table"), "orders");
        writer.record_debug(&field("rows"), &3);
        assert_eq!(writer.message, "hello");
        assert_eq!(writer.fields, " table=\"orders\" rows=3");
    }

    fn field(name: &'static str) -> Field {
        struct Cs;
        static CS: Cs = Cs;
        static META: Metadata<'static> = tracing::metadata! {
            name: "test",
            target: "test",
            level: Level::INFO,
            fields: &["message", "table", "rows"],
            callsite: &CS,
            kind: tracing::metadata::Kind::EVENT,
        };
        impl tracing::callsite::Callsite for Cs {
            fn set_interest(&self, _: Interest) {}
            fn metadata(&self) -> &Metadata<'_> {
                &META
            }
        }
        META.fields().field(name).expect("field")
    }
}
