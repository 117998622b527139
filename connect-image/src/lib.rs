//! # connect-image
//!
//! Container images of connect-rs workers with their connectors inside, built without a daemon, a JVM or Kaniko:
//! the artifacts of Strimzi's KafkaConnect `spec.build` (or a directory of plugins, as Source2Image takes them)
//! are fetched, checked against their sha512, unpacked and laid out as one layer per plugin over a base image
//! (connect-rs's own, made from the `connect` binary and the libraries it links, or any OCI image), then written
//! as an OCI layout, an OCI archive or pushed to a registry. Same inputs, same digests.
//!
//! - [`spec`]: the build spec (YAML/JSON) and its validation;
//! - [`fetch`]: downloading, verifying and unpacking artifacts into the plugin layout;
//! - [`layer`]: reproducible layers and content-addressed blobs;
//! - [`base`]: connect-rs's own base image;
//! - [`image`]: putting layers, config and manifest together;
//! - [`layout`], [`registry`]: reading and writing images on disk and in registries;
//! - [`build`]: one build from start to end; [`build::install`] lays plugins out in a local directory.

pub mod base;
pub mod build;
pub mod error;
pub mod fetch;
pub mod image;
pub mod layer;
pub mod layout;
pub mod net;
pub mod reference;
pub mod registry;
pub mod spec;

pub use build::{build, install, plugins_from_dir, BuildOptions, BuildResult};
pub use error::{ArtifactId, ImageError};
pub use reference::{BaseRef, Output, PushOptions, Reference};
pub use spec::BuildSpec;
