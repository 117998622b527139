//! The stable ABI between the runtime and plugin libraries (`.so`), on `abi_stable`.
//!
//! Each plugin library exports one root module, [`PluginModule`], whose `plugins` function lists the library's
//! plugins ([`PluginDescriptor`]: class name, version, configuration definition and factories). Connector and task
//! instances cross the boundary as `#[sabi_trait]` objects ([`FfiConnector`], [`FfiSourceTask`], [`FfiSinkTask`]);
//! the runtime's contexts cross the other way ([`ConnectorContextApi`], [`SourceTaskContextApi`],
//! [`SinkTaskContextApi`]). Records are `StableAbi` and move across without conversion.
//!
//! Plugin authors never touch this module: they implement the traits of [`crate::connector`] and list their
//! connectors with [`crate::export_plugins!`], which generates the adapters. Every adapter method runs inside
//! [`crate::panic::guard`], so a panic in a plugin becomes an error instead of aborting the worker. Built-in
//! connectors of the runtime go through the very same adapters, without dlopen.

// The code `abi_stable` generates for `#[sabi_trait]` and prefix types trips these lints.
#![allow(non_local_definitions, non_camel_case_types)]

mod adapters;

use abi_stable::library::RootModule;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{RArc, RBox, ROption, RResult, RStr, RString, RVec};
use abi_stable::{declare_root_module_statics, package_version_strings, sabi_trait, StableAbi};

pub use crate::logging::{LogLevel, LogRecord};
pub use adapters::{predicate_descriptor, sink_descriptor, source_descriptor, transformation_descriptor};

use crate::error::ConnectError;
use crate::record::{RecordMetadata, SinkRecord, SourceMap, SourceRecord, TopicPartition, TopicPartitionOffset};
use crate::transform::TransformRecord;

#[doc(hidden)]
pub mod __private {
    //! Re-exports used by [`crate::export_plugins!`]; not a public API.
    pub use abi_stable::library::{__call_root_module_loader, CheckTypeLayout, LibHeader, RootModuleResult};
    pub use abi_stable::prefix_type::PrefixTypeTrait;
    pub use abi_stable::std_types::{RResult, RVec};
}

/// The version of connect-api the runtime or plugin was built with; plugins and runtime must agree on it
/// (same major version, and for 0.x the same minor version).
pub const API_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Checks that a plugin built with connect-api `plugin_version` can be loaded by a runtime built with
/// [`API_VERSION`]; the error says why not.
///
/// ```
/// use connect_api::abi::{check_api_version, API_VERSION};
/// assert!(check_api_version(API_VERSION).is_ok());
/// assert!(check_api_version("99.0.0").is_err());
/// ```
pub fn check_api_version(plugin_version: &str) -> Result<(), String> {
    let parse = |v: &str| -> Option<(u64, u64)> {
        let mut parts = v.split('.');
        Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
    };
    let ours = parse(API_VERSION).ok_or("this runtime has an unparsable connect-api version")?;
    let theirs = parse(plugin_version)
        .ok_or_else(|| format!("the plugin's connect-api version \"{plugin_version}\" cannot be parsed"))?;
    let compatible = ours.0 == theirs.0 && (ours.0 != 0 || ours.1 == theirs.1);
    if compatible {
        Ok(())
    } else {
        Err(format!(
            "built with connect-api {plugin_version}, but this worker uses connect-api {API_VERSION}; rebuild the plugin against connect-api {}.{}",
            ours.0, ours.1
        ))
    }
}

/// One configuration property in ABI form.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq, Eq)]
pub struct ConfigEntry {
    /// The key.
    pub key: RString,
    /// The value.
    pub value: RString,
}

/// Configuration properties in ABI form.
pub type RConfig = RVec<ConfigEntry>;

/// A record acknowledged by Kafka (or dropped, with no metadata), handed back to its source task.
#[repr(C)]
#[derive(StableAbi, Clone, Debug)]
pub struct AckedRecord {
    /// The record as the task returned it from `poll`.
    pub record: SourceRecord,
    /// Where it was written; none when it was dropped before reaching Kafka.
    pub metadata: ROption<RecordMetadata>,
}

// ---- Runtime-implemented contexts, called by plugins ----

