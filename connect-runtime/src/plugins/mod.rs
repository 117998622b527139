//! The plugin registry: built-in connectors plus the libraries found in `plugin.path`.
//!
//! Lookups accept a full class name or an alias (the simple class name, with or without its `Connector` suffix),
//! as Kafka Connect does. A class that is not known triggers one rescan of `plugin.path`, so a library dropped in
//! after start works without a restart. A file that fails to load is logged with the reason and skipped; it
//! never prevents other plugins from loading.

mod builtin;
mod handles;
mod host_logger;
mod loader;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use connect_api::abi::{PluginDescriptor, PluginFactory, PluginKind, PluginType};
use connect_api::{ConfigDef, ConnectError};

pub use builtin::share_worker_cluster;
pub use handles::{
    config_to_abi, ConnectorHandle, PredicateHandle, SinkTaskHandle, SourceTaskHandle, TransformationHandle,
};
pub use loader::LoadError;

use crate::worker::kafka::OverridePolicy;

/// Where a plugin comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// Linked into the worker.
    Builtin,
    /// Loaded from this library file.
    File(PathBuf),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Builtin => f.write_str("builtin"),
            Location::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A connector plugin the worker can instantiate.
pub struct Plugin {
    descriptor: PluginDescriptor,
    location: Location,
    config_def: ConfigDef,
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin")
            .field("class", &self.class())
            .field("kind", &self.kind())
            .field("version", &self.version())
            .field("location", &self.location)
            .finish()
    }
}

fn read_config_def(descriptor: &PluginDescriptor) -> Result<ConfigDef, String> {
    serde_json::from_str(descriptor.config_def.as_str())
        .map_err(|e| format!("{}: unreadable configuration definition: {e}", descriptor.class))
}

impl Plugin {
    fn new(descriptor: PluginDescriptor, location: Location) -> Result<Self, String> {
        if !matches!(descriptor.plugin_type(), PluginType::Connector(_)) {
            return Err(format!("{} is not a connector", descriptor.class));
        }
        let config_def = read_config_def(&descriptor)?;
        Ok(Plugin { descriptor, location, config_def })
    }

    /// The full class name.
    pub fn class(&self) -> &str {
        self.descriptor.class.as_str()
    }

    /// Source or sink.
    pub fn kind(&self) -> PluginKind {
        match self.descriptor.plugin_type() {
            PluginType::Connector(kind) => kind,
            // `Plugin::new` takes connectors only.
            PluginType::Transformation | PluginType::Predicate => unreachable!("a connector plugin"),
        }
    }

    /// The plugin's version.
    pub fn version(&self) -> &str {
        self.descriptor.version.as_str()
    }

    /// Where it was loaded from.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The connector's own configuration definition.
    pub fn config_def(&self) -> &ConfigDef {
        &self.config_def
    }

    /// Whether `name` designates this plugin: its class name, its simple name, or its simple name without the
    /// `Connector` suffix.
    pub fn matches(&self, name: &str) -> bool {
        let class = self.class();
        if class == name {
            return true;
        }
        let simple = class.rsplit(['.', '$']).next().unwrap_or(class);
        simple == name || simple.strip_suffix("Connector").is_some_and(|s| !s.is_empty() && s == name)
    }

    /// A new connector instance.
    pub fn new_connector(&self) -> Result<ConnectorHandle, ConnectError> {
        let factory = match self.descriptor.factory {
            PluginFactory::Source { connector, .. } | PluginFactory::Sink { connector, .. } => connector,
            PluginFactory::Transformation { .. } | PluginFactory::Predicate { .. } => {
                return Err(ConnectError::new(format!("{} is not a connector", self.class())))
            }
        };
        factory().into_result().map(ConnectorHandle)
    }

    /// A new source task instance.
    pub fn new_source_task(&self) -> Result<SourceTaskHandle, ConnectError> {
        match self.descriptor.factory {
            PluginFactory::Source { task, .. } => task().into_result().map(SourceTaskHandle),
            _ => Err(ConnectError::new(format!("{} is not a source connector", self.class()))),
        }
    }

    /// A new sink task instance.
    pub fn new_sink_task(&self) -> Result<SinkTaskHandle, ConnectError> {
        match self.descriptor.factory {
            PluginFactory::Sink { task, .. } => task().into_result().map(SinkTaskHandle),
            _ => Err(ConnectError::new(format!("{} is not a sink connector", self.class()))),
        }
    }
}

