//! OCI image layouts on disk: writing a finished image as a layout directory or as an OCI archive (a tar of the
//! layout), and reading a base image from either. Outputs are written next to their destination under a
//! temporary name and renamed into place at the end: an error leaves the destination as it was.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use oci_spec::image::{Descriptor, ImageIndex, ImageIndexBuilder, ImageManifest, MediaType, Platform};
use serde_json::Value;

use crate::error::{ImageError, Result};
use crate::image::{canonical_json, BaseImage, Image, LayerRef};
use crate::layer::{blob_path, source_date_epoch, BlobStore};

const REF_NAME: &str = "org.opencontainers.image.ref.name";
const CONTAINERD_NAME: &str = "io.containerd.image.name";
/// The name of an archive's image when none is given.
pub const DEFAULT_ARCHIVE_NAME: &str = "localhost/connect-rs:latest";
const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// The `index.json` of a layout holding `image` under `name` (`latest` when none is given).
fn index_json(image: &Image, name: Option<&str>) -> Result<Vec<u8>> {
    let mut annotations = HashMap::new();
    let name = name.unwrap_or("latest");
    annotations.insert(REF_NAME.to_string(), name.to_string());
    // A full name (`registry/repo:tag`) also tells `podman load`/`docker load`/containerd what to call it.
    if name.contains('/') || name.contains(':') {
        annotations.insert(CONTAINERD_NAME.to_string(), name.to_string());
    }
    let digest: oci_spec::image::Digest = image
        .manifest_blob
        .digest
        .parse()
        .map_err(|e| ImageError::Output { output: name.to_string(), reason: format!("bad manifest digest: {e}") })?;
    let mut descriptor = Descriptor::new(MediaType::ImageManifest, image.manifest_blob.size, digest);
    descriptor.set_annotations(Some(annotations));
    let mut platform = Platform::default();
    platform.set_architecture(image.architecture.as_str().into());
    platform.set_os(image.os.as_str().into());
    descriptor.set_platform(Some(platform));
    let index = ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(vec![descriptor])
        .build()
        .map_err(|e| ImageError::Output { output: name.to_string(), reason: e.to_string() })?;
    Ok(canonical_json(&index))
}

