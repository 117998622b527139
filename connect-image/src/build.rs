//! One image build from start to end: stage every plugin (fetch, verify, unpack) in a temporary directory, get the
//! base image's blobs, build the layers, config and manifest, then write the outputs (registry pushes first, local
//! files last, each renamed into place). Any error before the outputs leaves nothing behind; the temporary
//! directory goes when the build ends, whatever happened.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::base::{self, DEFAULT_PLUGIN_DIR};
use crate::error::{ImageError, Result};
use crate::fetch::{self, StagedPlugin};
use crate::image::{self, Assembly, BaseImage};
use crate::layer::{BlobStore, Entry};
use crate::layout;
use crate::net::Net;
use crate::reference::{BaseRef, Output, PushOptions};
use crate::registry::Registry;
use crate::spec::{valid_plugin_name, ArtifactKind, ArtifactSpec, PluginSpec, Source};

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The plugins to put into the image.
    pub plugins: Vec<PluginSpec>,
    /// The image to start from.
    pub base: BaseRef,
    /// Where the image goes (at least one).
    pub outputs: Vec<Output>,
    /// How to reach registries.
    pub registry: PushOptions,
    /// The `connect` binary of the own base (default: the running one).
    pub connect_binary: Option<PathBuf>,
    /// The plugin directory in the image.
    pub plugin_dir: String,
    /// Labels to add.
    pub labels: BTreeMap<String, String>,
}

impl BuildOptions {
    /// Options for `plugins` on connect-rs's own base, to `outputs`.
    pub fn new(plugins: Vec<PluginSpec>, outputs: Vec<Output>) -> BuildOptions {
        BuildOptions {
            plugins,
            base: BaseRef::Own,
            outputs,
            registry: PushOptions::default(),
            connect_binary: None,
            plugin_dir: DEFAULT_PLUGIN_DIR.to_string(),
            labels: BTreeMap::new(),
        }
    }
}

/// What a build produced.
#[derive(Debug, Clone)]
pub struct BuildResult {
    /// `sha256:...` of the manifest: the image's digest.
    pub manifest_digest: String,
    /// `sha256:...` of the config: the image id Docker and Podman show.
    pub config_digest: String,
    /// Number of layers.
    pub layers: usize,
    /// Sum of the blobs' sizes.
    pub size: u64,
    /// The outputs written, as `oci:DIR`, `oci-archive:FILE`, `docker://REF`.
    pub outputs: Vec<String>,
}

/// Builds the image and writes it to every output.
pub fn build(options: &BuildOptions) -> Result<BuildResult> {
    if options.outputs.is_empty() {
        return Err(ImageError::Usage(
            "no output: give --output oci:DIR, oci-archive:FILE or docker://REFERENCE (or output in the spec)".into(),
        ));
    }
    if !options.plugin_dir.starts_with('/') {
        return Err(ImageError::Usage(format!(
            "--plugin-dir {}: must be an absolute path in the image",
            options.plugin_dir
        )));
    }
    let work =
        tempfile::Builder::new().prefix("connect-image-").tempdir().map_err(ImageError::io(std::env::temp_dir()))?;
    let mut net: Option<Net> = None;
    // Credentials a registry refuses fail the build now, not after every artifact and layer is made. The session
    // is not kept: a token could expire during a long build.
    for output in &options.outputs {
        if let Output::Registry(reference) = output {
            Registry::connect(net_of(&mut net, &output.to_string())?, reference, &options.registry, true)?;
        }
    }
    let staged = fetch::stage(&options.plugins, &work.path().join("staging"), &mut net)?;
    let store = BlobStore::new(&work.path().join("store"))?;
    let created = image::rfc3339(crate::layer::source_date_epoch());
    let binary = match &options.connect_binary {
        Some(path) => path.clone(),
        None => std::env::current_exe().map_err(ImageError::io("the running connect binary"))?,
    };
    let base = load_base(options, &store, work.path(), &binary, &created, &mut net)?;
    let libraries = if base.own { plugin_libraries(&staged, work.path(), &binary) } else { Vec::new() };
    let image = image::assemble(
        &store,
        &base,
        Assembly {
            plugin_dir: &options.plugin_dir,
            created: &created,
            plugins: &staged,
            libraries,
            labels: &options.labels,
        },
    )?;

    let mut written = Vec::new();
    let mut ordered: Vec<&Output> = options.outputs.iter().filter(|o| matches!(o, Output::Registry(_))).collect();
    ordered.extend(options.outputs.iter().filter(|o| !matches!(o, Output::Registry(_))));
    for output in ordered {
        match output {
            Output::Registry(reference) => {
                let net = net_of(&mut net, &output.to_string())?;
                let registry = Registry::connect(net, reference, &options.registry, true)?;
                registry.push(&store, &image)?;
            }
            Output::Layout { dir, name } => layout::write_layout(&store, &image, dir, name.as_deref())?,
            Output::Archive { file, name } => layout::write_archive(&store, &image, file, name.as_deref())?,
        }
        written.push(output.to_string());
    }
    Ok(BuildResult {
        manifest_digest: image.manifest_blob.digest.clone(),
        config_digest: image.config_blob.digest.clone(),
        layers: image.layers.len(),
        size: image.size(),
        outputs: written,
    })
}

