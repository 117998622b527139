//! A small client of the OCI distribution API: pulling a base image (manifest, or an index resolved to this
//! machine's platform, then config and layers, each checked against its digest) and pushing a built image
//! (blobs the registry lacks, then the manifest last, so a failed push never moves the tag). Authentication as
//! registries ask for it on `GET /v2/`: none, Basic, or a Bearer token from the realm they name, with credentials
//! from `--creds` or a Docker/Podman auth file.

use std::path::PathBuf;

use base64::Engine;
use oci_spec::image::{ImageIndex, ImageManifest};
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::error::{ImageError, Result};
use crate::image::{BaseImage, Image, LayerRef};
use crate::layer::BlobStore;
use crate::net::{describe, Net};
use crate::reference::{PushOptions, Reference};

const MANIFEST_TYPES: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// A session with one repository of one registry.
pub struct Registry<'a> {
    net: &'a Net,
    reference: Reference,
    insecure: bool,
    base_url: String,
    authorization: Option<HeaderValue>,
}

impl<'a> Registry<'a> {
    /// Opens a session, authenticating for pulling (and pushing when `push`).
    pub fn connect(net: &'a Net, reference: &Reference, options: &PushOptions, push: bool) -> Result<Registry<'a>> {
        let err = |reason: String| ImageError::Registry { reference: reference.to_string(), reason };
        let insecure = options.tls_verify == Some(false) || reference.is_local();
        let host = reference.api_host().to_string();
        let credentials = credentials(options, &reference.registry).map_err(err)?;
        net.block_on(async {
            // Plain HTTP only for registries that may have it (local ones, or --tls-verify=false), as Docker does.
            let mut base_url = format!("https://{host}");
            let mut probe = net.client(insecure).get(format!("{base_url}/v2/")).send().await;
            if insecure && probe.as_ref().is_err_and(|e| e.is_connect() || e.is_request()) {
                base_url = format!("http://{host}");
                probe = net.client(insecure).get(format!("{base_url}/v2/")).send().await;
            }
            let probe = probe.map_err(|e| err(describe(&e)))?;
            tracing::debug!(url = %base_url, status = %probe.status(), "registry API version check");
            let authorization = match probe.status() {
                StatusCode::UNAUTHORIZED => {
                    let challenge =
                        probe.headers().get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                    let auth = authorize(net, insecure, &challenge, credentials.as_ref(), &reference.repository, push)
                        .await
                        .map_err(err)?;
                    // Refused credentials show here, not as a puzzling 401 in the middle of a push.
                    let check = net
                        .client(insecure)
                        .get(format!("{base_url}/v2/"))
                        .header(AUTHORIZATION, auth.clone())
                        .send()
                        .await
                        .map_err(|e| err(describe(&e)))?;
                    if check.status() == StatusCode::UNAUTHORIZED || check.status() == StatusCode::FORBIDDEN {
                        return Err(err(format!("the registry refused the credentials ({})", check.status())));
                    }
                    Some(auth)
                }
                status if status.is_success() => None,
                status => return Err(err(format!("GET /v2/ answered {status}"))),
            };
            Ok(Registry { net, reference: reference.clone(), insecure, base_url, authorization })
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v2/{}/{path}", self.base_url, self.reference.repository)
    }

    fn request(&self, method: Method, url: &str) -> reqwest::RequestBuilder {
        let mut request = self.net.client(self.insecure).request(method, url);
        if let Some(auth) = &self.authorization {
            request = request.header(AUTHORIZATION, auth.clone());
        }
        request
    }

    fn err(&self, reason: String) -> ImageError {
        ImageError::Registry { reference: self.reference.to_string(), reason }
    }

    /// Pulls the image into `store`.
    pub fn pull(&self, store: &BlobStore) -> Result<BaseImage> {
        self.net.block_on(async {
            let (digest, manifest) = self.manifest(self.reference.tag_or_digest()).await?;
            let config_digest = manifest.config().digest().to_string();
            let config_bytes = self.blob(&config_digest).await?;
            let config: Value =
                serde_json::from_slice(&config_bytes).map_err(|e| self.err(format!("its config is not JSON: {e}")))?;
            let mut layers = Vec::new();
            for layer in manifest.layers() {
                let digest = layer.digest().to_string();
                let bytes = self.blob(&digest).await?;
                let blob = store.put(&bytes)?;
                if blob.digest != digest {
                    return Err(self.err(format!("layer {digest} arrived with digest {}", blob.digest)));
                }
                layers.push(LayerRef { media_type: layer.media_type().to_string(), digest, size: blob.size });
            }
            Ok(BaseImage {
                name: self.reference.to_string(),
                manifest_digest: Some(digest),
                config,
                layers,
                own: false,
            })
        })
    }

    async fn manifest(&self, reference: &str) -> Result<(String, ImageManifest)> {
        let mut reference = reference.to_string();
        for _ in 0..3 {
            let response = self
                .request(Method::GET, &self.url(&format!("manifests/{reference}")))
                .header(ACCEPT, MANIFEST_TYPES)
                .send()
                .await
                .map_err(|e| self.err(describe(&e)))?;
            let status = response.status();
            if !status.is_success() {
                let body = response.text().await.unwrap_or_default();
                return Err(self.err(format!("GET manifest {reference} answered {status} {}", body.trim())));
            }
            let bytes = response.bytes().await.map_err(|e| self.err(describe(&e)))?;
            let digest = crate::layer::sha256_bytes(&bytes);
            let value: Value = serde_json::from_slice(&bytes).map_err(|e| self.err(format!("manifest: {e}")))?;
            if value.get("manifests").is_some() {
                let index: ImageIndex = serde_json::from_value(value).map_err(|e| self.err(format!("index: {e}")))?;
                let chosen = crate::layout::pick_platform(index.manifests()).map_err(|e| self.err(e))?;
                reference = chosen.digest().to_string();
                continue;
            }
            let manifest: ImageManifest =
                serde_json::from_slice(&bytes).map_err(|e| self.err(format!("manifest: {e}")))?;
            return Ok((digest, manifest));
        }
        Err(self.err("its indexes nest too deep".into()))
    }

    async fn blob(&self, digest: &str) -> Result<Vec<u8>> {
        let response = self
            .request(Method::GET, &self.url(&format!("blobs/{digest}")))
            .send()
            .await
            .map_err(|e| self.err(describe(&e)))?;
        if !response.status().is_success() {
            return Err(self.err(format!("GET blob {digest} answered {}", response.status())));
        }
        let bytes = response.bytes().await.map_err(|e| self.err(describe(&e)))?;
        if crate::layer::sha256_bytes(&bytes) != digest {
            return Err(self.err(format!("blob {digest} arrived with other content")));
        }
        Ok(bytes.to_vec())
    }

    /// Pushes `image` (blobs first, the manifest under the reference's tag last); returns the manifest digest.
    pub fn push(&self, store: &BlobStore, image: &Image) -> Result<String> {
        self.net.block_on(async {
            let mut blobs = image.blobs();
            blobs.pop(); // the manifest goes last, through the manifests endpoint
            for (digest, _) in blobs {
                let exists = self
                    .request(Method::HEAD, &self.url(&format!("blobs/{digest}")))
                    .send()
                    .await
                    .map_err(|e| self.err(describe(&e)))?;
                if exists.status().is_success() {
                    continue;
                }
                let path = store.path(&digest);
                let bytes = tokio::fs::read(&path).await.map_err(ImageError::io(&path))?;
                self.upload(&digest, bytes).await?;
            }
            let tag = self.reference.tag.as_deref().unwrap_or("latest");
            let response = self
                .request(Method::PUT, &self.url(&format!("manifests/{tag}")))
                .header(CONTENT_TYPE, "application/vnd.oci.image.manifest.v1+json")
                .body(image.manifest.clone())
                .send()
                .await
                .map_err(|e| self.err(describe(&e)))?;
            if !response.status().is_success() {
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                return Err(self.err(format!("PUT manifest answered {status} {}", body.trim())));
            }
            Ok(image.manifest_blob.digest.clone())
        })
    }

    async fn upload(&self, digest: &str, bytes: Vec<u8>) -> Result<()> {
        let start = self
            .request(Method::POST, &self.url("blobs/uploads/"))
            .header(reqwest::header::CONTENT_LENGTH, "0")
            .send()
            .await
            .map_err(|e| self.err(describe(&e)))?;
        if start.status() != StatusCode::ACCEPTED {
            let status = start.status();
            let body = start.text().await.unwrap_or_default();
            return Err(self.err(format!("starting the upload of {digest} answered {status} {}", body.trim())));
        }
        let location = start
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| self.err("the upload answer has no Location".into()))?;
        let mut url = if location.starts_with("http://") || location.starts_with("https://") {
            location.to_string()
        } else {
            format!("{}{location}", self.base_url)
        };
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&format!("digest={digest}"));
        let done = self
            .request(Method::PUT, &url)
            .header(CONTENT_TYPE, "application/octet-stream")
            .body(bytes)
            .send()
            .await
            .map_err(|e| self.err(describe(&e)))?;
        if !done.status().is_success() {
            let status = done.status();
            let body = done.text().await.unwrap_or_default();
            return Err(self.err(format!("uploading {digest} answered {status} {}", body.trim())));
        }
        Ok(())
    }
}

/// Answers a `WWW-Authenticate` challenge: Basic with the credentials, or a Bearer token from the realm.
async fn authorize(
    net: &Net,
    insecure: bool,
    challenge: &str,
    credentials: Option<&(String, String)>,
    repository: &str,
    push: bool,
) -> std::result::Result<HeaderValue, String> {
    let basic = credentials.map(|(user, password)| {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
    });
    let (scheme, params) = parse_challenge(challenge);
    let value = match scheme.to_ascii_lowercase().as_str() {
        "basic" => basic.ok_or("the registry needs credentials: give --creds USER:PASSWORD or --authfile FILE")?,
        "bearer" => {
            let realm = params
                .iter()
                .find(|(k, _)| k == "realm")
                .map(|(_, v)| v.clone())
                .ok_or("no realm in its Bearer challenge")?;
            let actions = if push { "pull,push" } else { "pull" };
            let mut query: Vec<(String, String)> = vec![("scope".into(), format!("repository:{repository}:{actions}"))];
            if let Some((_, service)) = params.iter().find(|(k, _)| k == "service") {
                query.push(("service".into(), service.clone()));
            }
            let mut request = net.client(insecure).get(&realm).query(&query);
            if let Some(basic) = &basic {
                request = request.header(AUTHORIZATION, basic.as_str());
            }
            let response = request.send().await.map_err(|e| format!("token request to {realm}: {}", describe(&e)))?;
            if !response.status().is_success() {
                return Err(format!(
                    "the token service {realm} answered {}{}",
                    response.status(),
                    if basic.is_none() { " (no credentials given: --creds or --authfile)" } else { "" }
                ));
            }
            let body: Value = response.json().await.map_err(|e| format!("token answer: {e}"))?;
            let token = body
                .get("token")
                .or_else(|| body.get("access_token"))
                .and_then(Value::as_str)
                .ok_or("the token answer has no token")?;
            format!("Bearer {token}")
        }
        other => return Err(format!("unsupported authentication scheme \"{other}\"")),
    };
    HeaderValue::from_str(&value).map_err(|e| format!("credentials: {e}"))
}

/// `Bearer realm="...",service="..."` -> ("Bearer", [(realm, ...), (service, ...)]).
fn parse_challenge(header: &str) -> (String, Vec<(String, String)>) {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut params = Vec::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else { break };
        let key = key.trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => (quoted[..end].to_string(), &quoted[end + 1..]),
                None => (quoted.to_string(), ""),
            }
        } else {
            match after.find(',') {
                Some(end) => (after[..end].trim().to_string(), &after[end..]),
                None => (after.trim().to_string(), ""),
            }
        };
        params.push((key, value));
        rest = remaining.trim_start_matches([',', ' ']);
    }
    (scheme.to_string(), params)
}

