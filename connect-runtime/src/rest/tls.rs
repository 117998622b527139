//! TLS for the REST API with rustls: the server side of `https://` listeners and the client side of calls to other
//! workers, both built from the PEM key material of [`TlsSettings`].
//!
//! One crypto provider (ring) is used everywhere and passed explicitly, so nothing depends on a process-wide
//! default. Files are read here, at start-up: a missing, unreadable or non-PEM file is a [`ConfigError`] naming the
//! worker file and the key that pointed at it, never a panic.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};

use crate::config::{ClientAuth, ConfigError, KeyStore, PemSource, TlsSettings};

/// The crypto provider of every TLS config of this worker (ring). It is also installed as the process default,
/// once, for libraries that build their own configs.
pub fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| {
            // Fails only when another provider was installed first, which then stays the default for others.
            let _ = rustls::crypto::ring::default_provider().install_default();
            Arc::new(rustls::crypto::ring::default_provider())
        })
        .clone()
}

/// A private key with its certificate chain.
struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

const NOT_PEM: &str = "JKS and PKCS12 stores are not supported by connect-rs; convert the store to PEM (e.g. with \
                       keytool and openssl) and set ssl.keystore.type=PEM / ssl.truststore.type=PEM";

fn read(settings: &TlsSettings, source: &PemSource) -> Result<Vec<u8>, ConfigError> {
    let bytes = match source {
        PemSource::File { path, key } => std::fs::read(path)
            .map_err(|e| ConfigError::new(&settings.file, Some(key), format!("cannot read {}: {e}", path.display())))?,
        PemSource::Inline { text, .. } => text.as_bytes().to_vec(),
    };
    if !bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        let what = match source {
            PemSource::File { path, .. } => format!("{} is not a PEM file", path.display()),
            PemSource::Inline { .. } => "the value is not PEM text".to_string(),
        };
        return Err(ConfigError::new(&settings.file, Some(source.key()), format!("{what}: {NOT_PEM}")));
    }
    Ok(bytes)
}

fn source_error(settings: &TlsSettings, source: &PemSource, message: impl std::fmt::Display) -> ConfigError {
    let at = match source {
        PemSource::File { path, .. } => format!("{}: ", path.display()),
        PemSource::Inline { .. } => String::new(),
    };
    ConfigError::new(&settings.file, Some(source.key()), format!("{at}{message}"))
}

fn certificates(settings: &TlsSettings, source: &PemSource) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let bytes = read(settings, source)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| source_error(settings, source, format!("malformed PEM: {e}")))?;
    if certs.is_empty() {
        return Err(source_error(settings, source, "holds no certificate (-----BEGIN CERTIFICATE-----)"));
    }
    Ok(certs)
}

fn private_key(settings: &TlsSettings, source: &PemSource) -> Result<PrivateKeyDer<'static>, ConfigError> {
    let bytes = read(settings, source)?;
    if bytes.windows(27).any(|w| w == b"BEGIN ENCRYPTED PRIVATE KEY") {
        let password = if settings.key_password_set { " (ssl.key.password is set but not used)" } else { "" };
        return Err(source_error(
            settings,
            source,
            format!("encrypted private keys are not supported{password}; decrypt it with openssl pkey"),
        ));
    }
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            source_error(settings, source, "holds no private key (-----BEGIN PRIVATE KEY-----)")
        }
        other => source_error(settings, source, format!("malformed PEM: {other}")),
    })
}

fn identity(settings: &TlsSettings, store: &KeyStore) -> Result<Identity, ConfigError> {
    match store {
        KeyStore::Combined(source) => {
            Ok(Identity { key: private_key(settings, source)?, chain: certificates(settings, source)? })
        }
        KeyStore::Separate { key, chain } => {
            Ok(Identity { key: private_key(settings, key)?, chain: certificates(settings, chain)? })
        }
    }
}

fn key_store_key(store: &KeyStore) -> &str {
    match store {
        KeyStore::Combined(source) => source.key(),
        KeyStore::Separate { key, .. } => key.key(),
    }
}