/// Implemented by the runtime: what a connector may ask of it.
#[sabi_trait]
pub trait ConnectorContextApi: Send + Sync {
    /// See [`crate::ConnectorContext::request_task_reconfiguration`].
    fn request_task_reconfiguration(&self);

    /// See [`crate::ConnectorContext::raise_error`].
    #[sabi(last_prefix_field)]
    fn raise_error(&self, error: ConnectError);
}

/// Implemented by the runtime: offsets and configuration for a source task.
#[sabi_trait]
pub trait SourceTaskContextApi: Send + Sync {
    /// The stored offset of a source partition.
    fn offset(&self, partition: &SourceMap) -> ROption<SourceMap>;

    /// The task configuration.
    #[sabi(last_prefix_field)]
    fn config(&self) -> RConfig;
}

/// Implemented by the runtime: consumer control for a sink task.
#[sabi_trait]
pub trait SinkTaskContextApi: Send + Sync {
    /// The assigned partitions.
    fn assignment(&self) -> RVec<TopicPartition>;
    /// Pauses partitions.
    fn pause(&self, partitions: RVec<TopicPartition>);
    /// Resumes partitions.
    fn resume(&self, partitions: RVec<TopicPartition>);
    /// Requests consumer seeks.
    fn reset_offsets(&self, offsets: RVec<TopicPartitionOffset>);
    /// Sets the retry backoff.
    fn timeout(&self, timeout_ms: i64);
    /// Requests an offset commit.
    fn request_commit(&self);
    /// The task configuration.
    #[sabi(last_prefix_field)]
    fn config(&self) -> RConfig;
    /// Reports a record the task could not process (Kafka's `ErrantRecordReporter`).
    fn report_errant(&self, record: SinkRecord, error: ConnectError) -> RResult<(), ConnectError>;
}

/// A runtime connector context as it crosses the boundary.
pub type ConnectorContextBox = ConnectorContextApi_TO<'static, RArc<()>>;
/// A runtime source task context as it crosses the boundary.
pub type SourceTaskContextBox = SourceTaskContextApi_TO<'static, RArc<()>>;
/// A runtime sink task context as it crosses the boundary.
pub type SinkTaskContextBox = SinkTaskContextApi_TO<'static, RArc<()>>;

// ---- Plugin-implemented objects, called by the runtime ----

/// A connector instance (source or sink) as the runtime sees it.
#[sabi_trait]
pub trait FfiConnector: Send {
    /// Starts the connector.
    fn start(&mut self, context: ConnectorContextBox, config: RConfig) -> RResult<(), ConnectError>;
    /// Generates task configurations.
    fn task_configs(&mut self, max_tasks: u32) -> RResult<RVec<RConfig>, ConnectError>;
    /// Stops the connector.
    fn stop(&mut self) -> RResult<(), ConnectError>;
    /// Validates a configuration; the result is a JSON array of [`crate::config::ConfigValueInfo`].
    #[sabi(last_prefix_field)]
    fn validate(&self, config: RConfig) -> RResult<RString, ConnectError>;
}

/// A source task instance as the runtime sees it.
#[sabi_trait]
pub trait FfiSourceTask: Send {
    /// Starts the task.
    fn start(&mut self, context: SourceTaskContextBox, config: RConfig) -> RResult<(), ConnectError>;
    /// Polls a batch.
    fn poll(&mut self) -> RResult<RVec<SourceRecord>, ConnectError>;
    /// Offsets were committed.
    fn commit(&mut self) -> RResult<(), ConnectError>;
    /// Records were acknowledged, in poll order.
    fn commit_records(&mut self, records: RVec<AckedRecord>) -> RResult<(), ConnectError>;
    /// Kafka refused a record; an error fails the task.
    fn record_failed(&mut self, record: SourceRecord, error: ConnectError) -> RResult<(), ConnectError>;
    /// Stops the task.
    #[sabi(last_prefix_field)]
    fn stop(&mut self) -> RResult<(), ConnectError>;
    /// A handle that interrupts a blocked `start` or `poll` when the task must stop; none when the task cannot be
    /// interrupted (libraries built before it existed have none either).
    fn canceller(&self) -> ROption<TaskCancellerBox> {
        ROption::RNone
    }
}

