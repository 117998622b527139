//! Putting an image together: the base image's layers and config, one layer per plugin on top, then the config
//! (user 1001, port 8083, labels) and the manifest. JSON documents are written with sorted keys so that the same
//! inputs give the same digests. The config is kept as JSON rather than oci-spec's struct so that fields a base
//! image carries and oci-spec does not model (Docker's `Healthcheck`, `OnBuild`, ...) survive.

use std::collections::BTreeMap;

use oci_spec::image::{Descriptor, ImageConfiguration, ImageManifestBuilder, MediaType};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::error::{ImageError, Result};
use crate::fetch::StagedPlugin;
use crate::layer::{parents, tree_entries, Blob, BlobStore, Entry, Layer};

/// A layer of an image: media type, digest and size of its blob (in the build's store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerRef {
    /// The layer's media type.
    pub media_type: String,
    /// `sha256:<hex>` of the blob.
    pub digest: String,
    /// The blob's size.
    pub size: u64,
}

impl LayerRef {
    /// A gzipped OCI layer.
    pub fn from_layer(layer: &Layer) -> LayerRef {
        LayerRef {
            media_type: MediaType::ImageLayerGzip.to_string(),
            digest: layer.blob.digest.clone(),
            size: layer.blob.size,
        }
    }
}

/// The image a build starts from, its blobs already in the build's store.
#[derive(Debug, Clone)]
pub struct BaseImage {
    /// How to name it (in labels and annotations).
    pub name: String,
    /// Its manifest's digest, when it has one.
    pub manifest_digest: Option<String>,
    /// Its config.
    pub config: Value,
    /// Its layers, base first.
    pub layers: Vec<LayerRef>,
    /// connect-rs's own base (built here from the binary).
    pub own: bool,
}

/// A finished image: every blob is in the build's store.
#[derive(Debug, Clone)]
pub struct Image {
    /// The manifest as written.
    pub manifest: Vec<u8>,
    /// The manifest's blob.
    pub manifest_blob: Blob,
    /// The config's blob.
    pub config_blob: Blob,
    /// The layers, base first.
    pub layers: Vec<LayerRef>,
    /// The config's architecture and OS (for the index's platform).
    pub architecture: String,
    /// The config's OS.
    pub os: String,
}

impl Image {
    /// Every blob of the image: layers, config, manifest.
    pub fn blobs(&self) -> Vec<(String, u64)> {
        let mut all: Vec<(String, u64)> = self.layers.iter().map(|l| (l.digest.clone(), l.size)).collect();
        all.push((self.config_blob.digest.clone(), self.config_blob.size));
        all.push((self.manifest_blob.digest.clone(), self.manifest_blob.size));
        all
    }

    /// The image's size: the sum of its blobs (what a registry stores and a pull downloads).
    pub fn size(&self) -> u64 {
        self.blobs().iter().map(|(_, size)| size).sum()
    }
}

/// What goes on top of the base.
pub struct Assembly<'a> {
    /// The plugin directory in the image (`/opt/connect/plugins`).
    pub plugin_dir: &'a str,
    /// The image's creation time (RFC 3339).
    pub created: &'a str,
    /// The staged plugins, one layer each.
    pub plugins: &'a [StagedPlugin],
    /// Libraries the plugins need that the base lacks (own base only), as one more layer.
    pub libraries: Vec<Entry>,
    /// Labels to add.
    pub labels: &'a BTreeMap<String, String>,
}

/// A history entry.
pub fn history(created: &str, created_by: &str) -> Value {
    json!({"created": created, "created_by": created_by})
}