fn roots(settings: &TlsSettings, source: &PemSource) -> Result<RootCertStore, ConfigError> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(settings, source)? {
        roots.add(cert).map_err(|e| source_error(settings, source, format!("invalid CA certificate: {e}")))?;
    }
    Ok(roots)
}

fn versions(settings: &TlsSettings) -> Vec<&'static rustls::SupportedProtocolVersion> {
    let mut versions = Vec::new();
    if settings.protocols.iter().any(|p| p == "TLSv1.3") {
        versions.push(&rustls::version::TLS13);
    }
    if settings.protocols.iter().any(|p| p == "TLSv1.2") {
        versions.push(&rustls::version::TLS12);
    }
    versions
}

/// The rustls config of the `https://` listeners: the key store's certificate, and client certificates checked
/// against the trust store when `ssl.client.auth` asks for them.
pub fn server_config(settings: &TlsSettings) -> Result<Arc<ServerConfig>, ConfigError> {
    let Some(store) = &settings.key_store else {
        return Err(settings.error("ssl.keystore.location", "an https:// listener needs a key store"));
    };
    let identity = identity(settings, store)?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&versions(settings))
        .map_err(|e| settings.error("ssl.enabled.protocols", e.to_string()))?;
    let builder = match (settings.client_auth, &settings.trust_store) {
        (ClientAuth::None, _) | (_, None) => builder.with_no_client_auth(),
        (auth, Some(source)) => {
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots(settings, source)?), provider());
            let verifier = if auth == ClientAuth::Requested { verifier.allow_unauthenticated() } else { verifier };
            let verifier = verifier.build().map_err(|e| source_error(settings, source, e))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(identity.chain, identity.key).map_err(|e| {
        ConfigError::new(
            &settings.file,
            Some(key_store_key(store)),
            format!("the private key and certificate chain cannot be used: {e}"),
        )
    })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The rustls config for calling other workers: the trust store (or, without one, the system's CA certificates),
/// hostname checks unless `ssl.endpoint.identification.algorithm` is empty, and the key store as client
/// certificate when there is one.
pub fn client_config(settings: Option<&TlsSettings>) -> Result<ClientConfig, ConfigError> {
    let roots = match settings.and_then(|s| s.trust_store.as_ref().map(|t| (s, t))) {
        Some((settings, source)) => roots(settings, source)?,
        None => system_roots(),
    };
    let protocols = match settings {
        Some(settings) => versions(settings),
        None => vec![&rustls::version::TLS13, &rustls::version::TLS12],
    };
    let builder = ClientConfig::builder_with_provider(provider()).with_protocol_versions(&protocols).map_err(|e| {
        let file = settings.map(|s| s.file.as_path()).unwrap_or(std::path::Path::new(""));
        ConfigError::new(file, Some("ssl.enabled.protocols"), e.to_string())
    })?;
    let verify_hostname = settings.is_none_or(|s| s.verify_hostname);
    let builder = if verify_hostname {
        builder.with_root_certificates(roots)
    } else {
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider()).build().map_err(|e| {
            let file = settings.map(|s| s.file.as_path()).unwrap_or(std::path::Path::new(""));
            ConfigError::new(file, None, format!("cannot use the trust store: {e}"))
        })?;
        builder.dangerous().with_custom_certificate_verifier(Arc::new(NoHostnameCheck(inner)))
    };
    match settings.and_then(|s| s.key_store.as_ref().map(|k| (s, k))) {
        Some((settings, store)) => {
            let identity = identity(settings, store)?;
            builder.with_client_auth_cert(identity.chain, identity.key).map_err(|e| {
                ConfigError::new(
                    &settings.file,
                    Some(key_store_key(store)),
                    format!("the private key and certificate chain cannot be used as client certificate: {e}"),
                )
            })
        }
        None => Ok(builder.with_no_client_auth()),
    }
}

/// The operating system's CA certificates (as Java's default trust store would be); unreadable ones are skipped.
fn system_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    for error in &found.errors {
        tracing::debug!("skipping system CA certificates: {error}");
    }
    let (added, ignored) = roots.add_parsable_certificates(found.certs);
    tracing::debug!("REST client trusts {added} system CA certificates ({ignored} unusable)");
    roots
}