/// A sink task instance as the runtime sees it.
#[sabi_trait]
pub trait FfiSinkTask: Send {
    /// Starts the task.
    fn start(&mut self, context: SinkTaskContextBox, config: RConfig) -> RResult<(), ConnectError>;
    /// Partitions assigned.
    fn open(&mut self, partitions: RVec<TopicPartition>) -> RResult<(), ConnectError>;
    /// Partitions revoked.
    fn close(&mut self, partitions: RVec<TopicPartition>) -> RResult<(), ConnectError>;
    /// Delivers a batch.
    fn put(&mut self, records: RVec<SinkRecord>) -> RResult<(), ConnectError>;
    /// Flushes and chooses the offsets to commit.
    fn pre_commit(&mut self, offsets: RVec<TopicPartitionOffset>) -> RResult<RVec<TopicPartitionOffset>, ConnectError>;
    /// Stops the task.
    #[sabi(last_prefix_field)]
    fn stop(&mut self) -> RResult<(), ConnectError>;
    /// A handle that interrupts a blocked `start` or `put` when the task must stop; none when the task cannot be
    /// interrupted.
    fn canceller(&self) -> ROption<TaskCancellerBox> {
        ROption::RNone
    }
    /// An empty batch with room for `capacity` records, allocated by the plugin: the runtime fills it and hands it
    /// back to `put`, where it becomes the task's `Vec` without a copy (a buffer the runtime allocated would be
    /// copied, since it crosses allocators). A plugin built before this method existed gets the default, run by the
    /// runtime: then `put` copies as before.
    fn record_buffer(&self, capacity: usize) -> RVec<SinkRecord> {
        RVec::with_capacity(capacity)
    }
}

/// Implemented by plugins: interrupts what a task is blocked in, from another thread, when the runtime stops it
/// (Kafka Connect calls `SourceTask.stop()` concurrently with `poll()` for the same purpose).
#[sabi_trait]
pub trait TaskCancellerApi: Send + Sync {
    /// The task must stop: a pending `start`, `poll` or `put` should return as soon as it can.
    #[sabi(last_prefix_field)]
    fn cancel(&self);
}

/// A task canceller crossing the boundary.
pub type TaskCancellerBox = TaskCancellerApi_TO<'static, RArc<()>>;

/// Implemented by the runtime: where the `tracing` events of a plugin library go. Handed to each library once,
/// when it is loaded (see [`PluginModule::init_logging`]).
#[sabi_trait]
pub trait HostLoggerApi: Send + Sync {
    /// Whether the worker's log filter lets events of `level` and `target` through; checked before anything is
    /// formatted.
    fn enabled(&self, level: LogLevel, target: RStr<'_>) -> bool;
    /// Writes an event to the worker's log, inside the worker's current span of the calling thread, or inside the
    /// span captured as `record.span`.
    fn log(&self, record: &LogRecord);
    /// Captures the worker's current span of the calling thread (a task's span) so that events from other threads
    /// can be logged inside it; 0 when there is none.
    fn capture_span(&self) -> u64;
    /// Releases a span captured with `capture_span`.
    #[sabi(last_prefix_field)]
    fn release_span(&self, span: u64);
}

/// The runtime's logger as it crosses the boundary.
pub type HostLoggerBox = HostLoggerApi_TO<'static, RArc<()>>;

/// A transformation instance as the runtime sees it.
#[sabi_trait]
pub trait FfiTransformation: Send {
    /// Takes the settings.
    fn configure(&mut self, config: RConfig) -> RResult<(), ConnectError>;
    /// Transforms one record; none drops it.
    fn apply(&mut self, record: TransformRecord) -> RResult<ROption<TransformRecord>, ConnectError>;
    /// Releases resources.
    #[sabi(last_prefix_field)]
    fn close(&mut self);
}

/// A predicate instance as the runtime sees it.
#[sabi_trait]
pub trait FfiPredicate: Send {
    /// Takes the settings.
    fn configure(&mut self, config: RConfig) -> RResult<(), ConnectError>;
    /// Whether the record matches.
    fn test(&mut self, record: &TransformRecord) -> RResult<bool, ConnectError>;
    /// Releases resources.
    #[sabi(last_prefix_field)]
    fn close(&mut self);
}

/// A transformation instance crossing the boundary.
pub type FfiTransformationBox = FfiTransformation_TO<'static, RBox<()>>;
/// A predicate instance crossing the boundary.
pub type FfiPredicateBox = FfiPredicate_TO<'static, RBox<()>>;

/// A connector instance crossing the boundary.
pub type FfiConnectorBox = FfiConnector_TO<'static, RBox<()>>;
/// A source task instance crossing the boundary.
pub type FfiSourceTaskBox = FfiSourceTask_TO<'static, RBox<()>>;
/// A sink task instance crossing the boundary.
pub type FfiSinkTaskBox = FfiSinkTask_TO<'static, RBox<()>>;

/// The kind of a connector plugin.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PluginKind {
    /// A source connector.
    Source,
    /// A sink connector.
    Sink,
}

