//! Names of images and where they live: registry references (`registry:5000/org/repo:tag`), and the transports
//! `oci:DIR[:REF]`, `oci-archive:FILE[:REF]` and `docker://REF` as skopeo writes them, for bases and outputs.
//! Parsing only; nothing here touches the disk or the network.

use std::path::PathBuf;

/// A registry image reference, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `host[:port]` as written (`docker.io` when the name has no registry part).
    pub registry: String,
    /// The repository path (`library/` prepended for Docker Hub's official images).
    pub repository: String,
    /// The tag, if any.
    pub tag: Option<String>,
    /// The digest (`sha256:...`), if any.
    pub digest: Option<String>,
}

impl Reference {
    /// Parses `[registry/]repository[:tag][@digest]`.
    pub fn parse(text: &str) -> Result<Reference, String> {
        let text = text.trim();
        let text = text.strip_prefix("docker://").unwrap_or(text);
        if text.is_empty() {
            return Err("an image reference must not be empty".into());
        }
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => {
                let hex = digest.strip_prefix("sha256:").unwrap_or("");
                if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(format!("\"{text}\": the digest must be sha256: and 64 hex digits"));
                }
                (rest, Some(digest.to_string()))
            }
            None => (text, None),
        };
        let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(rest[last_slash + i + 1..].to_string())),
            None => (rest, None),
        };
        let (registry, repository) = match name.split_once('/') {
            Some((first, path)) if first.contains('.') || first.contains(':') || first == "localhost" => {
                (first.to_string(), path.to_string())
            }
            Some(_) => ("docker.io".to_string(), name.to_string()),
            None => ("docker.io".to_string(), format!("library/{name}")),
        };
        let valid_repo = !repository.is_empty()
            && repository.split('/').all(|part| {
                !part.is_empty()
                    && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
            });
        if !valid_repo {
            return Err(format!(
                "\"{text}\" is not a valid image reference: the repository may hold lower-case letters, digits, ., _, - and /"
            ));
        }
        if let Some(tag) = &tag {
            let valid_tag = !tag.is_empty()
                && tag.len() <= 128
                && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !valid_tag {
                return Err(format!("\"{text}\": \"{tag}\" is not a valid tag"));
            }
        }
        Ok(Reference { registry, repository, tag, digest })
    }

    /// The host the distribution API is served on (Docker Hub's API host for `docker.io`).
    pub fn api_host(&self) -> &str {
        if self.registry == "docker.io" {
            "registry-1.docker.io"
        } else {
            &self.registry
        }
    }

    /// The tag or digest to fetch or push (`latest` when none is given).
    pub fn tag_or_digest(&self) -> &str {
        self.digest.as_deref().or(self.tag.as_deref()).unwrap_or("latest")
    }

    /// Whether the registry is on this machine (served over plain HTTP by default, as Docker does).
    pub fn is_local(&self) -> bool {
        let host = self.registry.rsplit_once(':').map(|(h, _)| h).unwrap_or(&self.registry);
        host == "localhost" || host.starts_with("127.") || host == "[::1]"
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// The image a build starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaseRef {
    /// connect-rs's own worker image, made from a `connect` binary and the libraries it links.
    Own,
    /// An image in an OCI layout directory (`oci:DIR[:REF]`).
    Layout { dir: PathBuf, tag: Option<String> },
    /// An image in an OCI archive (`oci-archive:FILE[:REF]`).
    Archive { file: PathBuf, tag: Option<String> },
    /// An image in a registry (`docker://REF` or a plain reference).
    Registry(Reference),
}

impl BaseRef {
    /// Parses a base image reference.
    pub fn parse(text: &str) -> Result<BaseRef, String> {
        if let Some((path, tag)) = split_transport(text, "oci-archive:")? {
            return Ok(BaseRef::Archive { file: path, tag });
        }
        if let Some((path, tag)) = split_transport(text, "oci:")? {
            return Ok(BaseRef::Layout { dir: path, tag });
        }
        Reference::parse(text).map(BaseRef::Registry)
    }
}

impl std::fmt::Display for BaseRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BaseRef::Own => write!(f, "connect-rs worker (built from the connect binary)"),
            BaseRef::Layout { dir, tag } => write!(f, "oci:{}{}", dir.display(), tag_suffix(tag)),
            BaseRef::Archive { file, tag } => write!(f, "oci-archive:{}{}", file.display(), tag_suffix(tag)),
            BaseRef::Registry(reference) => write!(f, "docker://{reference}"),
        }
    }
}

/// Where a built image goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// An OCI layout directory; `name` becomes the image's ref name in `index.json`.
    Layout { dir: PathBuf, name: Option<String> },
    /// An OCI archive (a tar of a layout), loadable by `podman load` and `skopeo copy oci-archive:`.
    Archive { file: PathBuf, name: Option<String> },
    /// A push to a registry.
    Registry(Reference),
}