/// Credentials for `registry`: `--creds`, else the first auth file that has an entry for it.
fn credentials(options: &PushOptions, registry: &str) -> std::result::Result<Option<(String, String)>, String> {
    if let Some(creds) = &options.creds {
        let (user, password) = creds.split_once(':').ok_or("--creds must be USER:PASSWORD")?;
        return Ok(Some((user.to_string(), password.to_string())));
    }
    let mut files: Vec<PathBuf> = Vec::new();
    if let Some(file) = &options.authfile {
        if !file.is_file() {
            return Err(format!("the auth file {} does not exist", file.display()));
        }
        files.push(file.clone());
    }
    let env = |name: &str| std::env::var_os(name).map(PathBuf::from);
    files.extend(env("REGISTRY_AUTH_FILE"));
    files.extend(env("XDG_RUNTIME_DIR").map(|d| d.join("containers/auth.json")));
    files.extend(env("DOCKER_CONFIG").map(|d| d.join("config.json")));
    files.extend(env("HOME").map(|d| d.join(".docker/config.json")));
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        let json: Value =
            serde_json::from_str(&text).map_err(|e| format!("the auth file {} is not JSON: {e}", file.display()))?;
        if let Some(found) = auth_entry(&json, registry) {
            return found.map(Some).map_err(|e| format!("{}: {e}", file.display()));
        }
    }
    Ok(None)
}

