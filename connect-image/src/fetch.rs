//! Fetching, checking and unpacking artifacts into a staging directory laid out as the image's plugin directory
//! will be: `<plugin>/<8-hex hash of the URL>/<files>` (Strimzi's layout). Everything lands in the build's
//! temporary directory; nothing is written to an output before every artifact of every plugin is in place and
//! verified, so a bad checksum or a corrupt archive leaves no trace.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha512};

use crate::error::{ArtifactId, ImageError, Result};
use crate::net::{describe, Net};
use crate::spec::{ArtifactKind, ArtifactSpec, PluginSpec, Source};

/// A plugin ready to be put into a layer: its files under `dir` (the plugin's own directory).
#[derive(Debug, Clone)]
pub struct StagedPlugin {
    /// The plugin's name (its directory's name in the image).
    pub name: String,
    /// The staged plugin directory.
    pub dir: PathBuf,
    /// How many artifacts it was made of.
    pub artifacts: usize,
}

/// Fetches, checks and lays out every artifact of `plugins` under `staging/<plugin>/`; `net` is created on the
/// first HTTP artifact.
pub fn stage(plugins: &[PluginSpec], staging: &Path, net: &mut Option<Net>) -> Result<Vec<StagedPlugin>> {
    let downloads = staging.join(".downloads");
    let mut staged = Vec::new();
    for plugin in plugins {
        let dir = staging.join(&plugin.name);
        std::fs::create_dir_all(&dir).map_err(ImageError::io(&dir))?;
        for (i, artifact) in plugin.artifacts.iter().enumerate() {
            let id = ArtifactId {
                plugin: plugin.name.clone(),
                index: i + 1,
                kind: artifact.kind.as_str().into(),
                source: artifact.url.clone(),
            };
            stage_artifact(artifact, &id, &dir, &downloads, net)?;
        }
        staged.push(StagedPlugin { name: plugin.name.clone(), dir, artifacts: plugin.artifacts.len() });
    }
    let _ = std::fs::remove_dir_all(&downloads);
    Ok(staged)
}

fn stage_artifact(
    artifact: &ArtifactSpec,
    id: &ArtifactId,
    plugin_dir: &Path,
    downloads: &Path,
    net: &mut Option<Net>,
) -> Result<()> {
    if artifact.kind == ArtifactKind::Dir {
        let Source::File(source) = &artifact.source else {
            return Err(ImageError::Fetch {
                artifact: Box::new(id.clone()),
                reason: "a directory must be local".into(),
            });
        };
        return copy_tree(source, plugin_dir)
            .map_err(|reason| ImageError::Fetch { artifact: Box::new(id.clone()), reason });
    }
    // The local file, or its download, and its sha512.
    let (file, actual) = match &artifact.source {
        Source::File(path) => {
            if path.is_dir() {
                return Err(ImageError::Fetch {
                    artifact: Box::new(id.clone()),
                    reason: format!("{} is a directory", path.display()),
                });
            }
            let sum = sha512_of(path).map_err(|e| ImageError::Fetch {
                artifact: Box::new(id.clone()),
                reason: format!("cannot read {}: {e}", path.display()),
            })?;
            (path.clone(), sum)
        }
        Source::Http(url) => {
            if net.is_none() {
                *net = Some(Net::new().map_err(|reason| ImageError::Fetch { artifact: Box::new(id.clone()), reason })?);
            }
            let net = net.as_ref().expect("just set");
            std::fs::create_dir_all(downloads).map_err(ImageError::io(downloads))?;
            let target = downloads.join(format!("{}-{}", id.plugin, id.index));
            let sum = download(net, url, artifact.insecure, &target)
                .map_err(|reason| ImageError::Fetch { artifact: Box::new(id.clone()), reason })?;
            (target, sum)
        }
    };
    if let Some(expected) = &artifact.sha512sum {
        if *expected != actual {
            return Err(ImageError::Checksum { artifact: Box::new(id.clone()), expected: expected.clone(), actual });
        }
    }
    let target_dir = plugin_dir.join(artifact.hash_stub());
    std::fs::create_dir_all(&target_dir).map_err(ImageError::io(&target_dir))?;
    let unpack_error = |reason: String| ImageError::Unpack { artifact: Box::new(id.clone()), reason };
    match artifact.kind {
        ArtifactKind::So | ArtifactKind::Other => {
            let name = file_name(artifact);
            let target = target_dir.join(&name);
            std::fs::copy(&file, &target).map_err(ImageError::io(&target))?;
            // Libraries are opened, not executed; other files keep the mode a download would get.
            let mode = if artifact.kind == ArtifactKind::So { 0o755 } else { 0o644 };
            set_mode(&target, mode)?;
        }
        ArtifactKind::Tgz => unpack_tgz(&file, &target_dir).map_err(unpack_error)?,
        ArtifactKind::Zip => unpack_zip(&file, &target_dir).map_err(unpack_error)?,
        ArtifactKind::Dir => unreachable!("handled above"),
    }
    Ok(())
}