/// Builds the plugin layers and writes the config and manifest into `store`.
pub fn assemble(store: &BlobStore, base: &BaseImage, what: Assembly<'_>) -> Result<Image> {
    let mut config = base.config.clone();
    let bad_base = |reason: &str| ImageError::Base { base: base.name.clone(), reason: reason.to_string() };
    let mut layers: Vec<LayerRef> = base.layers.iter().map(normalise_layer).collect();
    let mut diff_ids: Vec<Value> = config
        .pointer("/rootfs/diff_ids")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| bad_base("its config has no rootfs.diff_ids"))?;
    if diff_ids.len() != layers.len() {
        return Err(bad_base("its config and manifest list different numbers of layers"));
    }
    let mut history_list: Vec<Value> = config.get("history").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut add = |layer: Layer, created_by: String, layers: &mut Vec<LayerRef>| {
        layers.push(LayerRef::from_layer(&layer));
        diff_ids.push(Value::String(layer.diff_id));
        history_list.push(history(what.created, &created_by));
    };
    if !what.libraries.is_empty() {
        let mut entries = what.libraries;
        let layer = store.layer(&mut entries)?;
        add(layer, "connect image build: libraries the plugins need".into(), &mut layers);
    }
    for plugin in what.plugins {
        let target = format!("{}/{}", what.plugin_dir.trim_end_matches('/'), plugin.name);
        let mut entries = parents(&target);
        entries.extend(tree_entries(&plugin.dir, &target)?);
        let layer = store.layer(&mut entries)?;
        let count = plugin.artifacts;
        add(
            layer,
            format!(
                "connect image build: plugin {} ({count} artifact{})",
                plugin.name,
                if count == 1 { "" } else { "s" }
            ),
            &mut layers,
        );
    }

    let object = config.as_object_mut().ok_or_else(|| bad_base("its config is not a JSON object"))?;
    object.insert("created".into(), Value::String(what.created.into()));
    object.insert("rootfs".into(), json!({"type": "layers", "diff_ids": diff_ids}));
    object.insert("history".into(), Value::Array(history_list));
    let run = object.entry("config").or_insert_with(|| json!({}));
    let run = run.as_object_mut().ok_or_else(|| bad_base("its config's config is not a JSON object"))?;
    // Strimzi's Dockerfile ends with USER 1001 whatever the base.
    run.insert("User".into(), Value::String(crate::base::USER.to_string()));
    let ports = run.entry("ExposedPorts").or_insert_with(|| json!({}));
    if let Some(ports) = ports.as_object_mut() {
        ports.insert("8083/tcp".into(), json!({}));
    }
    let labels = run.entry("Labels").or_insert_with(|| json!({}));
    if labels.is_null() {
        *labels = json!({});
    }
    if let Some(labels) = labels.as_object_mut() {
        // A connect-rs image as the base already lists its plugins: keep them.
        let mut names: Vec<String> = labels
            .get("io.connect-rs.plugins")
            .and_then(Value::as_str)
            .map(|list| list.split(',').filter(|n| !n.is_empty()).map(str::to_string).collect())
            .unwrap_or_default();
        for plugin in what.plugins {
            if !names.contains(&plugin.name) {
                names.push(plugin.name.clone());
            }
        }
        labels.insert("io.connect-rs.plugins".into(), Value::String(names.join(",")));
        labels.insert("io.connect-rs.plugin.path".into(), Value::String(what.plugin_dir.into()));
        for (key, value) in what.labels {
            labels.insert(key.clone(), Value::String(value.clone()));
        }
    }
    // The config must still be one oci-spec understands (architecture, os, rootfs).
    let parsed: ImageConfiguration = serde_json::from_value(config.clone())
        .map_err(|e| bad_base(&format!("its config is not a valid OCI image config: {e}")))?;
    let config_bytes = canonical_json(&config);
    let config_blob = store.put(&config_bytes)?;

    let descriptor = |media_type: MediaType, digest: &str, size: u64| -> Result<Descriptor> {
        let parsed: oci_spec::image::Digest =
            digest.parse().map_err(|e| bad_base(&format!("bad digest {digest}: {e}")))?;
        Ok(Descriptor::new(media_type, size, parsed))
    };
    let layer_descriptors = layers
        .iter()
        .map(|l| descriptor(MediaType::from(l.media_type.as_str()), &l.digest, l.size))
        .collect::<Result<Vec<_>>>()?;
    let mut builder = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .config(descriptor(MediaType::ImageConfig, &config_blob.digest, config_blob.size)?)
        .layers(layer_descriptors);
    if !base.own {
        let mut annotations = std::collections::HashMap::new();
        annotations.insert("org.opencontainers.image.base.name".to_string(), base.name.clone());
        if let Some(digest) = &base.manifest_digest {
            annotations.insert("org.opencontainers.image.base.digest".to_string(), digest.clone());
        }
        builder = builder.annotations(annotations);
    }
    let manifest = builder.build().map_err(|e| bad_base(&format!("cannot make the manifest: {e}")))?;
    let manifest_bytes = canonical_json(&manifest);
    let manifest_blob = store.put(&manifest_bytes)?;
    Ok(Image {
        manifest: manifest_bytes,
        manifest_blob,
        config_blob,
        layers,
        architecture: parsed.architecture().to_string(),
        os: parsed.os().to_string(),
    })
}

/// Docker's layer media types are the same bytes under another name; OCI manifests use OCI's.
fn normalise_layer(layer: &LayerRef) -> LayerRef {
    let media_type = match layer.media_type.as_str() {
        "application/vnd.docker.image.rootfs.diff.tar.gzip" => MediaType::ImageLayerGzip.to_string(),
        "application/vnd.docker.image.rootfs.diff.tar" => MediaType::ImageLayer.to_string(),
        other => other.to_string(),
    };
    LayerRef { media_type, ..layer.clone() }
}

/// JSON with object keys sorted at every level: hash maps in oci-spec's types would otherwise change the bytes
/// (and digests) from one run to the next.
pub fn canonical_json<T: Serialize>(value: &T) -> Vec<u8> {
    fn sort(value: Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<(String, Value)> = map.into_iter().collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                let mut sorted = Map::new();
                for (key, value) in entries {
                    sorted.insert(key, sort(value));
                }
                Value::Object(sorted)
            }
            Value::Array(list) => Value::Array(list.into_iter().map(sort).collect()),
            other => other,
        }
    }
    let value = serde_json::to_value(value).expect("image documents serialise to JSON");
    serde_json::to_vec(&sort(value)).expect("JSON values serialise")
}

/// RFC 3339 for a Unix time, as image configs write `created`.
pub fn rfc3339(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let rest = seconds % 86_400;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn canonical_json_sorts_every_level() {
        let mut labels = std::collections::HashMap::new();
        for i in 0..20 {
            labels.insert(format!("k{i:02}"), i);
        }
        let text =
            String::from_utf8(canonical_json(&json!({"b": 1, "a": {"z": labels, "c": [ {"y": 1, "x": 2} ]}}))).unwrap();
        assert!(text.starts_with(r#"{"a":{"c":[{"x":2,"y":1}],"z":{"k00":0,"k01":1,"#), "{text}");
    }
}