/// The entry of a `config.json`/`auth.json` for `registry` (keys may carry a scheme and a path).
fn auth_entry(json: &Value, registry: &str) -> Option<std::result::Result<(String, String), String>> {
    let auths = json.get("auths")?.as_object()?;
    let hosts: &[&str] =
        if registry == "docker.io" { &["docker.io", "index.docker.io", "registry-1.docker.io"] } else { &[registry] };
    let (_, entry) = auths.iter().find(|(key, _)| {
        let host = key.trim_start_matches("https://").trim_start_matches("http://");
        let host = host.split('/').next().unwrap_or(host);
        hosts.contains(&host)
    })?;
    if let (Some(user), Some(password)) =
        (entry.get("username").and_then(Value::as_str), entry.get("password").and_then(Value::as_str))
    {
        return Some(Ok((user.to_string(), password.to_string())));
    }
    let auth = entry.get("auth").and_then(Value::as_str)?;
    Some(
        base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| text.split_once(':').map(|(u, p)| (u.to_string(), p.to_string())))
            .ok_or_else(|| format!("the auth entry for {registry} is not base64 of USER:PASSWORD")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenges_are_parsed() {
        let (scheme, params) = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#,
        );
        assert_eq!(scheme, "Bearer");
        assert_eq!(
            params,
            [
                ("realm".to_string(), "https://auth.docker.io/token".to_string()),
                ("service".to_string(), "registry.docker.io".to_string()),
                ("scope".to_string(), "repository:library/nginx:pull".to_string())
            ]
        );
        let (scheme, params) = parse_challenge(r#"Basic realm="Registry Realm""#);
        assert_eq!((scheme.as_str(), params[0].1.as_str()), ("Basic", "Registry Realm"));
    }

    #[test]
    fn auth_files_are_read_as_docker_writes_them() {
        let json: Value = serde_json::json!({"auths": {
            "https://index.docker.io/v1/": {"auth": base64::engine::general_purpose::STANDARD.encode("hub:secret")},
            "localhost:5000": {"username": "u", "password": "p"},
        }});
        assert_eq!(auth_entry(&json, "docker.io").unwrap().unwrap(), ("hub".into(), "secret".into()));
        assert_eq!(auth_entry(&json, "localhost:5000").unwrap().unwrap(), ("u".into(), "p".into()));
        assert!(auth_entry(&json, "quay.io").is_none());
        let options = PushOptions { creds: Some("a:b:c".into()), ..Default::default() };
        assert_eq!(credentials(&options, "x").unwrap(), Some(("a".into(), "b:c".into())));
    }
}