/// The name of a `so` or `other` artifact in its directory: `fileName`, else (for `so`) the URL's last path
/// segment when it is a `.so` file, else the hash (`<hash>.so` for libraries, which the loader needs).
fn file_name(artifact: &ArtifactSpec) -> String {
    if let Some(name) = &artifact.file_name {
        return name.clone();
    }
    let hash = artifact.hash_stub();
    if artifact.kind != ArtifactKind::So {
        return hash;
    }
    let last = match &artifact.source {
        Source::File(path) => path.file_name().map(|n| n.to_string_lossy().into_owned()),
        Source::Http(url) => reqwest::Url::parse(url)
            .ok()
            .and_then(|u| u.path_segments().and_then(|mut s| s.next_back().map(str::to_string))),
    };
    match last {
        Some(last) if last.ends_with(".so") && last.len() > 3 && crate::spec::valid_file_name(&last) => last,
        _ => format!("{hash}.so"),
    }
}

/// The sha512 of a file, lower-case hex.
pub fn sha512_of(path: &Path) -> std::io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha512::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Downloads `url` into `target`, hashing as it goes; returns the sha512.
fn download(net: &Net, url: &str, insecure: bool, target: &Path) -> std::result::Result<String, String> {
    tracing::info!(url, "downloading");
    net.block_on(async {
        let mut response = net.client(insecure).get(url).send().await.map_err(|e| describe(&e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("the server answered {status}"));
        }
        let mut out = File::create(target).map_err(|e| format!("{}: {e}", target.display()))?;
        let mut hasher = Sha512::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| describe(&e))? {
            hasher.update(&chunk);
            out.write_all(&chunk).map_err(|e| format!("{}: {e}", target.display()))?;
        }
        Ok(hex(&hasher.finalize()))
    })
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(ImageError::io(path))
}

/// `tar xzf` into `dest`: regular files, directories and links only; entries escaping `dest` are refused.
fn unpack_tgz(file: &Path, dest: &Path) -> std::result::Result<(), String> {
    let input = File::open(file).map_err(|e| e.to_string())?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(BufReader::new(input)));
    archive.set_preserve_permissions(true);
    archive.set_preserve_mtime(false);
    archive.set_unpack_xattrs(false);
    archive.set_overwrite(true);
    let entries = archive.entries().map_err(|e| format!("not a gzipped tar: {e}"))?;
    let mut count = 0;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("corrupt archive: {e}"))?;
        use tar::EntryType::*;
        match entry.header().entry_type() {
            Regular | Directory | Symlink | Link | Continuous | GNUSparse => {}
            // Devices, fifos and pax/GNU metadata entries have no place in a plugin directory.
            _ => continue,
        }
        let path = entry.path().map(|p| p.display().to_string()).unwrap_or_default();
        let unpacked = entry.unpack_in(dest).map_err(|e| format!("corrupt archive at {path}: {e}"))?;
        if !unpacked {
            return Err(format!("the entry {path} would be written outside the plugin directory"));
        }
        count += 1;
    }
    if count == 0 {
        return Err("the archive is empty".into());
    }
    Ok(())
}

/// `unzip` into `dest`, then drop symbolic links as Strimzi does; entries escaping `dest` are refused.
fn unpack_zip(file: &Path, dest: &Path) -> std::result::Result<(), String> {
    let input = File::open(file).map_err(|e| e.to_string())?;
    let mut archive = zip::ZipArchive::new(BufReader::new(input)).map_err(|e| format!("not a zip archive: {e}"))?;
    if archive.is_empty() {
        return Err("the archive is empty".into());
    }
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| format!("corrupt archive: {e}"))?;
        let name = entry.name().map(|n| n.to_string()).unwrap_or_else(|_| format!("entry {}", i + 1));
        let Some(relative) = entry.enclosed_name() else {
            return Err(format!("the entry {name} would be written outside the plugin directory"));
        };
        if entry.is_symlink() {
            continue;
        }
        let target = dest.join(relative);
        if entry.is_dir() {
            std::fs::create_dir_all(&target).map_err(|e| format!("{}: {e}", target.display()))?;
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        let mut out = File::create(&target).map_err(|e| format!("{}: {e}", target.display()))?;
        std::io::copy(&mut entry, &mut out).map_err(|e| format!("corrupt archive at {name}: {e}"))?;
        let executable = entry.unix_mode().is_some_and(|m| m & 0o111 != 0);
        use std::os::unix::fs::PermissionsExt;
        let mode = if executable { 0o755 } else { 0o644 };
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode))
            .map_err(|e| format!("{}: {e}", target.display()))?;
    }
    Ok(())
}