/// A transformation or predicate plugin.
pub struct TransformPlugin {
    descriptor: PluginDescriptor,
    location: Location,
    config_def: ConfigDef,
}

impl fmt::Debug for TransformPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransformPlugin")
            .field("class", &self.class())
            .field("type", &self.plugin_type())
            .field("location", &self.location)
            .finish()
    }
}

impl TransformPlugin {
    fn new(descriptor: PluginDescriptor, location: Location) -> Result<Self, String> {
        let config_def = read_config_def(&descriptor)?;
        Ok(TransformPlugin { descriptor, location, config_def })
    }

    /// The full class name.
    pub fn class(&self) -> &str {
        self.descriptor.class.as_str()
    }

    /// Transformation or predicate.
    pub fn plugin_type(&self) -> PluginType {
        self.descriptor.plugin_type()
    }

    /// The plugin's version.
    pub fn version(&self) -> &str {
        self.descriptor.version.as_str()
    }

    /// Where it was loaded from.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Its own configuration definition.
    pub fn config_def(&self) -> &ConfigDef {
        &self.config_def
    }

    /// Whether `name` designates this plugin: its class name, or the class name without its package
    /// (`InsertField$Value`).
    pub fn matches(&self, name: &str) -> bool {
        let class = self.class();
        class == name || class.rsplit('.').next() == Some(name)
    }

    /// A new transformation instance.
    pub fn new_transformation(&self) -> Result<TransformationHandle, ConnectError> {
        match self.descriptor.factory {
            PluginFactory::Transformation { create } => create().into_result().map(TransformationHandle),
            _ => Err(ConnectError::new(format!("{} is not a transformation", self.class()))),
        }
    }

    /// A new predicate instance.
    pub fn new_predicate(&self) -> Result<PredicateHandle, ConnectError> {
        match self.descriptor.factory {
            PluginFactory::Predicate { create } => create().into_result().map(PredicateHandle),
            _ => Err(ConnectError::new(format!("{} is not a predicate", self.class()))),
        }
    }
}

/// No plugin matches a `connector.class`.
#[derive(Debug, thiserror::Error)]
#[error("Failed to find any class that implements Connector and which name matches {class}, available connectors are: {}", available.join(", "))]
pub struct UnknownPlugin {
    /// The name looked up.
    pub class: String,
    /// The known class names.
    pub available: Vec<String>,
}

#[derive(Default)]
struct RegistryState {
    plugins: Vec<Arc<Plugin>>,
    transforms: Vec<Arc<TransformPlugin>>,
    /// Every file looked at, with its modification time, loaded or not.
    seen: HashMap<PathBuf, Option<SystemTime>>,
}

impl RegistryState {
    /// Adds a plugin to the connectors or to the transformations and predicates, by its type.
    fn insert(&mut self, descriptor: PluginDescriptor, location: Location) -> Result<(), String> {
        if matches!(descriptor.plugin_type(), PluginType::Connector(_)) {
            self.plugins.push(Arc::new(Plugin::new(descriptor, location)?));
        } else {
            self.transforms.push(Arc::new(TransformPlugin::new(descriptor, location)?));
        }
        Ok(())
    }
}

/// All plugins known to this worker.
pub struct PluginRegistry {
    dirs: Vec<PathBuf>,
    state: Mutex<RegistryState>,
    /// The worker's `connector.client.config.override.policy`, a plugin in Kafka Connect too.
    override_policy: Mutex<OverridePolicy>,
}

impl PluginRegistry {
    /// The built-ins plus every loadable library in `dirs`.
    pub fn new(dirs: Vec<PathBuf>) -> Self {
        Self::with_builtins(dirs, builtin::descriptors())
    }