/// The kind of any plugin: a connector, a transformation or a predicate, as `GET /connector-plugins` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PluginType {
    /// A source or sink connector.
    Connector(PluginKind),
    /// A single message transformation.
    Transformation,
    /// A predicate.
    Predicate,
}

impl PluginType {
    /// `source`, `sink`, `transformation` or `predicate`.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginType::Connector(kind) => kind.as_str(),
            PluginType::Transformation => "transformation",
            PluginType::Predicate => "predicate",
        }
    }
}

impl PluginKind {
    /// `source` or `sink`, as the REST API names connector types.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Source => "source",
            PluginKind::Sink => "sink",
        }
    }
}

/// How to instantiate a plugin's connector and tasks.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy)]
pub enum PluginFactory {
    /// A source connector and its task.
    Source {
        /// Creates the connector.
        connector: extern "C" fn() -> RResult<FfiConnectorBox, ConnectError>,
        /// Creates a task.
        task: extern "C" fn() -> RResult<FfiSourceTaskBox, ConnectError>,
    },
    /// A sink connector and its task.
    Sink {
        /// Creates the connector.
        connector: extern "C" fn() -> RResult<FfiConnectorBox, ConnectError>,
        /// Creates a task.
        task: extern "C" fn() -> RResult<FfiSinkTaskBox, ConnectError>,
    },
    /// A single message transformation.
    Transformation {
        /// Creates an instance.
        create: extern "C" fn() -> RResult<FfiTransformationBox, ConnectError>,
    },
    /// A predicate.
    Predicate {
        /// Creates an instance.
        create: extern "C" fn() -> RResult<FfiPredicateBox, ConnectError>,
    },
}

/// One plugin of a library.
#[repr(C)]
#[derive(StableAbi, Clone)]
pub struct PluginDescriptor {
    /// The class name users put in `connector.class` (or `transforms.<alias>.type`, `predicates.<alias>.type`),
    /// e.g. `org.apache.kafka.connect.file.FileStreamSourceConnector`.
    pub class: RString,
    /// The plugin's version.
    pub version: RString,
    /// The plugin's [`crate::config::ConfigDef`] as JSON.
    pub config_def: RString,
    /// The factories.
    pub factory: PluginFactory,
}

impl PluginDescriptor {
    /// Whether this is a source or sink connector, a transformation or a predicate.
    pub fn plugin_type(&self) -> PluginType {
        match self.factory {
            PluginFactory::Source { .. } => PluginType::Connector(PluginKind::Source),
            PluginFactory::Sink { .. } => PluginType::Connector(PluginKind::Sink),
            PluginFactory::Transformation { .. } => PluginType::Transformation,
            PluginFactory::Predicate { .. } => PluginType::Predicate,
        }
    }
}

/// The root module every plugin library exports.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModule_Ref, prefix_fields = PluginModule_Prefix)))]
#[sabi(missing_field(panic))]
pub struct PluginModule {
    /// Lists the plugins of the library.
    #[sabi(last_prefix_field)]
    pub plugins: extern "C" fn() -> RResult<RVec<PluginDescriptor>, ConnectError>,
    /// Connects the library's `tracing` (and `log`) events to the worker's log; called once, right after loading.
    #[sabi(missing_field(option))]
    pub init_logging: extern "C" fn(HostLoggerBox),
}