/// Copies a directory tree (files, directories, symbolic links as links).
pub fn copy_tree(source: &Path, dest: &Path) -> std::result::Result<(), String> {
    let entries = std::fs::read_dir(source).map_err(|e| format!("{}: {e}", source.display()))?;
    std::fs::create_dir_all(dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", source.display()))?;
        let from = entry.path();
        let to = dest.join(entry.file_name());
        let meta = std::fs::symlink_metadata(&from).map_err(|e| format!("{}: {e}", from.display()))?;
        if meta.is_dir() {
            copy_tree(&from, &to)?;
        } else if meta.file_type().is_symlink() {
            let link = std::fs::read_link(&from).map_err(|e| format!("{}: {e}", from.display()))?;
            std::os::unix::fs::symlink(&link, &to).map_err(|e| format!("{}: {e}", to.display()))?;
        } else if meta.is_file() {
            std::fs::copy(&from, &to).map_err(|e| format!("{}: {e}", from.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::BuildSpec;

    fn spec(dir: &Path, artifacts: &str) -> BuildSpec {
        let text = format!(
            r#"{{"output":{{"type":"oci","path":"out"}},"plugins":[{{"name":"p1","artifacts":[{artifacts}]}}]}}"#
        );
        BuildSpec::parse(&text, &dir.join("spec.json")).unwrap()
    }

    fn tgz(path: &Path, files: &[(&str, &[u8])]) {
        let out = File::create(path).unwrap();
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(out, flate2::Compression::default()));
        for (name, data) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            builder.append_data(&mut header, name, *data).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap();
    }

    #[test]
    fn artifacts_are_checked_and_laid_out_under_their_hash() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("libx.so"), b"lib").unwrap();
        tgz(&dir.path().join("a.tgz"), &[("lib/liby.so", b"y"), ("README", b"r")]);
        let sum = sha512_of(&dir.path().join("libx.so")).unwrap();
        let spec = spec(
            dir.path(),
            &format!(
                r#"{{"type":"so","url":"file:libx.so","sha512sum":"{sum}"}},{{"type":"tgz","url":"file:a.tgz"}},{{"type":"other","url":"file:libx.so","fileName":"x.txt"}}"#
            ),
        );
        let staging = dir.path().join("staging");
        let staged = stage(&spec.plugins, &staging, &mut None).unwrap();
        let h = |i: usize| spec.plugins[0].artifacts[i].hash_stub();
        assert_eq!(staged[0].dir, staging.join("p1"));
        assert_eq!(std::fs::read(staging.join("p1").join(h(0)).join("libx.so")).unwrap(), b"lib");
        assert_eq!(std::fs::read(staging.join("p1").join(h(1)).join("lib/liby.so")).unwrap(), b"y");
        // Same URL as the first artifact: same directory, as in Strimzi.
        assert_eq!(h(0), h(2));
        assert!(staging.join("p1").join(h(2)).join("x.txt").exists());
    }

    #[test]
    fn a_checksum_mismatch_names_both_sums_and_the_artifact() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("libx.so"), b"lib").unwrap();
        let wrong = "0".repeat(128);
        let spec = spec(dir.path(), &format!(r#"{{"type":"so","url":"file:libx.so","sha512sum":"{wrong}"}}"#));
        let err = stage(&spec.plugins, &dir.path().join("s"), &mut None).unwrap_err().to_string();
        let actual = sha512_of(&dir.path().join("libx.so")).unwrap();
        assert_eq!(
            err,
            format!("plugin \"p1\", artifact 1 (so file:libx.so): sha512 mismatch: expected {wrong}, got {actual}")
        );
    }

    #[test]
    fn corrupt_archives_and_escaping_entries_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bad.tgz"), b"not gzip at all").unwrap();
        std::fs::write(dir.path().join("bad.zip"), b"PK not really").unwrap();
        let err = stage(
            &spec(dir.path(), r#"{"type":"tgz","url":"file:bad.tgz"}"#).plugins,
            &dir.path().join("s1"),
            &mut None,
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("plugin \"p1\", artifact 1 (tgz file:bad.tgz): cannot unpack it:"), "{err}");
        let err = stage(
            &spec(dir.path(), r#"{"type":"zip","url":"file:bad.zip"}"#).plugins,
            &dir.path().join("s2"),
            &mut None,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("cannot unpack it: not a zip archive"), "{err}");
        let err = stage(
            &spec(dir.path(), r#"{"type":"so","url":"file:missing.so"}"#).plugins,
            &dir.path().join("s3"),
            &mut None,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("artifact 1 (so file:missing.so): cannot fetch it: cannot read"), "{err}");
    }

    #[test]
    fn zip_symlinks_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.zip");
        let mut zip = zip::ZipWriter::new(File::create(&path).unwrap());
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file("lib/libz.so", options.unix_permissions(0o755)).unwrap();
        zip.write_all(b"z").unwrap();
        zip.add_symlink("lib/link.so", "libz.so", options).unwrap();
        zip.finish().unwrap();
        let spec = spec(dir.path(), r#"{"type":"zip","url":"file:a.zip"}"#);
        stage(&spec.plugins, &dir.path().join("s"), &mut None).unwrap();
        let base = dir.path().join("s/p1").join(spec.plugins[0].artifacts[0].hash_stub());
        assert!(base.join("lib/libz.so").exists());
        assert!(std::fs::symlink_metadata(base.join("lib/link.so")).is_err());
    }
}