    /// A registry with the given built-ins instead of the worker's own (for tests).
    pub fn with_builtins(dirs: Vec<PathBuf>, builtins: Vec<Result<PluginDescriptor, ConnectError>>) -> Self {
        let registry = PluginRegistry {
            dirs,
            state: Mutex::new(RegistryState::default()),
            override_policy: Mutex::new(OverridePolicy::default()),
        };
        {
            let mut state = registry.lock();
            for descriptor in builtins {
                if let Err(reason) =
                    descriptor.map_err(|e| e.to_string()).and_then(|d| state.insert(d, Location::Builtin))
                {
                    tracing::error!("built-in plugin cannot be registered: {reason}")
                }
            }
        }
        registry.scan();
        registry
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RegistryState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Looks at every library in `plugin.path` not seen before (or changed since), loads the new ones and returns
    /// the files that could not be loaded (each already logged).
    pub fn scan(&self) -> Vec<LoadError> {
        let mut errors = Vec::new();
        for path in loader::discover(&self.dirs) {
            let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
            let loaded_before = {
                let state = self.lock();
                match state.seen.get(&path) {
                    Some(seen) if *seen == modified => continue,
                    Some(_) => state.plugins.iter().any(|p| p.location == Location::File(path.clone())),
                    None => false,
                }
            };
            if loaded_before {
                tracing::warn!(
                    path = %path.display(),
                    "plugin library changed on disk; the loaded version stays in use until the worker restarts"
                );
                self.lock().seen.insert(path, modified);
                continue;
            }
            let result = loader::load(&path);
            let mut state = self.lock();
            state.seen.insert(path.clone(), modified);
            match result {
                Ok(descriptors) => {
                    for descriptor in descriptors {
                        self.add(&mut state, descriptor, &path);
                    }
                }
                Err(err) => {
                    tracing::warn!("skipping plugin file {err}");
                    errors.push(err);
                }
            }
        }
        errors
    }

    fn add(&self, state: &mut RegistryState, descriptor: PluginDescriptor, path: &Path) {
        let class = descriptor.class.as_str();
        let existing = state.plugins.iter().find(|p| p.class() == class).map(|p| &p.location);
        let existing = existing.or_else(|| state.transforms.iter().find(|p| p.class() == class).map(|p| &p.location));
        if let Some(existing) = existing {
            tracing::warn!(
                class = %descriptor.class,
                file = %path.display(),
                kept = %existing,
                "duplicate plugin class; keeping the one loaded first"
            );
            return;
        }
        let (version, kind) = (descriptor.version.to_string(), descriptor.plugin_type().as_str());
        let class = descriptor.class.to_string();
        match state.insert(descriptor, Location::File(path.to_path_buf())) {
            Ok(()) => tracing::info!(class, kind, version, file = %path.display(), "loaded plugin"),
            Err(reason) => tracing::warn!(file = %path.display(), "skipping plugin: {reason}"),
        }
    }

    /// Sets the worker's client config override policy, which connector validation applies.
    pub fn set_override_policy(&self, policy: OverridePolicy) {
        *self.override_policy.lock().unwrap_or_else(|p| p.into_inner()) = policy;
    }

    /// The worker's client config override policy.
    pub fn override_policy(&self) -> OverridePolicy {
        *self.override_policy.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every known connector plugin, built-ins first, then in load order.
    pub fn plugins(&self) -> Vec<Arc<Plugin>> {
        self.lock().plugins.clone()
    }

    /// Every known transformation and predicate, built-ins first, then in load order.
    pub fn transforms(&self) -> Vec<Arc<TransformPlugin>> {
        self.lock().transforms.clone()
    }

    /// The transformation (or predicate, by `wanted`) designated by `name`; when unknown, `plugin.path` is
    /// rescanned once. The error is Kafka Connect's message for a class that cannot be found.
    pub fn resolve_transform(&self, name: &str, wanted: PluginType) -> Result<Arc<TransformPlugin>, String> {
        let name = name.trim();
        let find = || {
            let state = self.lock();
            let of_type = || state.transforms.iter().filter(|p| p.plugin_type() == wanted);
            of_type().find(|p| p.class() == name).or_else(|| of_type().find(|p| p.matches(name))).cloned()
        };
        if let Some(found) = find() {
            return Ok(found);
        }
        self.scan();
        find().ok_or_else(|| format!("Class {name} could not be found."))
    }

    /// The plugin designated by `name` (class name or alias), without rescanning.
    pub fn find(&self, name: &str) -> Option<Arc<Plugin>> {
        let state = self.lock();
        let name = name.trim();
        state
            .plugins
            .iter()
            .find(|p| p.class() == name)
            .or_else(|| state.plugins.iter().find(|p| p.matches(name)))
            .cloned()
    }

    /// The plugin designated by `name`; when unknown, `plugin.path` is rescanned once before giving up.
    pub fn resolve(&self, name: &str) -> Result<Arc<Plugin>, UnknownPlugin> {
        if let Some(plugin) = self.find(name) {
            return Ok(plugin);
        }
        self.scan();
        self.find(name).ok_or_else(|| UnknownPlugin {
            class: name.to_string(),
            available: self.plugins().iter().map(|p| p.class().to_string()).collect(),
        })
    }
}