impl RootModule for PluginModule_Ref {
    declare_root_module_statics! {PluginModule_Ref}
    const BASE_NAME: &'static str = "connect_plugin";
    const NAME: &'static str = "connect-rs plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// Lists the plugins of a plugin library and exports its root module. Use it once, at the crate root of a
/// `cdylib` crate. Each entry is a kind, the class name users put in `connector.class` (or
/// `transforms.<alias>.type`, `predicates.<alias>.type`), and the type, which implements `Default` and, by kind:
///
/// | kind | the type implements |
/// | --- | --- |
/// | `source` | [`crate::SourceConnector`] |
/// | `sink` | [`crate::SinkConnector`] |
/// | `async_source` | `AsyncSourceConnector` (feature `async`, see [`crate::async_connector`]) |
/// | `async_sink` | `AsyncSinkConnector` (feature `async`) |
/// | `transformation` | [`crate::transform::Transformation`] |
/// | `predicate` | [`crate::transform::Predicate`] |
///
/// The library's `tracing` and `log` events go to the worker's log (see [`crate::logging`]).
///
/// ```ignore
/// connect_api::export_plugins! {
///     source "com.example.CounterSourceConnector" => CounterConnector,
///     async_sink "com.example.WebhookSinkConnector" => WebhookConnector,
///     transformation "com.example.Uppercase" => Uppercase,
///     predicate "com.example.IsLarge" => IsLarge,
/// }
/// ```
#[macro_export]
macro_rules! export_plugins {
    ($($kind:ident $class:literal => $ty:ty),+ $(,)?) => {
        #[doc(hidden)]
        pub extern "C" fn __connect_plugins() -> $crate::abi::__private::RResult<
            $crate::abi::__private::RVec<$crate::abi::PluginDescriptor>,
            $crate::ConnectError,
        > {
            let list = || -> $crate::Result<$crate::abi::__private::RVec<$crate::abi::PluginDescriptor>> {
                let mut out = $crate::abi::__private::RVec::new();
                $( out.push($crate::export_plugins!(@descriptor $kind $class $ty)?); )+
                Ok(out)
            };
            list().into()
        }

        #[doc(hidden)]
        pub extern "C" fn __connect_init_logging(host: $crate::abi::HostLoggerBox) {
            $crate::logging::install_host_logger(host);
        }

        #[doc(hidden)]
        pub fn __connect_plugin_module() -> $crate::abi::PluginModule_Ref {
            use $crate::abi::__private::PrefixTypeTrait;
            $crate::abi::PluginModule { plugins: __connect_plugins, init_logging: __connect_init_logging }
                .leak_into_prefix()
        }

        // The symbol abi_stable's loader looks up (`abi_stable::library::ROOT_MODULE_LOADER_NAME`); written out
        // here so that plugin crates need no direct dependency on abi_stable. A unit test pins the name.
        #[doc(hidden)]
        #[unsafe(no_mangle)]
        #[allow(non_upper_case_globals)]
        pub static _1as_0lib_1header_0root_bmodule_bloader: $crate::abi::__private::LibHeader = {
            pub extern "C" fn __connect_erased_module() -> $crate::abi::__private::RootModuleResult {
                $crate::abi::__private::__call_root_module_loader(__connect_plugin_module)
            }
            unsafe {
                $crate::abi::__private::LibHeader::from_constructor::<$crate::abi::PluginModule_Ref>(
                    __connect_erased_module,
                    $crate::abi::__private::CheckTypeLayout::Yes,
                )
            }
        };
    };
    (@descriptor source $class:literal $ty:ty) => {
        $crate::abi::source_descriptor::<$ty>($class)
    };
    (@descriptor sink $class:literal $ty:ty) => {
        $crate::abi::sink_descriptor::<$ty>($class)
    };
    (@descriptor async_source $class:literal $ty:ty) => {
        $crate::abi::source_descriptor::<$crate::async_connector::AsyncSource<$ty>>($class)
    };
    (@descriptor async_sink $class:literal $ty:ty) => {
        $crate::abi::sink_descriptor::<$crate::async_connector::AsyncSink<$ty>>($class)
    };
    (@descriptor transformation $class:literal $ty:ty) => {
        $crate::abi::transformation_descriptor::<$ty>($class)
    };
    (@descriptor predicate $class:literal $ty:ty) => {
        $crate::abi::predicate_descriptor::<$ty>($class)
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn exported_symbol_is_the_one_abi_stable_looks_up() {
        assert_eq!(abi_stable::library::ROOT_MODULE_LOADER_NAME, "_1as_0lib_1header_0root_bmodule_bloader");
    }
}
