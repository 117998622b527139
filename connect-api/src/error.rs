//! The one error type that crosses the plugin boundary.
//!
//! Every call into a connector returns [`Result`]; a panic inside a plugin is caught at the boundary and turned
//! into a [`ConnectError`] of kind [`ErrorKind::Panic`] carrying the panic message and backtrace, so a faulty
//! connector fails its task and never the worker.

use std::fmt;

use abi_stable::std_types::{ROption, RString};
use abi_stable::StableAbi;

/// What kind of failure a [`ConnectError`] reports; the runtime decides on retries and task state from it.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A generic, non-retriable failure (Kafka Connect's `ConnectException`). The task fails.
    Fatal,
    /// A transient failure (Kafka Connect's `RetriableException`): the runtime retries the same operation,
    /// for a sink `put` with the same batch.
    Retriable,
    /// The data could not be converted or does not match its schema (Kafka Connect's `DataException`).
    Data,
    /// A configuration value is missing or invalid (Kafka Connect's `ConfigException`).
    Config,
    /// The requested operation is not supported by this connector or runtime.
    NotSupported,
    /// The connector panicked; the message holds the panic payload and the trace its backtrace.
    Panic,
}

impl ErrorKind {
    /// The Kafka Connect exception class name that corresponds to this kind, used in traces and logs.
    pub fn java_class(self) -> &'static str {
        match self {
            ErrorKind::Fatal | ErrorKind::Panic => "org.apache.kafka.connect.errors.ConnectException",
            ErrorKind::Retriable => "org.apache.kafka.connect.errors.RetriableException",
            ErrorKind::Data => "org.apache.kafka.connect.errors.DataException",
            ErrorKind::Config => "org.apache.kafka.common.config.ConfigException",
            ErrorKind::NotSupported => "java.lang.UnsupportedOperationException",
        }
    }
}

/// An error returned by a connector, a task or the data model.
///
/// ```
/// use connect_api::{ConnectError, ErrorKind};
///
/// let err = ConnectError::retriable("database is restarting");
/// assert_eq!(err.kind(), ErrorKind::Retriable);
/// assert_eq!(err.to_string(), "database is restarting");
/// ```
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq, Eq)]
pub struct ConnectError {
    kind: ErrorKind,
    message: RString,
    trace: ROption<RString>,
}

impl ConnectError {
    /// A new error of `kind` with `message`.
    pub fn with_kind(kind: ErrorKind, message: impl Into<String>) -> Self {
        ConnectError { kind, message: RString::from(message.into()), trace: ROption::RNone }
    }

    /// A fatal error: the task or connector fails.
    pub fn new(message: impl Into<String>) -> Self {
        Self::with_kind(ErrorKind::Fatal, message)
    }

    /// A transient error: the runtime retries.
    pub fn retriable(message: impl Into<String>) -> Self {
        Self::with_kind(ErrorKind::Retriable, message)
    }

    /// A data or schema error.
    pub fn data(message: impl Into<String>) -> Self {
        Self::with_kind(ErrorKind::Data, message)
    }

    /// A configuration error about `key`.
    ///
    /// ```
    /// let err = connect_api::ConnectError::config("file", "is required");
    /// assert_eq!(err.to_string(), "Invalid value for configuration file: is required");
    /// ```
    pub fn config(key: &str, message: impl fmt::Display) -> Self {
        Self::with_kind(ErrorKind::Config, format!("Invalid value for configuration {key}: {message}"))
    }

    /// An operation this connector or runtime does not support.
    pub fn not_supported(message: impl Into<String>) -> Self {
        Self::with_kind(ErrorKind::NotSupported, message)
    }

    /// Attaches a trace (a backtrace or a chain of causes) shown in the task status.
    pub fn with_trace(mut self, trace: impl Into<String>) -> Self {
        self.trace = ROption::RSome(RString::from(trace.into()));
        self
    }

    /// Prefixes the message with context, keeping kind and trace.
    ///
    /// ```
    /// let err = connect_api::ConnectError::new("file not found").context("opening /tmp/x");
    /// assert_eq!(err.to_string(), "opening /tmp/x: file not found");
    /// ```
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = RString::from(format!("{context}: {}", self.message));
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without the trace.
    pub fn message(&self) -> &str {
        self.message.as_str()
    }

    /// The trace, when one was attached.
    pub fn trace(&self) -> Option<&str> {
        self.trace.as_ref().map(|t| t.as_str()).into()
    }

    /// Whether the runtime should retry the failed operation.
    pub fn is_retriable(&self) -> bool {
        self.kind == ErrorKind::Retriable
    }

    /// The text shown as `trace` in a task or connector status: the exception-like first line followed by the
    /// trace, as Kafka Connect shows a Java stack trace.
    pub fn status_trace(&self) -> String {
        let mut out = format!("{}: {}", self.kind.java_class(), self.message);
        if let Some(trace) = self.trace() {
            out.push('\n');
            out.push_str(trace);
        }
        out
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConnectError {}

impl From<std::io::Error> for ConnectError {
    fn from(err: std::io::Error) -> Self {
        let kind = match err.kind() {
            std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                ErrorKind::Retriable
            }
            _ => ErrorKind::Fatal,
        };
        ConnectError::with_kind(kind, err.to_string())
    }
}

impl From<String> for ConnectError {
    fn from(message: String) -> Self {
        ConnectError::new(message)
    }
}

impl From<&str> for ConnectError {
    fn from(message: &str) -> Self {
        ConnectError::new(message)
    }
}

/// The result of every connector call.
pub type Result<T, E = ConnectError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_trace_names_the_java_class_and_keeps_the_trace() {
        let err = ConnectError::data("bad value").with_trace("at line 1");
        assert_eq!(err.status_trace(), "org.apache.kafka.connect.errors.DataException: bad value\nat line 1");
    }

    #[test]
    fn io_timeouts_are_retriable() {
        let err: ConnectError = std::io::Error::new(std::io::ErrorKind::TimedOut, "slow").into();
        assert!(err.is_retriable());
        let err: ConnectError = std::io::Error::new(std::io::ErrorKind::NotFound, "gone").into();
        assert!(!err.is_retriable());
    }
}
