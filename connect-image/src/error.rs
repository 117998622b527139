//! The errors of an image build. Each names what the user has to fix: the spec file and field, the plugin and
//! artifact, the base image or the output; the CLI prints them as they are.

use std::path::PathBuf;

/// Which artifact of which plugin an error is about, shown as `plugin "file", artifact 2 (tgz https://...)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactId {
    /// The plugin's name.
    pub plugin: String,
    /// The artifact's position in the plugin's list, from 1 as people count.
    pub index: usize,
    /// The artifact's type (`so`, `tgz`, `zip`, `other`).
    pub kind: String,
    /// Where it comes from (URL, or the file of a `--from-dir` build).
    pub source: String,
}

impl std::fmt::Display for ArtifactId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "plugin \"{}\", artifact {} ({} {})", self.plugin, self.index, self.kind, self.source)
    }
}

/// Why an image build (or a plugin install) failed.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The build spec is not valid: a missing or wrong field.
    #[error("{file}: {field}: {message}")]
    Spec { file: String, field: String, message: String },
    /// A flag or an argument of the command is not valid.
    #[error("{0}")]
    Usage(String),
    /// Something the spec asks for that connect-rs does not do.
    #[error("{what} is not supported: {hint}")]
    NotSupported { what: String, hint: String },
    /// An artifact could not be downloaded or read.
    #[error("{artifact}: cannot fetch it: {reason}")]
    Fetch { artifact: Box<ArtifactId>, reason: String },
    /// An artifact's sha512 differs from the spec's `sha512sum`.
    #[error("{artifact}: sha512 mismatch: expected {expected}, got {actual}")]
    Checksum { artifact: Box<ArtifactId>, expected: String, actual: String },
    /// An archive could not be unpacked (corrupt, unsafe paths, wrong format).
    #[error("{artifact}: cannot unpack it: {reason}")]
    Unpack { artifact: Box<ArtifactId>, reason: String },
    /// The base image could not be read or built.
    #[error("base image {base}: {reason}")]
    Base { base: String, reason: String },
    /// A registry refused or failed a request.
    #[error("registry {reference}: {reason}")]
    Registry { reference: String, reason: String },
    /// An output could not be written.
    #[error("output {output}: {reason}")]
    Output { output: String, reason: String },
    /// A local file operation failed.
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
}

impl ImageError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> ImageError {
        let path = path.into();
        move |source| ImageError::Io { path, source }
    }
}

/// The result of image operations.
pub type Result<T> = std::result::Result<T, ImageError>;