fn net_of<'a>(net: &'a mut Option<Net>, what: &str) -> Result<&'a Net> {
    if net.is_none() {
        *net = Some(Net::new().map_err(|reason| ImageError::Registry { reference: what.to_string(), reason })?);
    }
    Ok(net.as_ref().expect("just set"))
}

fn load_base(
    options: &BuildOptions,
    store: &BlobStore,
    work: &Path,
    binary: &Path,
    created: &str,
    net: &mut Option<Net>,
) -> Result<BaseImage> {
    let name = options.base.to_string();
    match &options.base {
        BaseRef::Own => base::own_base(store, binary, &options.plugin_dir, created),
        BaseRef::Layout { dir, tag } => layout::read_layout(store, dir, tag.as_deref(), &name),
        BaseRef::Archive { file, tag } => {
            layout::read_archive(store, file, tag.as_deref(), &work.join("base-archive"), &name)
        }
        BaseRef::Registry(reference) => {
            let net = net_of(net, &name)?;
            Registry::connect(net, reference, &options.registry, false)?.pull(store)
        }
    }
}

/// The libraries the staged `.so` files need that connect-rs's own base lacks, found with `ldd` on this machine;
/// a library that is missing here is reported and left out.
fn plugin_libraries(staged: &[StagedPlugin], work: &Path, binary: &Path) -> Vec<Entry> {
    let mut libraries = Vec::new();
    let mut files = Vec::new();
    for plugin in staged {
        collect_so(&plugin.dir, &mut files);
    }
    for file in files {
        match base::needed_libraries(&file) {
            Ok(list) => libraries.extend(list.into_iter().filter(|(_, path)| !path.starts_with(work))),
            Err(reason) => tracing::warn!("{}: {reason}; the image may lack a library it needs", file.display()),
        }
    }
    let binary_libraries: Vec<String> = base::needed_libraries(binary)
        .ok()
        .map(|list| list.into_iter().map(|(path, _)| path).collect())
        .unwrap_or_default();
    libraries.retain(|(path, _)| !binary_libraries.contains(path));
    libraries.sort();
    libraries.dedup();
    base::library_entries(&libraries)
}

fn collect_so(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        if meta.is_dir() {
            collect_so(&path, found);
        } else if meta.is_file() && path.extension().is_some_and(|e| e == "so") {
            found.push(path);
        }
    }
}

/// The plugins of a directory, as S2I's `--from-dir` and Strimzi's old KafkaConnectS2I took them: each
/// sub-directory is a plugin (copied as it is), each `.so` file a plugin of its own, each `.tgz`/`.tar.gz`/`.zip`
/// a plugin unpacked. Hidden entries are skipped, other files skipped with a warning naming them.
pub fn plugins_from_dir(dir: &Path) -> Result<Vec<PluginSpec>> {
    let usage = |m: String| ImageError::Usage(format!("--from-dir {}: {m}", dir.display()));
    let entries = std::fs::read_dir(dir).map_err(|e| usage(e.to_string()))?;
    let mut names: Vec<(String, PathBuf)> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| usage(e.to_string()))?;
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if file_name.starts_with('.') {
            continue;
        }
        names.push((file_name, entry.path()));
    }
    names.sort();
    let mut plugins: Vec<PluginSpec> = Vec::new();
    for (file_name, path) in names {
        let (stem, kind) = if path.is_dir() {
            (file_name.as_str(), ArtifactKind::Dir)
        } else if let Some(stem) = file_name.strip_suffix(".so") {
            (stem.strip_prefix("lib").filter(|s| !s.is_empty()).unwrap_or(stem), ArtifactKind::So)
        } else if let Some(stem) = file_name.strip_suffix(".tgz").or_else(|| file_name.strip_suffix(".tar.gz")) {
            (stem, ArtifactKind::Tgz)
        } else if let Some(stem) = file_name.strip_suffix(".zip") {
            (stem, ArtifactKind::Zip)
        } else {
            // Source repositories hold READMEs and licences next to the plugins.
            tracing::warn!(
                "--from-dir {}: skipping {file_name}: neither a plugin directory, a .so library nor a .tgz/.tar.gz/.zip archive",
                dir.display()
            );
            continue;
        };
        let name = plugin_name(stem);
        if !valid_plugin_name(&name) {
            return Err(usage(format!("{file_name}: cannot make a plugin name of it")));
        }
        if plugins.iter().any(|p| p.name == name) {
            return Err(usage(format!("{file_name}: two entries would make the plugin \"{name}\"")));
        }
        let artifact = ArtifactSpec {
            kind,
            // The name relative to the directory: the layout does not depend on where the directory is.
            url: file_name.clone(),
            source: Source::File(path),
            sha512sum: None,
            file_name: (kind == ArtifactKind::So).then(|| file_name.clone()),
            insecure: false,
        };
        plugins.push(PluginSpec { name, artifacts: vec![artifact] });
    }
    if plugins.is_empty() {
        return Err(usage("holds no plugin (.so files, plugin directories or archives)".into()));
    }
    Ok(plugins)
}

