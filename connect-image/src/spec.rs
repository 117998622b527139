//! The build spec: Strimzi's KafkaConnect `spec.build` (`output`, `plugins[].artifacts[]`) read from YAML or JSON,
//! validated field by field so that every error names the file and the field path. It also accepts a whole
//! KafkaConnect resource (then `spec.image` is the base image). Validation never touches the network or the disk
//! beyond reading the spec itself.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{ImageError, Result};
use crate::reference::{BaseRef, Output, PushOptions};

/// A validated build: which plugins go into the image, on which base, to which output.
#[derive(Debug, Clone)]
pub struct BuildSpec {
    /// The spec file (relative `file:` URLs are resolved against its directory).
    pub file: PathBuf,
    /// The base image the spec names (`spec.image` of a KafkaConnect resource), if any.
    pub base: Option<BaseRef>,
    /// The output the spec names, if any (Strimzi requires one; `--output` may give it here).
    pub output: Option<Output>,
    /// Options for pushing (from `additionalBuildOptions`/`additionalPushOptions`).
    pub push: PushOptions,
    /// The plugins, in the spec's order.
    pub plugins: Vec<PluginSpec>,
}

/// One plugin: a directory of its own under the plugin directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginSpec {
    /// The plugin's name, also its directory's name.
    pub name: String,
    /// Its artifacts, in order.
    pub artifacts: Vec<ArtifactSpec>,
}

/// What an artifact is and how it is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArtifactKind {
    /// A plugin library, put as it is into `<plugin>/<hash>/`.
    So,
    /// A gzipped tar, unpacked into `<plugin>/<hash>/`.
    Tgz,
    /// A zip, unpacked into `<plugin>/<hash>/` without its symbolic links.
    Zip,
    /// Any file, put into `<plugin>/<hash>/` under `fileName` (or the hash).
    Other,
    /// A local directory copied as it is into `<plugin>/` (`--from-dir` builds only).
    Dir,
}

impl ArtifactKind {
    /// The spec's name of the type.
    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactKind::So => "so",
            ArtifactKind::Tgz => "tgz",
            ArtifactKind::Zip => "zip",
            ArtifactKind::Other => "other",
            ArtifactKind::Dir => "dir",
        }
    }
}

/// Where an artifact's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A local file or directory.
    File(PathBuf),
    /// An `http://` or `https://` URL.
    Http(String),
}

/// One artifact of a plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactSpec {
    /// Its type.
    pub kind: ArtifactKind,
    /// The URL as written (named in errors; its hash names the artifact's directory).
    pub url: String,
    /// Where to read it from.
    pub source: Source,
    /// The expected sha512, lower-case hex; `None` skips the check (as in Strimzi).
    pub sha512sum: Option<String>,
    /// The file name in the image (`other`, `so`).
    pub file_name: Option<String>,
    /// Skip TLS verification for this download.
    pub insecure: bool,
}

impl ArtifactSpec {
    /// Strimzi's `hashStub`: the first 8 hex digits of the SHA-1 of the URL; the artifact's directory name.
    pub fn hash_stub(&self) -> String {
        use sha1::Digest;
        let digest = sha1::Sha1::digest(self.url.as_bytes());
        digest.iter().take(4).map(|b| format!("{b:02x}")).collect()
    }
}

impl BuildSpec {
    /// Reads and validates a spec file (YAML or JSON).
    pub fn load(file: &Path) -> Result<BuildSpec> {
        let text = std::fs::read_to_string(file).map_err(ImageError::io(file))?;
        Self::parse(&text, file)
    }