/// Chain verification without the hostname check (`ssl.endpoint.identification.algorithm=`): the certificate
/// must still be signed by the trust store.
#[derive(Debug)]
struct NoHostnameCheck(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for NoHostnameCheck {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // The name is checked after the chain: a name error means the chain itself is trusted.
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;
    use crate::config::RestConfig;

    fn settings(dir: &Path, pairs: &[(&str, &str)]) -> TlsSettings {
        let props: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        RestConfig::from_props(&dir.join("w.properties"), &props, None).unwrap().tls.unwrap()
    }

    fn self_signed() -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap().self_signed(&key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    #[test]
    fn pem_key_stores_from_a_file_or_inline() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = self_signed();
        std::fs::write(dir.path().join("server.pem"), format!("{key}{cert}")).unwrap();
        let s = settings(dir.path(), &[("listeners", "https://:0"), ("ssl.keystore.location", "server.pem")]);
        assert!(server_config(&s).is_ok());
        let s = settings(
            dir.path(),
            &[
                ("listeners", "https://:0"),
                ("ssl.keystore.type", "PEM"),
                ("ssl.keystore.key", &key),
                ("ssl.keystore.certificate.chain", &cert),
                ("ssl.truststore.certificates", &cert),
                ("ssl.client.auth", "requested"),
            ],
        );
        assert!(server_config(&s).is_ok());
        assert!(client_config(Some(&s)).is_ok());
        assert!(client_config(None).is_ok());
    }

    #[test]
    fn bad_files_are_config_errors_naming_file_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let worker = dir.path().join("w.properties");
        let at = |pairs: &[(&str, &str)]| server_config(&settings(dir.path(), pairs)).unwrap_err();

        let err = at(&[("listeners", "https://:0"), ("listeners.https.ssl.keystore.location", "missing.pem")]);
        assert_eq!(err.file, worker);
        assert_eq!(err.key.as_deref(), Some("listeners.https.ssl.keystore.location"));
        assert!(err.message.contains("cannot read") && err.message.contains("missing.pem"), "{err}");

        std::fs::write(dir.path().join("store.jks"), [0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2]).unwrap();
        let err = at(&[("listeners", "https://:0"), ("ssl.keystore.location", "store.jks")]);
        assert_eq!(err.key.as_deref(), Some("ssl.keystore.location"));
        assert!(err.message.contains("store.jks is not a PEM file") && err.message.contains("JKS"), "{err}");

        let (cert, key) = self_signed();
        std::fs::write(dir.path().join("cert-only.pem"), &cert).unwrap();
        let err = at(&[("listeners", "https://:0"), ("ssl.keystore.location", "cert-only.pem")]);
        assert!(err.message.contains("no private key"), "{err}");

        std::fs::write(dir.path().join("key-only.pem"), &key).unwrap();
        let err = at(&[("listeners", "https://:0"), ("ssl.keystore.location", "key-only.pem")]);
        assert!(err.message.contains("no certificate"), "{err}");

        let (other_cert, _) = self_signed();
        std::fs::write(dir.path().join("mismatch.pem"), format!("{key}{other_cert}")).unwrap();
        let err = at(&[("listeners", "https://:0"), ("ssl.keystore.location", "mismatch.pem")]);
        assert_eq!(err.key.as_deref(), Some("ssl.keystore.location"));
        assert!(err.message.contains("cannot be used"), "{err}");

        std::fs::write(
            dir.path().join("enc.pem"),
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAA==\n-----END ENCRYPTED PRIVATE KEY-----\n",
        )
        .unwrap();
        let err = at(&[("listeners", "https://:0"), ("ssl.keystore.location", "enc.pem"), ("ssl.key.password", "x")]);
        assert!(err.message.contains("encrypted private keys are not supported"), "{err}");

        std::fs::write(dir.path().join("server.pem"), format!("{key}{cert}")).unwrap();
        let err = at(&[
            ("listeners", "https://:0"),
            ("ssl.keystore.location", "server.pem"),
            ("ssl.truststore.location", "store.jks"),
            ("ssl.client.auth", "required"),
        ]);
        assert_eq!(err.key.as_deref(), Some("ssl.truststore.location"));
    }
}
