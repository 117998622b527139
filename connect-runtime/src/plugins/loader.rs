//! Finding and opening plugin libraries in `plugin.path`.
//!
//! Every `.so` is opened with `lib_header_from_path(..).init_root_module()`, never `RootModule::load_from_file`
//! (which caches the first module per type and would hand back the first plugin for every later file). A file
//! that cannot be loaded yields a [`LoadError`] naming the file and the reason; it never stops the other files.
//! Libraries are never unloaded.

use std::path::{Path, PathBuf};

use abi_stable::library::{lib_header_from_path, LibraryError, RootModule};
use connect_api::abi::{check_api_version, PluginDescriptor, PluginModule_Ref, API_VERSION};

/// Why a plugin file was skipped.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Not a shared library, or not one that can be opened here.
    #[error("{path}: not a loadable shared library: {reason}")]
    Open { path: PathBuf, reason: String },
    /// A shared library, but not a connect-rs plugin.
    #[error("{path}: not a connect-rs plugin (no abi_stable root module): {reason}")]
    NotAPlugin { path: PathBuf, reason: String },
    /// A plugin built against an incompatible connect-api or abi_stable.
    #[error("{path}: incompatible plugin: {reason}")]
    Incompatible { path: PathBuf, reason: String },
    /// The plugin failed while listing its connectors.
    #[error("{path}: the plugin failed to describe its connectors: {reason}")]
    Failed { path: PathBuf, reason: String },
}

/// The `.so` files of `plugin.path` directories: at the top level of each directory, and anywhere inside its
/// sub-directories (a directory per plugin, as Kafka Connect lays plugins out and searches them; Strimzi's images
/// put each artifact one level further down, `<plugin>/<hash>/`), sorted for a stable order. Hidden entries
/// (`.name`) are skipped: installs stage there.
pub fn discover(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            tracing::warn!(path = %dir.display(), "plugin.path entry is not a readable directory; skipped");
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if is_hidden(&path) {
                continue;
            }
            if path.is_dir() {
                libraries_in(&path, 0, &mut found);
            } else if is_library(&path) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Deep enough for any plugin layout; a bound so that a symbolic link loop ends.
const MAX_PLUGIN_DEPTH: usize = 8;

fn libraries_in(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if is_hidden(&path) {
            continue;
        }
        if path.is_dir() {
            if depth + 1 < MAX_PLUGIN_DEPTH {
                libraries_in(&path, depth + 1, found);
            }
        } else if is_library(&path) {
            found.push(path);
        }
    }
}

fn is_hidden(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

fn is_library(path: &Path) -> bool {
    path.is_file() && path.extension().is_some_and(|e| e == "so")
}

/// Opens one plugin library and lists its plugins.
pub fn load(path: &Path) -> Result<Vec<PluginDescriptor>, LoadError> {
    let header = lib_header_from_path(path).map_err(|err| classify(path, err))?;
    let plugin_version = header.version_strings().to_string();
    check_api_version(&plugin_version)
        .map_err(|reason| LoadError::Incompatible { path: path.to_path_buf(), reason })?;
    let module = header.init_root_module::<PluginModule_Ref>().map_err(|err| classify(path, err))?;
    // Libraries built before the logging bridge have no `init_logging`: their events stay unseen, as before.
    if let Some(init_logging) = module.init_logging() {
        init_logging(super::host_logger::HostLogger::boxed());
    }
    match module.plugins()().into_result() {
        Ok(list) => Ok(list.into_vec()),
        Err(err) => Err(LoadError::Failed { path: path.to_path_buf(), reason: err.status_trace() }),
    }
}

fn classify(path: &Path, err: LibraryError) -> LoadError {
    let path = path.to_path_buf();
    match err {
        LibraryError::OpenError { err, .. } => LoadError::Open { path, reason: err.to_string() },
        LibraryError::GetSymbolError { err, .. } => LoadError::NotAPlugin { path, reason: err.to_string() },
        LibraryError::InvalidAbiHeader(h) => LoadError::Incompatible {
            path,
            reason: format!(
                "built with abi_stable ABI {}.{}, this worker uses abi_stable 0.11 (connect-api {API_VERSION})",
                h.abi_major, h.abi_minor
            ),
        },
        LibraryError::IncompatibleVersionNumber { expected_version, actual_version, .. } => LoadError::Incompatible {
            path,
            reason: format!(
                "built with connect-api {actual_version}, but this worker uses connect-api {expected_version}"
            ),
        },
        LibraryError::AbiInstability(e) => {
            tracing::debug!(path = %path.display(), "layout differences: {e}");
            LoadError::Incompatible {
                path,
                reason: format!(
                    "its {} root module does not have the layout this worker expects (connect-api {API_VERSION}); \
                     it was built against another connect-api or abi_stable version: rebuild it against connect-api {API_VERSION}",
                    PluginModule_Ref::NAME
                ),
            }
        }
        LibraryError::RootModule { err, .. } => LoadError::Failed { path, reason: err.to_string() },
        other => LoadError::Incompatible { path, reason: other.to_string() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libraries_are_found_at_any_depth_of_a_plugin_directory_but_not_in_hidden_ones() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for file in
            ["top.so", "kafka/one.so", "strimzi/0a1b2c3d/two.so", "strimzi/0a1b2c3d/lib/three.so", ".p.partial/h/x.so"]
        {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, b"").unwrap();
        }
        std::fs::write(root.join("kafka/README"), b"").unwrap();
        let found: Vec<String> = discover(&[root.to_path_buf()])
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().display().to_string())
            .collect();
        assert_eq!(found, ["kafka/one.so", "strimzi/0a1b2c3d/lib/three.so", "strimzi/0a1b2c3d/two.so", "top.so"]);
    }
}