/// Writes `image` as an OCI layout directory at `dir`, replacing a layout that is there.
pub fn write_layout(store: &BlobStore, image: &Image, dir: &Path, name: Option<&str>) -> Result<()> {
    let output = format!("oci:{}", dir.display());
    let out_err = |reason: String| ImageError::Output { output: output.clone(), reason };
    if dir.exists() {
        let is_layout = dir.join("oci-layout").is_file();
        let is_empty = std::fs::read_dir(dir).map(|mut d| d.next().is_none()).unwrap_or(false);
        if !is_layout && !is_empty {
            return Err(out_err("the directory exists and is not an OCI layout; refusing to overwrite it".into()));
        }
    }
    let parent = parent_of(dir);
    std::fs::create_dir_all(&parent).map_err(ImageError::io(&parent))?;
    let temp =
        tempfile::Builder::new().prefix(".connect-image-").tempdir_in(&parent).map_err(ImageError::io(&parent))?;
    let target = BlobStore::new(temp.path())?;
    for (digest, _) in image.blobs() {
        target.import(&store.path(&digest), &digest, false)?;
    }
    std::fs::write(temp.path().join("oci-layout"), OCI_LAYOUT).map_err(ImageError::io(temp.path()))?;
    std::fs::write(temp.path().join("index.json"), index_json(image, name)?).map_err(ImageError::io(temp.path()))?;
    // Swap: the old layout aside, the new one in, the old one removed.
    let staged = temp.keep();
    let old = parent.join(format!(".connect-image-old-{}", std::process::id()));
    if dir.exists() {
        std::fs::rename(dir, &old).map_err(|e| out_err(format!("cannot move the old layout aside: {e}")))?;
    }
    if let Err(e) = std::fs::rename(&staged, dir) {
        let _ = std::fs::rename(&old, dir);
        let _ = std::fs::remove_dir_all(&staged);
        return Err(out_err(format!("cannot move the new layout into place: {e}")));
    }
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

/// Writes `image` as an OCI archive (a tar of its layout) at `file`, replacing it.
pub fn write_archive(store: &BlobStore, image: &Image, file: &Path, name: Option<&str>) -> Result<()> {
    let parent = parent_of(file);
    std::fs::create_dir_all(&parent).map_err(ImageError::io(&parent))?;
    let temp =
        tempfile::Builder::new().prefix(".connect-image-").tempfile_in(&parent).map_err(ImageError::io(&parent))?;
    let io_err = |e: std::io::Error| ImageError::Output {
        output: format!("oci-archive:{}", file.display()),
        reason: e.to_string(),
    };
    {
        let mut tar = tar::Builder::new(BufWriter::new(temp.as_file()));
        let mtime = source_date_epoch();
        let mut add = |path: &str, size: u64, data: &mut dyn std::io::Read, dir: bool| -> std::io::Result<()> {
            let mut header = tar::Header::new_gnu();
            header.set_mtime(mtime);
            header.set_uid(0);
            header.set_gid(0);
            header.set_size(size);
            if dir {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
            } else {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(0o644);
            }
            tar.append_data(&mut header, path, data)
        };
        add("blobs/", 0, &mut std::io::empty(), true).map_err(io_err)?;
        add("blobs/sha256/", 0, &mut std::io::empty(), true).map_err(io_err)?;
        let mut blobs = image.blobs();
        blobs.sort();
        blobs.dedup();
        for (digest, size) in blobs {
            let path = store.path(&digest);
            let mut data = File::open(&path).map_err(ImageError::io(&path))?;
            let hex = digest.trim_start_matches("sha256:");
            add(&format!("blobs/sha256/{hex}"), size, &mut data, false).map_err(io_err)?;
        }
        // `podman load` names an image after its ref name: a bare `latest` would become `localhost/latest`.
        let index = index_json(image, Some(name.unwrap_or(DEFAULT_ARCHIVE_NAME)))?;
        add("index.json", index.len() as u64, &mut index.as_slice(), false).map_err(io_err)?;
        add("oci-layout", OCI_LAYOUT.len() as u64, &mut &OCI_LAYOUT[..], false).map_err(io_err)?;
        let mut out = tar.into_inner().map_err(io_err)?;
        out.flush().map_err(io_err)?;
    }
    temp.persist(file).map_err(|e| io_err(e.error))?;
    Ok(())
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Reads the image `tag` (or the only one) of the layout at `dir` into `store`.
pub fn read_layout(store: &BlobStore, dir: &Path, tag: Option<&str>, name: &str) -> Result<BaseImage> {
    let base_err = |reason: String| ImageError::Base { base: name.to_string(), reason };
    if !dir.join("oci-layout").is_file() {
        return Err(base_err(format!("{} is not an OCI layout (no oci-layout file)", dir.display())));
    }
    let index_path = dir.join("index.json");
    let index = ImageIndex::from_file(&index_path).map_err(|e| base_err(format!("index.json: {e}")))?;
    let chosen = choose(index.manifests(), tag).map_err(base_err)?;
    let manifest = resolve_manifest(dir, &chosen).map_err(base_err)?;
    let manifest_digest = manifest.0.clone();
    base_from_manifest(store, dir, &manifest.1, name, Some(manifest_digest))
}

/// Unpacks an OCI archive into `scratch` and reads it as a layout.
pub fn read_archive(
    store: &BlobStore,
    file: &Path,
    tag: Option<&str>,
    scratch: &Path,
    name: &str,
) -> Result<BaseImage> {
    let input = File::open(file).map_err(ImageError::io(file))?;
    let mut archive = tar::Archive::new(std::io::BufReader::new(input));
    std::fs::create_dir_all(scratch).map_err(ImageError::io(scratch))?;
    archive
        .unpack(scratch)
        .map_err(|e| ImageError::Base { base: name.to_string(), reason: format!("not a readable OCI archive: {e}") })?;
    read_layout(store, scratch, tag, name)
}

/// The descriptor named `tag`, or the only one.
fn choose(manifests: &[Descriptor], tag: Option<&str>) -> std::result::Result<Descriptor, String> {
    let name_of = |d: &Descriptor| {
        d.annotations().as_ref().and_then(|a| a.get(REF_NAME).or_else(|| a.get(CONTAINERD_NAME)).cloned())
    };
    match tag {
        Some(tag) => manifests
            .iter()
            .find(|d| {
                let annotations = d.annotations().as_ref();
                [REF_NAME, CONTAINERD_NAME].iter().any(|key| {
                    annotations.and_then(|a| a.get(*key)).is_some_and(|v| v == tag || v.ends_with(&format!(":{tag}")))
                })
            })
            .cloned()
            .ok_or_else(|| {
                let names: Vec<String> = manifests.iter().filter_map(name_of).collect();
                format!(
                    "it has no image named \"{tag}\" (it has: {})",
                    if names.is_empty() { "none named".into() } else { names.join(", ") }
                )
            }),
        None if manifests.len() == 1 => Ok(manifests[0].clone()),
        None if manifests.is_empty() => Err("its index.json lists no image".into()),
        None => {
            let names: Vec<String> = manifests.iter().filter_map(name_of).collect();
            Err(format!("it holds several images; name one with :NAME (it has: {})", names.join(", ")))
        }
    }
}

/// Follows an index to this machine's platform; returns the manifest's digest and the manifest.
fn resolve_manifest(dir: &Path, descriptor: &Descriptor) -> std::result::Result<(String, ImageManifest), String> {
    let mut current = descriptor.clone();
    for _ in 0..4 {
        let digest = current.digest().to_string();
        let path = blob_path(dir, &digest);
        let bytes = std::fs::read(&path).map_err(|e| format!("blob {digest}: {e}"))?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| format!("blob {digest}: {e}"))?;
        if value.get("manifests").is_some() {
            let index: ImageIndex = serde_json::from_value(value).map_err(|e| format!("index {digest}: {e}"))?;
            current = pick_platform(index.manifests())?;
            continue;
        }
        let manifest: ImageManifest = serde_json::from_slice(&bytes).map_err(|e| format!("manifest {digest}: {e}"))?;
        return Ok((digest, manifest));
    }
    Err("its indexes nest too deep".into())
}

/// The manifest for linux on this machine's architecture.
pub fn pick_platform(manifests: &[Descriptor]) -> std::result::Result<Descriptor, String> {
    let arch = crate::base::architecture();
    manifests
        .iter()
        .find(|d| {
            d.platform().as_ref().is_some_and(|p| p.os().to_string() == "linux" && p.architecture().to_string() == arch)
        })
        .or_else(|| if manifests.len() == 1 { manifests.first() } else { None })
        .cloned()
        .ok_or_else(|| format!("it has no image for linux/{arch}"))
}

/// Imports the config and layers a manifest names from the layout at `dir`.
fn base_from_manifest(
    store: &BlobStore,
    dir: &Path,
    manifest: &ImageManifest,
    name: &str,
    manifest_digest: Option<String>,
) -> Result<BaseImage> {
    let base_err = |reason: String| ImageError::Base { base: name.to_string(), reason };
    let config_digest = manifest.config().digest().to_string();
    let config_bytes =
        std::fs::read(blob_path(dir, &config_digest)).map_err(|e| base_err(format!("config {config_digest}: {e}")))?;
    let config: Value = serde_json::from_slice(&config_bytes).map_err(|e| base_err(format!("config: {e}")))?;
    let mut layers = Vec::new();
    for layer in manifest.layers() {
        let digest = layer.digest().to_string();
        let source = blob_path(dir, &digest);
        if !source.exists() {
            return Err(base_err(format!("layer {digest} is missing from the layout")));
        }
        let blob = store.import(&source, &digest, true)?;
        layers.push(LayerRef { media_type: layer.media_type().to_string(), digest, size: blob.size });
    }
    Ok(BaseImage { name: name.to_string(), manifest_digest, config, layers, own: false })
}