/// A plugin name from a file name: lower case, other characters than letters, digits, `-` and `_` made `-`.
fn plugin_name(stem: &str) -> String {
    let name: String = stem
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_' { c } else { '-' })
        .collect();
    let name = name.trim_matches(|c: char| c == '-' || c == '_').to_string();
    if name.len() == 1 {
        format!("{name}-plugin")
    } else {
        name
    }
}

/// Installs plugins into a local plugin directory (`connect plugins install`, the S2I `assemble` script): each
/// plugin is staged in a temporary directory, copied next to its final place under a hidden name, then renamed
/// over the old version. Returns the plugin names.
pub fn install(plugins: &[PluginSpec], plugin_dir: &Path) -> Result<Vec<String>> {
    let work =
        tempfile::Builder::new().prefix("connect-plugins-").tempdir().map_err(ImageError::io(std::env::temp_dir()))?;
    let mut net = None;
    let staged = fetch::stage(plugins, &work.path().join("staging"), &mut net)?;
    std::fs::create_dir_all(plugin_dir).map_err(ImageError::io(plugin_dir))?;
    let mut names = Vec::new();
    for plugin in staged {
        let target = plugin_dir.join(&plugin.name);
        let partial = plugin_dir.join(format!(".{}.partial", plugin.name));
        let old = plugin_dir.join(format!(".{}.old", plugin.name));
        let _ = std::fs::remove_dir_all(&partial);
        fetch::copy_tree(&plugin.dir, &partial)
            .map_err(|reason| ImageError::Output { output: target.display().to_string(), reason })?;
        let _ = std::fs::remove_dir_all(&old);
        if target.exists() {
            std::fs::rename(&target, &old).map_err(ImageError::io(&target))?;
        }
        std::fs::rename(&partial, &target).map_err(ImageError::io(&target))?;
        let _ = std::fs::remove_dir_all(&old);
        names.push(plugin.name);
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_gives_one_plugin_per_entry() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("libconnect_file.so"), b"so").unwrap();
        std::fs::create_dir(dir.path().join("My Plugin")).unwrap();
        std::fs::write(dir.path().join("My Plugin/libx.so"), b"x").unwrap();
        std::fs::create_dir(dir.path().join(".s2i")).unwrap();
        let plugins = plugins_from_dir(dir.path()).unwrap();
        let names: Vec<&str> = plugins.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["my-plugin", "connect_file"]);
        assert_eq!(plugins[1].artifacts[0].kind, ArtifactKind::So);

        std::fs::write(dir.path().join("README.md"), b"x").unwrap();
        assert_eq!(plugins_from_dir(dir.path()).unwrap().len(), 2);
        let empty = tempfile::tempdir().unwrap();
        std::fs::write(empty.path().join("README.md"), b"x").unwrap();
        let err = plugins_from_dir(empty.path()).unwrap_err().to_string();
        assert!(err.ends_with("holds no plugin (.so files, plugin directories or archives)"), "{err}");
    }

    #[test]
    fn install_replaces_a_plugin_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("src");
        std::fs::create_dir(&source).unwrap();
        std::fs::write(source.join("libone.so"), b"v1").unwrap();
        let plugins_dir = dir.path().join("plugins");
        assert_eq!(install(&plugins_from_dir(&source).unwrap(), &plugins_dir).unwrap(), ["one"]);
        std::fs::write(source.join("libone.so"), b"v2").unwrap();
        install(&plugins_from_dir(&source).unwrap(), &plugins_dir).unwrap();
        let spec = &plugins_from_dir(&source).unwrap()[0].artifacts[0];
        let file = plugins_dir.join("one").join(spec.hash_stub()).join("libone.so");
        assert_eq!(std::fs::read(file).unwrap(), b"v2");
        let listed: Vec<String> =
            std::fs::read_dir(&plugins_dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
        assert_eq!(listed, ["one"]);
    }
}