    /// Validates a spec given as text; `file` names it in errors and anchors relative `file:` URLs.
    pub fn parse(text: &str, file: &Path) -> Result<BuildSpec> {
        let name = file.display().to_string();
        let root: Value = serde_yaml_ng::from_str(text).map_err(|e| ImageError::Spec {
            file: name.clone(),
            field: "(document)".into(),
            message: format!("not valid YAML or JSON: {e}"),
        })?;
        let ctx = Ctx { file: name, dir: file.parent().map(Path::to_path_buf).unwrap_or_default() };
        let root = ctx.object(&root, "(document)")?;
        // A KafkaConnect resource, `{image, build}`, or the build object itself.
        let (build, build_path, image, image_path) = if let Some(spec) = root.get("spec") {
            let spec = ctx.object(spec, "spec")?;
            let build = spec.get("build").ok_or_else(|| ctx.err("spec.build", "is required"))?;
            (build, "spec.build".to_string(), spec.get("image"), "spec.image")
        } else if let Some(build) = root.get("build") {
            (build, "build".to_string(), root.get("image"), "image")
        } else {
            (&Value::Object(root.clone()), String::new(), None, "")
        };
        let build = ctx.object(build, if build_path.is_empty() { "(document)" } else { &build_path })?;
        let at = |field: &str| if build_path.is_empty() { field.to_string() } else { format!("{build_path}.{field}") };

        let base = match image {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(BaseRef::parse(s).map_err(|m| ctx.err(image_path, &m))?),
            Some(_) => return Err(ctx.err(image_path, "must be a string (an image reference)")),
        };
        ctx.known_keys(build, &["output", "plugins", "resources"], &at(""))?;
        let (output, push) = match build.get("output") {
            Some(output) => {
                let (output, push) = ctx.output(output, &at("output"))?;
                (Some(output), push)
            }
            // Strimzi requires it; here `--output` may give it instead.
            None => (None, PushOptions::default()),
        };
        let plugins = match build.get("plugins") {
            Some(Value::Array(list)) if !list.is_empty() => list,
            Some(Value::Array(_)) => return Err(ctx.err(&at("plugins"), "must list at least one plugin")),
            Some(_) => return Err(ctx.err(&at("plugins"), "must be a list")),
            None => return Err(ctx.err(&at("plugins"), "is required")),
        };
        let mut seen = BTreeSet::new();
        let mut parsed = Vec::new();
        for (i, plugin) in plugins.iter().enumerate() {
            let path = at(&format!("plugins[{i}]"));
            let plugin = ctx.plugin(plugin, &path)?;
            if !seen.insert(plugin.name.clone()) {
                return Err(ctx.err(&format!("{path}.name"), &format!("\"{}\" is used by two plugins", plugin.name)));
            }
            parsed.push(plugin);
        }
        Ok(BuildSpec { file: file.to_path_buf(), base, output, push, plugins: parsed })
    }
}

/// Whether `name` is a valid plugin name (Strimzi's pattern `^[a-z0-9][-_a-z0-9]*[a-z0-9]$`).
pub fn valid_plugin_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let edge = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    bytes.len() >= 2
        && edge(&bytes[0])
        && edge(&bytes[bytes.len() - 1])
        && bytes.iter().all(|b| edge(b) || *b == b'-' || *b == b'_')
}

/// Whether `name` can be a file name inside a plugin directory.
pub fn valid_file_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/') && !name.contains('\0')
}

struct Ctx {
    file: String,
    dir: PathBuf,
}

impl Ctx {
    fn err(&self, field: &str, message: &str) -> ImageError {
        let field = if field.is_empty() { "(document)" } else { field.trim_end_matches('.') };
        ImageError::Spec { file: self.file.clone(), field: field.to_string(), message: message.to_string() }
    }