impl Output {
    /// Parses `oci:DIR[:NAME]`, `oci-archive:FILE[:NAME]` or `docker://REF`.
    pub fn parse(text: &str) -> Result<Output, String> {
        if let Some((file, name)) = split_transport(text, "oci-archive:")? {
            return Ok(Output::Archive { file, name });
        }
        if let Some((dir, name)) = split_transport(text, "oci:")? {
            return Ok(Output::Layout { dir, name });
        }
        if text.starts_with("docker://") {
            return Reference::parse(text).map(Output::Registry);
        }
        Err(format!(
            "\"{text}\" is not an output; expected oci:DIR[:NAME], oci-archive:FILE[:NAME] or docker://REFERENCE"
        ))
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Output::Layout { dir, name } => write!(f, "oci:{}{}", dir.display(), tag_suffix(name)),
            Output::Archive { file, name } => write!(f, "oci-archive:{}{}", file.display(), tag_suffix(name)),
            Output::Registry(reference) => write!(f, "docker://{reference}"),
        }
    }
}

fn tag_suffix(tag: &Option<String>) -> String {
    tag.as_ref().map(|t| format!(":{t}")).unwrap_or_default()
}

/// `oci:PATH[:REF]` as skopeo splits it: at the first colon after the transport.
fn split_transport(text: &str, transport: &str) -> Result<Option<(PathBuf, Option<String>)>, String> {
    let Some(rest) = text.strip_prefix(transport) else { return Ok(None) };
    let (path, reference) = match rest.split_once(':') {
        Some((path, reference)) if !reference.is_empty() => (path, Some(reference.to_string())),
        Some((path, _)) => (path, None),
        None => (rest, None),
    };
    if path.is_empty() {
        return Err(format!("\"{text}\": {transport} needs a path"));
    }
    Ok(Some((PathBuf::from(path), reference)))
}

/// How to reach the registry an image is pushed to or pulled from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushOptions {
    /// `Some(false)`: skip TLS verification and allow plain HTTP (Buildah's `--tls-verify=false`).
    pub tls_verify: Option<bool>,
    /// `user:password` (Buildah's `--creds`).
    pub creds: Option<String>,
    /// A Docker/Podman auth file (`.dockerconfigjson`).
    pub authfile: Option<PathBuf>,
}

impl PushOptions {
    /// Applies one of Strimzi's `additionalBuildOptions`/`additionalPushOptions` (Buildah's and Kaniko's flags
    /// that mean something without a daemon); others are refused.
    pub fn apply_option(&mut self, option: &str) -> Result<(), String> {
        let (flag, value) = match option.split_once('=') {
            Some((flag, value)) => (flag.trim(), Some(value.trim())),
            None => (option.trim(), None),
        };
        let bool_value = |value: Option<&str>| match value {
            None | Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(format!("{flag}: \"{other}\" is not true or false")),
        };
        match flag {
            "--tls-verify" => self.tls_verify = Some(bool_value(value)?),
            "--insecure" | "--insecure-pull" | "--skip-tls-verify" | "--skip-tls-verify-pull" => {
                if bool_value(value)? {
                    self.tls_verify = Some(false);
                }
            }
            // Builds are always reproducible here.
            "--reproducible" => {}
            "--creds" => self.creds = Some(value.ok_or_else(|| "--creds needs =USER:PASSWORD".to_string())?.into()),
            "--authfile" => self.authfile = Some(value.ok_or_else(|| "--authfile needs =FILE".to_string())?.into()),
            other => {
                return Err(format!(
                    "{other} is not supported (understood: --tls-verify, --creds, --authfile, --insecure, --skip-tls-verify, --reproducible)"
                ))
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_as_docker_does() {
        let r = Reference::parse("nginx").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag.as_deref()),
            ("docker.io", "library/nginx", None)
        );
        assert_eq!(r.api_host(), "registry-1.docker.io");
        let r = Reference::parse("quay.io/strimzi/kafka:0.45.0-kafka-3.9.0").unwrap();
        assert_eq!((r.registry.as_str(), r.repository.as_str()), ("quay.io", "strimzi/kafka"));
        assert_eq!(r.tag.as_deref(), Some("0.45.0-kafka-3.9.0"));
        let r = Reference::parse("docker://localhost:5000/connect").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag_or_digest()),
            ("localhost:5000", "connect", "latest")
        );
        assert!(r.is_local());
        assert!(Reference::parse("Upper/Case").unwrap_err().contains("not a valid image reference"));
        assert!(Reference::parse("r/x@sha256:12").unwrap_err().contains("digest"));
    }

    #[test]
    fn transports_split_as_skopeo_does() {
        assert_eq!(
            Output::parse("oci:/tmp/out:connect:1.0").unwrap(),
            Output::Layout { dir: "/tmp/out".into(), name: Some("connect:1.0".into()) }
        );
        assert_eq!(
            Output::parse("oci-archive:img.tar").unwrap(),
            Output::Archive { file: "img.tar".into(), name: None }
        );
        assert!(matches!(Output::parse("docker://r.io/a/b:1").unwrap(), Output::Registry(r) if r.repository == "a/b"));
        assert!(Output::parse("/tmp/out").unwrap_err().contains("is not an output"));
        assert_eq!(BaseRef::parse("oci:base").unwrap(), BaseRef::Layout { dir: "base".into(), tag: None });
        assert!(matches!(BaseRef::parse("quay.io/strimzi/kafka:1").unwrap(), BaseRef::Registry(_)));
    }
}