    fn object<'a>(&self, value: &'a Value, field: &str) -> Result<&'a Map<String, Value>> {
        value.as_object().ok_or_else(|| self.err(field, "must be an object"))
    }

    fn known_keys(&self, object: &Map<String, Value>, known: &[&str], path: &str) -> Result<()> {
        for key in object.keys() {
            if !known.contains(&key.as_str()) {
                let field = format!("{path}{}{key}", if path.is_empty() || path.ends_with('.') { "" } else { "." });
                return Err(self.err(&field, &format!("unknown field; expected one of {}", known.join(", "))));
            }
        }
        Ok(())
    }

    fn string<'a>(&self, object: &'a Map<String, Value>, key: &str, path: &str) -> Result<Option<&'a str>> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.err(&format!("{path}.{key}"), "must be a string")),
        }
    }

    fn required<'a>(&self, object: &'a Map<String, Value>, key: &str, path: &str) -> Result<&'a str> {
        match self.string(object, key, path)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            Some(_) => Err(self.err(&format!("{path}.{key}"), "must not be empty")),
            None => Err(self.err(&format!("{path}.{key}"), "is required")),
        }
    }

    fn output(&self, value: &Value, path: &str) -> Result<(Output, PushOptions)> {
        let object = self.object(value, path)?;
        let kind = self.required(object, "type", path)?;
        let mut push = PushOptions::default();
        match kind {
            "docker" => {
                self.known_keys(
                    object,
                    &["type", "image", "pushSecret", "additionalBuildOptions", "additionalPushOptions"],
                    path,
                )?;
                if object.contains_key("pushSecret") {
                    return Err(ImageError::NotSupported {
                        what: format!("{}: {path}.pushSecret (a Kubernetes Secret)", self.file),
                        hint: "give the registry credentials with --authfile (a .dockerconfigjson file) or --creds"
                            .into(),
                    });
                }
                for key in ["additionalBuildOptions", "additionalPushOptions"] {
                    match object.get(key) {
                        None | Some(Value::Null) => {}
                        Some(Value::Array(options)) => {
                            for (i, option) in options.iter().enumerate() {
                                let field = format!("{path}.{key}[{i}]");
                                let option = option.as_str().ok_or_else(|| self.err(&field, "must be a string"))?;
                                push.apply_option(option).map_err(|m| self.err(&field, &m))?;
                            }
                        }
                        Some(_) => return Err(self.err(&format!("{path}.{key}"), "must be a list of strings")),
                    }
                }
                let image = self.required(object, "image", path)?;
                let reference =
                    crate::reference::Reference::parse(image).map_err(|m| self.err(&format!("{path}.image"), &m))?;
                Ok((Output::Registry(reference), push))
            }
            "oci" | "oci-archive" => {
                self.known_keys(object, &["type", "path", "image"], path)?;
                let target = self.required(object, "path", path)?;
                let target = self.dir.join(target);
                let name = self.string(object, "image", path)?.map(str::to_string);
                Ok((
                    if kind == "oci" {
                        Output::Layout { dir: target, name }
                    } else {
                        Output::Archive { file: target, name }
                    },
                    push,
                ))
            }
            "imagestream" => Err(ImageError::NotSupported {
                what: format!("{}: {path}.type imagestream (OpenShift ImageStreams)", self.file),
                hint: "use type docker with the image stream's registry reference".into(),
            }),
            other => Err(self.err(
                &format!("{path}.type"),
                &format!("unknown output type \"{other}\"; expected docker, oci or oci-archive"),
            )),
        }
    }

    fn plugin(&self, value: &Value, path: &str) -> Result<PluginSpec> {
        let object = self.object(value, path)?;
        self.known_keys(object, &["name", "artifacts"], path)?;
        let name = self.required(object, "name", path)?;
        if !valid_plugin_name(name) {
            return Err(self.err(
                &format!("{path}.name"),
                &format!("\"{name}\" is not a valid plugin name (lower-case letters, digits, - and _, at least two characters, starting and ending with a letter or digit)"),
            ));
        }
        let artifacts = match object.get("artifacts") {
            Some(Value::Array(list)) if !list.is_empty() => list,
            Some(Value::Array(_)) => {
                return Err(self.err(&format!("{path}.artifacts"), "must list at least one artifact"))
            }
            Some(_) => return Err(self.err(&format!("{path}.artifacts"), "must be a list")),
            None => return Err(self.err(&format!("{path}.artifacts"), "is required")),
        };
        let artifacts = artifacts
            .iter()
            .enumerate()
            .map(|(i, a)| self.artifact(a, &format!("{path}.artifacts[{i}]")))
            .collect::<Result<Vec<_>>>()?;
        Ok(PluginSpec { name: name.to_string(), artifacts })
    }

    fn artifact(&self, value: &Value, path: &str) -> Result<ArtifactSpec> {
        let object = self.object(value, path)?;
        let kind = match self.required(object, "type", path)? {
            "so" => ArtifactKind::So,
            "tgz" => ArtifactKind::Tgz,
            "zip" => ArtifactKind::Zip,
            "other" => ArtifactKind::Other,
            "jar" | "maven" => {
                return Err(ImageError::NotSupported {
                    what: format!("{}: {path}.type {} (a Java artifact)", self.file, object["type"]),
                    hint: "connect-rs loads native plugins: use type so (a .so library), tgz, zip or other".into(),
                })
            }
            other => {
                return Err(self.err(
                    &format!("{path}.type"),
                    &format!("unknown artifact type \"{other}\"; expected so, tgz, zip or other"),
                ))
            }
        };
        self.known_keys(object, &["type", "url", "sha512sum", "fileName", "insecure"], path)?;
        let url = self.required(object, "url", path)?.trim().to_string();
        let source = self.source(&url, &format!("{path}.url"))?;
        let sha512sum = match self.string(object, "sha512sum", path)? {
            None => None,
            Some(sum) => {
                let sum = sum.trim().to_ascii_lowercase();
                if sum.len() != 128 || !sum.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(self.err(
                        &format!("{path}.sha512sum"),
                        "must be a SHA-512 checksum: 128 hexadecimal digits (sha512sum FILE prints it)",
                    ));
                }
                Some(sum)
            }
        };
        let file_name = self.string(object, "fileName", path)?.map(str::to_string);
        if let Some(name) = &file_name {
            if !matches!(kind, ArtifactKind::Other | ArtifactKind::So) {
                return Err(self.err(&format!("{path}.fileName"), "is only valid for artifacts of type other or so"));
            }
            if !valid_file_name(name) {
                return Err(self.err(&format!("{path}.fileName"), &format!("\"{name}\" is not a plain file name")));
            }
        }
        let insecure = match object.get("insecure") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(self.err(&format!("{path}.insecure"), "must be true or false")),
        };
        Ok(ArtifactSpec { kind, url, source, sha512sum, file_name, insecure })
    }

    fn source(&self, url: &str, field: &str) -> Result<Source> {
        if let Some(rest) = url.strip_prefix("file:") {
            if rest.starts_with("//") {
                let parsed = reqwest::Url::parse(url).map_err(|e| self.err(field, &format!("not a valid URL: {e}")))?;
                let path = parsed
                    .to_file_path()
                    .map_err(|()| self.err(field, "a file: URL must name a local path (file:///path or file:path)"))?;
                return Ok(Source::File(path));
            }
            if rest.is_empty() {
                return Err(self.err(field, "a file: URL must name a path"));
            }
            return Ok(Source::File(self.dir.join(rest)));
        }
        let parsed =
            reqwest::Url::parse(url).map_err(|e| self.err(field, &format!("\"{url}\" is not a valid URL: {e}")))?;
        match parsed.scheme() {
            "http" | "https" => Ok(Source::Http(url.to_string())),
            "ftp" => Err(ImageError::NotSupported {
                what: format!("{}: {field} (an ftp URL)", self.file),
                hint: "serve the artifact over https or give it as a file: URL".into(),
            }),
            other => Err(self.err(field, &format!("unsupported URL scheme \"{other}\"; expected https, http or file"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUM: &str = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";

    fn parse(text: &str) -> Result<BuildSpec> {
        BuildSpec::parse(text, Path::new("/specs/build.yaml"))
    }

    fn message(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn a_strimzi_build_section_parses_with_its_hash_directories() {
        let spec = parse(&format!(
            r#"
output:
  type: docker
  image: registry.example.com:5000/org/connect:1.0
plugins:
  - name: file
    artifacts:
      - type: so
        url: file:plugins/libconnect_file.so
        sha512sum: {SUM}
      - type: tgz
        url: https://example.com/x.tgz
      - type: other
        url: file:///etc/hosts
        fileName: hosts
        insecure: true
"#
        ))
        .unwrap();
        let Some(Output::Registry(reference)) = &spec.output else { panic!("{:?}", spec.output) };
        assert_eq!(reference.registry, "registry.example.com:5000");
        assert_eq!(reference.repository, "org/connect");
        assert_eq!(reference.tag.as_deref(), Some("1.0"));
        let artifacts = &spec.plugins[0].artifacts;
        assert_eq!(artifacts[0].source, Source::File(PathBuf::from("/specs/plugins/libconnect_file.so")));
        assert_eq!(artifacts[0].sha512sum.as_deref(), Some(SUM));
        assert_eq!(artifacts[1].source, Source::Http("https://example.com/x.tgz".into()));
        assert_eq!(artifacts[2].source, Source::File(PathBuf::from("/etc/hosts")));
        assert!(artifacts[2].insecure);
        // sha1("https://example.com/x.tgz") starts with these 4 bytes, as Strimzi's hashStub takes them.
        assert_eq!(artifacts[1].hash_stub().len(), 8);
        assert_ne!(artifacts[0].hash_stub(), artifacts[1].hash_stub());
    }

    #[test]
    fn a_kafka_connect_resource_gives_its_build_and_base_image() {
        let spec = parse(
            r#"{"apiVersion":"kafka.strimzi.io/v1beta2","kind":"KafkaConnect","spec":{"image":"oci:/base:1",
            "build":{"output":{"type":"oci","path":"out"},"plugins":[{"name":"ab","artifacts":[{"type":"zip","url":"http://h/a.zip"}]}]}}}"#,
        )
        .unwrap();
        assert!(
            matches!(&spec.base, Some(BaseRef::Layout { dir, tag }) if dir == Path::new("/base") && tag.as_deref() == Some("1"))
        );
        assert!(matches!(&spec.output, Some(Output::Layout { dir, .. }) if dir == Path::new("/specs/out")));
    }

    #[test]
    fn every_bad_field_is_named() {
        let plugin = r#"[{"name":"p1","artifacts":[{"type":"so","url":"file:a.so"}]}]"#;
        assert!(parse(&format!(r#"{{"plugins":{plugin}}}"#)).unwrap().output.is_none());
        assert_eq!(message(r#"{"output":{"type":"oci","path":"o"}}"#), "/specs/build.yaml: plugins: is required");
        assert_eq!(
            message(r#"{"spec":{"build":{"plugins":[{"name":"p1"}]}}}"#),
            "/specs/build.yaml: spec.build.plugins[0].artifacts: is required"
        );
        assert_eq!(
            message(r#"{"output":{"type":"oci","path":"o"},"plugins":[{"name":"p1","artifacts":[{"type":"rpm","url":"file:a"}]}]}"#),
            "/specs/build.yaml: plugins[0].artifacts[0].type: unknown artifact type \"rpm\"; expected so, tgz, zip or other"
        );
        assert_eq!(
            message(r#"{"output":{"type":"oci","path":"o"},"plugins":[{"name":"p1","artifacts":[{"type":"so"}]}]}"#),
            "/specs/build.yaml: plugins[0].artifacts[0].url: is required"
        );
        assert!(message(r#"{"output":{"type":"oci","path":"o"},"plugins":[{"name":"P","artifacts":[{"type":"so","url":"file:a"}]}]}"#)
            .contains("plugins[0].name: \"P\" is not a valid plugin name"));
        assert!(message(r#"{"output":{"type":"oci","path":"o"},"plugins":[{"name":"p1","artifacts":[{"type":"so","url":"file:a","sha512sum":"abc"}]}]}"#)
            .contains("plugins[0].artifacts[0].sha512sum: must be a SHA-512 checksum"));
        assert!(message(r#"{"output":{"type":"oci","path":"o"},"plugins":[{"name":"p1","artifacts":[{"type":"so","url":"file:a","sha512Sum":"abc"}]}]}"#)
            .contains("plugins[0].artifacts[0].sha512Sum: unknown field"));
        assert!(message(
            &format!(r#"{{"output":{{"type":"oci","path":"o"}},"plugins":{plugin}}}"#)
                .replace("]}]", "]},{\"name\":\"p1\",\"artifacts\":[{\"type\":\"so\",\"url\":\"file:b\"}]}]")
        )
        .contains("plugins[1].name: \"p1\" is used by two plugins"));
        assert!(message(r#"{"output":{"type":"oci","path":"o"},"plugins":[{"name":"p1","artifacts":[{"type":"jar","url":"file:a"}]}]}"#)
            .contains("is not supported"));
        assert!(message(r#"{"output":{"type":"docker","image":"r/x","pushSecret":"s"},"plugins":[]}"#)
            .contains("pushSecret (a Kubernetes Secret) is not supported"));
        assert!(message(r#"{"output":{"type":"oci","path":"o"},"plugins":[{"name":"p1","artifacts":[{"type":"so","url":"gopher://x/a"}]}]}"#)
            .contains("unsupported URL scheme \"gopher\""));
        assert!(message("output: [").contains("(document): not valid YAML or JSON"));
    }

    #[test]
    fn push_options_of_buildah_are_understood() {
        let spec = parse(
            r#"{"output":{"type":"docker","image":"localhost:5000/c","additionalPushOptions":["--tls-verify=false","--creds=u:p"]},
            "plugins":[{"name":"p1","artifacts":[{"type":"so","url":"file:a.so"}]}]}"#,
        )
        .unwrap();
        assert_eq!(spec.push.tls_verify, Some(false));
        assert_eq!(spec.push.creds.as_deref(), Some("u:p"));
        assert!(message(
            r#"{"output":{"type":"docker","image":"r/x","additionalBuildOptions":["--squash"]},"plugins":[]}"#
        )
        .contains("output.additionalBuildOptions[0]: --squash is not supported"));
    }
}
